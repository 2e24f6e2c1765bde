"""What a run's :class:`~helpers.runs.History` says when read: its final loss, whether it finished,
how it was computed.

:class:`HistoryReadings` is History's base class. It lives apart from :mod:`helpers.runs`, whose code
builds and stores runs and so keys the run cache: a new way of reading a run recomputes nothing.
Taught in notebook 00.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class HistoryReadings:
    """Read-only accessors of a History (which has ``record``, ``steps``, ``planned_steps``, ...)."""

    record: dict[str, Any]
    steps: np.ndarray
    planned_steps: int
    interrupted: bool
    diverged: bool

    @property
    def arithmetic(self) -> str:
        """How the run was computed: ``exact`` float32, or a faster GPU mode (:mod:`helpers.gpu_speed`)."""
        return self.record.get("arithmetic", "exact")

    @property
    def finished(self) -> bool:
        """Did the run take every step it was meant to (a diverged run counts: divergence is a result)?"""
        return not self.interrupted and (self.diverged or len(self.steps) == self.planned_steps)

    def final(self, metric: str = "train_loss", last: int | None = None) -> float:
        """Mean of the last ``last`` values of a metric, by default the last 5% of steps (at least 10),
        because a per-batch loss is noisy. A diverged run's final loss is inf."""
        values = getattr(self, metric)
        if self.diverged and metric.endswith("loss"):
            return float("inf")
        last = last if last is not None else max(10, len(values) // 20)
        return float(np.mean(values[-last:])) if len(values) else float("nan")
