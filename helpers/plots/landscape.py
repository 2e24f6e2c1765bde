"""Notebook 05's figures (also drawn by notebooks 06 and 08): the landscape along the gradient,
early phase against the rest, fine curves and planes at saved points.

Taught in notebook 05.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from ..summaries import flagged
from .style import legend_outside, network_colors

LANDSCAPE_PANELS = (("loss", "(a) loss variation", "loss L(w − ηg) on the batch", "linear"),
                    ("pred", "(b) gradient predictiveness", "‖g − ∇L(w − ηg)‖ (log scale)", "log"),
                    ("beta", "(c) effective β-smoothness", "max ‖g − ∇L(w − ηg)‖ / ‖ηg‖ (log)", "log"))


def plot_landscape(summaries: Mapping[str, Mapping | Sequence[Mapping]]) -> plt.Figure:
    """The paper's Fig. 4 layout: (a) loss band, (b) gradient-predictiveness band, (c) effective β.

    ``summaries`` maps a network's name to :func:`helpers.summaries.landscape_summary` output, or a
    list of them over seeds: every seed is drawn. Bands are shaded between the min and max over η
    at each probed step. A dotted line of the network's colour marks where each run left its
    initial plateau (the end of its early phase); panel (c) draws 2/LR, the curvature at which
    a gradient step of the learning rate's size stops being stable on a quadratic.
    """
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.9))
    lr, colors = None, network_colors(summaries)
    for name, value in summaries.items():
        seeds = [value] if isinstance(value, Mapping) else list(value)
        alpha = 0.35 if len(seeds) == 1 else 0.15
        for j, s in enumerate(seeds):
            color, at, lr = colors[name], s["step"], s["lr"] or lr
            label = (flagged(name, s) + (f" ({len(seeds)} seeds)" if len(seeds) > 1 else "")) if j == 0 else None
            for ax, (key, *_) in zip(axes, LANDSCAPE_PANELS):
                if key == "beta":
                    ax.plot(at, s["beta"], color=color, lw=1, label=label)
                else:
                    ax.fill_between(at, s[f"{key}_min"], s[f"{key}_max"], color=color, alpha=alpha, lw=0,
                                    label=label)
                ax.axvline(s["early_until"], color=color, ls=":", lw=0.8)
    for ax, (_, title, ylabel, scale) in zip(axes, LANDSCAPE_PANELS):
        ax.set_yscale(scale)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(ylabel, fontsize=8)
        ax.set_xlabel("step (dotted: end of each run's plateau)", fontsize=8)
        ax.grid(alpha=0.3)
    if lr:
        axes[2].axhline(2 / lr, color="0.3", ls="--", lw=1, label="2 / LR")
    legend_outside(axes[2])  # the networks (their bands and lines) and 2/LR
    fig.tight_layout()
    return fig


def plot_split_sweep(sweeps: Mapping[str, Sequence[Mapping]], title: str = "") -> plt.Figure:
    """How an early/rest comparison moves with the split: per quantity, the ratio of two networks'
    medians before (early) and after (rest) each split step; one line per seed. ``sweeps`` maps a
    quantity to :func:`helpers.summaries.split_sweep` outputs, one per seed, all with the same
    orientation, which labels the axis (e.g. "BN / Standard, median beta")."""
    ratios = {key: {f"{sw['numerator']} / {sw['denominator']}" for sw in per_seed} for key, per_seed in sweeps.items()}
    if mixed := [key for key, ratio in ratios.items() if len(ratio) != 1]:
        raise ValueError(f"the sweeps of {', '.join(mixed)} do not share one orientation: {ratios}")
    fig, axes = plt.subplots(1, len(sweeps), figsize=(4.6 * len(sweeps), 3.4), squeeze=False)
    for ax, (key, per_seed) in zip(axes[0], sweeps.items()):
        for j, sw in enumerate(per_seed):
            for phase, color in (("early", "C3"), ("rest", "C2")):
                ax.plot(sw["splits"], sw[phase], color=color, lw=1, alpha=0.7,
                        label=f"{phase}" if j == 0 else None)
        ax.axhline(1.0, color="0.4", lw=1)
        ax.set_yscale("log")
        ax.set_xlabel("split step")
        ax.set_ylabel(f"{ratios[key].pop()}, median {key}", fontsize=8)
        ax.grid(alpha=0.3, which="both")
    legend_outside(axes[0, -1], title=title or None, title_fontsize=8)
    fig.tight_layout()
    return fig


def plot_step_curves(curves: Mapping[str, Mapping], max_multiplier: float = np.inf) -> plt.Figure:
    """The 1-D landscape at one probed step: L(w − ηg) and ‖∇L(w − ηg)‖ against η / LR, one line
    per network, up to ``max_multiplier`` × LR. ``curves`` is :func:`helpers.summaries.step_curves`
    output (arrays ``eta``, ``loss``, ``grad_norm``, and the run's ``lr`` and the ``step``)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    colors = network_colors(curves)
    for name, c in curves.items():
        multiple = c["eta"] / c["lr"]
        keep = multiple <= max_multiplier * (1 + 1e-9)
        for ax, key in zip(axes, ("loss", "grad_norm")):
            ax.plot(multiple[keep], c[key][keep], "o-", color=colors[name], ms=4, label=name)
    axes[0].set_ylabel("loss L(w − ηg)")
    axes[1].set_ylabel("gradient norm ‖∇L(w − ηg)‖")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel("step length η / learning rate")
        ax.axvline(1.0, color="0.5", ls=":", lw=1)  # the step training takes
        ax.grid(alpha=0.3)
    axes[1].set_yscale("log")
    steps = sorted({int(c["step"]) for c in curves.values()})
    legend_outside(axes[1], title=f"step {', '.join(map(str, steps))}", title_fontsize=8)
    fig.tight_layout()
    return fig


def plot_fine_curves(curves: Mapping[str, Mapping], paper_range: tuple[float, float] = (0.5, 4.0),
                     log: bool = False) -> plt.Figure:
    """Fine curves at saved points (:func:`helpers.landscape_views.fine_curve`), one line per network:
    L(w − ηg) and, where computed, ‖∇L(w − ηg)‖ against η / LR. Shaded: the paper's range of η;
    dotted: η = LR, the step training took."""
    panels = 2 if all("grad_norm" in c for c in curves.values()) else 1
    fig, axes = plt.subplots(1, panels, figsize=(5.2 * panels + 1.8, 3.6), squeeze=False)
    colors = network_colors(curves)
    for name, c in curves.items():
        label = f"{name}, step {c['step']}"
        for ax, key in zip(axes[0], ("loss", "grad_norm")):
            ax.plot(c["multiplier"], c[key], "-", color=colors[name], lw=1.5, label=label)
    axes[0, 0].set_ylabel("loss L(w − ηg)")
    if panels == 2:
        axes[0, 1].set_ylabel("gradient norm ‖∇L(w − ηg)‖")
    for ax in axes[0]:
        ax.axvspan(*paper_range, color="0.9", zorder=0, label="the paper's range of η")
        ax.axvline(1.0, color="0.4", ls=":", lw=1, label="η = LR, the step taken")
        ax.set(xscale="log" if log else "linear", xlabel="step length η / learning rate")
        ax.grid(alpha=0.3)
    legend_outside(axes[0, -1])
    fig.tight_layout()
    return fig


def plot_planes(planes: Mapping[str, Mapping], levels: int = 14) -> plt.Figure:
    """Loss on planes through w (:func:`helpers.landscape_views.plane`), one panel per network, each
    with its own colour scale (compare shapes, not colours, across panels). Axes in units of the
    training step's length: the cross is w, the dot (1, 0) where training went."""
    fig, axes = plt.subplots(1, len(planes), figsize=(5.0 * len(planes) + 1.0, 4.2), squeeze=False)
    for ax, (name, p) in zip(axes[0], planes.items()):
        filled = ax.contourf(p["a"], p["b"], p["loss"], levels=levels, cmap="viridis")
        ax.contour(p["a"], p["b"], p["loss"], levels=filled.levels, colors="k", linewidths=0.3)
        fig.colorbar(filled, ax=ax, label="loss")
        ax.plot(0, 0, "w+", ms=12, mew=2)
        ax.plot(1, 0, "wo", ms=6, mec="k")
        second = ("random, filter-normalised" if p["direction"] == "random"
                  else "−∇L(w − LR·g), same batch, orthogonal to g")
        ax.set(xlabel="a: along −g (1 = the step taken)", ylabel=f"b: {second}", aspect="equal")
        ax.set_title(f"{name}, step {p['step']}, unit LR·‖g‖ = {p['unit']:.3g}", fontsize=10)
    fig.tight_layout()
    return fig
