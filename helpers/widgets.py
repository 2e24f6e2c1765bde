"""Sliders wired to the plain training and plotting functions; no training logic lives here.

Figures and progress are shown by *setting* an ``Output`` widget's ``outputs`` and a progress
bar's ``value``, never by printing inside ``with output:``. That capture makes a headless
notebook runner (nbconvert/nbclient) answer the kernel on the channel it is waiting on for the
cell's reply, and the reply can then be missed until the cell times out: executing a notebook
hung that way. Setting the widgets' state sends nothing back.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from dataclasses import replace

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np

from .config import RunConfig
from .edge_of_stability import full_batch_config, sharpness_probe, sharpness_summary
from .landscape_views import DIRECTIONS, fine_curve, plane, step_multipliers_grid
from .plots import (
    plot_affine,
    plot_curves,
    plot_distributions,
    plot_fine_curves,
    plot_planes,
    plot_step_curves,
    seeds_of,
)
from .probes import ActivationProbe
from .protocol import network_label
from .protocol import networks as protocol_networks
from .runs import History
from .saved_points import SavedPoint, load_point, nearest_loss_step, saved_steps, smoothed_loss
from .sharpness_plots import plot_edge
from .summaries import step_curves
from .theory import gradient_case, lipschitz_terms
from .theory_plots import plot_projection
from .train import train
from .verdict_plots import plot_checks
from .verdicts import VERDICTS, Row

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
        return {v: got.count(v) for v in VERDICTS}

    def figure(self) -> plt.Figure:
        """The chosen claim's checks (the panel's view, as a static figure)."""
        return plot_checks(self.rows[self.choice.value], self.need.value)

    def redraw(self) -> None:
        self.summary.value = "the paper's claims under this rule: " + ", ".join(
            f"{n} {v}" for v, n in self.counts().items())
        self.output.outputs = (figure_output(self.figure()),)
