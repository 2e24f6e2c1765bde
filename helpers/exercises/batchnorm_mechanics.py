"""Notebook 01's checkers: BN's forward pass (training and evaluation, running statistics) and
its backward pass.

Checkers never raise, so a notebook with unfinished exercises still runs from top to bottom.

Taught in notebook 01.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from .checking import EPS, MOMENTUM, CheckReport, _call, _max_err, _output_problem


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
