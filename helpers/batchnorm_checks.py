"""Notebook 01's measurements on BN: how batch statistics scatter with the batch size, and the
hand-written BN (:mod:`helpers.batchnorm`) against PyTorch's.

Taught in notebook 01. Kept apart from :mod:`helpers.batchnorm`, whose code trains runs and so keys
the run cache: nothing here changes a run.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .batchnorm import ScratchBatchNorm


def batch_statistics_spread(values: np.ndarray, batch_sizes: list[int], trials: int = 200, seed: int = 0,
                            ) -> dict[str, np.ndarray]:
    """How much a batch's mean and variance of one unit scatter around the population's, by batch size.

    ``values``: the unit's activations over many examples. Returns, per batch size, the
    standard deviation over ``trials`` random batches of the batch mean and of the batch variance.
    """
    rng = np.random.default_rng(seed)
    values = np.asarray(values, dtype=np.float64)
    mean_sd, var_sd = [], []
    for m in batch_sizes:
        batches = values[np.stack([rng.choice(len(values), m, replace=False) for _ in range(trials)])]
        mean_sd.append(batches.mean(1).std())
        var_sd.append(batches.var(1).std())
    return {"batch_size": np.asarray(batch_sizes), "mean_sd": np.asarray(mean_sd), "var_sd": np.asarray(var_sd)}


def differences_from_pytorch(shape: tuple[int, ...], steps: int = 3, seed: int = 0,
                             dtype: torch.dtype = torch.float64) -> dict[str, float]:
    """Largest absolute differences between :class:`ScratchBatchNorm` and ``nn.BatchNorm1d/2d``.

    Both start from the same random γ, β, see the same ``steps`` training batches (whose mean
    and scale are far from 0 and 1), then one batch in evaluation mode. In float64 by default: the
    two sum in different orders, so what is left is rounding, about 1e-15 (1e-6 in float32).
    """
    g = torch.Generator().manual_seed(seed)
    c = shape[1]
    ours = ScratchBatchNorm(c).to(dtype)
    theirs = (nn.BatchNorm1d if len(shape) == 2 else nn.BatchNorm2d)(c).to(dtype)
    with torch.no_grad():
        ours.weight.copy_(torch.rand(c, generator=g, dtype=dtype) + 0.5)
        ours.bias.copy_(torch.randn(c, generator=g, dtype=dtype))
    theirs.load_state_dict(ours.state_dict())
    diff = {"training output": 0.0}
    with torch.no_grad():  # running statistics still update in training mode
        for _ in range(steps):
            x = torch.randn(shape, generator=g, dtype=dtype) * 3 + 2
            diff["training output"] = max(diff["training output"], float((ours(x) - theirs(x)).abs().max()))
        for name in ("running_mean", "running_var"):
            diff[name] = float((getattr(ours, name) - getattr(theirs, name)).abs().max())
        ours.eval()
        theirs.eval()
        x = torch.randn(shape, generator=g, dtype=dtype) * 3 + 2
        diff["evaluation output"] = float((ours(x) - theirs(x)).abs().max())
    return diff
