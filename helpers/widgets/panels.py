"""What the slider panels share: figures shown as outputs, the Train button with its progress bar.

Figures and progress are shown by *setting* an ``Output`` widget's ``outputs`` and a progress
bar's ``value``, never by printing inside ``with output:``. That capture makes a headless
notebook runner (nbconvert/nbclient) answer the kernel on the channel it is waiting on for the
cell's reply, and the reply can then be missed until the cell times out: executing a notebook
hung that way. Setting the widgets' state sends nothing back.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt

from ..config import RunConfig
from ..runs import History
from ..train import train

LAYOUT = {"description_width": "initial"}  # labels in full ("learning rate", not "learning r…")


WIDE = {"width": "520px"}  # room for a long label and the slider itself


def figure_output(fig: plt.Figure) -> dict:
    """A figure as one notebook output (a PNG), closed so the notebook does not also show it."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight", dpi=fig.dpi)
    plt.close(fig)
    return {"output_type": "display_data", "metadata": {},
            "data": {"image/png": base64.b64encode(buffer.getvalue()).decode(), "text/plain": repr(fig)}}


class _TrainingPanel:
    """A Train button, a progress bar and an output area shared by the explorers that train runs.
    Each explorer's ``figure()`` draws what its output shows; ``_show`` puts it there."""

    def __init__(self, controls: Sequence[widgets.Widget]):
        self.button = widgets.Button(description="Train", button_style="primary", icon="play")
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="", layout={"width": "200px"})
        self.output = widgets.Output()
        self.button.on_click(lambda _: self.train_selected())  # each explorer says what it trains
        self.widget = widgets.VBox([widgets.HBox([*controls, self.button, self.progress]), self.output])

    def _train(self, config: RunConfig, **kwargs) -> History:
        self.progress.max, self.progress.value = config.steps, 0
        self.button.disabled = True
        try:
            history = train(config, progress=self._moved, **kwargs)
        finally:
            self.button.disabled = False
        self.progress.value = self.progress.max
        return history

    def _moved(self, done: int, total: int) -> None:
        self.progress.value = done

    def _show(self, *extra: plt.Figure) -> None:
        self.output.outputs = tuple(figure_output(fig) for fig in (self.figure(), *extra))
