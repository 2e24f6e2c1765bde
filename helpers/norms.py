"""The normalization-layer registry: models pick the layer after each conv/linear by name.

Adding a normalization is a few lines::

    @register_norm("mine", absorbs_bias=True)
    def _mine(num_features: int, dim: int, **options) -> nn.Module:
        return MyNorm(num_features, **options)

``dim`` is 2 after a convolution (inputs N,C,H,W) and 1 after a linear layer (inputs N,C).
``absorbs_bias`` says that the layer subtracts a mean, which makes the bias of the preceding
conv/linear layer redundant, so models leave that bias out. ``reparametrize``, for a normalization
of the weights rather than the activations (weight normalization), is applied to that conv/linear
layer once the model is built and initialised (:func:`helpers.models.build_model`).

Taught in notebooks 02 and 08.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from .batchnorm import ScratchBatchNorm
from .lp_norm import LpNorm
from .noise import ActivationNoise

NormFactory = Callable[..., nn.Module]


@dataclass(frozen=True)
class NormSpec:
    name: str
    factory: NormFactory
    absorbs_bias: bool
    reparametrize: Callable[[nn.Module], None] | None = None


NORMS: dict[str, NormSpec] = {}


def register_norm(name: str, *, absorbs_bias: bool, reparametrize: Callable[[nn.Module], None] | None = None,
                  ) -> Callable[[NormFactory], NormFactory]:
    """Decorator adding ``factory(num_features, dim, **options)`` to the registry as ``name``
    (``reparametrize(layer)``: see the module docstring)."""

    def add(factory: NormFactory) -> NormFactory:
        NORMS[name] = NormSpec(name, factory, absorbs_bias, reparametrize)
        return factory

    return add


def norm_spec(name: str) -> NormSpec:
    """The registry entry for ``name``; an unknown name fails with the list of known ones."""
    if name not in NORMS:
        raise ValueError(f"unknown norm {name!r}; choose one of: {', '.join(NORMS)}")
    return NORMS[name]


def make_norm(name: str, num_features: int, dim: int = 2, **options) -> nn.Module:
    """A fresh normalization layer ``name`` for ``num_features`` channels."""
    if dim not in (1, 2):
        raise ValueError(f"dim must be 1 (N,C inputs) or 2 (N,C,H,W inputs), got {dim}")
    try:
        return norm_spec(name).factory(num_features, dim, **options)
    except TypeError as err:  # an option this norm does not take
        raise ValueError(f"norm {name!r} does not accept the options {options}: {err}") from err


@register_norm("none", absorbs_bias=False)
def _identity(num_features: int, dim: int) -> nn.Module:
    return nn.Identity()


@register_norm("batch", absorbs_bias=True)
def _batch_norm(num_features: int, dim: int, momentum: float = 0.1, eps: float = 1e-5,
                affine: bool = True) -> nn.Module:
    """PyTorch's BN; ``affine=False`` fixes γ = 1 and β = 0 (not learned)."""
    layer = nn.BatchNorm2d if dim == 2 else nn.BatchNorm1d
    return layer(num_features, eps=eps, momentum=momentum, affine=affine)


@register_norm("batch_scratch", absorbs_bias=True)  # BN written out by hand (notebook 01)
def _scratch_batch_norm(num_features: int, dim: int, momentum: float = 0.1, eps: float = 1e-5) -> nn.Module:
    return ScratchBatchNorm(num_features, eps=eps, momentum=momentum)


@register_norm("noisy_batch", absorbs_bias=True)
def _noisy_batch_norm(num_features: int, dim: int, draw: str = "channel", spread: str = "std",
                      strength: float = 1.0) -> nn.Module:
    """BN followed by the paper's noise (after BN, before the ReLU): its Fig. 2 "noisy BN"."""
    return nn.Sequential(_batch_norm(num_features, dim), ActivationNoise(num_features, draw, spread, strength))


@register_norm("noise", absorbs_bias=False)
def _noise_only(num_features: int, dim: int, draw: str = "channel", spread: str = "std",
                strength: float = 1.0) -> nn.Module:
    """The same noise without BN: the paper's control, Standard + noise."""
    return ActivationNoise(num_features, draw, spread, strength)


def _lp_norm(p: float) -> NormFactory:
    def factory(num_features: int, dim: int, eps: float = 1e-5, momentum: float = 0.1,
                center_first: bool = False) -> nn.Module:
        return LpNorm(num_features, p, eps=eps, momentum=momentum, center_first=center_first)
    factory.__doc__ = f"BN with the standard deviation replaced by the average ℓ{p:g} norm (the paper's Sec. 3.3)."
    return factory


# The paper's ℓp normalizations (helpers/lp_norm.py); center_first=True is the other published order.
for _name, _p in (("l1", 1.0), ("l2", 2.0), ("linf", math.inf)):
    register_norm(_name, absorbs_bias=True)(_lp_norm(_p))
