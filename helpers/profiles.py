"""Profiles: one switch (``BN_PROFILE``) sets data size, steps and widths for every notebook.

- ``ci``: seconds per notebook on a 2-core machine; checks that the code runs, not the science.
- ``laptop`` (default): a few minutes per notebook on a laptop CPU; the claims should hold.
  Every comparison runs over several seeds (``seeds``; DLN task instances: ``dln_instances``).
- ``paper``: the paper's protocol (docs/protocol.md), meant for a GPU.

The device is picked automatically (CUDA, then Apple MPS, then CPU); ``BN_DEVICE`` forces one.

Taught in notebooks 00 and 02 (the seeds a claim rests on, counted from ``BN_FIRST_SEED``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Profile:
    """Sizes shared by all notebooks. Notebooks scale their own experiments from these."""

    name: str
    train_size: int  # CIFAR-10 training images used (a seeded random subset)
    test_size: int  # CIFAR-10 test images used for test accuracy
    batch_size: int  # SGD batch size (the paper: 128)
    steps: int  # training steps of one standard VGG run
    eval_every: int  # steps between test-accuracy evaluations
    vgg: str  # VGG layer configuration
    width: float  # channel-width multiplier of the VGG
    dln_samples: int  # samples of the deep-linear-network data set (full batch)
    dln_steps: int  # gradient-descent steps of one DLN run
    seeds: int  # seeds of every VGG comparison a claim rests on
    dln_instances: int  # DLN task instances (data seed and initialization together)
    landscape_seeds: int  # seeds of notebook 05's VGG landscape runs, whose checks decide the most verdicts
    sweep_lrs: tuple[float, ...]  # learning rates of notebook 02's sweep, each over all seeds
    landscape_probes: int  # landscape probes per run (VGG and DLN)
    ics_probes: int  # gradient-ICS probes per VGG run (the DLN: 100, 20 in ci)
    lp_steps: int  # steps of notebook 06's VGG runs (five networks at two learning rates)
    lp_dln_steps: int  # steps of notebook 06's DLN runs (five networks)
    small_width: float  # notebook 08's VGG width for its many runs (full-batch GD, other normalizations)
    full_batch_images: int  # notebook 08: training images of its full-batch gradient-descent runs
    full_batch_steps: int  # notebook 08: steps of those runs at η = 0.1 (a run at η takes 0.1/η times as many)
    sharpness_probes: int  # notebook 08: λ_max measurements per run
    summary: str


PROFILES: dict[str, Profile] = {
    "ci": Profile(
        name="ci",
        train_size=2048,
        test_size=1000,
        batch_size=128,
        steps=30,
        eval_every=15,
        vgg="vgg11",
        width=0.125,
        dln_samples=256,
        dln_steps=200,
        seeds=2,
        dln_instances=2,
        landscape_seeds=2,
        sweep_lrs=(0.1, 0.5),
        landscape_probes=5,
        ics_probes=5,
        lp_steps=10,
        lp_dln_steps=100,
        small_width=0.0625,
        full_batch_images=64,
        full_batch_steps=20,
        sharpness_probes=4,
        summary="smoke test: seconds per notebook, numbers too small to mean much",
    ),
    "laptop": Profile(
        name="laptop",
        train_size=10_000,
        test_size=2_000,
        batch_size=128,
        steps=400,
        eval_every=50,
        vgg="vgg11",
        width=0.125,
        dln_samples=1_000,
        dln_steps=5_000,  # ours: half the paper's 10,000, to keep notebooks 04 and 05 within minutes
        seeds=3,
        dln_instances=8,
        landscape_seeds=6,
        sweep_lrs=(0.1, 0.2, 0.5, 1.0),  # around where the networks stop training
        landscape_probes=20,
        ics_probes=10,
        lp_steps=200,  # ours: half of `steps`, so that notebook 06's 30 VGG runs fit in its minutes
        lp_dln_steps=1_000,  # ours: a fifth of `dln_steps`, for the same reason
        small_width=0.0625,  # ours: half of `width`, so that notebook 08's 70-odd runs fit in its minutes
        full_batch_images=128,  # ours: few enough for full-batch steps at laptop speed
        full_batch_steps=200,
        sharpness_probes=10,
        summary="a few minutes per notebook on a laptop CPU",
    ),
    "paper": Profile(
        name="paper",
        train_size=50_000,
        test_size=10_000,
        batch_size=128,
        steps=15_000,
        eval_every=500,
        vgg="vgg16",
        width=1.0,
        dln_samples=1_000,
        dln_steps=10_000,
        seeds=3,
        dln_instances=8,
        landscape_seeds=3,
        sweep_lrs=(0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0),
        landscape_probes=40,
        ics_probes=150,
        lp_steps=15_000,
        lp_dln_steps=10_000,
        small_width=1.0,
        full_batch_images=5_000,  # the subset size of Cohen et al. (2021)
        full_batch_steps=2_000,
        sharpness_probes=40,
        summary="the paper's protocol; meant for a GPU",
    ),
}

DEFAULT_PROFILE = "laptop"


def profile_seeds(kind: str = "vgg", profile: Profile | None = None) -> list[int]:
    """The seeds a notebook runs: ``profile.seeds`` for VGG, ``profile.dln_instances`` for the DLN,
    ``profile.landscape_seeds`` for notebook 05's VGG landscape runs ("landscape"), counted from
    ``BN_FIRST_SEED`` (default 0), so a claim can be re-checked on seeds never run before."""
    p = profile or active_profile()
    first = os.environ.get("BN_FIRST_SEED", "0").strip()
    if not first.isdigit():
        raise ValueError(f"BN_FIRST_SEED={first!r} must be a non-negative whole number")
    counts = {"vgg": p.seeds, "dln": p.dln_instances, "landscape": p.landscape_seeds}
    if kind not in counts:
        raise ValueError(f"unknown kind of seeds {kind!r}; choose one of: {', '.join(counts)}")
    count = counts[kind]
    return list(range(int(first), int(first) + count))


def active_profile(name: str | None = None) -> Profile:
    """The profile named by ``name``, else by ``BN_PROFILE``, else ``laptop``."""
    name = name if name is not None else os.environ.get("BN_PROFILE", DEFAULT_PROFILE)
    key = name.strip().lower()
    if key not in PROFILES:
        valid = ", ".join(PROFILES)
        raise ValueError(f"unknown profile {name!r} (from BN_PROFILE); choose one of: {valid}")
    return PROFILES[key]


def pick_device(name: str | None = None) -> torch.device:
    """``name``, else ``BN_DEVICE``, else the best available: CUDA, then Apple MPS, then CPU."""
    name = name if name is not None else os.environ.get("BN_DEVICE", "")
    if name:
        try:
            device = torch.device(name)
        except RuntimeError as err:
            raise ValueError(f"BN_DEVICE={name!r} is not a device name; use cpu, cuda, cuda:1 or mps") from err
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"BN_DEVICE={name!r} asks for CUDA, but torch sees no CUDA GPU")
        if device.type == "mps" and not torch.backends.mps.is_available():
            raise ValueError(f"BN_DEVICE={name!r} asks for Apple MPS, which is not available here")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")
