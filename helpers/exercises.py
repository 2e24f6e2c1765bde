"""Checkers for the notebooks' exercises: they run a student's code on random inputs and say,
in plain words, what is wrong. They never raise, so a notebook with unfinished exercises still
runs from top to bottom.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F

from .lp_norm import lp_norm_reference, lp_scale
from .theory import bn_unit, bn_unit_backward, lipschitz_terms, standardize

MOMENTUM, EPS = 0.1, 1e-5


@dataclass
class CheckReport:
    """The outcome of a check: ``passed``, or the list of ``problems`` found."""

    exercise: str
    problems: list[str] = field(default_factory=list)
    not_implemented: bool = False

    @property
    def passed(self) -> bool:
        return not self.problems and not self.not_implemented

    def __str__(self) -> str:
        if self.not_implemented:  # problems here are notes, e.g. which exercise to do first
            return " ".join([f"{self.exercise}: not implemented yet.", *self.problems])
        if self.passed:
            return f"{self.exercise}: all checks passed."
        return f"{self.exercise}: {len(self.problems)} problem(s):\n" + "\n".join(f"  - {p}" for p in self.problems)

    def _repr_pretty_(self, printer, cycle) -> None:  # how Jupyter shows it
        printer.text(str(self))


def _cases(seed: int = 0) -> list[dict]:
    """Random float64 inputs, (N, C) and (N, C, H, W); one channel has a tiny variance so ε matters."""
    g = torch.Generator().manual_seed(seed)
    cases = []
    for shape in ((16, 5), (6, 4, 3, 3)):
        c = shape[1]
        x = torch.randn(shape, generator=g, dtype=torch.float64) * 2 + 1
        x[:, 0] = x[:, 0] * 1e-3  # variance ≈ 4e-6, comparable to ε
        cases.append(dict(
            x=x, gamma=torch.rand(c, generator=g, dtype=torch.float64) + 0.5,
            beta=torch.randn(c, generator=g, dtype=torch.float64),
            running_mean=torch.randn(c, generator=g, dtype=torch.float64),
            running_var=torch.rand(c, generator=g, dtype=torch.float64) + 0.5,
        ))
    return cases


def _shape(x: torch.Tensor) -> tuple[int, ...]:
    return (1, -1) if x.dim() == 2 else (1, -1, 1, 1)


def _normalise(x, gamma, beta, mean, var, eps=EPS):
    s = _shape(x)
    return gamma.view(s) * (x - mean.view(s)) / torch.sqrt(var.view(s) + eps) + beta.view(s)


def _wrong_outputs(case: dict, training: bool) -> dict[str, torch.Tensor]:
    """What typical mistakes produce, to recognise them by their output."""
    x, gamma, beta = case["x"], case["gamma"], case["beta"]
    axes = (0,) if x.dim() == 2 else (0, 2, 3)
    mean, var = x.mean(axes), x.var(axes, unbiased=False)
    wrong = {
        "normalises with the unbiased variance (dividing by m − 1); BN divides by m, the biased batch variance":
            _normalise(x, gamma, beta, mean, x.var(axes, unbiased=True)),
        "leaves out ε: divide by √(σ² + ε), not by σ, so a channel with tiny variance does not blow up":
            _normalise(x, gamma, beta, mean, var, eps=0.0),
        "leaves out γ and β: the output is γ·x̂ + β": _normalise(x, torch.ones_like(gamma), torch.zeros_like(beta),
                                                                 mean, var),
    }
    if x.dim() == 4:
        wrong["normalises over the wrong axes: a 2-D BN has one mean and variance per channel, over axes "
              "(0, 2, 3) (batch, height, width), not per position over the batch alone"] = (
            gamma.view(1, -1, 1, 1) * (x - x.mean(0)) / torch.sqrt(x.var(0, unbiased=False) + EPS)
            + beta.view(1, -1, 1, 1))
    else:
        wrong["normalises over the wrong axis: one mean and variance per channel, over the batch (axis 0)"] = (
            gamma * (x - x.mean(1, keepdim=True)) / torch.sqrt(x.var(1, unbiased=False, keepdim=True) + EPS) + beta)
    if not training:
        wrong["uses the batch statistics in evaluation mode; evaluation must use the running estimates"] = (
            _normalise(x, gamma, beta, mean, var))
    return wrong


def _call(fn: Callable, *args, **kwargs):
    """Run student code: ('ok', result), ('todo', None) or ('error', message)."""
    try:
        return "ok", fn(*args, **kwargs)
    except NotImplementedError:
        return "todo", None
    except Exception as err:  # anything else is a bug to report, not to crash on
        return "error", f"{type(err).__name__}: {err}"


def _max_err(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max())


def _output_problem(out, expected: torch.Tensor, reference: str,
                    wrong_outputs: Callable[..., dict[str, torch.Tensor]], *args) -> str | None:
    """None if ``out`` matches ``expected``; else what is wrong: its shape, the typical mistake whose
    output it matches (``wrong_outputs(*args)`` maps a message to what that mistake produces, and is
    computed only on a mismatch), or the largest error against ``reference``."""
    if not isinstance(out, torch.Tensor) or out.shape != expected.shape:
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        return f"wrong output shape {got}, expected {tuple(expected.shape)}"
    if not out.is_floating_point():
        return f"the output holds {out.dtype} numbers; it should hold floating-point ones"
    out = out.to(expected.dtype)  # a float32 answer is compared in float64, not rejected for its type
    if torch.allclose(out, expected, rtol=1e-6, atol=1e-8, equal_nan=True):  # NaN where NaN is expected
        return None
    named = [msg for msg, wrong in wrong_outputs(*args).items()
             if wrong.shape == out.shape and torch.allclose(out, wrong.to(out.dtype), rtol=1e-6, atol=1e-8,
                                                            equal_nan=True)]
    if named:
        return named[0]
    if not torch.equal(out.isnan(), expected.isnan()):
        return "NaN where a number is expected, or a number where NaN is"
    return f"output differs from {reference} (largest error {_max_err(out, expected):.3g})"


Case = tuple[str, tuple, Callable[[], torch.Tensor], Callable[[], dict[str, torch.Tensor]]]


def _check_outputs(exercise: str, fn: Callable, cases: Iterable[Case], reference: str) -> CheckReport:
    """Call ``fn`` on each case ``(where, args, expected, wrong_outputs)`` and compare its output with
    ``expected()`` (see :func:`_output_problem`); a stub stops the check as "not implemented yet"."""
    report = CheckReport(exercise)
    for where, args, expected, wrong_outputs in cases:
        status, out = _call(fn, *args)
        if status == "todo":
            report.not_implemented = True
            return report
        if status == "error":
            report.problems.append(f"{where}: raised {out}")
            continue
        problem = _output_problem(out, expected(), reference, wrong_outputs)
        if problem is not None:
            report.problems.append(f"{where}: {problem}")
    report.problems = list(dict.fromkeys(report.problems))  # each distinct message once
    return report


def check_batchnorm_forward(batchnorm_forward: Callable) -> CheckReport:
    """Check ``batchnorm_forward(x, gamma, beta, running_mean, running_var, training=, momentum=, eps=)``
    -> ``(out, cache)`` against PyTorch, in both modes, for (N, C) and (N, C, H, W) inputs."""
    report = CheckReport("batchnorm_forward")
    for case in _cases():
        dims = f"{case['x'].dim()}-D input {tuple(case['x'].shape)}"
        for training in (True, False):
            mode = "training" if training else "evaluation"
            rm, rv = case["running_mean"].clone(), case["running_var"].clone()
            status, result = _call(batchnorm_forward, case["x"].clone(), case["gamma"], case["beta"], rm, rv,
                                   training=training, momentum=MOMENTUM, eps=EPS)
            if status == "todo":
                report.not_implemented = True
                return report
            if status == "error":
                report.problems.append(f"{mode}, {dims}: raised {result}")
                continue
            if not (isinstance(result, tuple) and len(result) == 2):
                report.problems.append(f"{mode}: should return a pair (out, cache), got {type(result).__name__}")
                continue
            ref_rm, ref_rv = case["running_mean"].clone(), case["running_var"].clone()
            ref = F.batch_norm(case["x"], ref_rm, ref_rv, case["gamma"], case["beta"], training, MOMENTUM, EPS)
            problem = _output_problem(result[0], ref, "PyTorch's BatchNorm", _wrong_outputs, case, training)
            if problem is not None:
                report.problems.append(f"{mode}, {dims}: {problem}")
                if problem.startswith("wrong output shape"):
                    continue
            stats = _running_stat_problems(case, rm, rv, ref_rm, ref_rv, training)
            report.problems.extend(f"{mode}, {dims}: {p}" for p in stats)
    report.problems = list(dict.fromkeys(report.problems))  # each distinct message once
    return report


def _running_stat_problems(case, rm, rv, ref_rm, ref_rv, training) -> list[str]:
    old_m, old_v = case["running_mean"], case["running_var"]
    if not training:
        if not (torch.equal(rm, old_m) and torch.equal(rv, old_v)):
            return ["evaluation mode changed the running statistics; only training updates them"]
        return []
    if torch.equal(rm, old_m) and torch.equal(rv, old_v):
        return ["running statistics not updated in training mode (update running_mean and running_var in place)"]
    problems = []
    x = case["x"]
    axes = (0,) if x.dim() == 2 else (0, 2, 3)
    if not torch.allclose(rm, ref_rm, rtol=1e-6, atol=1e-10):
        reversed_m = MOMENTUM * old_m + (1 - MOMENTUM) * x.mean(axes)
        problems.append("running mean: momentum convention reversed; PyTorch uses (1 − momentum)·old + momentum·new"
                        if torch.allclose(rm, reversed_m) else
                        f"running mean updated wrongly (largest error {_max_err(rm, ref_rm):.3g})")
    if not torch.allclose(rv, ref_rv, rtol=1e-6, atol=1e-10):
        biased = (1 - MOMENTUM) * old_v + MOMENTUM * x.var(axes, unbiased=False)
        reversed_v = MOMENTUM * old_v + (1 - MOMENTUM) * x.var(axes, unbiased=True)
        if torch.allclose(rv, biased):
            problems.append("running variance updated with the biased batch variance; PyTorch stores the unbiased "
                            "one, m/(m − 1)·σ², in running_var")
        elif torch.allclose(rv, reversed_v):
            problems.append("running variance: momentum convention reversed; PyTorch uses "
                            "(1 − momentum)·old + momentum·new")
        else:
            problems.append(f"running variance updated wrongly (largest error {_max_err(rv, ref_rv):.3g})")
    return problems


def check_batchnorm_backward(batchnorm_forward: Callable, batchnorm_backward: Callable) -> CheckReport:
    """Check ``batchnorm_backward(dout, cache) -> (dx, dgamma, dbeta)`` against autograd (training mode)."""
    report = CheckReport("batchnorm_backward")
    g = torch.Generator().manual_seed(1)
    for case in _cases(seed=1):
        x, gamma, beta = case["x"], case["gamma"], case["beta"]
        dims = f"{x.dim()}-D input {tuple(x.shape)}"
        status, result = _call(batchnorm_forward, x.clone(), gamma, beta, case["running_mean"].clone(),
                               case["running_var"].clone(), training=True, momentum=MOMENTUM, eps=EPS)
        if status == "todo":
            report.not_implemented = True
            report.problems.append("(batchnorm_forward is not implemented yet either: do that exercise first.)")
            return report
        if status == "error" or not (isinstance(result, tuple) and len(result) == 2):
            report.problems.append("batchnorm_forward fails or does not return (out, cache): fix it first")
            return report
        dout = torch.randn(x.shape, generator=g, dtype=torch.float64)
        status, grads = _call(batchnorm_backward, dout, result[1])
        if status == "todo":
            report.not_implemented = True
            return report
        if status == "error":
            report.problems.append(f"{dims}: raised {grads}")
            continue
        if not (isinstance(grads, tuple) and len(grads) == 3):
            report.problems.append("should return a triple (dx, dgamma, dbeta)")
            continue
        xr, gr, br = (t.clone().requires_grad_() for t in (x, gamma, beta))
        out = F.batch_norm(xr, None, None, gr, br, True, MOMENTUM, EPS)
        expected = torch.autograd.grad(out, (xr, gr, br), dout)
        for name, got, want in zip(("dx", "dgamma", "dbeta"), grads, expected):
            if not isinstance(got, torch.Tensor) or got.shape != want.shape:
                shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
                report.problems.append(f"{dims}: {name} has shape {shape}, expected {tuple(want.shape)}")
                continue
            rel = _max_err(got, want) / max(float(want.abs().max()), 1e-12)
            if rel > 1e-6:
                hint = ""
                if name == "dx":
                    inv_std = torch.rsqrt(x.var((0,) if x.dim() == 2 else (0, 2, 3), unbiased=False) + EPS)
                    if torch.allclose(got, dout * (gamma * inv_std).view(_shape(x))):
                        hint = ": it treats the batch mean and variance as constants, but both depend on x"
                report.problems.append(f"{dims}: {name} is wrong (largest relative error {rel:.3g}){hint}")
    report.problems = list(dict.fromkeys(report.problems))
    return report


# --- notebook 02: the largest learning rate that trains --------------------------------------------

def _as_tensor(fn: Callable) -> Callable:
    """``fn`` with its answer turned into a float64 tensor, so numbers, lists and arrays compare alike."""
    def wrapped(*args):
        out = fn(*args)
        return torch.as_tensor(np.asarray(out, dtype=float)) if not isinstance(out, torch.Tensor) else out.double()
    return wrapped


def _largest_lr_wrong_outputs(lrs: np.ndarray, final_loss: np.ndarray, threshold: float) -> dict[str, torch.Tensor]:
    """What typical mistakes in reading a learning-rate sweep produce."""
    ok = final_loss < threshold
    per_seed = lambda rows: torch.tensor([lrs[r].max() if r.any() else np.nan for r in rows.T])
    first_failure = []
    for col in ok.T:
        fails = np.flatnonzero(~col)
        upto = col[: fails[0]] if len(fails) else col
        first_failure.append(lrs[: len(upto)].max() if len(upto) else np.nan)
    with np.errstate(invalid="ignore"):
        median_ok = np.median(final_loss, axis=1) < threshold
    return {
        "counts a run without a number (NaN: diverged, or never run) as trained; only a loss below the threshold "
        "trains": per_seed(~(final_loss >= threshold)),
        "stops at the first learning rate that fails; a run can train again at a larger one, and the question is "
        "the largest that trains": torch.tensor(first_failure),
        "pools the seeds: answer seed by seed (one learning rate per column)":
            torch.full((ok.shape[1],), lrs[ok.any(1)].max() if ok.any() else np.nan),
        "uses the median over seeds: answer seed by seed (one learning rate per column)":
            torch.full((ok.shape[1],), lrs[median_ok].max() if median_ok.any() else np.nan),
        "returns an index, not the learning rate": torch.tensor([float(np.flatnonzero(c).max()) if c.any() else np.nan
                                                                 for c in ok.T]),
        "gives the smallest learning rate, not NaN, for a seed that trains at none":
            torch.tensor([lrs[c].max() if c.any() else lrs.min() for c in ok.T]),
        "gives 0, not NaN, for a seed that trains at none": torch.tensor([lrs[c].max() if c.any() else 0.0
                                                                          for c in ok.T]),
    }


def check_largest_trainable_lr(largest_trainable_lr: Callable) -> CheckReport:
    """Check ``largest_trainable_lr(lrs, final_loss, threshold)`` -> per seed, the largest learning rate
    whose run ends with a training loss below ``threshold`` (NaN if none does). ``final_loss`` has one
    row per learning rate and one column per seed; inf marks a diverged run, NaN one that never ran."""
    inf, nan = np.inf, np.nan
    lrs = np.array([0.05, 0.1, 0.2, 0.5, 1.0, 2.0])
    sweeps = {
        "a sweep where each seed stops training at its own learning rate": np.array(
            [[1.1, 1.2, 1.0], [1.0, 1.1, 0.9], [1.3, 1.4, 1.2], [2.25, 1.9, 1.6], [2.30, 2.31, 2.2], [inf, inf, 2.3]]),
        "a sweep with a seed that fails, then trains again, and one that never trains": np.array(
            [[1.5, 2.31, 1.2], [2.2, 2.30, 1.1], [1.9, 2.29, 2.2], [inf, 2.32, 2.0], [inf, inf, 2.4], [nan, inf, nan]]),
    }
    threshold = 2.1
    cases = [(where, (lrs.copy(), loss.copy(), threshold),
              partial(lambda loss: torch.tensor([lrs[c].max() if c.any() else np.nan for c in (loss < threshold).T]),
                      loss), partial(_largest_lr_wrong_outputs, lrs, loss, threshold))
             for where, loss in sweeps.items()]
    return _check_outputs("largest_trainable_lr", _as_tensor(largest_trainable_lr), cases, "the definition's")


# --- notebook 03: how far activation distributions move ----------------------------------------------

def _drift(mean: torch.Tensor, std: torch.Tensor, spread: torch.Tensor | None = None) -> torch.Tensor:
    change = (mean.diff(dim=0).abs() + std.diff(dim=0).abs()).mean(0)
    return change / (std.mean(0) if spread is None else spread)


def _drift_wrong_outputs(mean: torch.Tensor, var: torch.Tensor) -> dict[str, torch.Tensor]:
    std = var.sqrt()
    return {
        "not divided by the unit's average standard deviation: units on different scales must compare on equal "
        "terms": _drift(mean, std, torch.ones_like(std[0])),
        "uses the variance where the standard deviation belongs (both the change and the spread)": _drift(mean, var),
        "measures the net change from the first record to the last; a distribution that moves back and forth "
        "moves too: average |change| between consecutive records":
            ((mean[-1] - mean[0]).abs() + (std[-1] - std[0]).abs()) / std.mean(0),
        "adds signed changes, so moves up and down cancel: take |Δ mean| + |Δ std| step by step":
            (mean.diff(dim=0) + std.diff(dim=0)).mean(0) / std.mean(0),
        "leaves out the change of the spread: add |Δ std| to |Δ mean|": mean.diff(dim=0).abs().mean(0) / std.mean(0),
        "divides by the first record's standard deviation, not its average over the run": _drift(mean, std, std[0]),
        "sums the changes over records instead of averaging them":
            (mean.diff(dim=0).abs() + std.diff(dim=0).abs()).sum(0) / std.mean(0),
    }


def check_distribution_drift(distribution_drift: Callable) -> CheckReport:
    """Check ``distribution_drift(mean, var)`` -> per unit, the average over consecutive records of
    |Δ mean| + |Δ standard deviation|, divided by the unit's average standard deviation; ``mean`` and
    ``var`` have one row per record and one column per unit (the activation probe's records)."""
    gen = torch.Generator().manual_seed(6)
    cases = []
    for records, units in ((12, 5), (3, 8)):
        scale = torch.logspace(-2, 1, units, dtype=torch.float64)  # units on very different scales
        mean = torch.randn(records, units, generator=gen, dtype=torch.float64).cumsum(0) * scale
        var = ((torch.rand(records, units, generator=gen, dtype=torch.float64) + 0.5) * scale) ** 2
        cases.append((f"{records} records of {units} units", (mean.numpy().copy(), var.numpy().copy()),
                      partial(_drift, mean, var.sqrt()), partial(_drift_wrong_outputs, mean, var)))
    return _check_outputs("distribution_drift", _as_tensor(distribution_drift), cases, "the definition's")


# --- notebook 04: G′, the gradient after the layers below have moved ----------------------------------

def _dln_loss(x: torch.Tensor, y: torch.Tensor) -> Callable[[Sequence[torch.Tensor]], torch.Tensor]:
    """The loss of a deep linear network with weights W_1 … W_k (applied in that order): mean squared error."""
    def loss(weights: Sequence[torch.Tensor]) -> torch.Tensor:
        out = x
        for w in weights:
            out = out @ w.T
        return (out - y).square().mean()
    return loss


def _grad_at(loss: Callable, weights: Sequence[torch.Tensor], i: int) -> torch.Tensor:
    """∇ of ``loss`` in the weight ``weights[i]``, the others held fixed."""
    ws = [w.detach().requires_grad_(k == i) for k, w in enumerate(weights)]
    return torch.autograd.grad(loss(ws), ws[i])[0]


def _g_prime_wrong_outputs(before, after, i, loss) -> dict[str, torch.Tensor]:
    return {
        "returns G, the gradient before any layer moved: G′ takes the layers *below* layer i at their new weights":
            _grad_at(loss, before, i),
        "moves every layer, layer i included: G′ is taken at layer i's old weights, only the layers below moved":
            _grad_at(loss, after, i),
        "moves layer i itself: only the layers below it (0 … i − 1) take their new weights":
            _grad_at(loss, [*after[: i + 1], *before[i + 1:]], i),
        "moves the layers above layer i too: only the layers below it take their new weights":
            _grad_at(loss, [*after[:i], before[i], *after[i + 1:]], i),
        "moves one layer too few (counted from 1?): layers 0 … i − 1 take their new weights":
            _grad_at(loss, [*after[: max(i - 1, 0)], *before[max(i - 1, 0):]], i),
    }


def check_g_prime(g_prime: Callable) -> CheckReport:
    """Check ``g_prime(before, after, i, loss)`` -> G′ for layer ``i`` (counted from 0): the gradient of
    ``loss`` in layer i's weight when the layers below it (0 … i − 1) have their weights ``after`` the
    step and layer i and those above it their weights ``before`` it. ``loss`` maps a list of weights to
    a number; here it is a 4-layer deep linear network's, and ``after`` one SGD step from ``before``."""
    gen = torch.Generator().manual_seed(7)
    x, y = (torch.randn(64, 6, generator=gen, dtype=torch.float64) for _ in range(2))
    loss = _dln_loss(x, y)
    before = [torch.eye(6, dtype=torch.float64) + 0.3 * torch.randn(6, 6, generator=gen, dtype=torch.float64)
              for _ in range(4)]
    after = [w - 0.05 * _grad_at(loss, before, k) for k, w in enumerate(before)]  # one SGD step, every layer
    cases = [(f"layer i = {i}", ([w.clone() for w in before], [w.clone() for w in after], i, loss),
              partial(_grad_at, loss, [*after[:i], *before[i:]], i),
              partial(_g_prime_wrong_outputs, before, after, i, loss)) for i in (2, 3, 1)]
    return _check_outputs("g_prime", g_prime, cases, "autograd's")


# --- notebook 05: effective β-smoothness along the gradient ------------------------------------------

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


# --- notebook 06: the ℓp layers ----------------------------------------------------------------------

def _lp_cases(seed: int = 2) -> list[torch.Tensor]:
    """Pre-activations with channel means far from 0 (where the paper's order matters), (N, C) and (N, C, H, W)."""
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(shape, generator=g, dtype=torch.float64) * 2
            + torch.randn(shape[1], generator=g, dtype=torch.float64).mul(3).view(1, -1, *([1] * (len(shape) - 2)))
            for shape in ((32, 4), (6, 4, 3, 3))]


def _lp_wrong_outputs(y, gamma, beta, p) -> dict[str, torch.Tensor]:
    """What typical mistakes in an ℓp layer produce, to recognise them by their output."""
    dims = (0, *range(2, y.dim()))
    shape = (1, -1) + (1,) * (y.dim() - 2)
    centred = y - y.mean(dims, keepdim=True)

    def scaled(s, eps=EPS):
        return gamma.view(shape) * centred / (s + eps) + beta.view(shape)

    wrong = {
        "takes the norm after subtracting the mean; the paper's layer takes it before (of y itself)":
            lp_norm_reference(y, gamma, beta, p, EPS, center_first=True),
        "divides by the p-norm itself, not its average: s = (mean |y|^p)^(1/p), so it does not grow with the batch":
            scaled(torch.linalg.vector_norm(y, p, dims, keepdim=True)),
        "leaves out ε: divide by s + ε": scaled(lp_scale(y, p, dims, keepdim=True), eps=0.0),
        "takes one mean and one norm over the whole batch; they are one per channel (over every axis but 1)":
            gamma.view(shape) * (y - y.mean()) / (lp_scale(y.flatten(), p, (0,)) + EPS) + beta.view(shape),
        "leaves out γ and β: the output is γ·(y − μ)/(s + ε) + β":
            lp_norm_reference(y, torch.ones_like(gamma), torch.zeros_like(beta), p, EPS),
        "does not subtract the mean: the layer fixes the first moment as BN does":
            gamma.view(shape) * y / (lp_scale(y, p, dims, keepdim=True) + EPS) + beta.view(shape),
    }
    if p == 1:
        wrong["takes the mean of y, not of |y|, for the ℓ1 norm"] = scaled(y.mean(dims, keepdim=True).abs())
    return wrong


def check_lp_norm_forward(lp_norm_forward: Callable) -> CheckReport:
    """Check ``lp_norm_forward(y, gamma, beta, p, eps)`` -> the training-mode output of the paper's ℓp
    layer (:mod:`helpers.lp_norm`), for p = 1, 2, ∞ and (N, C) and (N, C, H, W) inputs."""
    g = torch.Generator().manual_seed(3)
    cases = []
    for y in _lp_cases():
        c = y.shape[1]
        gamma = torch.rand(c, generator=g, dtype=torch.float64) + 0.5
        beta = torch.randn(c, generator=g, dtype=torch.float64)
        for p in (1, 2, float("inf")):
            cases.append((f"p = {p:g}, {y.dim()}-D input {tuple(y.shape)}", (y.clone(), gamma, beta, p, EPS),
                          partial(lp_norm_reference, y, gamma, beta, p, EPS),
                          partial(_lp_wrong_outputs, y, gamma, beta, p)))
    return _check_outputs("lp_norm_forward", lp_norm_forward, cases, "the layer's")


# --- notebook 07: the theory -----------------------------------------------------------------------

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


# --- notebook 08: λ_max by power iteration -----------------------------------------------------------

def _power(matvec: Callable, v0: torch.Tensor, iterations: int, quotient: bool = True, extra: int = 0,
           ) -> torch.Tensor:
    """v ← H v/‖H v‖ from v0/‖v0‖, and the Rayleigh quotient vᵀ H v of the last product; the other
    arguments give the mistakes' versions."""
    v = v0 / torch.linalg.vector_norm(v0)
    for _ in range(iterations + extra):
        w = matvec(v)
        estimate = v @ w if quotient else torch.linalg.vector_norm(w)
        v = w / torch.linalg.vector_norm(w)
    return estimate


def _power_wrong_outputs(matvec, v0, iterations) -> dict[str, torch.Tensor]:
    return {
        "returns ‖H v‖, which is |λ| at best and loses the sign: return the Rayleigh quotient vᵀ H v":
            _power(matvec, v0, iterations, quotient=False),
        "takes one product too many: exactly `iterations` products, the estimate from the last":
            _power(matvec, v0, iterations, extra=1),
        "takes one product too few: exactly `iterations` products, the estimate from the last":
            _power(matvec, v0, iterations, extra=-1),
    }


def check_power_iteration(power_iteration: Callable) -> CheckReport:
    """Check ``power_iteration(matvec, v0, iterations)`` -> the estimate vᵀ H v after ``iterations``
    products H v (v ← H v/‖H v‖, from v0/‖v0‖), on symmetric matrices with known spectra: one whose
    top eigenvalue is close to the next (slow convergence: the count of products shows), and one
    whose eigenvalue of largest magnitude is negative (power iteration finds that one, not λ_max)."""
    gen = torch.Generator().manual_seed(11)
    q, _ = torch.linalg.qr(torch.randn(12, 12, generator=gen, dtype=torch.float64))
    cases = []
    spectra = (("eigenvalues 10, 9, 1, ..., 0.1", [10.0, 9.0, *np.linspace(1, 0.1, 10)]),
               ("eigenvalues −6, 5, ... (largest magnitude negative)", [-6.0, 5.0, *np.linspace(2, -1, 10)]))
    for name, spectrum in spectra:
        h = q @ torch.diag(torch.tensor(spectrum, dtype=torch.float64)) @ q.T
        matvec = lambda v, h=h: h @ v  # noqa: E731
        v0 = torch.randn(12, generator=gen, dtype=torch.float64) * 3
        for iterations in (3, 8):
            cases.append((f"{name}, {iterations} products", (matvec, v0.clone(), iterations),
                          partial(_power, matvec, v0, iterations),
                          partial(_power_wrong_outputs, matvec, v0, iterations)))
    return _check_outputs("power_iteration", _as_tensor(power_iteration), cases, "power iteration's")


# --- notebook 09: the verdict on a claim from its checks ---------------------------------------------

VERDICT_CASES = (  # (holds in, out of) per check
    [(3, 3)], [(3, 3), (8, 8)], [(2, 3)], [(0, 3)], [(1, 3)], [(0, 3), (0, 8)], [(3, 3), (0, 3)],
    [(3, 3), (1, 3), (0, 8)], [(3, 3), (2, 3)], [(2, 3), (0, 3)], [(6, 8)], [(4, 8)], [(5, 8), (3, 3)],
    [(300, 300), (531, 531)], [(309, 531)], [(8, 8), (4, 8)], [(1, 2)], [(2, 2), (1, 2)],
)


def _verdict_mistakes(counts: Sequence[tuple[int, int]]) -> dict[str, str]:
    """What typical mistakes give on ``counts``."""
    from .verdicts import verdict

    most = [2 * k > n for k, n in counts]
    pooled = (sum(k for k, _ in counts), sum(n for _, n in counts))
    return {
        "calls a claim reproduced when its checks hold in most seeds; each must hold in every seed":
            "reproduced" if all(most) else verdict(counts),
        "says 'partly' where one check holds in every seed and another in at most half: that is "
        "'depends on the setting'": "partly" if verdict(counts) == "depends on the setting" else verdict(counts),
        "counts a check that holds in exactly half of the seeds as mostly holding; half is not more than half":
            verdict([(2 * k + 1, 2 * n) if 2 * k == n else (k, n) for k, n in counts]),
        "pools the checks' seeds into one count; a verdict looks at each check on its own":
            verdict([pooled]),
    }


def check_verdict(verdict_fn: Callable) -> CheckReport:
    """Check ``verdict(counts)`` -> "reproduced", "partly", "depends on the setting" or "not reproduced",
    where ``counts`` lists each check's (holds in, out of), against the series' rule."""
    from .verdicts import verdict

    report = CheckReport("verdict")
    answers = {}
    for counts in VERDICT_CASES:
        status, out = _call(verdict_fn, list(counts))
        if status == "todo":
            report.not_implemented = True
            return report
        if status == "error":
            report.problems.append(f"counts {list(counts)}: raised {out}")
            continue
        answers[tuple(counts)] = out
    wrong = [c for c, out in answers.items() if out != verdict(list(c))]
    if wrong:  # name a typical mistake when it gives exactly these answers, case for case
        named = [message for message in _verdict_mistakes(list(VERDICT_CASES[0]))
                 if all(_verdict_mistakes(list(c))[message] == out for c, out in answers.items())]
        c = wrong[0]
        report.problems.append(named[0] + f" (counts {list(c)}: you said {answers[c]!r})" if named else
                               f"counts {list(c)}: you said {answers[c]!r}, the rule gives {verdict(list(c))!r}"
                               + (f" ({len(wrong)} cases wrong in all)" if len(wrong) > 1 else ""))
    return report
