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
