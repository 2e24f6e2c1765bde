"""Scale invariance: with BN after a layer, the loss does not depend on the scale of that layer's weights.

If L(cW) = L(W) for every c > 0, then differentiating in c at c = 1 gives ⟨∇L(W), W⟩ = 0 (the
gradient is orthogonal to the weights), and differentiating in W gives ∇L(cW) = ∇L(W)/c. So a
gradient's size, and any Lipschitz or smoothness constant, says little until the weights' scale is
fixed; plain SGD grows ‖W‖ (‖W − η g‖² = ‖W‖² + η²‖g‖² when g ⟂ W), which shrinks the *effective*
learning rate η/‖W‖². BN's ε breaks the invariance where the batch variance is comparable to ε.

- :func:`scale_sweep`: loss, gradient norm and cos(∇, W) of one weight tensor at c·W, for several c.
- :class:`WeightNormProbe`: per layer ‖W‖, ‖g‖ and cos(W, g) during training, at no extra pass.
- :func:`weight_norm_summary`: those records as per-layer arrays, with the effective learning rate.

Taught in notebook 07.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from .probe_protocol import Probe, ProbeContext, Record
from .runs import History


def scale_sweep(model: nn.Module, weight: str, x: torch.Tensor, target: torch.Tensor,
                loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], scales: Sequence[float],
                ) -> dict[str, np.ndarray]:
    """The loss, ‖∇_W L‖ and cos(∇_W L, W) with the parameter ``weight`` (a name in
    ``model.named_parameters()``) replaced by c·W, for each c in ``scales``; the model is left as it
    was (training-mode BN updates copies of its running statistics)."""
    params = dict(model.named_parameters())
    if weight not in params:
        raise ValueError(f"no parameter {weight!r}; the model has: {', '.join(params)}")
    if any(not c > 0 for c in scales):
        raise ValueError(f"scales must be positive, got {list(scales)}")
    w0 = params[weight].detach()
    out: dict[str, list[float]] = {"scale": [], "loss": [], "grad_norm": [], "cos": []}
    for c in scales:
        w = (c * w0).requires_grad_(True)
        buffers = {name: b.clone() for name, b in model.named_buffers()}
        values = {**{k: v.detach() for k, v in params.items()}, weight: w}
        loss = loss_fn(torch.func.functional_call(model, (values, buffers), (x,)), target)
        (grad,) = torch.autograd.grad(loss, w)
        out["scale"].append(float(c))
        out["loss"].append(float(loss.detach()))
        out["grad_norm"].append(float(grad.norm()))
        out["cos"].append(float((grad * w.detach()).sum() / (grad.norm() * w.detach().norm())))
    return {key: np.array(values) for key, values in out.items()}


class WeightNormProbe(Probe):
    """Every ``every`` steps, for each layer's conv/linear weight W (``model.layer_weights()``):
    ‖W‖ before the step, the step's gradient norm ‖g‖, and cos(W, g), which is 0 for a weight whose
    layer is followed by BN (up to ε). Norms of tensors the step already holds: no extra pass."""

    def __init__(self, every: int = 1):
        super().__init__("weights", every)

    def start(self, model: nn.Module) -> None:
        if getattr(model, "members", None) is not None:
            raise ValueError("WeightNormProbe watches one network, not an ensemble")
        if not hasattr(model, "layer_weights"):
            raise ValueError("WeightNormProbe needs a network with layer_weights() (helpers.models)")
        if not all(isinstance(w, nn.Parameter) for w in model.layer_weights()):
            raise ValueError("WeightNormProbe needs every layer's weight to be a parameter; under weight "
                             "normalization (norm 'weight') it is computed from g and v")
        self.kept: list[torch.Tensor] = []

    def before(self, ctx: ProbeContext) -> Record:
        self.kept = [w.detach().clone() for w in ctx.model.layer_weights()]
        return {"norm": np.array([float(w.norm()) for w in self.kept])}

    def after(self, ctx: ProbeContext) -> Record:
        grads = [w.grad for w in ctx.model.layer_weights()]
        return {"grad_norm": np.array([float(g.norm()) for g in grads]),
                "cos": np.array([float((g * w).sum() / (g.norm() * w.norm()).clamp_min(1e-30))
                                 for g, w in zip(grads, self.kept)])}


def weight_norm_summary(history: History, probe: str = "weights") -> dict[str, Any]:
    """A run's weight records as arrays (steps × layers): ``norm``, ``grad_norm``, ``cos``, and the
    effective learning rate ``eff_lr`` = lr/‖W‖²; with ``step``, ``lr`` and the network's norm."""
    if probe not in history.probes:
        raise ValueError(f"this run has no {probe!r} records (train it with WeightNormProbe); "
                         f"it has: {', '.join(history.probes) or 'none'}")
    records = history.probes[probe]
    lr = history.config.lr
    return {"step": np.asarray(records["step"]), "norm": records["norm"], "grad_norm": records["grad_norm"],
            "cos": records["cos"], "eff_lr": lr / records["norm"] ** 2, "lr": lr, "norm_name": history.config.norm}
