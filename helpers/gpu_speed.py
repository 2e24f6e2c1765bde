"""How a GPU computes a run: exact float32 (always the default) or an opt-in faster mode.

The probes difference losses and gradients over small steps (notebooks 04, 05, 07, 08), and
TensorFloat-32 and bfloat16 resolve only about 1e-3 relative, so every run is computed in full
float32 unless it asks otherwise: TF32 is switched *off* for convolutions (PyTorch's default is on)
and matrix products, and a run with probes refuses any faster mode. The faster modes are for runs
read only as loss and accuracy curves, whose differences are many percent (our choice, stated in
docs/protocol.md): ``tf32`` (TF32 matrix units), ``bf16`` (bfloat16 autocast), either with
``+compile`` (``torch.compile``). They need a CUDA GPU, and they enter the run's record and its
cache key, so a faster run is never mistaken for an exact one.

``BN_FAST`` (``tf32``, ``bf16``, ``tf32+compile``, ...) opts in for a notebook session and for
``python -m helpers.precompute``; unset, everything is exact.

:class:`GpuSpeed` is a value a run records by name (its ``arithmetic``); what each mode does while a
run trains (:func:`gpu_arithmetic`, :func:`autocast`) is in :mod:`helpers.arithmetic`, which keys the
run cache. Taught in notebook 08 (its cost measurement) and in the README's GPU section.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

# What a mode does while a run trains is keyed code, in helpers.arithmetic; importable from here as before.
from .arithmetic import autocast, exact_arithmetic, gpu_arithmetic  # noqa: F401

PRECISIONS = ("exact", "tf32", "bf16")


@dataclass(frozen=True)
class GpuSpeed:
    """``precision``: ``exact`` (float32, TF32 off), ``tf32`` or ``bf16``; ``compile``: torch.compile."""

    precision: str = "exact"
    compile: bool = False

    def __post_init__(self):
        if self.precision not in PRECISIONS:
            raise ValueError(f"unknown precision {self.precision!r}; choose one of: {', '.join(PRECISIONS)}")
        if not isinstance(self.compile, bool):
            raise ValueError(f"compile must be True or False, got {self.compile!r}")

    @property
    def exact(self) -> bool:
        return self.precision == "exact" and not self.compile

    @property
    def name(self) -> str:
        """``exact``, ``tf32``, ``bf16``, ``exact+compile``, ``tf32+compile``...: what the run records."""
        return self.precision + ("+compile" if self.compile else "")

    @classmethod
    def parse(cls, text: str | None) -> GpuSpeed:
        """``"tf32"``, ``"bf16+compile"``, ``"compile"`` (exact arithmetic, compiled); empty: exact."""
        parts = [p.strip().lower() for p in (text or "").split("+") if p.strip()]
        compiled = "compile" in parts
        rest = [p for p in parts if p != "compile"]
        if len(rest) > 1 or (rest and rest[0] not in PRECISIONS):
            raise ValueError(f"BN_FAST={text!r} is not a speed mode; use tf32, bf16, compile, or tf32+compile, "
                             "bf16+compile (unset: exact float32)")
        return cls(rest[0] if rest else "exact", compiled)

    @classmethod
    def from_env(cls) -> GpuSpeed:
        return cls.parse(os.environ.get("BN_FAST"))

    def check(self, device: torch.device) -> None:
        """A faster mode is for CUDA GPUs only: say so clearly anywhere else."""
        if not self.exact and device.type != "cuda":
            raise ValueError(f"the speed mode {self.name!r} (BN_FAST) is GPU-only and the device is {device}: "
                             "unset BN_FAST, or run on a CUDA GPU")


EXACT = GpuSpeed()
