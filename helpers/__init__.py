"""bn-landscape helpers: data, models, normalizations, training and plots for the notebooks."""

from .data import (
    CIFAR10_CLASSES,
    BatchSampler,
    DatasetNotFoundError,
    TensorData,
    cifar10_tensors,
    dln_data,
    load_cifar10,
)
from .environment import show_setup
from .models import VGG, DeepLinearNet, build_model
from .norms import NORMS, make_norm, register_norm
from .plots import plot_curves, show_images
from .profiles import PROFILES, Profile, active_profile, pick_device
from .runs import History
from .train import Probe, ProbeContext, RunConfig, Task, evaluate, fit, make_task, train
from .widgets import LearningRateExplorer

__all__ = [
    "CIFAR10_CLASSES", "NORMS", "PROFILES", "VGG", "BatchSampler", "DatasetNotFoundError", "DeepLinearNet",
    "History", "LearningRateExplorer", "Probe", "ProbeContext", "Profile", "RunConfig", "Task", "TensorData",
    "active_profile", "build_model", "cifar10_tensors", "dln_data", "evaluate", "fit", "load_cifar10",
    "make_norm", "make_task", "pick_device", "plot_curves", "register_norm", "show_images", "show_setup", "train",
]
