"""Notebook 07's panel: the projection in Theorem 4.1, on sliders.

Taught in notebook 07.
"""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt

from ..theory import gradient_case, lipschitz_terms
from ..theory_plots import plot_projection
from .panels import LAYOUT, WIDE, figure_output


class ProjectionExplorer:
    """Sliders for the make-up of the upstream gradient g = ∂ℓ/∂z and the batch's σ, redrawing
    Thm 4.1's bars: what BN's backward pass keeps of g, and what reaches y after the factor γ²/σ²
    (γ = 1, a batch of ``m``)."""

    def __init__(self, m: int = 16, seed: int = 0):
        self.m, self.seed = m, seed
        self.alignment = widgets.FloatSlider(value=0.3, min=0.0, max=0.9, step=0.05, style=LAYOUT,
                                             layout=WIDE, description="share of ‖g‖² along ŷ")
        self.mean_share = widgets.FloatSlider(value=0.2, min=0.0, max=0.9, step=0.05, style=LAYOUT,
                                              layout=WIDE, description="share along 1 (at most 1 − the share along ŷ)")
        self.sigma = widgets.FloatLogSlider(value=1.0, base=10, min=-1, max=1, step=0.1, style=LAYOUT,
                                            layout=WIDE, description="σ of the batch (γ = 1)")
        self.output = widgets.Output()
        self.terms: dict[str, float] = {}
        for slider in (self.alignment, self.mean_share, self.sigma):
            slider.observe(lambda _: self.redraw(), names="value")
        self.widget = widgets.VBox([self.alignment, self.mean_share, self.sigma, self.output])
        self.redraw()

    def redraw(self) -> None:
        mean_share = min(self.mean_share.value, 1 - self.alignment.value)
        y, g = gradient_case(self.m, self.alignment.value, mean_share, self.sigma.value, self.seed)
        self.terms = lipschitz_terms(y, g, gamma=1.0)
        self.output.outputs = (figure_output(self.figure()),)

    def figure(self) -> plt.Figure:
        """Theorem 4.1's bars at the sliders' values (the panel's view, as a static figure)."""
        return plot_projection(self.terms)
