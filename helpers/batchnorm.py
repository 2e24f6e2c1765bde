"""BatchNorm written out by hand: forward in training and evaluation, running statistics, backward.

For an input of shape (N, C) or (N, C, H, W), BN works per channel c, over the m = N (or
N·H·W) values that channel has in the batch:

    μ = mean(x),  σ² = mean((x − μ)²)  (biased),  x̂ = (x − μ) / √(σ² + ε),  y = γ x̂ + β

The backward pass is γ/σ times the projection of the upstream gradient g off span{1, x̂}:

    ∂L/∂x = γ/σ · (g − mean(g) − x̂ · mean(g x̂)),   ∂L/∂γ = Σ g x̂,   ∂L/∂β = Σ g

with σ = √(σ² + ε). ``ScratchBatchNorm`` wraps both as a drop-in for ``nn.BatchNorm1d/2d``.

Taught in notebook 01 (its measurements: :mod:`helpers.batchnorm_checks`).
"""

from __future__ import annotations

import torch
from torch import nn


def _axes(x: torch.Tensor) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The axes BN averages over (all but channels) and the shape that broadcasts a per-channel vector."""
    if x.dim() == 2:
        return (0,), (1, -1)
    if x.dim() == 4:
        return (0, 2, 3), (1, -1, 1, 1)
    raise ValueError(f"BatchNorm takes (N, C) or (N, C, H, W) inputs, got shape {tuple(x.shape)}")


def batchnorm_forward(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, running_mean: torch.Tensor,
                      running_var: torch.Tensor, *, training: bool = True, momentum: float = 0.1,
                      eps: float = 1e-5) -> tuple[torch.Tensor, tuple]:
    """BN's output and a cache for :func:`batchnorm_backward`.

    Training: normalise with the batch mean and the *biased* batch variance, and update the
    running estimates in place as PyTorch does: running ← (1 − momentum)·running + momentum·batch,
    with the *unbiased* variance (m/(m − 1)·σ²) going into ``running_var``.
    Evaluation: normalise with the running estimates and leave them alone.
    """
    axes, shape = _axes(x)
    if training:
        m = x.numel() // x.shape[1]
        mean = x.mean(axes)
        var = ((x - mean.view(shape)) ** 2).mean(axes)
        with torch.no_grad():
            running_mean.mul_(1 - momentum).add_(momentum * mean)
            running_var.mul_(1 - momentum).add_(momentum * var * m / max(m - 1, 1))
    else:
        mean, var = running_mean, running_var
    inv_std = torch.rsqrt(var + eps)
    x_hat = (x - mean.view(shape)) * inv_std.view(shape)
    out = gamma.view(shape) * x_hat + beta.view(shape)
    return out, (x_hat, gamma, inv_std, training)


def batchnorm_backward(dout: torch.Tensor, cache: tuple) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Gradients (dx, dγ, dβ) of the loss, given dout = ∂L/∂y and the forward pass's cache."""
    x_hat, gamma, inv_std, training = cache
    axes, shape = _axes(dout)
    dbeta = dout.sum(axes)
    dgamma = (dout * x_hat).sum(axes)
    if not training:  # the running statistics are constants: BN is a fixed affine map
        return dout * (gamma * inv_std).view(shape), dgamma, dbeta
    projected = dout - dout.mean(axes, keepdim=True) - x_hat * (dout * x_hat).mean(axes, keepdim=True)
    return (gamma * inv_std).view(shape) * projected, dgamma, dbeta


class _BatchNormFunction(torch.autograd.Function):
    """Autograd runs our hand-written backward instead of differentiating the forward."""

    @staticmethod
    def forward(ctx, x, gamma, beta, running_mean, running_var, training, momentum, eps):
        out, (x_hat, gamma_, inv_std, training_) = batchnorm_forward(
            x, gamma, beta, running_mean, running_var, training=training, momentum=momentum, eps=eps)
        ctx.save_for_backward(x_hat, gamma_, inv_std)
        ctx.training = training_
        return out

    @staticmethod
    def backward(ctx, dout):
        x_hat, gamma, inv_std = ctx.saved_tensors
        dx, dgamma, dbeta = batchnorm_backward(dout, (x_hat, gamma, inv_std, ctx.training))
        return dx, dgamma, dbeta, None, None, None, None, None


class ScratchBatchNorm(nn.Module):
    """A drop-in for ``nn.BatchNorm1d``/``nn.BatchNorm2d`` built on the functions above.

    Same parameters and buffers (so state dicts are interchangeable), same training and
    evaluation behaviour.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            self.num_batches_tracked += 1
        return _BatchNormFunction.apply(x, self.weight, self.bias, self.running_mean, self.running_var,
                                        self.training, self.momentum, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"
