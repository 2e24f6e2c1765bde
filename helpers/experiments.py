"""Experiments made of several runs: grids of configurations and learning-rate sweeps.

Every run goes through :func:`helpers.train.train`, so each is cached: a sweep that is run
again, or that shares runs with another cell, costs nothing the second time.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from .runs import History
from .train import RunConfig, train

# A 1-2-5 log grid from 0.01 to 2; it holds the paper's two learning rates, 0.1 and 0.5.
LR_GRID = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0)
NETWORKS = {"Standard": "none", "BN": "batch"}  # display name -> norm
CHANCE_LOSS = math.log(10)  # cross-entropy of a uniform guess over the 10 classes


def train_grid(base: RunConfig, lrs: Sequence[float], networks: Mapping[str, str] = NETWORKS,
               progress: bool = True) -> dict[tuple[str, float], History]:
    """One run of ``base`` per (network, learning rate), keyed by (network name, lr)."""
    return {(name, lr): train(replace(base, norm=norm, lr=lr), progress=progress)
            for name, norm in networks.items() for lr in lrs}


@dataclass
class LRSweep:
    """Final numbers of a learning-rate sweep, one array (over ``lrs``) per network."""

    lrs: np.ndarray
    final_loss: dict[str, np.ndarray]  # mean training loss over the last 5% of steps; inf if diverged
    final_test_acc: dict[str, np.ndarray]  # last test evaluation (NaN if diverged)
    diverged: dict[str, np.ndarray]

    def largest_trainable_lr(self, network: str, margin: float = 0.2) -> float:
        """Largest learning rate whose final training loss ends at least ``margin`` below chance
        (ln 10 ≈ 2.30): our definition of "still trains". NaN if none does."""
        ok = self.final_loss[network] < CHANCE_LOSS - margin
        return float(self.lrs[ok].max()) if ok.any() else float("nan")


def lr_sweep(base: RunConfig, lrs: Sequence[float] = LR_GRID, networks: Mapping[str, str] = NETWORKS,
             progress: bool = True) -> LRSweep:
    """Train every network at every learning rate (from the cache where possible) and summarise."""
    runs = train_grid(base, lrs, networks, progress)
    summary: dict[str, dict[str, np.ndarray]] = {"final_loss": {}, "final_test_acc": {}, "diverged": {}}
    for name in networks:
        hs = [runs[name, lr] for lr in lrs]
        summary["final_loss"][name] = np.array([h.final("train_loss") for h in hs])
        summary["final_test_acc"][name] = np.array([np.nan if h.diverged else h.test_acc[-1] for h in hs])
        summary["diverged"][name] = np.array([h.diverged for h in hs])
    return LRSweep(np.asarray(lrs, dtype=float), **summary)
