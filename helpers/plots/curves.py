"""Training curves (loss and accuracy over steps, every seed) and a grid of images.

Taught in notebook 00 (and drawn by notebooks 02-06).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from .style import (
    METRIC_LABELS,
    RunsBySeed,
    _label_lr_style,
    _median_curve,
    legend_outside,
    network_colors,
    seeds_label,
    seeds_of,
    smooth,
)


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


def plot_curves(runs: RunsBySeed, metrics: Sequence[str] = ("train_loss", "test_acc"),
                smooth_window: int = 10, styles: Mapping[str, dict] | None = None) -> plt.Figure:
    """One panel per metric; per label, every seed as a thin line and their median as a thick one.
    A diverged run ends in a red ×, an interrupted one in a black bar; the legend says so.

    ``styles`` maps a label to extra ``ax.plot`` keywords (colour, line style, ...).
    """
    styles, colors = styles or {}, network_colors(runs)
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.6), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        per_step = metric.startswith("train")
        for label, value in runs.items():
            hs = seeds_of(value)
            style = {"color": colors[label], "ls": _label_lr_style(label), **styles.get(label, {})}
            xs = [h.steps if per_step else h.eval_steps for h in hs]
            ys = [smooth(getattr(h, metric), smooth_window) if per_step else getattr(h, metric) for h in hs]
            for h, x, y in zip(hs, xs, ys):
                ax.plot(x, y, lw=0.7, alpha=0.4 if len(hs) > 1 else 1.0, **style)
                if (h.diverged or h.interrupted) and len(h.steps):
                    end = np.nanmax(y[np.isfinite(y)]) if np.isfinite(y).any() else 0
                    ax.plot(x[-1], end, "x" if h.diverged else "|", color="red" if h.diverged else "black",
                            ms=10, mew=2)
            if len(hs) > 1:
                ax.plot(*_median_curve(xs, ys), lw=1.8, **style, label=seeds_label(label, hs) + ", median")
            else:
                ax.plot([], [], lw=1.8, **style, label=seeds_label(label, hs))
        ax.set_xlabel("step")
        ax.set_ylabel(METRIC_LABELS.get(metric, metric)
                      + (f" ({smooth_window}-step mean)" if per_step and smooth_window > 1 else ""))
        ax.grid(alpha=0.3)
    legend_outside(axes[0, -1])
    fig.tight_layout()
    return fig
