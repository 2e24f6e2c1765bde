"""A training run's record (:class:`History`) and the on-disk run cache.

A finished run is stored as one ``.npz`` under :func:`helpers.paths.runs_dir`, named by a hash
of its full configuration, and read back when the same configuration is asked for again.
Plain arrays and a JSON string only: no pickle.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .paths import atomic_savez, runs_dir


@dataclass
class History:
    """What a training run produced, as plain arrays.

    ``steps``/``train_loss``/``train_acc``: one entry per SGD step taken (1, 2, ...), the loss
    and accuracy on that step's batch before its update. ``eval_steps``/``test_loss``/``test_acc``:
    the test set, at step 0 and every ``eval_every`` steps. ``probes[name]`` holds a probe's
    records: ``step`` plus one stacked array per recorded key. ``diverged``: the loss became
    NaN or inf and the run was stopped there. ``interrupted``: stopped by Ctrl-C (never cached).
    Accuracies are NaN for regression (the DLN).
    """

    config: dict
    steps: np.ndarray
    train_loss: np.ndarray
    train_acc: np.ndarray
    eval_steps: np.ndarray
    test_loss: np.ndarray
    test_acc: np.ndarray
    wall_time: float
    diverged: bool = False
    interrupted: bool = False
    probes: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    from_cache: bool = False

    ARRAYS = ("steps", "train_loss", "train_acc", "eval_steps", "test_loss", "test_acc")

    def final(self, metric: str = "train_loss", last: int | None = None) -> float:
        """Mean of the last ``last`` values of a metric, by default the last 5% of steps (at least 10),
        because a per-batch loss is noisy. A diverged run's final loss is inf."""
        values = getattr(self, metric)
        if self.diverged and metric.endswith("loss"):
            return float("inf")
        last = last if last is not None else max(10, len(values) // 20)
        return float(np.mean(values[-last:])) if len(values) else float("nan")

    def to_arrays(self) -> dict[str, np.ndarray]:
        arrays = {name: getattr(self, name) for name in self.ARRAYS}
        arrays.update(config_json=np.array(json.dumps(self.config, sort_keys=True)),
                      wall_time=np.array(self.wall_time), diverged=np.array(self.diverged),
                      interrupted=np.array(self.interrupted))
        for probe, records in self.probes.items():
            for key, value in records.items():
                arrays[f"probe/{probe}/{key}"] = value
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> History:
        probes: dict[str, dict[str, np.ndarray]] = {}
        for name, value in arrays.items():
            if name.startswith("probe/"):
                _, probe, key = name.split("/", 2)
                probes.setdefault(probe, {})[key] = value
        return cls(config=json.loads(str(arrays["config_json"])), wall_time=float(arrays["wall_time"]),
                   diverged=bool(arrays["diverged"]), interrupted=bool(arrays["interrupted"]), probes=probes,
                   **{name: arrays[name] for name in cls.ARRAYS})


def run_key(config: dict) -> str:
    """A stable hash of a run's full configuration (the cache file's name)."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def run_path(config: dict, directory: Path | None = None) -> Path:
    return (directory or runs_dir()) / f"{run_key(config)}.npz"


def load_run(config: dict, directory: Path | None = None) -> History | None:
    """The cached run with exactly this configuration, or None."""
    path = run_path(config, directory)
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as z:
        history = History.from_arrays(dict(z))
    if history.config != json.loads(json.dumps(config)):  # a hash collision, however unlikely
        return None
    history.from_cache = True
    return history


def save_run(history: History, directory: Path | None = None) -> Path:
    """Store a run under its configuration's key, atomically."""
    path = run_path(history.config, directory)
    atomic_savez(path, **history.to_arrays())
    return path
