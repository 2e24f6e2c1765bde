"""Notebook 03's panel: noisy BN's noise on sliders, and the activations it moves.

Taught in notebook 03.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import ipywidgets as widgets
import matplotlib.pyplot as plt

from ..config import RunConfig
from ..plots import (
    plot_curves,
    plot_distributions,
)
from ..probes import ActivationProbe
from ..runs import History
from .panels import LAYOUT, _TrainingPanel


class NoiseExplorer(_TrainingPanel):
    """A noise-strength slider and a Train button for noisy BN.

    Each click trains ``base`` with ``norm="noisy_batch"`` and the noise scaled by the slider's
    value (1 is the paper's noise, 0 none; see :class:`helpers.noise.ActivationNoise`), records
    activations with ``probe``, and shows training accuracy over the reference runs plus the
    distribution of one recorded unit of the first probed layer. Runs are cached.
    """

    def __init__(self, base: RunConfig, probe: ActivationProbe,
                 reference: Mapping[str, History | Sequence[History]] | None = None):
        self.base, self.probe = base, probe
        self.runs: dict[str, History | Sequence[History]] = dict(reference or {})
        self.slider = widgets.FloatSlider(value=1.0, min=0.0, max=3.0, step=0.25, description="noise strength",
                                          continuous_update=False, style=LAYOUT)
        super().__init__([self.slider])
        if self.runs:
            self._show()  # the reference runs, before anything is trained

    def train_selected(self) -> History:
        strength = float(self.slider.value)
        config = replace(self.base, norm="noisy_batch", norm_options={"strength": strength})
        history = self._train(config, probes=[self.probe])
        label = f"noisy BN, strength {strength:g}"
        self.runs[label] = history
        self._show(plot_distributions({label: history}, layer=self.probe.layers[0]))
        return history

    def figure(self) -> plt.Figure:
        """Training accuracy of the reference runs and of every run trained so far."""
        return plot_curves(self.runs, ("train_acc",))
