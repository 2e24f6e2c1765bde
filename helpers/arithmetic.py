"""What a run's arithmetic mode (:class:`~helpers.gpu_speed.GpuSpeed`) does while it trains: TF32 on or
off, cuDNN's algorithm search, bfloat16 autocast; and full float32 for every probe.

Keyed code (:data:`helpers.fingerprints.ENGINE_MODULES`): a run records its mode by name only, so the
code behind each name must key the run cache.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from .gpu_speed import GpuSpeed


@contextlib.contextmanager
def gpu_arithmetic(speed: GpuSpeed, device: torch.device) -> Iterator[None]:
    """Within: TF32 on only for ``tf32``; cuDNN picks its fastest algorithms (``cudnn.benchmark``) on a
    GPU. The previous settings are restored afterwards."""
    saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32, torch.backends.cudnn.benchmark)
    tf32 = speed.precision == "tf32"
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = tf32
    torch.backends.cudnn.benchmark = device.type == "cuda" or saved[2]
    try:
        yield
    finally:
        (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32,
         torch.backends.cudnn.benchmark) = saved


@contextlib.contextmanager
def exact_arithmetic() -> Iterator[None]:
    """TF32 off within (every probe measures in full float32), whatever the run around it uses."""
    saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def autocast(speed: GpuSpeed, device: torch.device) -> contextlib.AbstractContextManager:
    """bfloat16 autocast for ``bf16`` (the forward pass and the loss); nothing otherwise."""
    if speed.precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
