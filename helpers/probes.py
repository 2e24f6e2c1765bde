"""Probes: measurements taken during training that leave training exactly as it would have been.

The protocol every probe is built on (:class:`Probe`, :class:`ProbeContext`, :func:`loss_at`,
:class:`PreStepProbe`) is in :mod:`helpers.probe_protocol` and importable from here too. This
module holds the paper's three probes:

- :class:`ActivationProbe`: distributions of chosen units' pre-activations (the paper's Fig. 1c, 2).
- :class:`GradientICSProbe`: internal covariate shift measured through gradients (Fig. 3).
- :class:`LandscapeProbe`: the loss and gradient along the gradient direction (Fig. 4).

What the records add up to (drift, landscape bands, medians) is in :mod:`helpers.summaries`.

Taught in notebooks 03, 04 and 05.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np
import torch
from torch import nn

from .probe_protocol import (  # noqa: F401  (the protocol, importable from here as before)
    FunctionProbe,
    PreStepProbe,
    Probe,
    ProbeContext,
    Record,
    RNGState,
    _host,
    _norm,
    _rows,
    loss_at,
    rng_state,
)
from .protocol import STEP_POINTS, STEP_RANGES, model_kind

# --- Fig. 1c and 2: activation distributions ----------------------------------------------------

# Fixed bin edges for every record: asinh-spaced, so they are fine near 0 (width ≈ 0.03) where a
# network without BN keeps its small pre-activations, and coarser out to ±20 for noisy ones.
ACTIVATION_EDGES = 0.5 * np.sinh(np.linspace(-np.arcsinh(40), np.arcsinh(40), 161))


class ActivationProbe(Probe):
    """Distributions of single pre-activations: ``units`` random positions of each of ``layers``.

    The paper's Fig. 1c and 2 follow "a random activation" over training. A unit here is one
    fixed position (channel, row, column) of a layer's output, drawn once from ``seed``; its
    distribution is over the batch. The pre-activations are the output of a layer's
    normalization, before its ReLU (the conv output itself when there is none).

    As a labelled contrast the probe also pools each unit's whole *channel* over the batch and
    all positions (``pool_mean``, ``pool_var``). With BN in training mode that pool has mean β
    and variance γ² exactly (BN normalises it at every step), so its drift is near zero by
    construction: the reason single activations are what the probe follows.

    Read from the training forward pass through hooks: no extra forward pass, no random draws,
    no BN statistics touched. Records (``History.probes["activations"]``): ``hist`` (records,
    layers, units, bins) counts on ``edges`` (values outside count in the outermost bins),
    ``mean`` and ``var`` (records, layers, units) of the single activations, ``pool_mean`` and
    ``pool_var`` of their channels. Settings: ``layers``, ``units``, ``seed``, ``edges``, and once
    a run has started, ``positions`` (per layer, the (channel, row, column) of each unit).
    """

    def __init__(self, layers: Sequence[int], units: int = 4, every: int = 10, seed: int = 0,
                 edges: np.ndarray = ACTIVATION_EDGES):
        super().__init__("activations", every)
        if units <= 0 or not layers:
            raise ValueError(f"need at least one layer and a positive number of units, got {layers} and {units}")
        self.layers, self.units, self.seed = [int(i) for i in layers], int(units), int(seed)
        self.edges = np.asarray(edges, dtype=np.float64)
        self.positions: list[list[list[int]]] = []
        self._stats: dict[int, tuple[torch.Tensor, ...]] = {}

    def settings(self) -> dict[str, Any]:
        return {"layers": self.layers, "units": self.units, "seed": self.seed, "edges": self.edges.tolist()}

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "positions": self.positions}

    def start(self, model: nn.Module) -> None:
        if getattr(model, "members", None):
            raise ValueError("the activation probe follows single networks, not a batched ensemble")
        rng = np.random.default_rng(self.seed)  # the same units in every run with this seed
        self._draws = [(rng.choice(model.layer(i).weight.shape[0], self.units, replace=False),
                        rng.random((self.units, 2))) for i in self.layers]
        self.positions = []  # rows and columns are placed once the layer's output size is known

    def _place(self, k: int, shape: torch.Size) -> list[list[int]]:
        """Layer ``k``'s units as (channel, row, column), from the draws made in ``start``."""
        while len(self.positions) <= k:
            self.positions.append([])
        if not self.positions[k]:
            channels, where = self._draws[k]
            size = np.array(shape[2:4] if len(shape) == 4 else (1, 1))
            rows_cols = np.floor(where * size).astype(int)
            self.positions[k] = [[int(c), int(r), int(q)] for c, (r, q) in zip(channels, rows_cols)]
        return self.positions[k]

    def before(self, ctx: ProbeContext) -> Record:
        self._stats = {}
        for k, i in enumerate(self.layers):
            ctx.add_hook(ctx.model.layer(i).norm, partial(self._record, k))
        return None

    @torch.no_grad()
    def _record(self, k: int, module, inputs, output: torch.Tensor) -> None:
        out = output.detach().float()
        units = torch.as_tensor(self._place(k, out.shape), device=out.device)
        if out.dim() == 4:
            values = out[:, units[:, 0], units[:, 1], units[:, 2]].T.contiguous()  # (units, batch)
            pooled = out.index_select(1, units[:, 0]).transpose(0, 1).reshape(len(units), -1)
        else:
            values = pooled = out[:, units[:, 0]].T.contiguous()
        edges = torch.as_tensor(self.edges, dtype=values.dtype, device=values.device)
        slots = len(edges) + 1  # bins, plus one slot below and one above the edges
        index = torch.bucketize(values, edges) + slots * torch.arange(len(units), device=values.device)[:, None]
        counts = torch.bincount(index.flatten(), minlength=slots * len(units)).view(len(units), slots)
        counts[:, 1] += counts[:, 0]  # below the first edge: into the first bin
        counts[:, -2] += counts[:, -1]  # above the last edge: into the last bin
        self._stats[k] = (counts[:, 1:-1], values.mean(1), values.var(1, unbiased=False),
                          pooled.mean(1), pooled.var(1, unbiased=False))

    def after(self, ctx: ProbeContext) -> Record:
        stats = [self._stats[k] for k in range(len(self.layers))]
        keys = ("hist", "mean", "var", "pool_mean", "pool_var")
        return {name: np.stack([s[j].cpu().numpy() for s in stats]) for j, name in enumerate(keys)}


# --- Fig. 3: internal covariate shift through gradients ----------------------------------------

class GradientICSProbe(PreStepProbe):
    """Internal covariate shift measured through gradients (the paper's Fig. 3).

    At step t, on the step's batch: G = ∇_{Wᵢ} L at the current weights (the gradient the update
    uses) and G′ = ∇_{Wᵢ} L after only layers 1 … i−1 have taken their step (their BN γ and β
    included); records ``grad_diff`` ‖G − G′‖₂, ``cosine`` cos∠(G, G′) and ``g_norm`` ‖G‖ (to
    read the difference relative to the gradient), one column per layer of the ``layers`` setting.
    On an ensemble (:mod:`helpers.ensemble`) each is per member: shape (members, layers).

    G costs nothing: it is what the training step's backward pass left in ``.grad``. Each G′ is
    at a different point, so it takes one extra forward and backward pass per chosen layer, the
    least the definition allows (through :func:`loss_at`, so training is left exactly as it was).
    """

    def __init__(self, layers: Sequence[int], every: int = 10):
        super().__init__("ics", every)
        if not layers:
            raise ValueError("need at least one layer")
        self.layers = [int(i) for i in layers]

    def settings(self) -> dict[str, Any]:
        return {"layers": self.layers}

    def after(self, ctx: ProbeContext) -> Record:
        model = ctx.model
        members = getattr(model, "members", None)
        names = {id(p): name for name, p in model.named_parameters()}
        layer_of = {names[id(p)]: k for k, layer in enumerate(model.layers, 1) for p in layer.parameters()}
        norm, cosine, g_norm = [], [], []
        for i in self.layers:
            weight = model.layer(i).weight
            if not isinstance(weight, nn.Parameter) or weight.grad is None:
                raise ValueError(f"GradientICSProbe needs layer {i}'s weight to be a trained parameter; here it "
                                 "has no gradient (under weight normalization it is computed from g and v)")
            g = weight.grad.detach()
            params = {name: (p.detach() if layer_of[name] < i else self.w[name]).requires_grad_(
                layer_of[name] == i and p is weight) for name, p in model.named_parameters()}
            target = params[names[id(weight)]]
            (g_prime,) = torch.autograd.grad(loss_at(ctx, params, self.rng).sum(), target)  # members apart
            g, g_prime = _rows(g, members), _rows(g_prime, members)
            norm.append(_host(torch.linalg.vector_norm(g - g_prime, dim=-1)))
            cosine.append(_host(torch.nn.functional.cosine_similarity(g, g_prime, dim=-1)))
            g_norm.append(_host(torch.linalg.vector_norm(g, dim=-1)))
        return {"grad_diff": np.stack(norm, -1), "cosine": np.stack(cosine, -1), "g_norm": np.stack(g_norm, -1)}


# --- Fig. 4: the landscape along the gradient --------------------------------------------------

def _step_back(w: torch.Tensor, g: torch.Tensor, eta: float | np.ndarray, members: int | None) -> torch.Tensor:
    """w − η g; for an ensemble η holds one step length per member."""
    if members is None:
        return w - eta * g
    eta_rows = torch.as_tensor(eta, dtype=w.dtype, device=w.device)[:, None]
    return (w.reshape(members, -1) - eta_rows * g.reshape(members, -1)).view(w.shape)


def step_multipliers(low: float, high: float, points: int) -> np.ndarray:
    """``points`` step lengths from ``low`` to ``high`` (× LR), geometrically spaced: the range spans
    a factor 8 (VGG) to 3,000 (DLN), and the quantities change with the scale of η, not its size."""
    if not (0 < low < high) or points < 2:
        raise ValueError(f"need 0 < low < high and at least 2 points, got {low}, {high}, {points}")
    return np.geomspace(low, high, points)


class LandscapeProbe(PreStepProbe):
    """Loss and gradient along the gradient direction, every ``every`` steps (the paper's Fig. 4).

    At a probed step with weights w and gradient g, for each step length η = multiplier × LR on
    the grid (setting ``multipliers``), on the step's batch: records ``eta``, ``loss``
    L(w − ηg), ``grad_diff`` ‖g − ∇L(w − ηg)‖ and ``grad_norm`` ‖∇L(w − ηg)‖ (one value per η),
    plus ``g_norm`` ‖g‖ and ``weight_norm`` ‖w‖. Norms are over all trainable parameters (BN's γ
    and β included). :func:`helpers.summaries.landscape_summary` turns these into the paper's
    three quantities. On an ensemble (:mod:`helpers.ensemble`) every norm and η is per member and
    every record has a leading member axis: ``eta`` (members, points), ``g_norm`` (members,).

    ``unit_step=True`` is the scale-aware variant (not the paper's): the points are w − d·g/‖g‖
    at distances d = multiplier × LR, the same for every network and step however large its
    gradient; its records go under ``"landscape_unit"``, and ``eta`` = d/‖g‖ keeps the formulas.

    g is free: it is what the step's backward pass left in ``.grad``. Each η costs one forward and
    backward pass, through :func:`loss_at`. (Batching the η points with ``torch.func.vmap`` was
    measured slower on a CPU, and it cannot run BN's running-statistics update.)
    """

    def __init__(self, every: int, low: float = 0.5, high: float = 4.0, points: int = 7, unit_step: bool = False,
                 name: str | None = None):
        super().__init__(name or ("landscape_unit" if unit_step else "landscape"), every)
        self.unit_step = bool(unit_step)
        self.multipliers = step_multipliers(low, high, points)

    @classmethod
    def paper(cls, model: str, every: int, points: int | None = None, unit_step: bool = False) -> LandscapeProbe:
        """The paper's step range for ``model`` ("dln" or a VGG name), with our default point count."""
        kind = model_kind(model)
        return cls(every, *STEP_RANGES[kind], points=points or STEP_POINTS[kind], unit_step=unit_step)

    def settings(self) -> dict[str, Any]:
        return {"multipliers": [float(m) for m in self.multipliers], "unit_step": self.unit_step}

    def start(self, model: nn.Module) -> None:
        super().start(model)
        self.lr: float | None = None

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "lr": self.lr}  # η / LR is what the figures show

    def after(self, ctx: ProbeContext) -> Record:
        self.lr = ctx.lr
        members = getattr(ctx.model, "members", None)
        named = dict(ctx.model.named_parameters())
        g = {name: p.grad.detach() if p.grad is not None else torch.zeros_like(p) for name, p in named.items()}
        g_norm = _norm(list(g.values()), members)
        scale = np.where(np.asarray(g_norm) > 0, g_norm, 1.0) if self.unit_step else np.ones_like(g_norm)
        etas = self.multipliers * ctx.lr / scale[..., None]  # (points,), or (members, points)
        trainable = [name for name, p in named.items() if p.requires_grad]
        loss, diff, norm = [], [], []
        for eta in etas.T:  # one step length, or one per member
            point = {name: _step_back(self.w[name], g[name], eta, members).requires_grad_(p.requires_grad)
                     for name, p in named.items()}
            value = loss_at(ctx, point, self.rng)
            grads = torch.autograd.grad(value.sum(), [point[n] for n in trainable], allow_unused=True)
            grads = [torch.zeros_like(point[n]) if gr is None else gr for n, gr in zip(trainable, grads)]
            loss.append(_host(value))
            diff.append(_norm([g[n] - gr for n, gr in zip(trainable, grads)], members))
            norm.append(_norm(grads, members))
        loss, diff, norm = (np.stack(values, -1) for values in (loss, diff, norm))
        record = {"eta": etas, "loss": loss, "grad_diff": diff, "grad_norm": norm,
                  "g_norm": g_norm, "weight_norm": _norm(list(self.w.values()), members)}
        self.w = {}
        return record
