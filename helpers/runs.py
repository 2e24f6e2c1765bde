"""A training run's record (:class:`History`) and the on-disk run cache.

A finished run is stored as one ``.npz`` under :func:`helpers.paths.runs_dir`, named by a hash
of its *record*: the configuration, the device, the torch version, and the fingerprints of the
code that produced it (:mod:`helpers.fingerprints`), probes included. Plain arrays and JSON
strings only: no pickle. A damaged file is reported and recomputed; a cache that cannot be
written is reported once, and the run is returned all the same.

This is keyed code (:data:`helpers.fingerprints.ENGINE_MODULES`): a run is built and stored by it. What a
History says when read (its final loss, whether it finished) is in :mod:`helpers.history_readings`.

Taught in notebooks 00 and 05.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .config import RunConfig
from .history_readings import HistoryReadings
from .paths import atomic_savez, runs_dir


class ProbeRecords(dict):
    """A probe's records, one stacked array per key (``step`` first), and ``settings``: what the
    probe was asked for and what the run decided (layers, channels, bin edges, step lengths...)."""

    def __init__(self, arrays: dict[str, np.ndarray] | None = None, settings: dict[str, Any] | None = None):
        super().__init__(arrays or {})
        self.settings: dict[str, Any] = dict(settings or {})


@dataclass
class History(HistoryReadings):
    """What a training run produced, as plain arrays, and what produced it.

    ``steps``/``train_loss``/``train_acc``: one entry per SGD step taken (1, 2, ...), the loss
    and accuracy on that step's batch before its update. ``eval_steps``/``test_loss``/``test_acc``:
    the test set, at step 0 and every ``eval_every`` steps. ``probes[name]``: a probe's
    :class:`ProbeRecords`. ``diverged``: the loss became NaN or inf and the run was stopped there
    (a result, cached). ``interrupted``: stopped by Ctrl-C (never cached). ``planned_steps``: the
    steps the run was meant to take. Accuracies are NaN for regression (the DLN).

    ``config`` is the run's :class:`RunConfig` (None for a model trained with ``fit`` directly);
    ``record`` the full description its cache entry is keyed on.
    """

    config: RunConfig | None
    steps: np.ndarray
    train_loss: np.ndarray
    train_acc: np.ndarray
    eval_steps: np.ndarray
    test_loss: np.ndarray
    test_acc: np.ndarray
    wall_time: float
    diverged: bool = False
    interrupted: bool = False
    planned_steps: int = 0
    probes: dict[str, ProbeRecords] = field(default_factory=dict)
    record: dict[str, Any] = field(default_factory=dict)
    from_cache: bool = False

    ARRAYS = ("steps", "train_loss", "train_acc", "eval_steps", "test_loss", "test_acc")

    def to_arrays(self) -> dict[str, np.ndarray]:
        arrays = {name: getattr(self, name) for name in self.ARRAYS}
        arrays.update(record_json=np.array(to_json(self.record)),
                      wall_time=np.array(self.wall_time), diverged=np.array(self.diverged),
                      interrupted=np.array(self.interrupted), planned_steps=np.array(self.planned_steps))
        for probe, records in self.probes.items():
            arrays[f"probe_settings/{probe}"] = np.array(to_json(records.settings))
            for key, value in records.items():
                arrays[f"probe/{probe}/{key}"] = value
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> History:
        probes: dict[str, ProbeRecords] = {}
        for name, value in arrays.items():
            if name.startswith("probe/"):
                _, probe, key = name.split("/", 2)
                probes.setdefault(probe, ProbeRecords())[key] = value
        for probe, records in probes.items():
            records.settings = json.loads(str(arrays[f"probe_settings/{probe}"]))
        record = json.loads(str(arrays["record_json"]))
        return cls(config=RunConfig.from_dict(record["run"]) if "run" in record else None, record=record,
                   wall_time=float(arrays["wall_time"]), diverged=bool(arrays["diverged"]),
                   interrupted=bool(arrays["interrupted"]), planned_steps=int(arrays["planned_steps"]),
                   probes=probes, **{name: arrays[name] for name in cls.ARRAYS})


def _json_default(value: Any) -> Any:
    """numpy numbers and arrays in settings become plain JSON numbers and lists."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    raise TypeError(f"{value!r} ({type(value).__name__}) cannot be stored as a setting; use numbers, strings, lists")


def to_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=_json_default)


def run_key(record: dict) -> str:
    """A stable hash of a run's full record (the cache file's name)."""
    text = json.dumps(record, sort_keys=True, separators=(",", ":"), default=_json_default)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def run_path(record: dict, directory: Path | None = None) -> Path:
    return (directory or runs_dir()) / f"{run_key(record)}.npz"


# What a damaged or foreign file raises when read: a truncated zip, a missing key, bad JSON...
_UNREADABLE = (zipfile.BadZipFile, OSError, EOFError, KeyError, ValueError, TypeError)


def load_run(record: dict, directory: Path | None = None) -> History | None:
    """The cached run with exactly this record, or None. A file that cannot be read is reported
    (with its path) and treated as missing, so the run is recomputed and the file overwritten."""
    path = run_path(record, directory)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            history = History.from_arrays(dict(z))
    except _UNREADABLE as err:
        warnings.warn(f"the cached run {path} cannot be read ({type(err).__name__}: {err}); "
                      "recomputing it and overwriting the file", stacklevel=3)
        return None
    if history.record != json.loads(to_json(record)):  # a hash collision, however unlikely
        return None
    history.from_cache = True
    return history


class RunNotCachedError(RuntimeError):
    """A run had to be trained while ``BN_CACHED_ONLY`` asks for cached runs only."""


def cached_only() -> bool:
    """Is ``BN_CACHED_ONLY`` set (1, true, yes)? Then every cached run must come from the cache."""
    return os.environ.get("BN_CACHED_ONLY", "").strip().lower() in ("1", "true", "yes")


def require_cached(record: dict) -> None:
    """Raise, naming the run, when ``BN_CACHED_ONLY`` is set: this run is not in the cache. For checking
    that a notebook only reads what ``python -m helpers.precompute`` computed."""
    if cached_only():
        run = record.get("run", {})
        what = ", ".join(f"{k}={run[k]}" for k in ("model", "norm", "lr", "seed", "steps") if k in run)
        raise RunNotCachedError(f"BN_CACHED_ONLY is set, but this run is not in the cache ({runs_dir()}): {what}. "
                                "Compute it with python -m helpers.precompute, or unset BN_CACHED_ONLY")


_unwritable: set[Path] = set()  # cache folders we already said we cannot write to


def save_run(history: History, directory: Path | None = None) -> Path | None:
    """Store a run under its record's key, atomically; None (and a warning, once per folder) when
    the cache cannot be written. The run itself is never lost over it."""
    path = run_path(history.record, directory)
    try:
        atomic_savez(path, **history.to_arrays())
    except OSError as err:
        if path.parent not in _unwritable:
            _unwritable.add(path.parent)
            warnings.warn(f"cannot write the run cache in {path.parent} ({type(err).__name__}: {err}); runs are "
                          "computed but not cached. Point BN_RUNS_DIR at a writable folder (set it before starting "
                          "Jupyter, or with os.environ['BN_RUNS_DIR'] = ... before the next run).", stacklevel=3)
        return None
    return path
