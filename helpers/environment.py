"""What every notebook prints first: the active profile, the device and the versions in use."""

from __future__ import annotations

import platform

import numpy as np
import torch

from .gpu_speed import GpuSpeed
from .paths import data_dir, runs_dir, shown_path
from .profiles import active_profile, pick_device


def _arithmetic() -> str:
    """What BN_FAST asks for (an unknown mode is reported here, and refused at the first run)."""
    try:
        speed = GpuSpeed.from_env()
    except ValueError as err:
        return str(err)
    if speed.exact:
        return "exact float32 (set BN_FAST=tf32 on a GPU to speed up runs read only as curves)"
    return f"{speed.name} for runs read only as curves (BN_FAST, GPU only); exact float32 for every probe"


def arithmetic_environment(device: torch.device) -> dict[str, str | int]:
    """What decides float32 rounding besides the code and the torch version: the device; on a CPU its
    model, the vector instructions PyTorch's kernels use, and the number of threads (BN's reductions
    are split by thread). Two processes with the same environment compute a run bit for bit alike;
    with different ones, alike up to rounding (which training can amplify)."""
    if device.type == "cuda":
        return {"device": "cuda", "gpu": torch.cuda.get_device_name(device)}
    if device.type != "cpu":
        return {"device": device.type}
    return {"device": "cpu", "cpu": _cpu_model(), "instructions": torch.backends.cpu.get_cpu_capability(),
            "threads": torch.get_num_threads()}


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def show_setup() -> dict[str, str]:
    """Print the profile, device, library versions and data locations, and return them (the
    locations as full paths; the printout names them without this machine's folders)."""
    profile, device = active_profile(), pick_device()
    try:
        import torchvision
        tv = torchvision.__version__
    except ImportError:  # a broken torch/torchvision pair should not hide the rest
        tv = "not importable"
    info = {
        "profile": f"{profile.name} ({profile.summary}); set BN_PROFILE=ci|laptop|paper to change",
        "device": f"{device}" + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else
                                 f" ({torch.get_num_threads()} threads)" if device.type == "cpu" else ""),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": tv,
        "numpy": np.__version__,
        "arithmetic": _arithmetic(),
        "data": str(data_dir()),
        "run cache": str(runs_dir()),
    }
    shown = {**info, "data": shown_path(data_dir(), "BN_DATA_DIR"), "run cache": shown_path(runs_dir(), "BN_RUNS_DIR")}
    width = max(map(len, info))
    for key, value in shown.items():
        print(f"{key:>{width}}: {value}")
    return info
