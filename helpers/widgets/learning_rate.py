"""The learning-rate panel of notebooks 00, 02 and 06: train one run at a chosen learning rate
beside the notebook's runs.

Taught in notebooks 00, 02 and 06.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import ipywidgets as widgets
import matplotlib.pyplot as plt

from ..config import RunConfig
from ..plots import (
    plot_curves,
)
from ..protocol import network_label
from ..protocol import networks as protocol_networks
from ..runs import History
from .panels import LAYOUT, _TrainingPanel


class LearningRateExplorer(_TrainingPanel):
    """A log-scale learning-rate slider, a BatchNorm checkbox (or, given ``networks``, a menu of
    networks by label) and a Train button.

    Each click trains one run of ``base`` at the chosen settings (through the run cache, so
    going back to a value is instant) and redraws it over the reference runs. A run that
    diverges is drawn as diverged. Display it with ``display(explorer.widget)``.
    """

    def __init__(self, base: RunConfig, reference: Mapping[str, History | Sequence[History]] | None = None,
                 metrics: Sequence[str] = ("train_loss", "test_acc"), log10_range: tuple[float, float] = (-3, 1),
                 networks: Sequence[str] | None = None):
        self.base, self.metrics = base, tuple(metrics)
        self.runs: dict[str, History | Sequence[History]] = dict(reference or {})
        self.slider = widgets.FloatLogSlider(value=base.lr, base=10, min=log10_range[0], max=log10_range[1],
                                             step=0.05, description="learning rate", readout_format=".3g",
                                             continuous_update=False, style=LAYOUT)
        if networks:
            choices = list(protocol_networks(*networks).items())  # (label, norm): the menu shows labels
            start = base.norm if base.norm in dict(choices).values() else choices[0][1]
            self.choice = widgets.Dropdown(options=choices, value=start, description="network", style=LAYOUT)
        else:
            self.choice = widgets.Checkbox(value=base.norm == "batch", description="BatchNorm", style=LAYOUT)
        super().__init__([self.slider, self.choice])
        if self.runs:
            self._show()  # the reference runs, before anything is trained

    def selected_config(self) -> RunConfig:
        value = self.choice.value
        norm = value if isinstance(value, str) else "batch" if value else "none"
        options = self.base.norm_options if norm == self.base.norm else {}  # one norm's options mean nothing to another
        return replace(self.base, lr=float(self.slider.value), norm=norm, norm_options=options)

    def train_selected(self) -> History:
        """Train (or fetch from the cache) the selected run, add it to the plot and return it."""
        config = self.selected_config()
        history = self._train(config)
        self.runs[f"{network_label(config.norm)}, lr {config.lr:.3g}"] = history
        self._show()
        return history

    def figure(self) -> plt.Figure:
        """The reference runs and every run trained so far (the panel's view, as a static figure)."""
        return plot_curves(self.runs, self.metrics)
