"""Notebook 05's checker: effective β-smoothness along the gradient.

Checkers never raise, so a notebook with unfinished exercises still runs from top to bottom.

Taught in notebook 05.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import torch

from .checking import CheckReport, _as_tensor, _check_outputs


def _beta(grad_fn: Callable, w: torch.Tensor, etas: Sequence[float], sign: float = 1.0,
          per: str = "length", reduce: Callable = torch.max) -> torch.Tensor:
    """max over η of ‖g − ∇L(w − ηg)‖ / ‖ηg‖; the other arguments give the mistakes' versions."""
    g = grad_fn(w)
    values = []
    for eta in etas:
        change = torch.linalg.vector_norm(g - grad_fn(w - sign * eta * g))
        scale = {"length": eta * torch.linalg.vector_norm(g), "eta": eta, "g": torch.linalg.vector_norm(g),
                 "none": 1.0}[per]
        values.append(change / scale)
    return reduce(torch.stack(values))


def _beta_wrong_outputs(grad_fn, w, etas) -> dict[str, torch.Tensor]:
    return {
        "divides by η, not by the step's length η‖g‖": _beta(grad_fn, w, etas, per="eta"),
        "returns the largest ‖g − ∇L(w − ηg)‖ (the gradient predictiveness), not divided by the step's length":
            _beta(grad_fn, w, etas, per="none"),
        "divides by ‖g‖ only, not by the step's length η‖g‖": _beta(grad_fn, w, etas, per="g"),
        "steps uphill (w + ηg): the probe follows the training step, w − ηg": _beta(grad_fn, w, etas, sign=-1.0),
        "takes the smallest ratio over η, not the largest": _beta(grad_fn, w, etas, reduce=torch.min),
        "averages the ratio over η instead of taking its largest value": _beta(grad_fn, w, etas, reduce=torch.mean),
    }


def check_effective_beta(effective_beta: Callable) -> CheckReport:
    """Check ``effective_beta(grad_fn, w, etas)`` -> max over η in ``etas`` of ‖g − ∇L(w − ηg)‖ / ‖ηg‖,
    with g = ``grad_fn(w)``, the effective β-smoothness along the gradient (notebook 05's probe, for
    one flat weight vector ``w``)."""
    gen = torch.Generator().manual_seed(8)
    a = torch.randn(20, 10, generator=gen, dtype=torch.float64)

    def loss(w: torch.Tensor) -> torch.Tensor:  # smooth, not quadratic: the ratio changes with η
        return torch.log(torch.cosh(a @ w)).sum() + 0.05 * (w @ w) ** 2

    grad_fn = torch.func.grad(loss)
    cases = []
    for k, etas in enumerate(([0.01, 0.02, 0.05, 0.1], [0.002, 0.3, 0.05])):
        w = torch.randn(10, generator=gen, dtype=torch.float64)
        cases.append((f"point {k + 1}, η in {etas}", (grad_fn, w.clone(), list(etas)),
                      partial(_beta, grad_fn, w, etas), partial(_beta_wrong_outputs, grad_fn, w, etas)))
    return _check_outputs("effective_beta", _as_tensor(effective_beta), cases, "the definition's")
