"""The ℓp normalization layer's training-mode output written as plainly as possible, for autograd to
differentiate: what :class:`~helpers.lp_norm.LpNorm`'s hand-written backward pass is checked against
(the tests, notebook 06's exercise, ``benchmarks/lp_norm.py``).

Taught in notebook 06. Kept apart from :mod:`helpers.lp_norm`, whose code trains runs and so keys the
run cache: nothing here changes a run.
"""

from __future__ import annotations

import torch

from .lp_norm import lp_scale


def lp_norm_reference(y: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, p: float, eps: float = 1e-5,
                      center_first: bool = False) -> torch.Tensor:
    """The layer's training-mode output written as plainly as possible; autograd differentiates it.
    :class:`LpNorm` computes the same with a hand-written backward pass, and the tests compare the two."""
    dims = (0, *range(2, y.dim()))
    shape = (1, -1) + (1,) * (y.dim() - 2)
    centred = y - y.mean(dims, keepdim=True)
    scale = lp_scale(centred if center_first else y, p, dims, keepdim=True)
    return gamma.view(shape) * centred / (scale + eps) + beta.view(shape)
