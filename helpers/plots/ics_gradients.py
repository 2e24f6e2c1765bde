"""Notebook 04's figure: internal covariate shift through gradients, per probed layer.

Taught in notebook 04.
"""

from __future__ import annotations

import matplotlib.pyplot as plt

from ..summaries import ics_summary
from .style import RunsBySeed, legend_outside, network_colors, seeds_label, seeds_of

ICS_PANELS = (("grad_diff", "‖G − G′‖ (log scale)", "log"), ("relative", "‖G − G′‖ / ‖G‖ (log scale)", "log"),
              ("cosine", "cos∠(G, G′)", "linear"))


def plot_ics(runs: RunsBySeed, probe: str = "ics") -> plt.Figure:
    """The paper's Fig. 3 layout, one column per probed layer: ‖G − G′‖, the scale-free
    ‖G − G′‖/‖G‖ and cos∠(G, G′) over training; every seed a thin line."""
    layers = seeds_of(next(iter(runs.values())))[0].probes[probe].settings["layers"]
    fig, axes = plt.subplots(3, len(layers), figsize=(3.6 * len(layers), 7.6), squeeze=False, sharex=True)
    colors = network_colors(runs)
    for name, value in runs.items():
        hs = seeds_of(value)
        for j, h in enumerate(hs):
            ics = ics_summary(h, probe)
            for row, (key, _, _) in enumerate(ICS_PANELS):
                for col in range(len(layers)):
                    axes[row, col].plot(ics["step"], ics[key][:, col], color=colors[name], lw=0.8,
                                        alpha=0.5 if len(hs) > 1 else 1.0,
                                        label=seeds_label(name, hs) if j == 0 else None)
    for col, layer in enumerate(layers):
        axes[0, col].set_title(f"layer {layer}", fontsize=10)
        axes[2, col].axhline(1.0, color="0.5", ls=":", lw=1)
        axes[2, col].set_ylim(-1.05, 1.05)
        axes[2, col].set_xlabel("step")
        for row, (_, label, scale) in enumerate(ICS_PANELS):
            axes[row, col].set_yscale(scale)
            axes[row, col].set_ylabel(label, fontsize=8)
            axes[row, col].grid(alpha=0.3)
    legend_outside(axes[0, -1])
    fig.tight_layout()
    return fig
