"""Normalizations that came after BN, registered by name (:mod:`helpers.norms`) for notebook 08.

Each normalises something else, which is the point of comparing them:

- ``layer``: LayerNorm (Ba et al. 2016): each *sample* over all its channels (and positions), so
  no batch statistics at all. Written as ``nn.GroupNorm(1, C)``: one group, per-channel γ and β.
- ``group``: GroupNorm (Wu & He 2018): each sample over groups of channels. They use 32 groups;
  a layer with fewer than 64 channels gets ``C // 2`` groups of 2 (our choice: at the narrow
  widths the notebooks run, 32 groups would mean one channel per group, instance normalization),
  and a channel count that does not divide evenly the largest count below that which does.
- ``weight``: weight normalization (Salimans & Kingma 2016): no statistics of activations; the
  conv/linear weight of each output channel is w = g · v/‖v‖, with v and g learned. The layer
  after the conv is the identity; :func:`weight_normalize` reparametrises the conv itself.
- ``mean_only``: BN's first half, y − μ_B + β (Salimans & Kingma pair it with weight norm).
- ``variance_only``: BN's second half, γ · y/√(σ²_B + ε), the mean left in.

The two halves of BN keep running statistics for evaluation mode as BN does (momentum 0.1).
Which conv biases are kept: a layer that subtracts a per-channel mean makes the bias before it
redundant (``absorbs_bias``); LayerNorm and GroupNorm subtract a mean over channels, which
leaves a per-channel bias meaningful, so they keep it.

Taught in notebook 08.
"""

from __future__ import annotations

import torch
from torch import nn

from .norms import register_norm


def _channel_shape(x: torch.Tensor) -> tuple[int, ...]:
    """(1, C, 1, 1) after a conv, (1, C) after a linear layer: a per-channel vector's broadcast shape."""
    return (1, x.shape[1]) + (1,) * (x.dim() - 2)


def _batch_dims(x: torch.Tensor) -> tuple[int, ...]:
    """The dimensions one channel's batch statistics are taken over: the batch and the positions."""
    return (0, *range(2, x.dim()))


class MeanOnlyBatchNorm(nn.Module):
    """y − μ_B + β per channel: BN without the division (μ_B the batch mean; running mean in eval)."""

    def __init__(self, num_features: int, momentum: float = 0.1):
        super().__init__()
        self.momentum = momentum
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            mean = x.mean(_batch_dims(x))
            with torch.no_grad():
                self.running_mean.lerp_(mean, self.momentum)
        else:
            mean = self.running_mean
        shape = _channel_shape(x)
        return x - mean.view(shape) + self.bias.view(shape)


class VarianceOnlyBatchNorm(nn.Module):
    """γ · y/√(σ²_B + ε) per channel: BN without subtracting the mean (σ²_B the batch variance, taken
    about the batch mean as BN takes it; running variance in eval)."""

    def __init__(self, num_features: int, momentum: float = 0.1, eps: float = 1e-5):
        super().__init__()
        self.momentum, self.eps = momentum, eps
        self.weight = nn.Parameter(torch.ones(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            var = x.var(_batch_dims(x), unbiased=False)
            with torch.no_grad():
                count = x.numel() // x.shape[1]
                self.running_var.lerp_(var * count / max(1, count - 1), self.momentum)  # unbiased, as BN keeps it
        else:
            var = self.running_var
        shape = _channel_shape(x)
        return self.weight.view(shape) * x / (var.view(shape) + self.eps).sqrt()


def weight_normalize(layer: nn.Module) -> None:
    """Reparametrise a conv/linear layer's weight as g · v/‖v‖ per output channel (in place).

    v starts as the current weight and g as its norm, so the function is unchanged at the start.
    Afterwards ``layer.weight`` is computed from the two (``layer.parametrizations.weight``).
    """
    torch.nn.utils.parametrizations.weight_norm(layer, name="weight", dim=0)


@register_norm("layer", absorbs_bias=False)
def _layer_norm(num_features: int, dim: int, eps: float = 1e-5) -> nn.Module:
    """LayerNorm: each sample over its channels and positions, per-channel γ and β."""
    return nn.GroupNorm(1, num_features, eps=eps)


def group_count(num_features: int, groups: int = 32) -> int:
    """``groups`` (Wu & He's 32), at most ``C // 2`` (at least 2 channels per group), and a divisor
    of C (the largest such count), so that any channel count works."""
    most = max(1, min(groups, num_features // 2))
    return next(g for g in range(most, 0, -1) if num_features % g == 0)


@register_norm("group", absorbs_bias=False)
def _group_norm(num_features: int, dim: int, groups: int = 32, eps: float = 1e-5) -> nn.Module:
    """GroupNorm: each sample over groups of channels (see :func:`group_count`)."""
    return nn.GroupNorm(group_count(num_features, groups), num_features, eps=eps)


@register_norm("weight", absorbs_bias=False, reparametrize=weight_normalize)
def _weight_norm(num_features: int, dim: int) -> nn.Module:
    """Weight normalization: nothing after the conv; the conv's weight is reparametrised instead."""
    return nn.Identity()


@register_norm("mean_only", absorbs_bias=True)
def _mean_only(num_features: int, dim: int, momentum: float = 0.1) -> nn.Module:
    return MeanOnlyBatchNorm(num_features, momentum=momentum)


@register_norm("variance_only", absorbs_bias=False)
def _variance_only(num_features: int, dim: int, momentum: float = 0.1, eps: float = 1e-5) -> nn.Module:
    return VarianceOnlyBatchNorm(num_features, momentum=momentum, eps=eps)
