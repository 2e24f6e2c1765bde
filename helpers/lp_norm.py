"""ℓp normalization: BatchNorm with the standard deviation replaced by an average ℓp norm.

The paper's Sec. 3.3 keeps BN's first step (subtract the batch mean) and replaces the division by
the standard deviation with a division by "the average of the p-norm" of the activations, taken
*before* the mean is subtracted, for p = 1, 2, ∞; γ and β as in BN. Per channel, over the m values
it has in the batch (N, or N·H·W after a convolution):

    μ = mean(y),   s = (mean |y|^p)^(1/p)   (p = ∞: s = max |y|),   out = γ (y − μ) / (s + ε) + β

Where the paper is silent, the choices are ours (docs/protocol.md): "average" is the power mean
above (the p-norm of the m values divided by m^(1/p), so s does not grow with the batch), ε is
added to s, and the running mean and running s (momentum 0.1, as BN keeps its running mean and
variance) replace the batch's in evaluation mode. The other published reading takes the norm
*after* centring (``center_first=True``): s = (mean |y − μ|^p)^(1/p). With p = 2 that is the
standard deviation, so the layer is BN up to where ε sits; with the paper's order it is not:
(mean y²)^(1/2) = √(σ² + μ²), so a channel whose mean is large relative to its spread comes out
with a small variance instead of 1.

Taught in notebook 06.
"""

from __future__ import annotations

import math
import numbers

import torch
from torch import nn


def _check_p(p: float) -> float:
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or math.isnan(p) or p < 1:
        raise ValueError(f"p must be a number ≥ 1 or math.inf (a norm), got {p!r}")
    return float(p)


def lp_scale(y: torch.Tensor, p: float, dims: tuple[int, ...], keepdim: bool = False) -> torch.Tensor:
    """The average ℓp norm of ``y`` over ``dims``: (mean |y|^p)^(1/p), and max |y| for p = ∞."""
    p = _check_p(p)
    if math.isinf(p):
        if dims == (0,) and y.dim() == 2 and y.shape[0] % 64 == 0:
            # max down the columns of a tall, narrow matrix, folded 64 rows wide first: the same
            # numbers, 25 times as fast on a CPU as one long column reduction
            folded = y.abs().reshape(-1, 64 * y.shape[1]).amax(0).view(64, -1).amax(0)
            return folded.view(1, -1) if keepdim else folded
        return y.abs().amax(dims, keepdim)
    if p == 1:
        return y.abs().mean(dims, keepdim)
    if p == 2:
        return y.square().mean(dims, keepdim).sqrt()
    return y.abs().pow(p).mean(dims, keepdim).pow(1 / p)


def _scale_direction(u: torch.Tensor, scale: torch.Tensor, p: float, dim: int) -> torch.Tensor:
    """m · ∂s/∂u: how the average ℓp norm s of the m values of u (along ``dim``) moves with each."""
    if p == 1:
        return u.sign()
    if p == 2:
        return u / scale
    if math.isinf(p):  # only the largest |u| moves the max (shared equally between ties, as autograd does)
        at_max = (u.abs() == scale).to(u.dtype)
        return u.sign() * at_max * (u.shape[dim] / at_max.sum(dim, keepdim=True))
    return u.sign() * (u.abs() / scale).pow(p - 1)


def _layout(y: torch.Tensor) -> str:
    if y.dim() == 2:
        return "rows"  # (N, C): a channel's values down a column
    if y.dim() == 4 and y.is_contiguous(memory_format=torch.channels_last):
        return "channels_last"  # N, H, W, C in memory: again a column per channel
    if y.shape[0] == 1 and y.is_contiguous():
        return "one_sample"  # (1, C, L), the DLN ensemble's layout: a row per channel
    return "other"


def _as_matrix(y: torch.Tensor, layout: str) -> torch.Tensor:
    """``y`` as a 2-D view (no copy where the layout allows) with a column (``rows``,
    ``channels_last``) or a row (otherwise) per channel: reducing along one dimension of a matrix
    is much faster than along a 4-D tensor's scattered axes."""
    if layout == "rows":
        return y
    if layout == "channels_last":
        return y.contiguous(memory_format=torch.channels_last).permute(0, 2, 3, 1).reshape(-1, y.shape[1])
    if layout == "one_sample":
        return y.contiguous().view(y.shape[1], -1)
    return y.transpose(0, 1).reshape(y.shape[1], -1)


def _from_matrix(x: torch.Tensor, shape: torch.Size, layout: str) -> torch.Tensor:
    """Undo :func:`_as_matrix`: the tensor of ``shape`` whose matrix is ``x``."""
    if layout == "rows":
        return x
    if layout == "channels_last":
        n, c, h, w = shape
        return x.view(n, h, w, c).permute(0, 3, 1, 2)
    if layout == "one_sample":
        return x.view(shape)
    return x.view(shape[1], shape[0], *shape[2:]).transpose(0, 1).contiguous()


class _LpNormFunction(torch.autograd.Function):
    """Training-mode ℓp normalization with a hand-written backward pass: a few passes over y
    instead of autograd's dozen small operations (which dominate the time of the tiny DLN)."""

    @staticmethod
    def forward(ctx, y, gamma, beta, p, eps, center_first):
        layout = _layout(y)
        x = _as_matrix(y, layout)
        dim = 0 if layout in ("rows", "channels_last") else 1  # along which a channel's m values lie
        shape = (1, -1) if dim == 0 else (-1, 1)  # a per-channel vector, broadcast against x
        mean = x.mean(dim, keepdim=True)
        u = x - mean if center_first else x
        scale = lp_scale(u, p, (dim,), keepdim=True)
        inv = (scale + eps).reciprocal_()
        a = gamma.view(shape) * inv
        out = (x * a).add_(beta.view(shape) - mean * a)  # a·y + b per channel (addcmul broadcasts slowly)
        ctx.save_for_backward(x, mean, scale, inv, a)
        ctx.p, ctx.eps, ctx.center_first, ctx.dim, ctx.layout, ctx.shape = p, eps, center_first, dim, layout, y.shape
        mean, scale = mean.flatten(), scale.flatten()
        ctx.mark_non_differentiable(mean, scale)
        return _from_matrix(out, y.shape, layout), mean, scale

    @staticmethod
    def backward(ctx, grad, _mean, _scale):
        x, mean, scale, inv, a = ctx.saved_tensors
        dim = ctx.dim
        g = _as_matrix(grad, ctx.layout)
        g_sum = g.sum(dim, keepdim=True)
        g_centred_sum = (g * x).sum(dim, keepdim=True) - mean * g_sum  # Σ g·(y − μ)
        # out = a (y − μ) + β with a = γ / (s + ε): through y and μ, a (g − mean g); through s, the rest
        direction = _scale_direction(x - mean if ctx.center_first else x, scale, ctx.p, dim)
        if ctx.center_first:  # s sees y − μ, and μ moves with every y
            direction = direction - direction.mean(dim, keepdim=True)
        m = x.shape[dim]
        dgamma = g_centred_sum * inv
        dx = (g * a).sub_(a * g_sum / m).sub_(direction * (a * dgamma / m))
        return _from_matrix(dx, ctx.shape, ctx.layout), dgamma.flatten(), g_sum.flatten(), None, None, None


class LpNorm(nn.Module):
    """The ℓp normalization layer for inputs (N, C), (N, C, L) or (N, C, H, W), per channel C.

    ``center_first=False`` is the paper's order (the norm of y before the mean is subtracted);
    ``True`` takes it after. Same parameters as BN (``weight`` γ, ``bias`` β) and running
    ``running_mean``, ``running_scale`` for evaluation mode.
    """

    def __init__(self, num_features: int, p: float, eps: float = 1e-5, momentum: float = 0.1,
                 center_first: bool = False):
        super().__init__()
        if not isinstance(center_first, bool):
            raise ValueError(f"center_first must be True or False, got {center_first!r}")
        self.num_features, self.p, self.eps, self.momentum = num_features, _check_p(p), eps, momentum
        self.center_first = center_first
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_scale", torch.ones(num_features))

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        if y.dim() < 2 or y.shape[1] != self.num_features:
            raise ValueError(f"LpNorm({self.num_features}) takes (N, {self.num_features}, ...) inputs, "
                             f"got shape {tuple(y.shape)}")
        if self.training:
            out, mean, scale = _LpNormFunction.apply(y, self.weight, self.bias, self.p, self.eps, self.center_first)
            with torch.no_grad():
                self.running_mean.lerp_(mean, self.momentum)
                self.running_scale.lerp_(scale, self.momentum)
            return out
        shape = (1, -1) + (1,) * (y.dim() - 2)  # evaluation: a fixed affine map from the running statistics
        a = self.weight / (self.running_scale + self.eps)
        return y * a.view(shape) + (self.bias - self.running_mean * a).view(shape)

    def extra_repr(self) -> str:
        order = "after centring" if self.center_first else "before centring (the paper's)"
        return f"{self.num_features}, p={self.p:g}, norm {order}, eps={self.eps}, momentum={self.momentum}"
