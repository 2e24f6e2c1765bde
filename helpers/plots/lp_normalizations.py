"""Notebook 06's figure: what the ℓp layers do to the channels of one batch.

Taught in notebook 06.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np


def plot_normalized_channels(panels: Mapping[str, np.ndarray], bins: int = 60) -> plt.Figure:
    """One panel per normalization: the histograms of a few channels' normalized values (``panels``
    maps a name to an (m, channels) array), each with its variance, over a standard normal curve.
    Every panel shares the x-axis, so a layer that does not give unit variance shows it."""
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 3.2), sharex=True, squeeze=False)
    values = np.concatenate([np.asarray(v).ravel() for v in panels.values()])
    edges = np.linspace(*np.percentile(values, [0.5, 99.5]), bins + 1)
    grid = np.linspace(edges[0], edges[-1], 200)
    for ax, (title, channels) in zip(axes[0], panels.items()):
        for k in range(channels.shape[1]):
            ax.hist(channels[:, k], bins=edges, density=True, histtype="step", lw=1.2, color=f"C{k}",
                    label=f"channel {k}: var {channels[:, k].var():.2f}")
        ax.plot(grid, np.exp(-grid**2 / 2) / np.sqrt(2 * np.pi), color="0.3", ls="--", lw=1, label="N(0, 1)")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("normalized value")
        ax.legend(fontsize=7, loc="upper right")
    axes[0, 0].set_ylabel("density")
    fig.tight_layout()
    return fig
