"""bn-landscape helpers: data, models, normalizations, training, probes and plots for the notebooks.

``from helpers import train, plot_curves, ...`` works for every name below. Plotting and widget
names are imported on first use, so code that needs neither (a benchmark, a headless script)
never loads matplotlib or ipywidgets.
"""

from importlib import import_module

from . import fingerprints as _fingerprints
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
from .models import VGG, DeepLinearNet, build_model
from .norms import NORMS, make_norm, register_norm
from .probes import ActivationProbe, FunctionProbe, GradientICSProbe, LandscapeProbe, Probe, ProbeContext
from .profiles import PROFILES, Profile, active_profile, pick_device
from .runs import History
from .train import Task, evaluate, fit, make_task, train

for _name in _fingerprints.ENGINE_MODULES:  # fingerprint the engine as loaded, before any edit to its files
    _fingerprints.module_fingerprint(_name)

_LAZY = {"plot_curves": "plots", "show_images": "plots", "LearningRateExplorer": "widgets"}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CIFAR10_CLASSES", "NORMS", "PROFILES", "VGG", "ActivationProbe", "BatchSampler", "DatasetNotFoundError",
    "DeepLinearEnsemble", "DeepLinearNet", "FunctionProbe", "GradientICSProbe", "History", "LandscapeProbe",
    "LearningRateExplorer", "Probe", "ProbeContext", "Profile", "RunConfig", "Task", "TensorData", "active_profile",
    "build_model", "cifar10_tensors", "dln_data", "evaluate", "fit", "load_cifar10", "make_norm", "make_task",
    "pick_device", "plot_curves", "register_norm", "show_images", "show_setup", "train", "train_ensemble",
]
