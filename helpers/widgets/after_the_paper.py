"""Notebook 08's panel: λ_max along a full-batch run at a chosen learning rate.

Taught in notebook 08.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt

from ..config import RunConfig
from ..edge_of_stability import full_batch_config, sharpness_probe, sharpness_summary
from ..plots import (
    seeds_of,
)
from ..protocol import network_label
from ..protocol import networks as protocol_networks
from ..runs import History
from ..sharpness_plots import plot_edge
from .panels import LAYOUT, _TrainingPanel


class SharpnessExplorer(_TrainingPanel):
    """A learning-rate slider, a network menu and a Train button for full-batch gradient descent
    with λ_max followed (notebook 08).

    Each click trains the run :func:`~helpers.edge_of_stability.full_batch_config` gives for the
    chosen η and network (its length scales as 1/η), with :func:`~helpers.edge_of_stability.sharpness_probe`,
    through the run cache, and redraws every run's λ_max·η/2, where 1 is the stability limit 2/η,
    over the reference runs ({(label, lr): runs over seeds}).
    """

    def __init__(self, reference: Mapping[tuple[str, float], Sequence[History]] | None = None, lr: float = 0.05,
                 networks: Sequence[str] = ("Standard", "BN"), log10_range: tuple[float, float] = (-1.7, -0.3)):
        self.runs = {key: [sharpness_summary(h) for h in seeds_of(hs)] for key, hs in (reference or {}).items()}
        self.slider = widgets.FloatLogSlider(value=lr, base=10, min=log10_range[0], max=log10_range[1],
                                             step=0.05, description="learning rate η", readout_format=".3g",
                                             continuous_update=False, style=LAYOUT)
        self.choice = widgets.Dropdown(options=list(protocol_networks(*networks).items()), description="network",
                                       style=LAYOUT)
        super().__init__([self.slider, self.choice])
        if self.runs:
            self._show()

    def selected_config(self) -> RunConfig:
        return full_batch_config(lr=float(self.slider.value), norm=self.choice.value)

    def train_selected(self) -> History:
        """Train (or fetch from the cache) the selected run, add it to the plot and return it."""
        config = self.selected_config()
        history = self._train(config, probes=[sharpness_probe(config.steps)])
        self.runs[(f"{network_label(config.norm)} (trained here)", config.lr)] = [sharpness_summary(history)]
        self._show()
        return history

    def figure(self) -> plt.Figure:
        """The reference runs and every run trained so far (the panel's view, as a static figure)."""
        return plot_edge(self.runs)
