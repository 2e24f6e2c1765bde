"""Probes: measurements taken during training that leave training exactly as it would have been.

:class:`ActivationProbe` records the distribution of chosen units' pre-activations (the output of
a layer's normalization, before its ReLU; the conv output itself when there is no normalization)
as the network trains: a histogram on fixed bins, plus mean and variance, per unit. It reads the
activations of the training forward pass through hooks, so it adds no forward pass, draws no
random numbers and touches no BN statistics.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import numpy as np
import torch

from .train import Probe, ProbeContext

# Fixed bin edges for every record: asinh-spaced, so they are fine near 0 (width ≈ 0.03) where a
# network without BN keeps its small pre-activations, and coarser out to ±20 for noisy ones.
ACTIVATION_EDGES = 0.5 * np.sinh(np.linspace(-np.arcsinh(40), np.arcsinh(40), 161))


class ActivationProbe:
    """Histograms, means and variances of ``units`` random channels of each of ``layers``.

    ``probe()`` gives the :class:`~helpers.train.Probe` to pass to ``train``; its records
    (``History.probes["activations"]``) are ``hist`` (records, layers, units, bins) counts on
    ``edges``, and ``mean`` and ``var`` (records, layers, units). Values outside the edges count
    in the outermost bins. ``channels`` lists, per layer, the channels recorded (seeded).
    """

    def __init__(self, layers: Sequence[int], units: int = 4, every: int = 10, seed: int = 0,
                 edges: np.ndarray = ACTIVATION_EDGES):
        if units <= 0 or every <= 0:
            raise ValueError(f"units and every must be positive, got {units} and {every}")
        self.layers, self.units, self.every, self.seed = list(layers), units, every, seed
        self.edges = np.asarray(edges, dtype=np.float64)
        self.channels: list[np.ndarray] | None = None
        self._handles: list = []
        self._stats: dict[int, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}

    def probe(self) -> Probe:
        params = {"layers": self.layers, "units": self.units, "seed": self.seed,
                  "edges": [len(self.edges), float(self.edges[0]), float(self.edges[-1])]}
        return Probe("activations", self._arm, every=self.every, params=params, after=self._collect)

    def _arm(self, ctx: ProbeContext) -> None:
        model = ctx.model
        if self.channels is None:  # chosen once per run, from the seed alone
            rng = np.random.default_rng(self.seed)
            self.channels = [np.sort(rng.choice(model.layer(i).weight.shape[0], self.units, replace=False))
                             for i in self.layers]
        self._stats = {}
        self._handles = [model.layer(i).norm.register_forward_hook(partial(self._record, k))
                         for k, i in enumerate(self.layers)]
        return None

    @torch.no_grad()
    def _record(self, k: int, module, inputs, output: torch.Tensor) -> None:
        channels = torch.as_tensor(self.channels[k], device=output.device)
        values = output.detach().index_select(1, channels).transpose(0, 1).reshape(len(channels), -1).float()
        edges = torch.as_tensor(self.edges, dtype=values.dtype, device=values.device)
        slots = len(edges) + 1  # bins, plus one slot below and one above the edges
        index = torch.bucketize(values, edges) + slots * torch.arange(len(channels), device=values.device)[:, None]
        counts = torch.bincount(index.flatten(), minlength=slots * len(channels)).view(len(channels), slots)
        counts[:, 1] += counts[:, 0]  # below the first edge: into the first bin
        counts[:, -2] += counts[:, -1]  # above the last edge: into the last bin
        self._stats[k] = (counts[:, 1:-1], values.mean(1), values.var(1, unbiased=False))

    def _collect(self, ctx: ProbeContext) -> dict[str, np.ndarray]:
        for handle in self._handles:
            handle.remove()
        self._handles = []
        stats = [self._stats[k] for k in range(len(self.layers))]
        return {name: np.stack([s[j].cpu().numpy() for s in stats]) for j, name in enumerate(("hist", "mean", "var"))}


def distribution_drift(records: dict[str, np.ndarray]) -> np.ndarray:
    """How much each recorded unit's distribution moves between consecutive records, (layers, units).

    For each unit: the average over consecutive records of |Δ mean| + |Δ standard deviation|,
    divided by the unit's average standard deviation over the run. Moments rather than a
    histogram distance, because they say what moved (location or spread); divided by the unit's
    own spread, so that networks whose activations live on different scales (without BN they
    are small, with BN about 1) compare on equal terms. 0 means a perfectly stable distribution.
    """
    mean, std = records["mean"], np.sqrt(records["var"])
    if len(mean) < 2:
        raise ValueError("need at least two records to measure drift")
    change = np.abs(np.diff(mean, axis=0)) + np.abs(np.diff(std, axis=0))
    return change.mean(0) / std.mean(0)


RNGState = tuple[torch.Tensor, torch.Tensor | None]


def rng_state(device: torch.device) -> RNGState:
    """The CPU (and, on a GPU, CUDA) random state, to replay a training forward pass's draws."""
    return torch.get_rng_state(), torch.cuda.get_rng_state(device) if device.type == "cuda" else None


def loss_at(ctx: ProbeContext, params: dict[str, torch.Tensor], rng: RNGState) -> torch.Tensor:
    """The loss on this step's batch with the model's parameters replaced by ``params``.

    What a probe needs to look at another point in weight space without touching the model:
    ``torch.func.functional_call`` runs the model's own modules on ``params``, BN (still in
    training mode, as in training) updates copies of the running statistics, and the random
    state ``rng`` is replayed and then restored, so a noisy layer draws the same noise as the
    training pass did and training afterwards draws what it would have drawn.
    """
    device = ctx.x.device
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.set_rng_state(rng[0])
        if rng[1] is not None:
            torch.cuda.set_rng_state(rng[1], device)
        copies = {name: b.clone() for name, b in ctx.model.named_buffers()}
        out = torch.func.functional_call(ctx.model, (params, copies), (ctx.x,))
        return ctx.loss_fn(out, ctx.y)


class BeforeStepProbe:
    """Base of probes that look at other points around the weights *before* a step: ``_save``
    (the probe's ``fn``) keeps a copy of the parameters and the random state for ``after``."""

    def __init__(self):
        self._before: dict[str, torch.Tensor] = {}
        self._rng: RNGState = (torch.empty(0), None)

    def _save(self, ctx: ProbeContext) -> None:
        self._before = {name: p.detach().clone() for name, p in ctx.model.named_parameters()}
        self._rng = rng_state(ctx.x.device)
        return None


class GradientICSProbe(BeforeStepProbe):
    """Internal covariate shift measured through gradients (the paper's Fig. 3).

    At step t, on the step's batch: G = ∇_{Wᵢ} L at the current weights (the gradient the update
    uses) and G′ = ∇_{Wᵢ} L after only layers 1 … i−1 have taken their step (their BN γ and β
    included); records ‖G − G′‖₂ and cos∠(G, G′) for each chosen layer i.

    G costs nothing: it is what the training step's backward pass left in ``.grad``. Each G′ is
    at a different point, so it takes one extra forward and backward pass per chosen layer, the
    least the definition allows. They run on copies of the buffers (BN's running statistics are
    untouched) with the random state of the training forward pass restored (a noisy layer draws
    the same noise), so the model, its buffers, the optimizer and the random generators are left
    exactly as they were.
    """

    def __init__(self, layers: Sequence[int], every: int = 10):
        if every <= 0 or not layers:
            raise ValueError("need at least one layer and a positive interval")
        super().__init__()
        self.layers, self.every = list(layers), every

    def probe(self) -> Probe:
        return Probe("ics", self._save, every=self.every, params={"layers": self.layers}, after=self._measure)

    def _measure(self, ctx: ProbeContext) -> dict[str, np.ndarray]:
        model = ctx.model
        names = {id(p): name for name, p in model.named_parameters()}
        layer_of = {names[id(p)]: k for k, layer in enumerate(model.layers, 1) for p in layer.parameters()}
        norm, cosine = [], []
        for i in self.layers:
            weight = model.layer(i).weight
            g = weight.grad.detach()
            params = {name: (p.detach() if layer_of[name] < i else self._before[name]).requires_grad_(
                layer_of[name] == i and p is weight) for name, p in model.named_parameters()}
            target = params[names[id(weight)]]
            (g_prime,) = torch.autograd.grad(loss_at(ctx, params, self._rng), target)
            norm.append(float((g - g_prime).norm()))
            cosine.append(float(torch.nn.functional.cosine_similarity(g.flatten(), g_prime.flatten(), dim=0)))
        return {"grad_diff": np.array(norm), "cosine": np.array(cosine)}

