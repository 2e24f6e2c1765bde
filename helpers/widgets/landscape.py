"""Notebook 05's panels: the landscape band along the gradient, and fine curves and planes at
saved points.

Taught in notebook 05.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np

from ..landscape_views import DIRECTIONS, fine_curve, plane, step_multipliers_grid
from ..plots import (
    plot_fine_curves,
    plot_planes,
    plot_step_curves,
    seeds_of,
)
from ..runs import History
from ..saved_points import SavedPoint, load_point, nearest_loss_step, saved_steps, smoothed_loss
from ..summaries import step_curves
from .panels import LAYOUT, WIDE, figure_output


class LandscapeExplorer:
    """A seed selector, a checkpoint-step slider and a maximum-step-length slider over stored
    landscape curves.

    Redraws L(w − ηg) and ‖∇L(w − ηg)‖ for every network's run of the chosen seed at the chosen
    probed step, up to the chosen multiple of the learning rate. Nothing is recomputed: the curves
    are the landscape probe's records (``History.probes[probe]``), so the plot follows the sliders.
    """

    def __init__(self, runs: Mapping[str, History | Sequence[History]], probe: str = "landscape"):
        self.runs, self.probe = {name: seeds_of(value) for name, value in runs.items()}, probe
        n_seeds = min(len(hs) for hs in self.runs.values())
        first = next(iter(self.runs.values()))
        self.seed = widgets.Dropdown(options=[(str(h.config.seed if h.config else k), k)
                                              for k, h in enumerate(first[:n_seeds])],
                                     value=0, description="seed", style=LAYOUT, layout={"width": "120px"})
        records = [hs[k].probes[probe] for hs in self.runs.values() for k in range(n_seeds)]
        multipliers = records[0].settings["multipliers"]
        steps = sorted(set.intersection(*(set(r["step"].tolist()) for r in records)))
        if not steps:
            raise ValueError("the runs share no probed step")
        self.step = widgets.SelectionSlider(options=steps, value=steps[len(steps) // 2], description="step",
                                            continuous_update=False, style=LAYOUT)
        self.max_step = widgets.SelectionSlider(options=[(f"{m:.3g} × LR", float(m)) for m in multipliers[1:]],
                                                value=float(multipliers[-1]), description="max η",
                                                continuous_update=False, style=LAYOUT)
        self.output = widgets.Output()
        for slider in (self.seed, self.step, self.max_step):
            slider.observe(lambda _: self.redraw(), names="value")
        self.widget = widgets.VBox([widgets.HBox([self.seed, self.step, self.max_step]), self.output])
        self.redraw()

    def curves(self) -> dict[str, dict[str, np.ndarray]]:
        """Each run's record at the selected step: ``eta``, ``loss``, ``grad_norm``."""
        return step_curves({name: hs[self.seed.value] for name, hs in self.runs.items()}, self.step.value,
                           self.probe)

    def figure(self) -> plt.Figure:
        """The curves at the sliders' values (the panel's view, as a static figure)."""
        return plot_step_curves(self.curves(), self.max_step.value)

    def redraw(self) -> None:
        self.output.outputs = (figure_output(self.figure()),)


class FineLandscapeExplorer:
    """The landscape around the saved points of one run per network, computed as the sliders move.

    1-D: L(w − ηg) (and ‖∇L(w − ηg)‖ if asked: a backward pass per point) on ``points`` step lengths
    up to "max η", linear or log. 2-D: the loss on the plane through w spanned by −g and a second
    direction, at the chosen resolution. "same step" shows every network at the chosen saved step;
    "same loss" shows the first at that step and each other at its saved step whose training loss
    (smoothed over 11 steps) is closest. Loaded points and their gradients are cached; a control
    that the current view does not use redraws nothing.
    """

    USED = {"1-D": ("max_eta", "spacing", "with_grad"), "2-D": ("max_eta", "resolution", "direction")}

    def __init__(self, runs: Mapping[str, History], points: int = 50):
        self.runs, self.points = dict(runs), points
        steps = sorted(set.intersection(*(set(saved_steps(h)) for h in self.runs.values())))
        if not steps:
            raise ValueError("the runs share no saved step: train them with SavePointsProbe")
        self.step = widgets.SelectionSlider(options=steps, value=steps[-1], description="step", style=LAYOUT,
                                            continuous_update=False, layout=WIDE)
        self.match = widgets.ToggleButtons(options=["same step", "same loss"], description="networks at",
                                           style=LAYOUT)
        self.view = widgets.ToggleButtons(options=["1-D", "2-D"], description="view", style=LAYOUT)
        self.max_eta = widgets.FloatLogSlider(value=4.0, base=10, min=-0.5, max=1.3, step=0.05, style=LAYOUT,
                                              description="max η (× LR)", continuous_update=False)
        self.spacing = widgets.ToggleButtons(options=["linear", "log"], description="η grid", style=LAYOUT)
        self.with_grad = widgets.Checkbox(value=False, description="gradient norm too (slower)", style=LAYOUT)
        self.resolution = widgets.IntSlider(value=11, min=5, max=41, step=2, description="2-D resolution",
                                            continuous_update=False, style=LAYOUT)
        self.direction = widgets.Dropdown(options=list(DIRECTIONS), description="2-D second direction",
                                          style=LAYOUT)
        self.output = widgets.Output()
        self.status = widgets.Label()
        self._points: dict[tuple[str, int], tuple[SavedPoint, dict]] = {}
        self.shown: dict[str, dict] = {}
        for name in ("step", "match", "view", "max_eta", "spacing", "with_grad", "resolution", "direction"):
            getattr(self, name).observe(lambda _, name=name: self._changed(name), names="value")
        self.widget = widgets.VBox([widgets.HBox([self.step, self.match]), widgets.HBox([self.view, self.spacing]),
                                    widgets.HBox([self.max_eta, self.with_grad]),
                                    widgets.HBox([self.resolution, self.direction]), self.status, self.output])
        self.redraw()

    def _changed(self, control: str) -> None:
        if control in ("step", "match", "view") or control in self.USED[self.view.value]:
            self.redraw()

    def _enable_used(self) -> None:
        """Grey out the controls the current view does not use, so none seems to do nothing."""
        used = self.USED[self.view.value]
        for name in {name for names in self.USED.values() for name in names}:
            getattr(self, name).disabled = name not in used

    def steps_shown(self) -> dict[str, int]:
        """Each network's step: the chosen one, or (same loss) the saved step nearest in loss."""
        names = list(self.runs)
        target = smoothed_loss(self.runs[names[0]], self.step.value)
        return {name: self.step.value if k == 0 or self.match.value == "same step"
                else nearest_loss_step(self.runs[name], target) for k, name in enumerate(names)}

    def point(self, name: str, step: int) -> tuple[SavedPoint, dict]:
        if (name, step) not in self._points:
            point = load_point(self.runs[name], step)
            self._points[name, step] = (point, point.gradient())
        return self._points[name, step]

    def redraw(self) -> None:
        self._enable_used()
        views = {}
        for name, step in self.steps_shown().items():
            point, g = self.point(name, step)
            if self.view.value == "1-D":
                grid = step_multipliers_grid(self.max_eta.value, self.points, self.spacing.value)
                views[name] = fine_curve(point, grid, grad_norm=self.with_grad.value, g=g)
            else:
                n = self.resolution.value
                views[name] = plane(point, np.linspace(-1.0, max(self.max_eta.value, 1.5), n),
                                    np.linspace(-2.0, 2.0, n), self.direction.value, g=g)
        self.shown = views
        seconds = sum(v["seconds"] for v in views.values())
        self.status.value = f"computed in {seconds:.1f} s"
        self.output.outputs = (figure_output(self.figure()),)

    def figure(self) -> plt.Figure:
        """The view last computed (the panel's view, as a static figure)."""
        return (plot_fine_curves(self.shown, log=self.spacing.value == "log") if self.view.value == "1-D"
                else plot_planes(self.shown))
