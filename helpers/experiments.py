"""Experiments made of several runs: seeds, networks side by side, grids over learning rates, sweeps.

Seeds are an axis of every experiment: a configuration is trained once per seed (the profile's
seeds by default, :func:`helpers.profiles.profile_seeds`) and comes back as a list of
:class:`~helpers.runs.History`, one per seed. For the deep linear network a seed is a *task
instance*: the data seed (the matrix A and the inputs) and the initialization change together,
and all instances train at once as one batched ensemble (:func:`helpers.train.train_ensemble`).

Every run is cached per seed: a sweep that is run again, or that shares runs with another cell
or notebook, costs nothing the second time. One Ctrl-C stops the whole experiment and returns
the runs finished so far, the interrupted one included (it is marked ``interrupted``, and every
plot and summary says so).

Taught in notebook 00.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

import numpy as np

from .config import RunConfig
from .ensemble import train_ensemble
from .gpu_speed import EXACT, GpuSpeed
from .probes import ActivationProbe, GradientICSProbe, LandscapeProbe, Probe
from .profiles import Profile, active_profile, profile_seeds
from .protocol import CHANCE_LOSS, LR_GRID, TRAINS_MARGIN, model_kind, networks, probed_layers
from .runs import History
from .saved_points import SavePointsProbe
from .train import Progress, train

K = TypeVar("K", bound=Hashable)


def train_runs(configs: Mapping[K, RunConfig], probes: Sequence[Probe] = (), progress: Progress = True,
               speed: GpuSpeed = EXACT) -> dict[K, History]:
    """Train each configuration in turn with the same probes (each run starts them afresh).

    Ctrl-C stops here: the runs finished so far are returned, and the one it cut short, marked
    ``interrupted``; the rest are not started.
    """
    runs: dict[K, History] = {}
    for key, config in configs.items():
        try:
            runs[key] = train(config, probes=probes, progress=progress, speed=speed)
        except KeyboardInterrupt:  # landed outside the training loop (building the model, loading data)
            print(f"interrupted before run {key!r} could start; returning the {len(runs)} runs finished")
            break
        if runs[key].interrupted:
            print(f"interrupted during run {key!r}: returning {len(runs) - 1} finished runs and the "
                  f"interrupted one; {len(configs) - len(runs)} not started")
            break
    return runs


def seed_configs(base: RunConfig, seeds: Sequence[int] | None = None) -> list[RunConfig]:
    """``base`` once per seed. VGG: the seed sets initialization, batch order and noise, on the same
    data subset. DLN: the seed is a task instance, so the data seed follows it."""
    seeds = profile_seeds(model_kind(base.model)) if seeds is None else list(seeds)
    if not seeds:
        raise ValueError("need at least one seed")
    if base.model == "dln":
        return [replace(base, seed=s, data_seed=s) for s in seeds]
    return [replace(base, seed=s) for s in seeds]


def train_seeds(base: RunConfig, seeds: Sequence[int] | None = None, probes: Sequence[Probe] = (),
                progress: Progress = True, speed: GpuSpeed = EXACT) -> list[History]:
    """``base`` trained once per seed (the profile's by default): one History per seed, in order.
    DLN instances train together as one batched ensemble; VGG seeds one after another."""
    return _train_configs(seed_configs(base, seeds), probes, progress, speed)


def _train_configs(configs: list[RunConfig], probes: Sequence[Probe], progress: Progress,
                   speed: GpuSpeed = EXACT) -> list[History]:
    if configs[0].model == "dln":
        if not speed.exact:
            raise ValueError(f"the DLN trains in exact float32 only (asked for {speed.name})")
        return train_ensemble(configs, probes=probes, progress=progress)
    return list(train_runs(dict(enumerate(configs)), probes, progress, speed).values())


def activation_probe(model: str, every: int = 10) -> ActivationProbe:
    """Notebook 03's probe: 4 single activations of each probed layer, every 10 steps."""
    return ActivationProbe(probed_layers(model), units=4, every=every)


def ics_probe(model: str, profile: Profile | None = None) -> GradientICSProbe:
    """Notebook 04's probe, ``profile.ics_probes`` times per VGG run and 100 times per DLN run (at most
    every 10th step, so 20 times in ``ci``, whose DLN runs are 200 steps)."""
    p = profile or active_profile()
    steps, count = (p.dln_steps, min(100, max(1, p.dln_steps // 10))) if model == "dln" else (p.steps, p.ics_probes)
    return GradientICSProbe(probed_layers(model), every=max(1, steps // count))


def landscape_probes(model: str, profile: Profile | None = None) -> list[LandscapeProbe]:
    """Notebook 05's probes: the paper's definition ``profile.landscape_probes`` times per run, and
    the same-distance variant; for VGG, whose probed steps dominate the run time, half as often."""
    p = profile or active_profile()
    steps = p.dln_steps if model == "dln" else p.steps
    every = max(1, steps // p.landscape_probes)
    return [LandscapeProbe.paper(model, every),
            LandscapeProbe.paper(model, every if model == "dln" else 2 * every, unit_step=True)]


def point_saving_probe(model: str, profile: Profile | None = None) -> SavePointsProbe:
    """Saves the points of a VGG run at the steps the paper's landscape probe looks at, so they can
    be looked at again later (:mod:`helpers.saved_points`)."""
    return SavePointsProbe(landscape_probes(model, profile)[0].every)


def shared_probes(model: str, profile: Profile | None = None) -> list[Probe]:
    """The probes of the runs two notebooks share, all on one run.

    Probes never change training, so a run can carry the probes of several notebooks: whichever
    notebook trains it first pays, the other reads it from the run cache. VGG at the paper's
    learning rate: notebooks 03 and 04 (activations and gradient ICS). The DLN at its two
    learning rates: notebooks 04 and 05 (gradient ICS and the landscape).
    """
    if model == "dln":
        return [ics_probe(model, profile), *landscape_probes(model, profile)]
    return [activation_probe(model), ics_probe(model, profile)]


Networks = Sequence[str] | Mapping[str, str]  # labels from helpers.protocol.NETWORKS, or {label: norm}


def _networks(spec: Networks) -> dict[str, str]:
    return dict(spec) if isinstance(spec, Mapping) else networks(*spec)


def _train_each(configs: Mapping[K, RunConfig], seeds: Sequence[int] | None, probes: Sequence[Probe],
                progress: Progress, speed: GpuSpeed = EXACT) -> dict[K, list[History]]:
    """Every configuration over the seeds; stops at the first interrupted one (see :func:`train_runs`)."""
    runs: dict[K, list[History]] = {}
    for key, config in configs.items():
        per_seed = seed_configs(config, seeds)
        try:
            runs[key] = _train_configs(per_seed, probes, progress, speed)
        except KeyboardInterrupt:
            print(f"interrupted before {key!r} could start; returning the {len(runs)} finished")
            break
        if any(h.interrupted for h in runs[key]) or len(runs[key]) < len(per_seed):
            print(f"interrupted during {key!r}: returning what was finished; {len(configs) - len(runs)} not started")
            break
    return runs


def train_networks(base: RunConfig, labels: Networks = ("Standard", "BN"), probes: Sequence[Probe] = (),
                   seeds: Sequence[int] | None = None, progress: Progress = True, speed: GpuSpeed = EXACT,
                   ) -> dict[str, list[History]]:
    """``base`` for each network over the seeds, keyed by its label: labels of
    :data:`helpers.protocol.NETWORKS`, or a mapping {label: norm} for a normalization of your own."""
    return _train_each({label: replace(base, norm=norm) for label, norm in _networks(labels).items()},
                       seeds, probes, progress, speed)


def train_grid(base: RunConfig, lrs: Sequence[float], labels: Networks = ("Standard", "BN"),
               probes: Sequence[Probe] = (), seeds: Sequence[int] | None = None, progress: Progress = True,
               speed: GpuSpeed = EXACT) -> dict[tuple[str, float], list[History]]:
    """``base`` for each (network, learning rate) over the seeds, keyed by (label, lr)."""
    configs = {(label, lr): replace(base, norm=norm, lr=lr) for label, norm in _networks(labels).items()
               for lr in lrs}
    return _train_each(configs, seeds, probes, progress, speed)


@dataclass
class LRSweep:
    """Final numbers of a learning-rate sweep, one array of shape (lrs, seeds) per network.

    A run that is missing (the sweep was interrupted before it) has NaN everywhere; one that was
    cut short has ``interrupted`` set and NaN results: neither counts as trained or diverged.
    """

    lrs: np.ndarray
    seeds: list[int]
    final_loss: dict[str, np.ndarray]  # mean training loss over the last 5% of steps; inf if diverged
    final_test_acc: dict[str, np.ndarray]  # last test evaluation (NaN if diverged)
    diverged: dict[str, np.ndarray]
    interrupted: dict[str, np.ndarray] | None = None  # cut short or never run

    @property
    def complete(self) -> bool:
        return self.interrupted is None or not any(m.any() for m in self.interrupted.values())

    def trains(self, network: str, margin: float = TRAINS_MARGIN) -> np.ndarray:
        """(lrs, seeds): does the run's final training loss end at least ``margin`` below chance
        (ln 10 ≈ 2.30)? Our definition of "still trains"."""
        return self.final_loss[network] < CHANCE_LOSS - margin

    def largest_trainable_lr(self, network: str, margin: float = TRAINS_MARGIN) -> np.ndarray:
        """Per seed, the largest learning rate at which the run still trains (NaN if none does)."""
        ok = self.trains(network, margin)
        return np.array([self.lrs[ok[:, k]].max() if ok[:, k].any() else np.nan for k in range(ok.shape[1])])


def lr_sweep(base: RunConfig, lrs: Sequence[float] = LR_GRID, labels: Networks = ("Standard", "BN"),
             seeds: Sequence[int] | None = None, progress: Progress = True, speed: GpuSpeed = EXACT) -> LRSweep:
    """Train every network at every learning rate over the seeds (from the cache where possible)
    and summarise."""
    seeds = profile_seeds(model_kind(base.model)) if seeds is None else list(seeds)
    runs = train_grid(base, lrs, labels, seeds=seeds, progress=progress, speed=speed)
    nan = float("nan")
    summary: dict[str, dict[str, np.ndarray]] = {"final_loss": {}, "final_test_acc": {}, "diverged": {},
                                                 "interrupted": {}}
    for label in _networks(labels):
        got = [runs.get((label, lr), []) for lr in lrs]
        hs = [[row[k] if k < len(row) else None for k in range(len(seeds))] for row in got]
        done = np.array([[h is not None and not h.interrupted for h in row] for row in hs])
        summary["final_loss"][label] = np.array([[h.final("train_loss") if ok else nan for h, ok in zip(row, oks)]
                                                 for row, oks in zip(hs, done)], dtype=float)
        summary["final_test_acc"][label] = np.array([[nan if not ok or h.diverged else h.test_acc[-1]
                                                      for h, ok in zip(row, oks)] for row, oks in zip(hs, done)],
                                                    dtype=float)
        summary["diverged"][label] = np.array([[bool(ok and h.diverged) for h, ok in zip(row, oks)]
                                               for row, oks in zip(hs, done)])
        summary["interrupted"][label] = ~done
    return LRSweep(np.asarray(lrs, dtype=float), seeds, **summary)
