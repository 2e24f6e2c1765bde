"""What every figure of the series shares: a network's colour and a learning rate's line style in
every figure, legends, smoothing, runs over seeds.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from ..runs import History
from ..summaries import flagged

METRIC_LABELS = {"train_loss": "training loss", "train_acc": "training accuracy",
                 "test_loss": "test loss", "test_acc": "test accuracy"}


def smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average over ``window`` steps (shorter at the start), for noisy per-batch curves."""
    values = np.asarray(values, dtype=float)
    if window <= 1 or len(values) == 0:
        return values
    cumsum = np.concatenate([[0.0], np.cumsum(values)])
    end = np.arange(1, len(values) + 1)
    start = np.maximum(end - window, 0)
    return (cumsum[end] - cumsum[start]) / (end - start)


RunsBySeed = Mapping[str, "History | Sequence[History]"]  # a label's run, or its runs over seeds


def seeds_of(runs: History | Sequence[History]) -> list[History]:
    """A label's runs as a list over seeds (a single History is one seed)."""
    return [runs] if isinstance(runs, History) else list(runs)


def seeds_label(label: str, runs: Sequence[History]) -> str:
    """``label`` with its seed count, and marked if any of its runs diverged or was interrupted."""
    n = len(runs)
    marks = sorted({flagged("", h).strip() for h in runs} - {""})
    return f"{label}" + (f" ({n} seeds)" if n > 1 else "") + (f" {' '.join(marks)}" if marks else "")


def _median_curve(xs: Sequence[np.ndarray], ys: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The median over seeds at each x that every seed reached (runs cut short end earlier)."""
    n = min(len(x) for x in xs)
    return xs[0][:n], np.median(np.stack([y[:n] for y in ys]), axis=0)


# One colour per network in every figure of the series, and one line style per learning rate.
NETWORK_COLORS = {"Standard": "C0", "BN": "C1", "noisy BN": "C2", "Standard + noise": "C3", "ℓ1": "C4", "ℓ2": "C5",
                  "ℓ∞": "C6", "LayerNorm": "#393b79", "GroupNorm": "#8c6d31", "weight norm": "#ad494a",
                  "mean-only BN": "#fdae6b", "variance-only BN": "#a63603"}  # the last five: notebook 08


SPARE_COLORS = ("C7", "C8", "C9", "#7b4173", "#637939", "#843c39")  # for labels that are no network of the series


LR_STYLES = {0.1: "-", 0.5: "--", 0.02: ":", 0.01: (0, (1, 1)), 0.05: "-.", 0.2: (0, (5, 1)), 1.0: (0, (3, 1, 1, 1)),
             2.0: (0, (1, 3))}


def network_colors(labels: Iterable[str]) -> dict[str, str]:
    """A colour per label: its network's (``NETWORK_COLORS``; "BN, lr 0.5" is BN's), else the next spare one."""
    spare = itertools.cycle(SPARE_COLORS)
    return {label: NETWORK_COLORS.get(label.split(", lr ")[0]) or next(spare) for label in labels}


def lr_style(lr: float) -> str | tuple:
    """The line style of a learning rate (``LR_STYLES``; dash-dot for one not in the table)."""
    return LR_STYLES.get(round(float(lr), 10), "-.")


def _label_lr_style(label: str) -> str | tuple:
    """"BN, lr 0.5" is drawn in 0.5's line style; a label without a learning rate, solid."""
    try:
        return lr_style(float(label.split(", lr ")[1].split()[0])) if ", lr " in label else "-"
    except ValueError:
        return "-"


def legend_outside(ax: plt.Axes, **kwargs) -> None:
    """The legend to the right of ``ax``, off the curves."""
    ax.legend(**{"loc": "upper left", "bbox_to_anchor": (1.02, 1.0), "fontsize": 8, "frameon": False, **kwargs})
