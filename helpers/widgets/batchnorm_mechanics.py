"""Notebook 01's panel: BN's affine step, γ and β on sliders.

Taught in notebook 01.
"""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np

from ..plots import plot_affine
from .panels import LAYOUT, figure_output


class AffineExplorer:
    """γ and β sliders redrawing the histogram of γ·x̂ + β (what BN's learnable affine map does)."""

    def __init__(self, x_hat: np.ndarray):
        self.x_hat = np.asarray(x_hat, dtype=float).ravel()
        self.gamma = widgets.FloatSlider(value=1.0, min=0.0, max=3.0, step=0.05, description="γ (scale)", style=LAYOUT)
        self.beta = widgets.FloatSlider(value=0.0, min=-4.0, max=4.0, step=0.1, description="β (shift)", style=LAYOUT)
        self.output = widgets.Output()
        self.shown: tuple[float, float] = (float("nan"), float("nan"))  # mean and std of the drawn values
        for slider in (self.gamma, self.beta):
            slider.observe(lambda _: self.redraw(), names="value")
        self.widget = widgets.VBox([widgets.HBox([self.gamma, self.beta]), self.output])
        self.redraw()

    def figure(self) -> plt.Figure:
        """The histogram at the sliders' values (the panel's view, as a static figure)."""
        return plot_affine(self.x_hat, self.gamma.value, self.beta.value)

    def redraw(self) -> None:
        values = self.gamma.value * self.x_hat + self.beta.value
        self.shown = (float(values.mean()), float(values.std()))
        self.output.outputs = (figure_output(self.figure()),)
