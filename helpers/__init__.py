"""bn-landscape helpers: data, models, normalizations, training, probes and plots for the notebooks.

Where to start: a run is a :class:`RunConfig`; :func:`train` trains it (or reads it from the run
cache) and returns a :class:`History` of plain arrays; plots take those. ``RunConfig.from_profile``
sizes a run by ``BN_PROFILE`` (ci, laptop, paper); probes (``LandscapeProbe``, ...) measure during
training without changing it. Notebook 00 shows this end to end, and every notebook prints
:func:`show_setup` first::

    from helpers import RunConfig, plot_curves, train
    runs = {norm: train(RunConfig.from_profile(norm=norm, lr=0.1)) for norm in ("none", "batch")}
    plot_curves(runs)

``from helpers import train, plot_curves, ...`` works for every name below. Plotting and widget
names (the sliders: ``LearningRateExplorer``, ``NoiseExplorer``, ``LandscapeExplorer``, ...) are
imported on first use, so code that needs neither (a benchmark, a headless script) never loads
matplotlib or ipywidgets.
"""

from . import fingerprints as _fingerprints
from . import other_norms as _other_norms  # noqa: F401  (registers LayerNorm, GroupNorm, weight norm, BN's halves)
from .config import RunConfig
from .data import (
    CIFAR10_CLASSES,
    BatchSampler,
    DatasetNotFoundError,
    TensorData,
    cifar10_tensors,
    dln_data,
    load_cifar10,
)
from .ensemble import DeepLinearEnsemble, train_ensemble
from .environment import show_setup
from .lazy_exports import lazy_exports
from .models import VGG, DeepLinearNet, build_model
from .norms import NORMS, make_norm, register_norm
from .probes import ActivationProbe, FunctionProbe, GradientICSProbe, LandscapeProbe, Probe, ProbeContext
from .profiles import PROFILES, Profile, active_profile, pick_device
from .runs import History
from .train import Task, evaluate, fit, make_task, train

for _name in _fingerprints.ENGINE_MODULES:  # fingerprint the engine as loaded, before any edit to its files
    _fingerprints.module_fingerprint(_name)

_LAZY = {"plot_curves": "plots", "show_images": "plots",
         **{name: "widgets" for name in ("AffineExplorer", "FineLandscapeExplorer", "LandscapeExplorer",
                                         "LearningRateExplorer", "NoiseExplorer", "ProjectionExplorer",
                                         "SharpnessExplorer")}}

__getattr__, _ = lazy_exports(__name__, _LAZY)  # dir() stays the module's own


__all__ = [
    "CIFAR10_CLASSES", "NORMS", "PROFILES", "VGG", "ActivationProbe", "BatchSampler", "DatasetNotFoundError",
    "DeepLinearEnsemble", "DeepLinearNet", "FunctionProbe", "GradientICSProbe", "History", "LandscapeProbe",
    "LearningRateExplorer", "AffineExplorer", "FineLandscapeExplorer", "LandscapeExplorer", "NoiseExplorer",
    "ProjectionExplorer", "SharpnessExplorer", "Probe", "ProbeContext", "Profile", "RunConfig", "Task",
    "TensorData", "active_profile",
    "build_model", "cifar10_tensors", "dln_data", "evaluate", "fit", "load_cifar10", "make_norm", "make_task",
    "pick_device", "plot_curves", "register_norm", "show_images", "show_setup", "train", "train_ensemble",
]
