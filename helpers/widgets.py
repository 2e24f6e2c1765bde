"""Sliders wired to the plain training and plotting functions; no training logic lives here."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import clear_output

from .plots import plot_affine, plot_curves, plot_distributions, plot_step_curves
from .probes import ActivationProbe
from .runs import History
from .train import RunConfig, train


class LearningRateExplorer:
    """A log-scale learning-rate slider, a BatchNorm checkbox and a Train button.

    Each click trains one run of ``base`` at the chosen settings (through the run cache, so
    going back to a value is instant) and redraws it over the reference runs. A run that
    diverges is drawn as diverged. Display it with ``display(explorer.widget)``.
    """

    def __init__(self, base: RunConfig, reference: Mapping[str, History] | None = None,
                 metrics: Sequence[str] = ("train_loss", "test_acc"), log10_range: tuple[float, float] = (-3, 1)):
        self.base, self.metrics = base, tuple(metrics)
        self.runs: dict[str, History] = dict(reference or {})
        self.slider = widgets.FloatLogSlider(value=base.lr, base=10, min=log10_range[0], max=log10_range[1],
                                             step=0.05, description="learning rate", readout_format=".3g",
                                             continuous_update=False)
        self.batchnorm = widgets.Checkbox(value=base.norm == "batch", description="BatchNorm")
        self.button = widgets.Button(description="Train", button_style="primary", icon="play")
        self.output = widgets.Output()
        self.button.on_click(lambda _: self.train_selected())
        self.widget = widgets.VBox([widgets.HBox([self.slider, self.batchnorm, self.button]), self.output])

    def selected_config(self) -> RunConfig:
        norm = "batch" if self.batchnorm.value else "none"
        options = self.base.norm_options if norm == self.base.norm else {}  # BN's options mean nothing to "none"
        return replace(self.base, lr=float(self.slider.value), norm=norm, norm_options=options)

    def train_selected(self) -> History:
        """Train (or fetch from the cache) the selected run, add it to the plot and return it."""
        config = self.selected_config()
        with self.output:
            clear_output(wait=True)
            history = train(config)
            self.runs[f"{'BN' if config.norm == 'batch' else 'Standard'}, lr {config.lr:.3g}"] = history
            plot_curves(self.runs, self.metrics)
            plt.show()
        return history


class AffineExplorer:
    """γ and β sliders redrawing the histogram of γ·x̂ + β (what BN's learnable affine map does)."""

    def __init__(self, x_hat: np.ndarray):
        self.x_hat = np.asarray(x_hat, dtype=float).ravel()
        self.gamma = widgets.FloatSlider(value=1.0, min=0.0, max=3.0, step=0.05, description="γ (scale)")
        self.beta = widgets.FloatSlider(value=0.0, min=-4.0, max=4.0, step=0.1, description="β (shift)")
        self.output = widgets.Output()
        self.shown: tuple[float, float] = (float("nan"), float("nan"))  # mean and std of the drawn values
        for slider in (self.gamma, self.beta):
            slider.observe(lambda _: self.redraw(), names="value")
        self.widget = widgets.VBox([widgets.HBox([self.gamma, self.beta]), self.output])
        self.redraw()

    def redraw(self) -> None:
        values = self.gamma.value * self.x_hat + self.beta.value
        self.shown = (float(values.mean()), float(values.std()))
        with self.output:
            clear_output(wait=True)
            plot_affine(self.x_hat, self.gamma.value, self.beta.value)
            plt.show()


class NoiseExplorer:
    """A noise-strength slider and a Train button for noisy BN.

    Each click trains ``base`` with ``norm="noisy_batch"`` and every noise parameter scaled by the
    slider's value (1 is the paper's noise, 0 none), records activations with a fresh
    ``make_probe()``, and shows training accuracy over the reference runs plus the distribution
    of one recorded unit of the first probed layer. Runs are cached.
    """

    def __init__(self, base: RunConfig, make_probe: Callable[[], ActivationProbe],
                 reference: Mapping[str, History] | None = None):
        self.base, self.make_probe = base, make_probe
        self.runs: dict[str, History] = dict(reference or {})
        self.slider = widgets.FloatSlider(value=1.0, min=0.0, max=3.0, step=0.25, description="noise strength",
                                          continuous_update=False)
        self.button = widgets.Button(description="Train", button_style="primary", icon="play")
        self.output = widgets.Output()
        self.button.on_click(lambda _: self.train_selected())
        self.widget = widgets.VBox([widgets.HBox([self.slider, self.button]), self.output])

    def train_selected(self) -> History:
        strength = float(self.slider.value)
        config = replace(self.base, norm="noisy_batch", norm_options={"strength": strength})
        probe = self.make_probe()
        with self.output:
            clear_output(wait=True)
            history = train(config, probes=[probe.probe()])
            self.runs[f"noisy BN, strength {strength:g}"] = history
            plot_curves(self.runs, ("train_acc",))
            plt.show()
            plot_distributions({f"noisy BN, strength {strength:g}": history}, probe.layers, probe.edges,
                               show=probe.layers[:1])
            plt.show()
        return history


class LandscapeExplorer:
    """A checkpoint-step slider and a maximum-step-length slider over stored landscape curves.

    Redraws L(w − ηg) and ‖∇L(w − ηg)‖ for every run at the chosen probed step, up to the chosen
    multiple of the learning rate. Nothing is recomputed: the curves are the landscape probe's
    records (``History.probes[probe]``), so the plot follows the sliders at once.
    """

    def __init__(self, runs: Mapping[str, History], probe: str = "landscape"):
        self.records = {name: h.probes[probe] for name, h in runs.items()}
        self.lr = float(next(iter(runs.values())).config["run"]["lr"])
        steps = sorted(set.intersection(*(set(r["step"].tolist()) for r in self.records.values())))
        if not steps:
            raise ValueError("the runs share no probed step")
        multipliers = next(iter(self.records.values()))["eta"][0] / self.lr
        self.step = widgets.SelectionSlider(options=steps, value=steps[len(steps) // 2], description="step",
                                            continuous_update=False)
        self.max_step = widgets.SelectionSlider(options=[(f"{m:.3g} × LR", float(m)) for m in multipliers[1:]],
                                                value=float(multipliers[-1]), description="max η",
                                                continuous_update=False)
        self.output = widgets.Output()
        for slider in (self.step, self.max_step):
            slider.observe(lambda _: self.redraw(), names="value")
        self.widget = widgets.VBox([widgets.HBox([self.step, self.max_step]), self.output])
        self.redraw()

    def curves(self) -> dict[str, dict[str, np.ndarray]]:
        """Each run's record at the selected step: ``eta``, ``loss``, ``grad_norm``."""
        out = {}
        for name, rec in self.records.items():
            i = int(np.flatnonzero(rec["step"] == self.step.value)[0])
            out[name] = {key: rec[key][i] for key in ("eta", "loss", "grad_norm")}
        return out

    def redraw(self) -> None:
        with self.output:
            clear_output(wait=True)
            plot_step_curves(self.curves(), self.max_step.value, self.lr, self.step.value)
            plt.show()
