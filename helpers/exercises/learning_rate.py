"""Notebook 02's checker: the largest learning rate that trains, from a sweep's final losses.

Checkers never raise, so a notebook with unfinished exercises still runs from top to bottom.

Taught in notebook 02.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np
import torch

from .checking import CheckReport, _as_tensor, _check_outputs


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
