"""VGG for 32×32 images and the deep linear network (DLN), with a pluggable normalization.

Both are a list of *layers* in the paper's numbering: ``model.layer(3)`` is the third
conv (or linear) layer together with its normalization and nonlinearity, so probes can
hook "layer 3" or "layer 11". Each layer exposes ``.weight`` (its conv/linear weight) and
``.norm`` (its normalization layer; ``nn.Identity`` without one), whose output is the
layer's pre-activation.

Taught in notebook 00.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .norms import make_norm, norm_spec

# Numbers are conv output channels (before the width multiplier), "M" a 2×2 max-pool.
VGG_CONFIGS: dict[str, tuple[int | str, ...]] = {
    "vgg11": (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    "vgg13": (64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    "vgg16": (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"),
    "vgg19": (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
              512, 512, 512, 512, "M"),
}
MODEL_NAMES = (*VGG_CONFIGS, "dln")


class ConvLayer(nn.Module):
    """conv 3×3 → norm → ReLU (→ 2×2 max-pool)."""

    def __init__(self, c_in: int, c_out: int, norm: str = "none", pool: bool = False, **norm_options):
        super().__init__()
        self.norm_name = norm
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1, bias=not norm_spec(norm).absorbs_bias)
        self.norm = make_norm(norm, c_out, dim=2, **norm_options)
        self.act = nn.ReLU()
        self.pool = nn.MaxPool2d(2) if pool else nn.Identity()

    @property
    def weight(self) -> torch.Tensor:
        """The conv weight (computed from its parts under weight normalization)."""
        return self.conv.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.act(self.norm(self.conv(x))))


class LinearLayer(nn.Module):
    """linear → norm (→ ReLU); flattens its input, so it can follow a conv layer."""

    def __init__(self, f_in: int, f_out: int, norm: str = "none", relu: bool = False, bias: bool = True,
                 **norm_options):
        super().__init__()
        self.norm_name = norm
        self.linear = nn.Linear(f_in, f_out, bias=bias and not norm_spec(norm).absorbs_bias)
        self.norm = make_norm(norm, f_out, dim=1, **norm_options)
        self.act = nn.ReLU() if relu else nn.Identity()

    @property
    def weight(self) -> torch.Tensor:
        """The linear weight (computed from its parts under weight normalization)."""
        return self.linear.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.norm(self.linear(x.flatten(1))))


class LayeredNet(nn.Module):
    """A network that is a plain sequence of layers, numbered from 1 as in the paper."""

    layers: nn.ModuleList

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    def layer(self, index: int) -> nn.Module:
        """Layer ``index``, counting from 1 (``layer(1)`` is the first conv/linear layer)."""
        if not 1 <= index <= len(self.layers):
            raise IndexError(f"layer {index} does not exist: this network has layers 1..{len(self.layers)}")
        return self.layers[index - 1]

    def layer_weights(self) -> list[torch.Tensor]:
        """The conv/linear weight of every layer, in order (parameters, except under weight
        normalization, where each is computed from its parts)."""
        return [layer.weight for layer in self.layers]


class VGG(LayeredNet):
    """VGG for 32×32 inputs: conv layers as in ``VGG_CONFIGS``, then one linear classifier.

    ``width`` multiplies every channel count. With ``norm="none"`` the convs have biases;
    with a mean-subtracting norm they do not (the norm's β takes their place). The
    classifier is a single linear layer without normalization, as is common for CIFAR
    VGGs: the paper does not state its variant, so this is our choice (docs/protocol.md).
    """

    def __init__(self, config: str | Sequence[int | str] = "vgg11", norm: str = "none", width: float = 1.0,
                 num_classes: int = 10, **norm_options):
        super().__init__()
        if isinstance(config, str):
            if config not in VGG_CONFIGS:
                raise ValueError(f"unknown VGG configuration {config!r}; choose one of: {', '.join(VGG_CONFIGS)}")
            config = VGG_CONFIGS[config]
        if width <= 0:
            raise ValueError(f"width multiplier must be positive, got {width}")
        layers, c_in = [], 3
        for i, item in enumerate(config):
            if item == "M":
                continue
            c_out = max(1, round(item * width))
            pool = i + 1 < len(config) and config[i + 1] == "M"
            layers.append(ConvLayer(c_in, c_out, norm, pool, **norm_options))
            c_in = c_out
        layers.append(LinearLayer(c_in, num_classes))  # after 5 pools the map is 1×1
        self.layers = nn.ModuleList(layers)


class DeepLinearNet(LayeredNet):
    """The paper's deep linear network: ``depth`` bias-free linear layers of width ``width``.

    With a norm, one follows every layer but the last (our choice, mirroring VGG, whose
    classifier is not normalised; the paper leaves the placement open).
    """

    def __init__(self, depth: int = 25, width: int = 10, in_dim: int = 10, out_dim: int = 10,
                 norm: str = "none", **norm_options):
        super().__init__()
        dims = [in_dim] + [width] * (depth - 1) + [out_dim]
        self.layers = nn.ModuleList(
            LinearLayer(dims[i], dims[i + 1], norm, bias=False, **norm_options) if i < depth - 1
            else LinearLayer(dims[i], dims[i + 1], "none", bias=False)  # the last layer: no norm, so no options
            for i in range(depth)
        )


def glorot_init(model: nn.Module) -> nn.Module:
    """Glorot (Xavier) uniform weights and zero biases for every conv and linear layer.

    The paper says Glorot initialization; uniform rather than normal is our reading (it is
    the form Glorot & Bengio give). Normalization layers keep γ = 1, β = 0.
    """
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return model


def build_model(name: str, norm: str = "none", width: float = 1.0, seed: int | None = None,
                **norm_options) -> LayeredNet:
    """``name`` is a VGG configuration (``vgg11``, ``vgg16``, ...) or ``dln``; Glorot-initialised.

    With a ``seed`` the initial weights depend on it alone (the global RNG is left alone). A norm
    that reparametrises the weights (weight normalization) does so after initialization.
    """
    if name not in MODEL_NAMES:
        raise ValueError(f"unknown model {name!r}; choose one of: {', '.join(MODEL_NAMES)}")
    norm_spec(norm)  # fail early, with the list of norms
    with torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(seed)
        model = DeepLinearNet(norm=norm, **norm_options) if name == "dln" else VGG(name, norm, width, **norm_options)
        glorot_init(model)
    for layer in model.layers:
        reparametrize = norm_spec(layer.norm_name).reparametrize
        if reparametrize is not None:
            reparametrize(layer.conv if isinstance(layer, ConvLayer) else layer.linear)
    return model
