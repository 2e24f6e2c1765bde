"""Experiments made of several runs: networks side by side, grids over learning rates, sweeps.

Every run goes through :func:`helpers.train.train`, so each is cached: a sweep that is run
again, or that shares runs with another cell, costs nothing the second time. One Ctrl-C stops
the whole experiment and returns the runs finished so far, the interrupted one included (it is
marked ``interrupted``, and every plot and summary says so).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

import numpy as np

from .config import RunConfig
from .probes import Probe
from .protocol import CHANCE_LOSS, LR_GRID, TRAINS_MARGIN, networks
from .runs import History
from .train import Progress, train

K = TypeVar("K", bound=Hashable)


def train_runs(configs: Mapping[K, RunConfig], probes: Sequence[Probe] = (), progress: Progress = True,
               ) -> dict[K, History]:
    """Train each configuration in turn with the same probes (each run starts them afresh).

    Ctrl-C stops here: the runs finished so far are returned, and the one it cut short, marked
    ``interrupted``; the rest are not started.
    """
    runs: dict[K, History] = {}
    for key, config in configs.items():
        try:
            runs[key] = train(config, probes=probes, progress=progress)
        except KeyboardInterrupt:  # landed outside the training loop (building the model, loading data)
            print(f"interrupted before run {key!r} could start; returning the {len(runs)} runs finished")
            break
        if runs[key].interrupted:
            print(f"interrupted during run {key!r}: returning {len(runs) - 1} finished runs and the "
                  f"interrupted one; {len(configs) - len(runs)} not started")
            break
    return runs


Networks = Sequence[str] | Mapping[str, str]  # labels from helpers.protocol.NETWORKS, or {label: norm}


def _networks(spec: Networks) -> dict[str, str]:
    return dict(spec) if isinstance(spec, Mapping) else networks(*spec)


def train_networks(base: RunConfig, labels: Networks = ("Standard", "BN"), probes: Sequence[Probe] = (),
                   progress: Progress = True) -> dict[str, History]:
    """One run of ``base`` per network, keyed by its label: labels of :data:`helpers.protocol.NETWORKS`,
    or a mapping {label: norm} for a normalization of your own."""
    return train_runs({label: replace(base, norm=norm) for label, norm in _networks(labels).items()},
                      probes, progress)


def train_grid(base: RunConfig, lrs: Sequence[float], labels: Networks = ("Standard", "BN"),
               probes: Sequence[Probe] = (), progress: Progress = True) -> dict[tuple[str, float], History]:
    """One run of ``base`` per (network, learning rate), keyed by (label, lr)."""
    configs = {(label, lr): replace(base, norm=norm, lr=lr) for label, norm in _networks(labels).items()
               for lr in lrs}
    return train_runs(configs, probes, progress)


@dataclass
class LRSweep:
    """Final numbers of a learning-rate sweep, one array (over ``lrs``) per network.

    A run that is missing (the sweep was interrupted before it) has NaN everywhere; one that was
    cut short has ``interrupted`` set and NaN results: neither counts as trained or diverged.
    """

    lrs: np.ndarray
    final_loss: dict[str, np.ndarray]  # mean training loss over the last 5% of steps; inf if diverged
    final_test_acc: dict[str, np.ndarray]  # last test evaluation (NaN if diverged)
    diverged: dict[str, np.ndarray]
    interrupted: dict[str, np.ndarray] | None = None  # cut short or never run

    @property
    def complete(self) -> bool:
        return self.interrupted is None or not any(m.any() for m in self.interrupted.values())

    def largest_trainable_lr(self, network: str, margin: float = TRAINS_MARGIN) -> float:
        """Largest learning rate whose final training loss ends at least ``margin`` below chance
        (ln 10 ≈ 2.30): our definition of "still trains". NaN if none does."""
        ok = self.final_loss[network] < CHANCE_LOSS - margin
        return float(self.lrs[ok].max()) if ok.any() else float("nan")


def lr_sweep(base: RunConfig, lrs: Sequence[float] = LR_GRID, labels: Networks = ("Standard", "BN"),
             progress: Progress = True) -> LRSweep:
    """Train every network at every learning rate (from the cache where possible) and summarise."""
    runs = train_grid(base, lrs, labels, progress=progress)
    nan = float("nan")
    summary: dict[str, dict[str, np.ndarray]] = {"final_loss": {}, "final_test_acc": {}, "diverged": {},
                                                 "interrupted": {}}
    for label in _networks(labels):
        hs = [runs.get((label, lr)) for lr in lrs]
        done = [h is not None and not h.interrupted for h in hs]
        summary["final_loss"][label] = np.array([h.final("train_loss") if ok else nan for h, ok in zip(hs, done)])
        summary["final_test_acc"][label] = np.array([nan if not ok or h.diverged else h.test_acc[-1]
                                                     for h, ok in zip(hs, done)])
        summary["diverged"][label] = np.array([ok and h.diverged for h, ok in zip(hs, done)])
        summary["interrupted"][label] = ~np.array(done)
    return LRSweep(np.asarray(lrs, dtype=float), **summary)
