"""A group of training runs that a notebook trains with one call, described before it is trained.

A :class:`RunGroup` is a base configuration trained for some networks (and learning rates) over
seeds, with probes: what a notebook cell trains, and what ``python -m helpers.precompute`` lists,
counts and computes. Both train it through :meth:`RunGroup.train`, so both make the same runs with
the same cache keys. :meth:`RunGroup.units` splits a group into the pieces that train on their own
(one VGG run; a DLN's task instances together, as one ensemble; one network's top-down search for
one seed), which is how the command resumes and spreads work over GPUs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch

from .config import RunConfig
from .edge_of_stability import largest_trainable_search, trains
from .ensemble import ensemble_record
from .experiments import lr_sweep, seed_configs, train_grid, train_networks
from .gpu_speed import EXACT, GpuSpeed
from .probes import Probe
from .runs import load_run, run_path
from .train import Progress, run_record

KINDS = {
    "networks": "{label: [History per seed]}",
    "grid": "{(label, lr): [History per seed]}",
    "sweep": "an LRSweep (final values per learning rate and seed)",
    "top_down": "a TopDownSearch (the largest learning rate that trains, from the top of the grid down)",
}


@dataclass(frozen=True)
class RunGroup:
    """``base`` for each network in ``networks`` ({label: norm}), at each of ``lrs`` (``base.lr`` when
    None), over ``seeds``, with ``probes``. ``kind`` says what :meth:`train` returns (:data:`KINDS`).

    ``curves_only``: the notebook reads these runs only as loss and accuracy curves (and their final
    values), never through a probe; only such runs may use a faster GPU mode (``BN_FAST``).
    """

    name: str
    base: RunConfig
    networks: Mapping[str, str]
    seeds: tuple[int, ...]
    probes: tuple[Probe, ...] = ()
    lrs: tuple[float, ...] | None = None
    kind: str = "networks"
    curves_only: bool = False
    about: str = field(default="", compare=False)  # one line: what the notebook does with the runs

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind {self.kind!r}; choose one of: {', '.join(KINDS)}")
        if self.kind != "networks" and not self.lrs:
            raise ValueError(f"a {self.kind!r} group needs learning rates (lrs)")
        if self.curves_only and self.probes:
            raise ValueError("a group with probes is not read as plain curves: it must stay exact")
        if not self.seeds or not self.networks:
            raise ValueError(f"group {self.name!r} needs at least one network and one seed")

    @property
    def dln(self) -> bool:
        return self.base.model == "dln"

    def speed(self) -> GpuSpeed:
        """``BN_FAST``'s mode for plain curves on VGG; exact float32 for everything else."""
        return GpuSpeed.from_env() if self.curves_only and not self.dln else EXACT

    def learning_rates(self) -> tuple[float, ...]:
        return self.lrs if self.lrs else (self.base.lr,)

    def configs(self) -> list[RunConfig]:
        """Every run of the group (for a top-down search, every run it might need), in training order."""
        lrs = self.learning_rates()
        if self.kind == "top_down":
            lrs = tuple(sorted(set(lrs), reverse=True))
            return [replace(self.base, norm=norm, lr=lr, seed=seed) for norm in self.networks.values()
                    for seed in self.seeds for lr in lrs]
        return [c for norm in self.networks.values() for lr in lrs
                for c in seed_configs(replace(self.base, norm=norm, lr=lr), self.seeds)]

    def record(self, config: RunConfig, device: torch.device) -> dict[str, Any]:
        """The cache record (and so the key) a run of this group gets on ``device``."""
        if self.dln:
            return ensemble_record(config, self.probes, device)
        return run_record(config, self.probes, device, self.speed())

    def train(self, progress: Progress = True) -> Any:
        """Train the group (each run from the cache when it is there); returns what :data:`KINDS` says."""
        common = dict(seeds=list(self.seeds), progress=progress, speed=self.speed())
        if self.kind == "networks":
            return train_networks(self.base, dict(self.networks), probes=list(self.probes), **common)
        if self.kind == "grid":
            return train_grid(self.base, list(self.lrs), dict(self.networks), probes=list(self.probes), **common)
        if self.kind == "sweep":
            return lr_sweep(self.base, list(self.lrs), dict(self.networks), **common)
        return largest_trainable_search(self.base, list(self.lrs), dict(self.networks), **common)

    def units(self) -> list[RunGroup]:
        """The pieces that train on their own, as groups of one network: a VGG run per learning rate and
        seed; a DLN's seeds together (they train as one ensemble); a top-down search per seed."""
        pieces = []
        for label, norm in self.networks.items():
            lr_sets = [self.lrs] if self.kind == "top_down" or not self.lrs else [(lr,) for lr in self.lrs]
            seed_sets = [self.seeds] if self.dln else [(seed,) for seed in self.seeds]
            pieces += [replace(self, networks={label: norm}, lrs=lrs, seeds=seeds)
                       for lrs in lr_sets for seeds in seed_sets]
        return pieces

    def missing(self, device: torch.device) -> list[RunConfig]:
        """The runs training the group now would compute (not in the cache). For a top-down search, the
        runs down to the first cached one that trains: all of them when nothing is cached yet (an upper
        bound, since the search stops at the first learning rate that trains)."""
        if self.kind != "top_down":
            return [c for c in self.configs() if not run_path(self.record(c, device)).is_file()]
        todo = []
        for unit in self.units():
            for config in unit.configs():
                history = load_run(self.record(config, device))
                if history is None:
                    todo.append(config)
                elif trains(history.final("train_loss")):
                    break
        return todo

    def describe(self) -> str:
        """One line: networks, learning rates, seeds, steps and probes."""
        lrs = ", ".join(f"{lr:g}" for lr in self.learning_rates())
        probes = ", ".join(p.name for p in self.probes) or "none"
        seeds = f"{'instances' if self.dln else 'seeds'} {self.seeds[0]}–{self.seeds[-1]}" if len(self.seeds) > 1 \
            else f"seed {self.seeds[0]}"
        return (f"{', '.join(self.networks)} | lr {lrs} | {seeds} | {self.base.model}"
                + (f" ×{self.base.width:g}" if not self.dln else "")
                + f", {self.base.steps} steps of {self.base.batch_size} | probes: {probes}")


def probed_steps(group: RunGroup, config: RunConfig) -> dict[str, int]:
    """How many steps of one run of ``group`` each probe measures (a probe runs at steps 0, every, ...)."""
    return {p.name: int(np.ceil(config.steps / p.every)) for p in group.probes}
