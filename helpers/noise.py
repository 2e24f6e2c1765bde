"""The paper's "noisy BatchNorm" perturbation (its Fig. 2), as a layer.

At every training step t, and for every activation element a:

    μᵗ ~ U(−0.5, 0.5),  σᵗ ~ U(1, 1.25),  m ~ U(μᵗ − 0.1, μᵗ + 0.1),  s ~ N(σᵗ, 0.1),  a ← s·a + m

so each step shifts and scales the layer's distribution by a different random amount, on top of
per-element jitter. The paper leaves two points open, exposed here as options:

- ``draw``: are μᵗ, σᵗ drawn once per unit (``"channel"``, our default: the paper perturbs each
  activation independently, and a channel is the unit that shares a convolution's weights) or
  once per layer (``"layer"``: one shift and scale for the whole layer, which the next layer's BN
  removes almost entirely)?
- ``spread``: is the 0.1 in N(σᵗ, 0.1) a standard deviation (``"std"``, our default) or a
  variance (``"variance"``, i.e. standard deviation √0.1 ≈ 0.32)?

``strength`` k (for the notebook's slider) scales how far the noise moves away from the
identity: μᵗ ~ U(−k/2, k/2), σᵗ ~ U(1, 1 + k/4), m ~ U(μᵗ − 0.1k, μᵗ + 0.1k), s ~ N(σᵗ, (0.1k)²);
0 switches the noise off, 1 is the paper's. The noise applies in training mode only; evaluation
is the identity. It draws from torch's global generator, which :func:`helpers.train.fit` seeds,
so runs are reproducible.

Taught in notebook 03.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class ActivationNoise(nn.Module):
    """a ← s·a + m with the paper's step-wise random shift and scale (see the module docstring)."""

    def __init__(self, num_features: int, draw: str = "channel", spread: str = "std", strength: float = 1.0):
        super().__init__()
        if draw not in ("layer", "channel"):
            raise ValueError(f"draw must be 'layer' or 'channel', got {draw!r}")
        if spread not in ("std", "variance"):
            raise ValueError(f"spread must be 'std' or 'variance', got {spread!r}")
        if strength < 0:
            raise ValueError(f"noise strength must be non-negative, got {strength}")
        self.num_features, self.draw, self.spread, self.strength = num_features, draw, spread, strength
        self.scale_sd = 0.1 if spread == "std" else math.sqrt(0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.strength == 0:
            return x
        k = self.strength
        shape = (1,) * x.dim() if self.draw == "layer" else (1, x.shape[1]) + (1,) * (x.dim() - 2)
        mu = (torch.rand(shape, device=x.device) - 0.5) * k  # U(−0.5k, 0.5k)
        sigma = 1 + 0.25 * k * torch.rand(shape, device=x.device)  # U(1, 1 + 0.25k)
        shift = mu + 0.1 * k * (2 * _draw(torch.rand, x) - 1)  # U(μ − 0.1k, μ + 0.1k)
        scale = sigma + self.scale_sd * k * _draw(torch.randn, x)  # N(σ, (0.1k)²)
        return scale * x + shift

    def extra_repr(self) -> str:
        return f"draw={self.draw}, spread={self.spread}, strength={self.strength}"


def _draw(sample, x: torch.Tensor) -> torch.Tensor:
    """Random numbers shaped and laid out like ``x``, drawn into contiguous memory.

    Drawing "like" a channels-last tensor fills it element by element in its strided order, which
    on a CPU is several times slower than filling contiguous memory (``torch.randn_like`` about 8×):
    so draw (N, H, W, C) contiguously and view it as channels-last (N, C, H, W).
    """
    if x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
        n, c, h, w = x.shape
        return sample((n, h, w, c), device=x.device, dtype=x.dtype).permute(0, 3, 1, 2)
    return sample(x.shape, device=x.device, dtype=x.dtype)
