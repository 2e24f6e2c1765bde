"""Plots for the notebooks. Each takes plain data (arrays, Histories) and returns the figure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from .runs import History

METRIC_LABELS = {"train_loss": "training loss", "train_acc": "training accuracy",
                 "test_loss": "test loss", "test_acc": "test accuracy"}


def show_images(images: np.ndarray, labels: np.ndarray, classes: Sequence[str], per_class: int = 8,
                seed: int = 0) -> plt.Figure:
    """A grid with one row per class: ``per_class`` random images (N,32,32,3 uint8) of each."""
    rng = np.random.default_rng(seed)
    fig, axes = plt.subplots(len(classes), per_class, figsize=(per_class * 0.9, len(classes) * 0.95))
    for row, name in enumerate(classes):
        picks = rng.choice(np.flatnonzero(labels == row), per_class, replace=False)
        for col, i in enumerate(picks):
            ax = axes[row, col]
            ax.imshow(images[i], interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
        axes[row, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
    fig.subplots_adjust(wspace=0.05, hspace=0.05)
    return fig


def smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average over ``window`` steps (shorter at the start), for noisy per-batch curves."""
    values = np.asarray(values, dtype=float)
    if window <= 1 or len(values) == 0:
        return values
    cumsum = np.concatenate([[0.0], np.cumsum(values)])
    end = np.arange(1, len(values) + 1)
    start = np.maximum(end - window, 0)
    return (cumsum[end] - cumsum[start]) / (end - start)


def plot_curves(runs: Mapping[str, History], metrics: Sequence[str] = ("train_loss", "test_acc"),
                smooth_window: int = 10) -> plt.Figure:
    """One panel per metric, one line per run. A diverged run ends in a red ×."""
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.6), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        for label, h in runs.items():
            per_step = metric.startswith("train")
            x = h.steps if per_step else h.eval_steps
            y = getattr(h, metric)
            y = smooth(y, smooth_window) if per_step else y
            (line,) = ax.plot(x, y, label=label + (" (diverged)" if h.diverged else ""),
                              marker=None if per_step else "o", ms=3)
            if h.diverged and len(h.steps):
                ax.plot(h.steps[-1], np.nanmax(y[np.isfinite(y)]) if np.isfinite(y).any() else 0, "x",
                        color="red", ms=10, mew=2)
        ax.set_xlabel("step")
        ax.set_ylabel(METRIC_LABELS.get(metric, metric) + (f" ({smooth_window}-step mean)" if
                                                            metric.startswith("train") and smooth_window > 1 else ""))
        ax.grid(alpha=0.3)
    axes[0, 0].legend()
    fig.tight_layout()
    return fig
