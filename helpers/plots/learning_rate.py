"""Notebook 02's figures: runs at two learning rates, and the learning-rate sweep.

Taught in notebook 02.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from ..protocol import CHANCE_LOSS, TRAINS_MARGIN
from ..runs import History
from .curves import plot_curves
from .style import legend_outside, network_colors


def plot_lr_runs(runs: Mapping[tuple[str, float], History | Sequence[History]],
                 metrics: Sequence[str] = ("train_acc", "test_acc", "train_loss"), smooth_window: int = 10,
                 ) -> plt.Figure:
    """The paper's Fig. 1 layout: one panel per metric; colour = network, line style = learning rate."""
    labelled = {f"{name}, lr {lr:g}": h for (name, lr), h in runs.items()}
    return plot_curves(labelled, metrics, smooth_window)


def plot_lr_sweep(sweep) -> plt.Figure:
    """Final training loss and test accuracy against learning rate: every seed as a dot, the median
    over seeds as a line; diverged runs as red × at the top, runs an interruption cut short or
    never started as black bars there."""
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.8))
    marked = set()
    n_seeds = len(sweep.seeds)
    colors = network_colors(sweep.final_loss)
    for name in sweep.final_loss:
        color, diverged = colors[name], sweep.diverged[name]
        missing = sweep.interrupted[name] if sweep.interrupted is not None else np.zeros_like(diverged)
        loss = np.where(diverged, np.nan, sweep.final_loss[name])
        for ax, values in ((ax_loss, loss), (ax_acc, sweep.final_test_acc[name])):
            for j in range(n_seeds):
                ax.semilogx(sweep.lrs * (1 + 0.04 * (j - (n_seeds - 1) / 2)), values[:, j], ".", color=color,
                            alpha=0.6, ms=6)
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # an lr where every seed diverged: no median
                ax.semilogx(sweep.lrs, np.nanmedian(values, axis=1), "-", color=color,
                            label=f"{name} (median of {n_seeds} seeds, dots: each seed)")
        for mask, marker, note in ((diverged, "x", "× diverged"), (missing, "|", "| interrupted or not run")):
            if mask.any():
                lrs = np.repeat(sweep.lrs[:, None], n_seeds, axis=1)[mask]
                for ax in (ax_loss, ax_acc):
                    ax.plot(lrs, np.full(len(lrs), 0.96), marker, color=color, ms=10, mew=2,
                            transform=ax.get_xaxis_transform(), label=None if note in marked else note)
                marked.add(note)
    ax_loss.axhline(CHANCE_LOSS, color="0.5", ls=":", lw=1, label="chance (ln 10)")
    ax_loss.axhline(CHANCE_LOSS - TRAINS_MARGIN, color="0.5", ls="--", lw=1, label="\"trains\" below this")
    ax_loss.set_ylabel("final training loss")
    ax_acc.set_ylabel("final test accuracy")
    for ax in (ax_loss, ax_acc):
        ax.set_xlabel("learning rate")
        ax.grid(alpha=0.3, which="both")
    legend_outside(ax_acc, handles=ax_loss.get_legend_handles_labels()[0])
    fig.tight_layout()
    return fig
