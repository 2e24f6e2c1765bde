"""Notebook 03's figures (also drawn by notebook 06): activation distributions over training as
ridgelines, and their drift.

Taught in notebook 03.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..summaries import distribution_drift, flagged
from .style import RunsBySeed, legend_outside, network_colors, seeds_label, seeds_of


def ridgeline(ax: plt.Axes, hist: np.ndarray, steps: np.ndarray, edges: np.ndarray, color: str = "C0",
              max_lines: int = 10, display_bins: int = 40) -> None:
    """One unit's distribution over training on ``ax``: a density curve per record, later ones higher.

    ``hist`` is (records, bins) counts on ``edges``. The x-range covers 99% of the values
    recorded; within it, neighbouring bins are merged into about ``display_bins`` so that few
    values (a deep layer's small maps) still give a readable curve. Each curve is scaled to its
    own height: the plot compares shapes and positions.
    """
    pick = np.unique(np.linspace(0, len(hist) - 1, min(len(hist), max_lines)).round().astype(int))
    counts = hist[pick].astype(float)
    total = np.cumsum(counts.sum(0)) / max(counts.sum(), 1)
    first = min(np.searchsorted(total, 0.005), len(total) - 1)
    last = max(min(np.searchsorted(total, 0.995), len(total) - 1), first)
    group = max(1, (last - first + 1) // display_bins)
    starts = np.arange(first, last + 1, group)
    stops = np.minimum(starts + group, last + 1)
    merged = np.stack([counts[:, a:b].sum(1) for a, b in zip(starts, stops)], axis=1)
    left, right = edges[starts], edges[stops]
    x = (left + right) / 2
    density = merged / (right - left)
    for j in range(len(pick) - 1, -1, -1):  # back to front, so earlier records are drawn on top
        y = j + 0.9 * density[j] / max(density[j].max(), 1e-12)
        ax.fill_between(x, j, y, color=color, alpha=0.35, lw=0, zorder=len(pick) - j)
        ax.plot(x, y, color=color, lw=0.8, zorder=len(pick) - j)
    ax.set_yticks(range(len(pick)))
    ax.set_yticklabels([str(s) for s in steps[pick]], fontsize=7)
    ax.set_xlim(left[0], right[-1])


def plot_distributions(runs: RunsBySeed, layer: int | None = None, unit: int = 0, max_seeds: int = 3,
                       probe: str = "activations") -> plt.Figure:
    """Rows = networks, columns = seeds: one recorded unit's pre-activation distribution over
    training, for one ``layer`` (the first recorded by default). The layer, the unit's position
    and the bin edges are read from the probe's settings; ``max_seeds`` columns at most."""
    first = seeds_of(next(iter(runs.values())))[0].probes[probe].settings
    layer = first["layers"][0] if layer is None else layer
    cols = min(max_seeds, max(len(seeds_of(v)) for v in runs.values()))
    fig, axes = plt.subplots(len(runs), cols, figsize=(3.3 * cols, 2.4 * len(runs)), squeeze=False)
    colors = network_colors(runs)
    for row, (name, value) in enumerate(runs.items()):
        for col, h in enumerate(seeds_of(value)[:cols]):
            rec, ax = h.probes[probe], axes[row, col]
            layers = list(rec.settings["layers"])
            where = rec.settings["positions"][layers.index(layer)][unit]
            ridgeline(ax, rec["hist"][:, layers.index(layer), unit], rec["step"],
                      np.asarray(rec.settings["edges"]), color=colors[name])
            ax.set_title(f"{flagged(name, h)}, seed {h.config.seed if h.config else col}\n"
                         f"layer {layer}, unit (c, y, x) = {tuple(where)}", fontsize=8)
            if col == 0:
                ax.set_ylabel("step")
    for ax in axes[-1]:
        ax.set_xlabel("pre-activation value")
    fig.tight_layout()
    return fig


def plot_drift(runs: RunsBySeed, probe: str = "activations", pooled: bool = False, relative: bool = True,
               ) -> plt.Figure:
    """Grouped bars: per recorded layer and network, the median over seeds of the median
    :func:`~helpers.summaries.distribution_drift` over units; each seed as a dot. ``pooled``: the
    drift of the units' whole channels (the contrast) instead of the single activations;
    ``relative=False``: in the activations' own units rather than relative to their spread."""
    fig, ax = plt.subplots(figsize=(7.5, 3.4))
    layers = seeds_of(next(iter(runs.values())))[0].probes[probe].settings["layers"]
    width, colors = 0.8 / len(runs), network_colors(runs)
    for k, (name, value) in enumerate(runs.items()):
        hs = seeds_of(value)
        per_seed = np.stack([np.median(distribution_drift(h.probes[probe], pooled, relative), axis=1) for h in hs])
        x = np.arange(len(layers)) + (k - (len(runs) - 1) / 2) * width
        ax.bar(x, np.median(per_seed, axis=0), width, label=seeds_label(name, hs), color=colors[name], alpha=0.8)
        for row in per_seed:
            ax.plot(x, row, "k.", ms=4)
    ax.set_xticks(range(len(layers)))
    ax.set_xticklabels([f"layer {i}" for i in layers])
    what = ("whole channels" if pooled else "single activations") + ("" if relative else ", own units")
    ax.set_ylabel(f"drift between records, {what}\n(median over units; log scale)", fontsize=9)
    ax.set_yscale("log")
    legend_outside(ax, fontsize=7, title="bars: median over seeds;\ndots: each seed", title_fontsize=7)
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return fig
