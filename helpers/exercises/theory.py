"""Notebook 07's checkers: one BN unit's backward pass, Theorem 4.1's counterexample, and the
gradient at another weight scale.

Checkers never raise, so a notebook with unfinished exercises still runs from top to bottom.

Taught in notebook 07.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch

from ..theory import bn_unit, bn_unit_backward, lipschitz_terms, standardize
from .checking import CheckReport, _call, _check_outputs


def _unit_cases(seed: int = 4) -> list[tuple[torch.Tensor, torch.Tensor, float]]:
    """(y, g, γ) for one BN unit: batches of 5, 16 and 64 with means and scales far from 0 and 1."""
    gen = torch.Generator().manual_seed(seed)
    return [(3.0 * torch.randn(m, generator=gen, dtype=torch.float64) + 2.0,
             torch.randn(m, generator=gen, dtype=torch.float64) + 0.5, 1.7) for m in (5, 16, 64)]


def _backward_wrong_outputs(y, g, gamma) -> dict[str, torch.Tensor]:
    """What typical mistakes in BN's backward pass produce, to recognise them by their output."""
    m = y.numel()
    y_hat, _, sigma = standardize(y)
    unbiased = (y - y.mean()) / y.std()
    sigma_u = y.std()
    return {
        "leaves out the 1/σ: the Jacobian of ŷ = (y − μ)/σ carries 1/σ": sigma * bn_unit_backward(y, g, gamma),
        "leaves out γ: z = γŷ + β, so the gradient carries γ": bn_unit_backward(y, g, 1.0),
        "keeps g's component along 1: subtract mean(g), since shifting every y_i alike changes nothing":
            gamma / sigma * (g - y_hat * (g @ y_hat) / m),
        "keeps g's component along ŷ: subtract ŷ·⟨g, ŷ⟩/m, since scaling y − μ changes nothing":
            gamma / sigma * (g - g.mean()),
        "treats μ and σ as constants: both depend on y": gamma / sigma * g,
        "divides ⟨g, ŷ⟩ by √m instead of m: with ‖ŷ‖² = m the projection on ŷ is ŷ⟨g, ŷ⟩/m":
            gamma / sigma * (g - g.mean() - y_hat * (g @ y_hat) / m ** 0.5),
        "uses the unbiased standard deviation (m − 1); BN divides by m":
            gamma / sigma_u * (g - g.mean() - unbiased * (g @ unbiased) / m),
        "differentiates a forward pass with the unbiased standard deviation (m − 1); BN divides by m":
            gamma / sigma_u * (g - g.mean() - unbiased * (g @ unbiased) / (m - 1)),
    }


def check_bn_unit_backward(bn_backward: Callable) -> CheckReport:
    """Check ``bn_backward(y, g, gamma)`` -> ∂L̂/∂y for one BN unit (ε = 0), given g = ∂ℓ/∂z, against
    autograd through z = γ(y − μ)/σ + β, for batches of 5, 16 and 64."""
    def autograd(y: torch.Tensor, g: torch.Tensor, gamma: float) -> torch.Tensor:
        return torch.func.vjp(lambda v: bn_unit(v, gamma, 0.0), y)[1](g)[0]

    cases = [(f"m = {y.numel()}", (y.clone(), g.clone(), gamma), partial(autograd, y, g, gamma),
              partial(_backward_wrong_outputs, y, g, gamma)) for y, g, gamma in _unit_cases()]
    return _check_outputs("bn_unit_backward", bn_backward, cases, "autograd's")


def check_counterexample(make_case: Callable) -> CheckReport:
    """Check ``make_case()`` -> ``(y, g, gamma)``: a BN unit (1-D batch y, upstream gradient g = ∂ℓ/∂z,
    γ > 0, ε = 0) on which Thm 4.1 with the factor 1/√m on its last term is violated, while the
    factor 1/m holds (with equality)."""
    report = CheckReport("counterexample")
    status, case = _call(make_case)
    if status == "todo":
        report.not_implemented = True
        return report
    if status == "error":
        report.problems.append(f"raised {case}")
        return report
    if not (isinstance(case, tuple) and len(case) == 3):
        report.problems.append(f"should return a triple (y, g, gamma), got {type(case).__name__}")
        return report
    y, g, gamma = case
    if not (isinstance(y, torch.Tensor) and isinstance(g, torch.Tensor) and y.dim() == 1 and g.shape == y.shape):
        report.problems.append("y and g must be 1-D tensors of the same length (one unit's batch)")
        return report
    try:
        y, g, gamma = y.double(), g.double(), float(gamma)
    except (TypeError, ValueError, RuntimeError) as err:
        report.problems.append(f"gamma must be one number: {type(err).__name__}: {err}")
        return report
    if y.numel() < 2 or float(y.std()) == 0 or not gamma > 0:
        report.problems.append("need a batch of at least 2 different values and γ > 0, or BN is undefined")
        return report
    terms = lipschitz_terms(y, g, gamma)
    tol = 1e-9 * max(terms["lhs"], terms["scale"] * terms["g_sq"], 1e-300)
    if terms["along_y_hat"] <= 1e-12 * terms["g_sq"]:  # both unscaled: ⟨g, ŷ⟩²/m against ‖g‖²
        report.problems.append("⟨g, ŷ⟩ = 0 here, so the two versions agree: the factors differ only on the "
                               "term ⟨g, ŷ⟩²; give g a component along ŷ")
    elif terms["lhs"] <= terms["rhs_1/√m"] + tol:
        report.problems.append(f"the 1/√m version still holds here ({terms['lhs']:.4g} ≤ {terms['rhs_1/√m']:.4g}): "
                               "make g's component along ŷ larger")
    report.problems.extend([] if terms["lhs"] <= terms["rhs_1/m"] + tol else
                           [f"the 1/m version fails ({terms['lhs']:.4g} > {terms['rhs_1/m']:.4g}): this should "
                            "not happen; check y, g and γ"])
    return report


def check_gradient_at_scale(predict_gradient: Callable) -> CheckReport:
    """Check ``predict_gradient(grad, weight, c)`` -> ∇L at c·W, from ∇L at W, for a weight followed
    by BN (ε = 0), against autograd at c = 10, 0.1 and 3."""
    gen = torch.Generator().manual_seed(5)
    x, t = torch.randn(32, 6, generator=gen, dtype=torch.float64), torch.randn(32, 4, generator=gen,
                                                                                  dtype=torch.float64)
    w = torch.randn(4, 6, generator=gen, dtype=torch.float64)

    def loss(w_: torch.Tensor) -> torch.Tensor:  # linear → BN (ε = 0, γ = 1, β = 0) → tanh → squared error
        y = x @ w_.T
        y_hat = (y - y.mean(0)) / y.std(0, unbiased=False)
        return (torch.tanh(y_hat) - t).square().mean()

    grad = torch.func.grad(loss)(w)

    def wrong(c: float) -> dict[str, torch.Tensor]:
        return {"grows with c: L(cW) = L(W), so ∇L(cW)·c = ∇L(W), and the gradient *shrinks* as 1/c": grad * c,
                "leaves it unchanged: the loss is unchanged, but its slope in W is spread over a c times longer W":
                    grad,
                "divides by c²: one factor 1/c, from the chain rule through cW": grad / c ** 2}

    cases = [(f"c = {c:g}", (grad.clone(), w.clone(), c), partial(torch.func.grad(loss), c * w), partial(wrong, c))
             for c in (10.0, 0.1, 3.0)]
    return _check_outputs("gradient_at_scale", predict_gradient, cases, "autograd's")
