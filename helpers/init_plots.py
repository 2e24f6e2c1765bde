"""Figures for BN at initialization: each takes the plain data of :mod:`helpers.init_effects`
(surveys keyed by a network's label, "Standard" and "BN" taking the series' colours) and returns the
figure.

Taught in notebook 08.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np

from .plots import legend_outside, network_colors


def plot_gradient_growth(surveys: Mapping[str, Mapping], by_batch: Mapping[str, Mapping] | None = None,
                         ) -> plt.Figure:
    """(a) ‖∂L/∂y_l‖ against the layer, one line per seed, log scale, with the mean-field slope drawn
    through each network's median; (b) when ``by_batch`` (:func:`~helpers.init_effects.growth_by_batch`
    results) is given, the fitted factor against the batch size, every seed, with the large-batch
    prediction."""
    fig, axes = plt.subplots(1, 2 if by_batch else 1, figsize=(11.5 if by_batch else 6.5, 4), squeeze=False)
    ax = axes[0, 0]
    colors = network_colors(list(surveys) + list(by_batch or {}))
    for label, survey in surveys.items():
        layer, norms = survey["layer"], np.atleast_2d(survey["grad_norm"])
        for i, row in enumerate(norms):
            ax.plot(layer, row, color=colors[label], lw=1, alpha=0.6,
                    label=f"{label}: factor {np.median(survey['factor']):.3f} (median of {len(norms)})"
                    if i == 0 else None)
        mid = len(layer) // 2
        reference = np.median(norms[:, mid]) * survey["mean_field"] ** (layer[mid] - layer)
        ax.plot(layer, reference, color=colors[label], ls=":", lw=1.5,
                label=f"{label}: mean field, {survey['mean_field']:.3f} per layer")
    ax.set_yscale("log")
    ax.set_xlabel("layer l (1 = nearest the input)")
    ax.set_ylabel("‖∂L/∂y_l‖")
    ax.set_title("gradient norm per layer at initialization", fontsize=10)
    if by_batch:
        ax.legend(fontsize=7, frameon=False)
    else:
        legend_outside(ax)
    if by_batch:
        ax = axes[0, 1]
        for label, sweep in by_batch.items():
            batch, factor = sweep["batch"], np.atleast_2d(sweep["factor"])
            ax.plot(np.repeat(batch, factor.shape[1]), factor.ravel(), "o", ms=3, color=colors[label], alpha=0.6)
            ax.plot(batch, np.median(factor, axis=1), color=colors[label], label=f"{label} (median over seeds)")
            ax.axhline(sweep["mean_field"], color=colors[label], ls=":", lw=1.2,
                       label=f"{label}: large-batch mean field {sweep['mean_field']:.3f}")
        ax.set_xscale("log", base=2)
        ax.set_xticks(batch, [str(b) for b in batch])
        ax.minorticks_off()
        ax.set_xlabel("batch size")
        ax.set_ylabel("fitted growth factor per layer")
        ax.set_title("how the factor depends on the batch", fontsize=10)
        legend_outside(ax)
    fig.tight_layout()
    return fig


def plot_rank_by_depth(surveys: Mapping[str, Mapping]) -> plt.Figure:
    """The effective rank of h_l against the layer (:func:`~helpers.init_effects.rank_survey`), one
    line per seed, with the largest possible rank min(batch, units) as a dashed line."""
    fig, ax = plt.subplots(figsize=(7.5, 4))
    colors = network_colors(surveys)
    for label, survey in surveys.items():
        ranks = np.atleast_2d(survey["effective_rank"])
        for i, row in enumerate(ranks):
            ax.plot(survey["layer"], row, color=colors[label], lw=1, alpha=0.7, marker="." if len(row) < 20 else None,
                    label=f"{label}: {np.median(ranks[:, -1]):.1f} at layer {survey['layer'][-1]}"
                    if i == 0 else None)
    first = next(iter(surveys.values()))
    ax.plot(first["layer"], first["max_rank"], color="k", ls="--", lw=1, label="min(batch, units)")
    ax.set_yscale("log")
    ax.set_xlabel("layer l (0 = the inputs)")
    ax.set_ylabel("effective rank of h_l")
    ax.set_title("rank of the batch's representation at initialization", fontsize=10)
    legend_outside(ax)
    fig.tight_layout()
    return fig
