"""Figures for notebook 08's sharpness and learning-rate experiments; each takes the plain data of
:mod:`helpers.edge_of_stability` and returns the figure.

Taught in notebook 08.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from .plots import legend_outside, lr_style, network_colors

Summaries = Mapping[tuple[str, float], Sequence[Mapping]]  # (label, lr) -> one sharpness summary per seed


def plot_sharpness(summaries: Summaries, quantity: str = "lambda_max") -> plt.Figure:
    """One column per learning rate: λ_max (top, log scale, the 2/η line dashed) and the training
    loss at the probed steps (bottom), every seed of every network as its own line."""
    lrs = sorted({lr for _, lr in summaries})
    colors = network_colors(dict.fromkeys(label for label, _ in summaries))
    fig, axes = plt.subplots(2, len(lrs), figsize=(4.6 * len(lrs) + 1.5, 6), squeeze=False, sharex="col")
    for col, lr in enumerate(lrs):
        top, bottom = axes[0, col], axes[1, col]
        for (label, run_lr), runs in summaries.items():
            if run_lr != lr:
                continue
            for k, s in enumerate(runs):
                name = f"{label} ({len(runs)} seeds)" if k == 0 else None
                marks = "x" if s.get("diverged") else None
                top.plot(s["step"], s[quantity], color=colors[label], lw=1.2, alpha=0.8, marker=marks, label=name)
                bottom.plot(s["step"], s["train_loss"], color=colors[label], lw=1.2, alpha=0.8)
        if quantity == "lambda_max":
            top.axhline(2 / lr, color="black", ls="--", lw=1, label="2/η")
        top.set_yscale("log")
        top.set_title(f"full-batch GD, η = {lr:g}", fontsize=10)
        top.set_ylabel("λ_max of the training loss" if quantity == "lambda_max" else quantity)
        bottom.set_ylabel("training loss")
        bottom.set_xlabel("step")
        for ax in (top, bottom):
            ax.grid(alpha=0.3)
    legend_outside(axes[0, -1])
    fig.tight_layout()
    return fig


def plot_sharpness_and_beta(rows: Mapping[str, Sequence[Mapping]], lr: float) -> plt.Figure:
    """Along SGD runs, per network (one row of points per seed, keys ``step``, ``lambda_max``,
    ``beta``, ``weight_norm``): (a) λ_max and the effective β measured at the same steps, with 2/η;
    (b) the scale-aware λ_max·‖w‖²."""
    colors = network_colors(rows)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    for label, seeds in rows.items():
        for k, r in enumerate(seeds):
            first = k == 0
            axes[0].plot(r["step"], r["lambda_max"], "-o", ms=3, color=colors[label],
                         label=f"{label}: λ_max ({len(seeds)} seeds)" if first else None)
            axes[0].plot(r["step"], r["beta"], ":", marker="s", ms=3, color=colors[label],
                         label=f"{label}: effective β" if first else None)
            axes[1].plot(r["step"], r["lambda_max"] * r["weight_norm"] ** 2, "-o", ms=3, color=colors[label],
                         label=f"{label} ({len(seeds)} seeds)" if first else None)
    axes[0].axhline(2 / lr, color="black", ls="--", lw=1, label="2/η")
    axes[0].set_ylabel("curvature at the step (minibatch loss)")
    axes[0].set_title(f"SGD, batch of the run, η = {lr:g}: λ_max and effective β", fontsize=10)
    axes[1].set_ylabel("λ_max · ‖w‖²")
    axes[1].set_title("scale-aware sharpness", fontsize=10)
    for ax in axes:
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        legend_outside(ax)
    fig.tight_layout()
    return fig


def plot_largest_lr(search) -> plt.Figure:
    """Per network, each seed's largest learning rate that still trains (a :class:`TopDownSearch`);
    a seed at the grid's top is drawn as a triangle (at least that), one training at none below the grid."""
    labels = list(search.largest)
    colors = network_colors(labels)
    grid = np.sort(search.lrs)
    floor = grid[0] / 2
    fig, ax = plt.subplots(figsize=(1.1 * len(labels) + 3, 3.8))
    offsets = np.linspace(-0.15, 0.15, len(search.seeds))
    for i, label in enumerate(labels):
        for k, lr in enumerate(search.largest[label]):
            top = lr == search.lrs[0]
            y = floor if np.isnan(lr) else lr
            ax.plot(i + offsets[k], y, "^" if top else "v" if np.isnan(lr) else "o", ms=8, color=colors[label])
    for lr in grid:
        ax.axhline(lr, color="grey", lw=0.6, alpha=0.5)
    ax.set_yscale("log")
    ax.set_yticks([floor, *grid], ["none", *(f"{lr:g}" for lr in grid)])
    ax.minorticks_off()
    ax.set_xticks(range(len(labels)), labels, rotation=20, ha="right")
    ax.set_ylabel("largest learning rate that trains")
    ax.set_title(f"one marker per seed ({len(search.seeds)}); ▲ trains at the grid's top, ▼ at none", fontsize=10)
    ax.grid(alpha=0.3, axis="x")
    fig.tight_layout()
    return fig


def plot_edge(summaries: Summaries) -> plt.Figure:
    """Every run on one scale: λ_max·η/2 (1 is the stability limit 2/η), and the training loss;
    colour per network, line style per learning rate (the slider's view)."""
    colors = network_colors(dict.fromkeys(label for label, _ in summaries))
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for (label, lr), runs in summaries.items():
        style = {"color": colors[label], "ls": lr_style(lr), "lw": 1.3}
        for k, s in enumerate(runs):
            name = f"{label}, η = {lr:g}" + (f" ({len(runs)} seeds)" if len(runs) > 1 else "") if k == 0 else None
            axes[0].plot(s["step"], s["edge"], label=name, **style)
            axes[1].plot(s["step"], s["train_loss"], **style)
    axes[0].axhline(1, color="black", ls="--", lw=1, label="λ_max = 2/η")
    axes[0].set_yscale("log")
    axes[0].set_ylabel("λ_max · η/2")
    axes[0].set_title("sharpness in units of the stability limit", fontsize=10)
    axes[1].set_ylabel("training loss (full batch)")
    for ax in axes:
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    legend_outside(axes[0])
    fig.tight_layout()
    return fig
