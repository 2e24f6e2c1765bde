"""Run in a fresh process by test_what_recomputes_what.py: which helpers code a process that trains runs executes.

Traces (``sys.setprofile``, calls only) the whole process: the import of ``helpers``, then short runs: every
registered normalization on VGG and on the DLN, every probe the notebooks define (``ci``), a bare
probe and a function probe, an augmented run with momentum; each trained twice, so that the second
reads the run cache. Prints JSON: what the process executed, and per run (from the call of ``train``
or ``train_ensemble`` to its return) what it executed and which helpers modules its cache key covers.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import numpy as np

executed: set[tuple[str, str, int]] = set()


def profile(frame, event, arg):
    if event == "call":
        path = frame.f_code.co_filename
        if path.startswith(PACKAGE_DIR):
            module = Path(path).relative_to(PACKAGE_DIR).with_suffix("").as_posix().replace("/", ".")
            executed.add((module.removesuffix(".__init__"), frame.f_code.co_name, frame.f_code.co_firstlineno))


everything: set[tuple[str, str, int]] = set()  # what the whole process executed


def traced(fn, *args, **kwargs) -> list[tuple[str, str, int]]:
    everything.update(executed)
    executed.clear()
    sys.setprofile(profile)
    try:
        fn(*args, **kwargs)
    finally:
        sys.setprofile(None)
    run = sorted(executed)
    everything.update(executed)
    executed.clear()
    sys.setprofile(profile)  # between runs too: building probes and configurations is code runs rely on
    return run


PACKAGE_DIR = str(Path(sys.argv[1]).resolve())
sys.setprofile(profile)


from helpers.config import RunConfig  # noqa: E402
from helpers.ensemble import ENSEMBLE_NORMS, train_ensemble  # noqa: E402
from helpers.fingerprints import ENGINE_MODULES, code_modules  # noqa: E402
from helpers.norms import NORMS, make_norm, norm_spec  # noqa: E402
from helpers.notebook_runs import NOTEBOOKS, notebook_runs  # noqa: E402
from helpers.probe_protocol import FunctionProbe, Probe  # noqa: E402
from helpers.train import train  # noqa: E402

vgg = RunConfig(model="vgg11", width=0.125, steps=2, batch_size=16, train_size=64, test_size=32, eval_every=1)
dln = RunConfig(model="dln", steps=2, batch_size=32, train_size=32, test_size=32, eval_every=1, lr=1e-6)
probe_sets: dict[str, list] = {"vgg": [[]], "dln": [[]]}
for notebook in NOTEBOOKS:
    for group in notebook_runs(notebook, "ci").values():
        if group.probes:
            probe_sets["dln" if group.dln else "vgg"].append(list(group.probes))
# A probe with the protocol's defaults, and one made of a function (the DLN's: one value per member).
# Its settings hold a numpy number, which the cache key must write as a plain one.
settings = {"scale": np.float32(1.0)}
probe_sets["vgg"].append([Probe("bare"), FunctionProbe("function", after=lambda ctx: {"step": float(ctx.step)},
                                                       settings=settings)])
probe_sets["dln"].append([Probe("bare"), FunctionProbe("function", before=lambda ctx: {"x": ctx.x[:, :, 0].mean(0)},
                                                       settings=settings)])

runs = []


def keyed(norm: str, probes: list) -> list[str]:
    spec = norm_spec(norm)
    modules = set(ENGINE_MODULES) | code_modules((spec.factory, spec.absorbs_bias, spec.reparametrize))
    for probe in probes:
        modules |= code_modules(probe.code())
    return sorted(modules)


def record(name: str, fn, norm: str, used: list, *args, **kwargs) -> None:
    for attempt in ("trained", "from the cache"):
        runs.append({"run": f"{name} ({attempt})", "executed": traced(fn, *args, **kwargs),
                     "keyed": keyed(norm, used)})


for norm in NORMS:
    record(f"vgg {norm}", train, norm, [], dataclasses.replace(vgg, norm=norm), progress=False)
    try:
        make_norm(norm, 4, dim=1)
    except (ValueError, TypeError):
        continue  # not defined for the DLN's (N, C) inputs
    configs = [dataclasses.replace(dln, norm=norm, seed=s, data_seed=s) for s in (0, 1)]
    if norm in ENSEMBLE_NORMS:
        record(f"dln ensemble {norm}", train_ensemble, norm, [], configs, progress=False)
    record(f"dln {norm}", train, norm, [], configs[0], progress=False)
for i, probes in enumerate(probe_sets["vgg"][1:]):
    for norm in ("none", "batch"):
        record(f"vgg {norm} probes {[p.name for p in probes]}", train, norm, probes,
               dataclasses.replace(vgg, norm=norm, seed=i), probes=probes, progress=False)
for probes in probe_sets["dln"][1:]:
    configs = [dataclasses.replace(dln, norm="batch", seed=s, data_seed=s) for s in (0, 1)]
    record(f"dln batch probes {[p.name for p in probes]}", train_ensemble, "batch", probes, configs, probes,
           progress=False)
record("vgg batch, augmented, momentum", train, "batch", [],
       dataclasses.replace(vgg, norm="batch", augment=True, momentum=0.9), progress=False)
sys.setprofile(None)
everything.update(executed)
print(json.dumps({"executed": sorted(everything), "runs": runs}))
