"""Notebook 01's figures: histograms before and after BN, BN's affine step, how batch statistics
scatter with the batch size.

Taught in notebook 01.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np


def plot_histograms(panels: Mapping[str, np.ndarray], labels: Sequence[str], bins: int = 60,
                    xlabel: str = "value") -> plt.Figure:
    """Side-by-side panels; each overlays the histograms of the columns of an (N, k) array."""
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.4), squeeze=False)
    for ax, (title, values) in zip(axes[0], panels.items()):
        for k, label in enumerate(labels):
            ax.hist(values[:, k], bins=bins, alpha=0.55, density=True, label=label)
        ax.set_title(title)
        ax.set_xlabel(xlabel)
    axes[0, 0].set_ylabel("density")
    axes[0, -1].legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_affine(x_hat: np.ndarray, gamma: float, beta: float, xlim: tuple[float, float] = (-8, 8)) -> plt.Figure:
    """The histogram of γ·x̂ + β on fixed axes, so moving γ and β visibly stretches and shifts it."""
    fig, ax = plt.subplots(figsize=(7, 3))
    bins = np.linspace(*xlim, 81)
    ax.hist(x_hat, bins=bins, density=True, color="0.8", label="x̂ (normalised)")
    ax.hist(gamma * x_hat + beta, bins=bins, density=True, alpha=0.7, label=f"{gamma:.2f}·x̂ + {beta:.2f}")
    ax.axvline(beta, color="C1", lw=1, ls="--")
    ax.set_xlim(*xlim)
    ax.set_ylim(0, 0.9)
    ax.set_xlabel("value")
    ax.legend(loc="upper left")
    fig.tight_layout()
    return fig


def plot_batch_statistics_spread(spread: Mapping[str, np.ndarray]) -> plt.Figure:
    """Scatter of the batch mean and variance against batch size, log-log, with a 1/√m guide."""
    m = spread["batch_size"]
    fig, ax = plt.subplots(figsize=(6, 3.8))
    ax.loglog(m, spread["mean_sd"], "o-", label="sd of the batch mean")
    ax.loglog(m, spread["var_sd"], "s-", label="sd of the batch variance")
    ax.loglog(m, spread["mean_sd"][0] * np.sqrt(m[0] / m), "k--", lw=1, label="∝ 1/√m")
    ax.set_xlabel("batch size m")
    ax.set_ylabel("spread over random batches")
    ax.legend()
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return fig
