"""Notebook 06's checker: the ℓp normalization layer's forward pass.

Checkers never raise, so a notebook with unfinished exercises still runs from top to bottom.

Taught in notebook 06.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch

from ..lp_norm import lp_scale
from ..lp_norm_reference import lp_norm_reference
from .checking import EPS, CheckReport, _check_outputs


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
