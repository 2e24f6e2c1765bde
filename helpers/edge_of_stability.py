"""Notebook 08's experiments: sharpness against the stability limit 2/η, and the largest learning rate.

Plain data in, plain data out; the figures are in :mod:`helpers.sharpness_plots`.

- :func:`full_batch_config` and :func:`full_batch_runs`: full-batch gradient descent on a small
  CIFAR-10 subset with λ_max followed (:class:`~helpers.sharpness.SharpnessProbe`), the setting in
  which Cohen et al. (2021) describe progressive sharpening and the edge of stability.
- :func:`sharpness_summary` and :func:`edge_statistics`: λ_max in units of 2/η, per probed step
  and per run.
- :func:`sharpness_at_points`: λ_max at the saved points of an SGD run (notebook 05's), on the
  step's own weights, batch and random state, next to the effective β measured there.
- :func:`largest_trainable_search`: notebook 02's "largest learning rate that still trains",
  found from the top of the grid down, which needs no run below the answer.

Taught in notebook 08.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from .config import RunConfig
from .experiments import Networks, _networks, train_grid
from .gpu_speed import EXACT, GpuSpeed
from .profiles import Profile, active_profile, profile_seeds
from .protocol import CHANCE_LOSS, TRAINS_MARGIN
from .runs import History
from .saved_points import load_point, replay
from .sharpness import SharpnessProbe
from .train import Progress, train

# Ours: at most 20 Hessian-vector products per λ_max, stopping once the Ritz residual is within 1 % of
# the estimate (the eigenvalue's own error is then far smaller: about residual² / gap).
ITERATIONS = 20
TOLERANCE = 1e-2
FULL_BATCH_LRS = (0.05, 0.1)  # ours: where full-batch GD of the small VGG reaches 2/η within the run
# Ours: `profile.full_batch_steps` is the run length at this learning rate; a run at η is longer by 0.1/η,
# so that every run covers the same gradient-flow time η·t (progressive sharpening follows gradient flow).
STEPS_AT_LR = 0.1


def sharpness_probe(steps: int, profile: Profile | None = None) -> SharpnessProbe:
    """λ_max ``profile.sharpness_probes`` times over a run of ``steps`` steps."""
    p = profile or active_profile()
    return SharpnessProbe(every=max(1, steps // p.sharpness_probes), iterations=ITERATIONS, tol=TOLERANCE)


def full_batch_steps(lr: float, profile: Profile | None = None) -> int:
    """The run length at learning rate ``lr``: ``profile.full_batch_steps`` × 0.1/η (see ``STEPS_AT_LR``)."""
    p = profile or active_profile()
    if not lr > 0:
        raise ValueError(f"learning rate must be positive, got {lr!r}")
    return max(1, round(p.full_batch_steps * STEPS_AT_LR / lr))


def full_batch_config(profile: Profile | None = None, lr: float = STEPS_AT_LR, **overrides) -> RunConfig:
    """Full-batch gradient descent at ``lr``: every step uses all ``profile.full_batch_images`` training
    images, for :func:`full_batch_steps` steps. The profile's VGG at ``small_width``; its test set."""
    p = profile or active_profile()
    steps = full_batch_steps(lr, p)
    base = dict(model=p.vgg, width=p.small_width, steps=steps, batch_size=p.full_batch_images,
                train_size=p.full_batch_images, test_size=p.test_size, eval_every=steps, lr=lr)
    return RunConfig(**{**base, **overrides})


def full_batch_runs(lrs: Sequence[float] = FULL_BATCH_LRS, labels: Networks = ("Standard", "BN"),
                    seeds: Sequence[int] | None = None, profile: Profile | None = None,
                    progress: Progress = True) -> dict[tuple[str, float], list[History]]:
    """Each network at each learning rate over the seeds, full batch, λ_max followed; keyed (label, lr)."""
    runs: dict[tuple[str, float], list[History]] = {}
    for lr in lrs:
        base = full_batch_config(profile, lr=lr)
        grid = train_grid(base, [lr], labels, probes=[sharpness_probe(base.steps, profile)], seeds=seeds,
                          progress=progress)
        runs.update(grid)
        if len(grid) < len(_networks(labels)) or any(h.interrupted for hs in grid.values() for h in hs):
            break  # interrupted: return what finished (train_grid said what)
    return runs


def sharpness_summary(history: History, name: str = "sharpness") -> dict:
    """Per probed step: ``lambda_max``, ``edge`` = λ_max·η/2 (1 is the stability limit 2/η),
    ``weight_norm`` ‖w‖, ``scale_aware`` = λ_max·‖w‖², ``train_loss`` (the step's loss) and
    ``converged``; with the run's ``lr``, ``diverged`` and ``interrupted``."""
    if name not in history.probes:
        raise ValueError(f"the run has no {name!r} probe; it has: {', '.join(history.probes) or 'none'}")
    rec = history.probes[name]
    steps = rec["step"].astype(int)
    lr = rec.settings.get("lr") or (history.config.lr if history.config else float("nan"))
    lam = np.asarray(rec["lambda_max"], dtype=float)
    return {"step": steps, "lambda_max": lam, "edge": lam * lr / 2, "weight_norm": rec["weight_norm"],
            "scale_aware": lam * rec["weight_norm"] ** 2, "train_loss": history.train_loss[steps],
            "converged": rec["converged"].astype(bool), "lr": lr, "diverged": history.diverged,
            "interrupted": history.interrupted, "final_loss": history.final("train_loss")}


def edge_statistics(summary: Mapping) -> dict[str, float]:
    """What one run says about the edge of stability, from its :func:`sharpness_summary`:

    ``start`` and ``peak``: λ_max·η/2 at the first probe and at its largest; ``crossing``: the
    first probed step at which λ_max ≥ 2/η (NaN if never); ``after``: the median of λ_max·η/2 over
    the probes from then on; ``loss_at_crossing`` and ``final_loss``: the training loss there and
    at the end of the run (a diverged run's final loss is inf).
    """
    edge = np.asarray(summary["edge"], dtype=float)
    over = np.flatnonzero(edge >= 1)
    first = int(over[0]) if len(over) else None
    return {"start": float(edge[0]), "peak": float(np.nanmax(edge)),
            "crossing": float(summary["step"][first]) if first is not None else float("nan"),
            "after": float(np.nanmedian(edge[first:])) if first is not None else float("nan"),
            "loss_at_crossing": float(summary["train_loss"][first]) if first is not None else float("nan"),
            "final_loss": float(summary["final_loss"])}


def sharpness_at_points(history: History, steps: Sequence[int], iterations: int = ITERATIONS,
                        tol: float = TOLERANCE) -> dict[str, np.ndarray]:
    """λ_max at saved points of ``history`` (:mod:`helpers.saved_points`), as a probe during training
    would have measured it there: the step's weights, batch and random state, BN in training mode.
    Returns ``step``, ``lambda_max``, ``weight_norm``, ``converged`` and ``seconds`` per point."""
    probe = SharpnessProbe(every=1, iterations=iterations, tol=tol)
    rows = []
    for step in steps:
        start = time.perf_counter()
        record = replay(load_point(history, int(step)), [probe])[probe.name]
        rows.append((int(step), float(record["lambda_max"]), float(record["weight_norm"]),
                     bool(record["converged"]), time.perf_counter() - start))
    step, lam, norm, converged, seconds = (np.array(column) for column in zip(*rows))
    return {"step": step, "lambda_max": lam, "weight_norm": norm, "converged": converged, "seconds": seconds}


@dataclass
class TopDownSearch:
    """The largest learning rate at which each network still trains, per seed, found from the top down.

    ``final_loss[label]`` is (lrs, seeds) with NaN where no run was needed (below the answer);
    ``largest[label]`` per seed, NaN when no learning rate of the grid trains; ``lrs`` descending.
    """

    lrs: np.ndarray
    seeds: list[int]
    final_loss: dict[str, np.ndarray]
    largest: dict[str, np.ndarray]
    runs: int
    interrupted: bool = False

    def at_top(self, label: str) -> np.ndarray:
        """Per seed: does the network train at the grid's largest learning rate (the answer is then
        "at least that": the grid cannot say how much larger)?"""
        return self.largest[label] == self.lrs[0]


def trains(final_loss: float, margin: float = TRAINS_MARGIN) -> bool:
    """Notebook 02's definition: the final training loss ends at least ``margin`` below chance."""
    return bool(final_loss < CHANCE_LOSS - margin)


def largest_trainable_search(base: RunConfig, lrs: Sequence[float], labels: Networks,
                             seeds: Sequence[int] | None = None, progress: Progress = True,
                             speed: GpuSpeed = EXACT) -> TopDownSearch:
    """For each network and seed, train ``base`` at the learning rates from the largest down and stop
    at the first that trains: that is the largest that trains (by definition, so no run below it is
    needed). Runs are cached, so a run shared with a full sweep is not trained twice."""
    grid = np.array(sorted({float(lr) for lr in lrs}, reverse=True))
    seeds = profile_seeds() if seeds is None else list(seeds)
    nets = _networks(labels)
    final = {label: np.full((len(grid), len(seeds)), np.nan) for label in nets}
    largest = {label: np.full(len(seeds), np.nan) for label in nets}
    runs = 0
    for label, norm in nets.items():
        for k, seed in enumerate(seeds):
            for i, lr in enumerate(grid):
                history = train(replace(base, norm=norm, lr=float(lr), seed=seed), progress=progress, speed=speed)
                runs += 1
                if history.interrupted:
                    print(f"interrupted at {label}, lr {lr:g}, seed {seed}: returning what was found so far")
                    return TopDownSearch(grid, seeds, final, largest, runs, interrupted=True)
                final[label][i, k] = history.final("train_loss")
                if trains(final[label][i, k]):
                    largest[label][k] = lr
                    break
    return TopDownSearch(grid, seeds, final, largest, runs)
