"""Notebook 09's panel: the verdicts as the strictness of the verdict rule changes.

Taught in notebook 09.
"""

from __future__ import annotations

from collections.abc import Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt

from ..verdict_plots import plot_checks
from ..verdicts import VERDICTS, Row
from .panels import LAYOUT, WIDE, figure_output


class VerdictExplorer:
    """Pick a claim to see its checks seed by seed, and set how strict "holds throughout" is: the
    fraction of seeds a check must hold in. The line above the figure counts the verdicts under it."""

    def __init__(self, rows: Sequence[Row], later: Sequence[Row] = ()):
        self.rows = list(rows) + list(later)
        self.choice = widgets.Dropdown(options=[(f"{r.notebook}: {r.claim[:70]}", k) for k, r in enumerate(self.rows)],
                                       description="claim", style=LAYOUT, layout={"width": "640px"})
        self.need = widgets.FloatSlider(value=1.0, min=0.6, max=1.0, step=0.05, description="a check holds "
                                        "throughout when it holds in this fraction of seeds", style=LAYOUT,
                                        layout=WIDE)
        self.summary = widgets.HTML()
        self.output = widgets.Output()
        for control in (self.choice, self.need):
            control.observe(lambda _: self.redraw(), names="value")
        self.widget = widgets.VBox([self.choice, self.need, self.summary, self.output])
        self.redraw()

    def counts(self) -> dict[str, int]:
        """How many claims of the paper get each verdict at the slider's strictness."""
        got = [r.verdict(self.need.value) for r in self.rows if r.notebook != "08"]
        return {v: got.count(v) for v in (*VERDICTS, *dict.fromkeys(got)) if got.count(v)}

    def figure(self) -> plt.Figure:
        """The chosen claim's checks (the panel's view, as a static figure)."""
        return plot_checks(self.rows[self.choice.value], self.need.value)

    def redraw(self) -> None:
        self.summary.value = "the paper's claims under this rule: " + ", ".join(
            f"{n} {v}" for v, n in self.counts().items())  # identities stay apart, never a verdict on runs
        self.output.outputs = (figure_output(self.figure()),)
