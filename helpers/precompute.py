"""Compute the training runs of chosen notebooks, headless, into the run cache.

    python -m helpers.precompute --profile paper --notebooks 02 05   # train what 02 and 05 need
    python -m helpers.precompute --profile paper --list              # every run, cached or not, and its cost
    python -m helpers.precompute --profile paper --dry-run           # only what would be trained now

The runs are the notebooks' own (:mod:`helpers.notebook_runs`), trained through the same calls, so
each lands under the cache key the notebook looks for: opened afterwards, a notebook reads them in
seconds. Resumable: finished runs are cache hits and are skipped; Ctrl-C loses at most the run in
progress. ``--devices cuda:0,cuda:1`` (by default every visible GPU) spreads the runs over one
process per device, each writing its own cache files atomically. ``--fast tf32`` (or ``bf16``,
``+compile``) opts the plain-curve runs into a faster GPU mode (:mod:`helpers.gpu_speed`); it is
recorded in their cache keys, so open the notebooks with the same ``BN_FAST`` to read them.

Estimated costs time one training step of each model on the device (synthetic data, a few steps)
and add each probe at a cost in training steps measured by the benchmarks (``PROBE_STEPS``).

Taught in notebook 00.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from .config import RunConfig
from .fingerprints import helpers_fingerprint
from .gpu_speed import EXACT, GpuSpeed, autocast, gpu_arithmetic
from .notebook_runs import NOTEBOOKS, notebook_runs
from .paths import runs_dir
from .profiles import PROFILES, Profile, active_profile, pick_device
from .run_groups import RunGroup, probed_steps
from .runs import run_key

# Extra cost of one probed step, in training steps of the same run (benchmarks/README.md: 2-core CPU,
# `laptop` sizes; the GPU benchmark measures them again). ``sharpness`` is its cap of 20 HVPs, each
# about two training steps.
PROBE_STEPS = {"activations": 0.15, "ics": 1.4, "landscape": 7.1, "landscape_unit": 7.1, "points": 0.1,
               "weights": 0.1, "sharpness": 40.0}
DLN_PROBE_STEPS = {"landscape": 14.5, "landscape_unit": 14.5}


@dataclass
class Unit:
    """A piece of work that trains on its own (one VGG run, a DLN ensemble, a top-down search)."""

    notebook: str
    group: RunGroup
    keys: tuple[str, ...]  # cache keys of every run it may train
    todo: int  # runs not yet in the cache (for a search: an upper bound); 0 when shared
    seconds: float = float("nan")  # estimated time to train the runs not yet cached
    shared_with: str = ""  # "NN group" when an earlier group has the same runs (they are trained there)


def plan(notebooks: Sequence[str], profile: Profile, device: torch.device) -> list[Unit]:
    """The units of the chosen notebooks. Runs that two groups share are trained (and counted) under the
    first; the later one's units are kept, marked ``shared_with``, so that every group can be listed."""
    units, seen = [], {}
    for nb in notebooks:
        for group in notebook_runs(nb, profile).values():
            for unit in group.units():
                keys = tuple(run_key(unit.record(c, device)) for c in unit.configs())
                if keys in seen:
                    units.append(Unit(nb, unit, keys, 0, 0.0, seen[keys]))
                    continue
                seen[keys] = f"{nb} {group.name}"
                units.append(Unit(nb, unit, keys, len(unit.missing(device))))
    return units


def time_training_step(config: RunConfig, device: torch.device, speed: GpuSpeed = EXACT, members: int = 1,
                       steps: int = 3) -> float:
    """Seconds per training step of ``config``'s model at its batch size (VGG: timed at up to 128 images
    and scaled), on synthetic data: a cost estimate, not a run. ``members``: a DLN ensemble's size."""
    from .ensemble import build_ensemble
    from .models import build_model

    torch.manual_seed(0)
    if config.model == "dln":
        model = build_ensemble(config.norm if config.norm in ("none", "batch") else "none", list(range(members)))
        x = torch.randn(config.batch_size, members, 10)
        batch, scale = config.batch_size, 1.0
    else:
        model = build_model(config.model, config.norm, config.width, **config.norm_options)
        batch = min(config.batch_size, 128)
        x, scale = torch.randn(batch, 3, 32, 32), config.batch_size / batch
    model = model.to(device=device, memory_format=torch.channels_last if x.dim() == 4 else torch.preserve_format)
    x = x.to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-9)
    timings = []
    with gpu_arithmetic(speed, device):
        for k in range(steps + 1):  # the first step warms up (cuDNN's choice of algorithm)
            start = time.perf_counter()
            with autocast(speed, device):
                loss = model(x).float().pow(2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            if k:
                timings.append(time.perf_counter() - start)
    return min(timings) * scale


StepSeconds = Callable[[RunGroup, RunConfig], float]  # seconds per training step of a run of a group


def timed_steps(device: torch.device) -> StepSeconds:
    """Seconds per training step, timed once per model shape (:func:`time_training_step`)."""
    costs: dict[tuple, float] = {}

    def seconds(group: RunGroup, config: RunConfig) -> float:
        members = len(group.seeds) if group.dln else 1
        shape = (config.model, config.norm if group.dln else "batch" if config.norm != "none" else "none",
                 config.width, config.batch_size, members, config.norm_options.get("draw"), group.speed())
        if shape not in costs:
            costs[shape] = time_training_step(config, device, group.speed(), members) / members
        return costs[shape]  # a DLN ensemble's step trains all its members at once: a member's share

    return seconds


def estimate(units: list[Unit], device: torch.device, step_seconds: StepSeconds | None = None,
             probe_steps: dict[str, float] | None = None) -> None:
    """Fill each unit's estimated seconds for its runs not yet cached: training steps plus probed steps
    (``probe_steps``: a probed step's extra cost in training steps, :data:`PROBE_STEPS` by default)."""
    step_seconds = step_seconds or timed_steps(device)
    for unit in units:
        group = unit.group
        costs = {**PROBE_STEPS, **(DLN_PROBE_STEPS if group.dln else {}), **(probe_steps or {})}
        configs = group.configs()[-unit.todo:] if unit.todo else []
        unit.seconds = sum((config.steps + sum(n * costs.get(name, 1.0)
                                               for name, n in probed_steps(group, config).items()))
                           * step_seconds(group, config) for config in configs)


def readable_duration(seconds: float) -> str:
    """``42 s``, ``3.5 min``, ``2.1 h``; ``?`` when unknown (NaN)."""
    if seconds != seconds:
        return "?"
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def show_plan(units: list[Unit], profile: Profile, device: torch.device, only_todo: bool) -> None:
    """One line per group: runs, cached, to train and estimated time; then the totals per notebook. A
    group's runs that an earlier group shares are counted there, and named in the last column."""
    rows: dict[tuple[str, str], list[Unit]] = {}
    for unit in units:
        rows.setdefault((unit.notebook, unit.group.name), []).append(unit)
    print(f"profile '{profile.name}' on {device}; run cache {runs_dir()}")
    print(f"{'notebook':8s} {'group':20s} {'runs':>5s} {'cached':>6s} {'to train':>8s} {'estimate':>9s}  what")
    per_notebook: dict[str, list[float]] = {}
    for (nb, name), every_unit in rows.items():
        group_units = [u for u in every_unit if not u.shared_with]
        shared = sorted({u.shared_with for u in every_unit if u.shared_with})
        note = f" (+{sum(len(u.keys) for u in every_unit if u.shared_with)} runs listed under {', '.join(shared)})" \
            if shared else ""
        runs = sum(len(u.keys) for u in group_units)
        todo = sum(u.todo for u in group_units)
        seconds = sum(u.seconds for u in group_units if u.todo)
        search = every_unit[0].group.kind == "top_down"
        cached = sum(1 for u in group_units for k in u.keys if (runs_dir() / f"{k}.npz").is_file())
        per_notebook.setdefault(nb, [0, 0, 0.0])
        per_notebook[nb][0] += runs
        per_notebook[nb][1] += todo
        per_notebook[nb][2] += seconds
        if only_todo and not todo:
            continue
        up_to = "≤" if search else ""
        print(f"{nb:8s} {name:20s} {up_to + str(runs):>5s} {cached:6d} {(up_to if todo else '') + str(todo):>8s} "
              f"{readable_duration(seconds):>9s}  {every_unit[0].group.about}{note}")
    total = sum(v[2] for v in per_notebook.values())
    print("per notebook: " + ", ".join(f"{nb} {readable_duration(v[2])} ({v[1]} to train)"
                                       for nb, v in per_notebook.items()))
    print(f"total: {sum(v[1] for v in per_notebook.values())} runs to train, estimated {readable_duration(total)} "
          "(≤: a top-down search stops at the first learning rate that trains)")


def cached_runs(units: list[Unit]) -> int:
    """How many of the units' runs are in the cache now (each run once)."""
    return sum(1 for u in units if not u.shared_with for k in u.keys if (runs_dir() / f"{k}.npz").is_file())


def run_units(units: list[Unit], device: torch.device, progress: bool = True,
              report: Callable[[int], None] | None = None) -> tuple[int, bool]:
    """Train the units in order (cached runs are skipped). Returns (units finished, interrupted): a unit
    counts as finished when all its runs are in the cache, so Ctrl-C anywhere stops here."""
    bar = tqdm(total=sum(u.todo for u in units), desc="runs", unit="run", disable=not progress or report is not None,
               position=0)
    done = 0
    try:
        for unit in units:
            unit.group.train(progress=progress and report is None)
            if unit.group.missing(device):  # cut short by Ctrl-C (an interrupted run is never cached)
                return done, True
            done += 1
            bar.update(unit.todo)
            if report:
                report(unit.todo)
    except KeyboardInterrupt:  # between runs, outside any training loop
        return done, True
    finally:
        bar.close()
    return done, False


def what_keys_depend_on(device: torch.device, profile: str) -> dict[str, str]:
    """What, besides the run definitions, decides the cache keys a process computes: a worker whose
    keys differ from the driver's would train runs under keys nobody asked for, or none at all."""
    return {"torch": torch.__version__, "device type": device.type, "code of helpers/": helpers_fingerprint(),
            "profile": profile, "BN_FIRST_SEED": os.environ.get("BN_FIRST_SEED", "0"),
            "BN_FAST": os.environ.get("BN_FAST", "")}


class WorkerMismatch(RuntimeError):
    """A worker process computes other cache keys than the driver that gave it its share."""


def check_share(share: list[tuple[str, ...]], units: list[Unit], expected: dict[str, str],
                here: dict[str, str]) -> None:
    """Raise :class:`WorkerMismatch`, naming the difference, unless every unit of ``share`` (named by its
    runs' cache keys, as the driver computed them) is one of ``units`` (as this process computes them)."""
    known = {u.keys for u in units}
    lost = [keys for keys in share if keys not in known]
    if not lost:
        return
    differences = [f"{name}: {expected[name]!r} in the driver, {here.get(name)!r} here"
                   for name in expected if expected[name] != here.get(name)]
    raise WorkerMismatch(
        f"this worker computes other cache keys than the driver for {len(lost)} of its {len(share)} units, so it "
        "would train nothing the driver asked for; " + ("; ".join(differences) if differences else
                                                         "torch, device type, code, profile, seeds and BN_FAST "
                                                         f"agree, but the run definitions differ (first lost run: "
                                                         f"{lost[0][0]})"))


def _worker(device: str, share: list[tuple[str, ...]], expected: dict[str, str], notebooks: list[str], profile: str,
            workers: int, queue) -> None:
    """One device's share (units named by their runs' keys), in its own process: rebuilds the same plan,
    checks that it holds every unit of the share (else reports the difference and trains nothing),
    and trains those units."""
    os.environ["BN_DEVICE"] = device
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))  # CPU workers share the cores
    own = [u for u in plan(notebooks, active_profile(profile), pick_device(device)) if not u.shared_with]
    try:
        check_share(share, own, expected, what_keys_depend_on(pick_device(device), profile))
    except WorkerMismatch as err:
        queue.put(f"{device}: {err}")
        return
    mine = set(share)
    try:
        _, interrupted = run_units([u for u in own if u.keys in mine], pick_device(device), progress=False,
                                   report=queue.put)
    except KeyboardInterrupt:
        interrupted = True
    queue.put(-1 if interrupted else 0)


def run_on_devices(units: list[Unit], devices: list[str], notebooks: list[str], profile: Profile) -> bool:
    """Spread the units over one process per device, the costliest first (greedy); True if interrupted.
    Raises :class:`WorkerMismatch` when a worker computes other cache keys than this process."""
    loads = {d: 0.0 for d in devices}
    shares: dict[str, list[int]] = {d: [] for d in devices}
    for i in sorted(range(len(units)), key=lambda i: -(units[i].seconds if units[i].seconds == units[i].seconds
                                                         else units[i].todo)):
        if units[i].todo:
            least = min(loads, key=loads.get)
            shares[least].append(i)
            loads[least] += units[i].seconds if units[i].seconds == units[i].seconds else units[i].todo
    context = mp.get_context("spawn")
    queue = context.Queue()
    busy = [d for d in devices if shares[d]]
    expected = what_keys_depend_on(torch.device(devices[0]), profile.name)
    workers = [context.Process(target=_worker, args=(d, [units[i].keys for i in sorted(shares[d])], expected,
                                                     notebooks, profile.name, len(busy), queue)) for d in busy]
    for w in workers:
        w.start()
    bar = tqdm(total=sum(u.todo for u in units), desc=f"runs on {len(workers)} devices", unit="run")
    finished, interrupted, mismatches = 0, False, []
    try:
        while finished < len(workers):
            message = queue.get()
            if isinstance(message, str):  # a worker that found other keys: it trained nothing
                mismatches.append(message)
                finished += 1
            elif message <= 0:
                finished += 1
                interrupted |= message < 0
            else:
                bar.update(message)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        bar.close()
        for w in workers:
            w.join()
    if mismatches:
        raise WorkerMismatch("\n".join(mismatches))
    return interrupted


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m helpers.precompute", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default=None, help=f"one of {', '.join(PROFILES)} (default: BN_PROFILE or laptop)")
    parser.add_argument("--notebooks", nargs="+", default=list(NOTEBOOKS), metavar="NN",
                        help="notebooks by number, e.g. 02 05 (default: all)")
    parser.add_argument("--list", action="store_true", help="list every run with its cache state and estimated cost")
    parser.add_argument("--dry-run", action="store_true", help="list only what would be trained, and train nothing")
    parser.add_argument("--devices", default=None, help="comma-separated, e.g. cuda:0,cuda:1 (default: every "
                        "visible GPU, else the best device); one process per device")
    parser.add_argument("--fast", default=None, metavar="MODE", help="GPU only: tf32, bf16, compile or "
                        "tf32+compile... for runs read only as curves (default: exact float32)")
    parser.add_argument("--no-estimate", action="store_true", help="skip timing a step per model for the estimates")
    args = parser.parse_args(argv)
    try:
        args.profile = active_profile(args.profile)
        args.notebooks = [notebook_runs(nb, args.profile).notebook for nb in args.notebooks]
        args.speed = GpuSpeed.parse(args.fast if args.fast is not None else os.environ.get("BN_FAST"))
        if args.devices:
            names = [d.strip() for d in args.devices.split(",") if d.strip()]
            args.devices = [str(pick_device(d)) for d in names]
            kinds = sorted({torch.device(d).type for d in args.devices})
            if len(kinds) > 1:  # a run's cache key holds its device type: one plan cannot serve both
                raise ValueError(f"--devices mixes {' and '.join(kinds)}; a run's cache key holds its device type, "
                                 "so give devices of one kind (run the command once per kind)")
        elif torch.cuda.device_count() > 1:
            args.devices = [f"cuda:{i}" for i in range(torch.cuda.device_count())]
        else:
            args.devices = [str(pick_device())]
        for device in args.devices:
            args.speed.check(torch.device(device))
    except ValueError as err:
        parser.error(str(err))
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    profile = args.profile
    os.environ["BN_PROFILE"] = profile.name  # for anything that reads the active profile, and the workers
    if args.fast is not None:
        os.environ["BN_FAST"] = args.fast
    device = torch.device(args.devices[0])
    units = plan(args.notebooks, profile, device)
    if not args.no_estimate:
        print(f"estimating: timing a few training steps of each model on {device}...", flush=True)
        estimate([u for u in units if u.todo], device)
    if args.list or args.dry_run:
        show_plan(units, profile, device, only_todo=args.dry_run)
        if args.dry_run:
            print("dry run: nothing was trained")
        return 0
    todo = [u for u in units if u.todo]
    print(f"profile '{profile.name}', notebooks {' '.join(args.notebooks)}: {sum(u.todo for u in todo)} runs to train "
          f"({cached_runs(units)} already cached), on "
          f"{', '.join(args.devices)}, arithmetic: {args.speed.name} for plain curves, exact for the rest", flush=True)
    start, before = time.perf_counter(), cached_runs(units)
    try:
        if len(args.devices) > 1:
            interrupted = run_on_devices(todo, args.devices, args.notebooks, profile)
        else:
            interrupted = run_units(todo, device)[1]
    except WorkerMismatch as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    remaining = sum(u.todo for u in plan(args.notebooks, profile, device))
    trained = cached_runs(units) - before
    print(f"{'interrupted' if interrupted else 'done'}: {trained} runs trained in "
          f"{readable_duration(time.perf_counter() - start)}, {remaining} still to train; run cache {runs_dir()}"
          + (" (run the same command again to resume)" if remaining else ""))
    if interrupted:
        return 130
    if remaining:  # not interrupted, yet runs are missing: never report success for work not done
        print(f"error: {remaining} runs were not trained, although nothing stopped the command", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
