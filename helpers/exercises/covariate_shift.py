"""Notebook 03's checker: how far a unit's distribution moves (the drift measure).

Checkers never raise, so a notebook with unfinished exercises still runs from top to bottom.

Taught in notebook 03.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch

from .checking import CheckReport, _as_tensor, _check_outputs


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
