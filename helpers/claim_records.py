"""What each notebook found, kept beside its runs, so that notebook 09 can put it together.

When a notebook checks its claims (:meth:`~helpers.claims.Claims.check`), the claims are written
here: every claim's kind, text, numbers per seed and verdict, whether the notebook asserted them,
the profile, the ``helpers`` code that computed them and the cache keys of the runs they were
computed from. A record is *current* only while all three still match: same code, same runs
(defined now as they were then, and all in the cache). Notebook 09 reads current records and
re-executes a notebook whose record is missing or out of date (which trains nothing when its runs
are cached), so its verdicts are always computed from the runs, never typed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .paths import REPO_ROOT, runs_dir

NOTEBOOKS_DIR = REPO_ROOT / "notebooks"


def record_path(name: str, profile: str, directory: Path | None = None) -> Path:
    """``claims/<profile>/<name>.json`` in the run cache (``name``: "05-dln", notebook and part)."""
    return (directory or runs_dir()) / "claims" / profile / f"{name}.json"


def planned_run_keys(notebook: str, profile: str) -> list[str]:
    """The cache keys of every run ``notebook`` is defined to train in ``profile``, on this device."""
    from .notebook_runs import notebook_runs
    from .profiles import pick_device
    from .runs import run_key

    device = pick_device()
    planned = notebook_runs(notebook, profile)
    return sorted(run_key(g.record(c, device)) for g in planned.values() for c in g.configs())


def missing_runs(notebook: str, profile: str) -> int:
    """How many of ``notebook``'s runs reading it again would have to train (0: all cached)."""
    from .notebook_runs import notebook_runs
    from .profiles import pick_device

    device = pick_device()
    return sum(len(g.missing(device)) for g in notebook_runs(notebook, profile).values())


def save_record(record: dict[str, Any], directory: Path | None = None) -> Path | None:
    """Write one notebook part's record atomically; None (and a warning) where the cache is read-only."""
    import warnings

    path = record_path(record["name"], record["profile"], directory)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(record, indent=1, allow_nan=True))
        os.replace(tmp, path)
    except OSError as err:
        warnings.warn(f"cannot record these claims in {path.parent} ({err}); notebook 09 will recompute them",
                      stacklevel=3)
        return None
    return path


def load_record(name: str, profile: str, directory: Path | None = None) -> dict[str, Any] | None:
    """A notebook part's record as written, or None when there is none (or it cannot be read)."""
    path = record_path(name, profile, directory)
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def staleness(record: dict[str, Any] | None) -> str:
    """Why ``record`` is not current ("" when it is): missing, other code, other runs, runs not cached."""
    from .fingerprints import stamp_staleness

    if record is None:
        return "not recorded yet"
    if why := stamp_staleness(record):
        return f"recorded with other helpers code ({why})"
    if record.get("runs") != planned_run_keys(record["notebook"], record["profile"]):
        return "recorded from other runs than the notebook now defines"
    if missing_runs(record["notebook"], record["profile"]):
        return "some of its runs are no longer in the cache"
    return ""


@dataclass
class Execution:
    """A notebook executed to record its claims: which, how long, and how it went."""

    notebook: str
    seconds: float
    error: str = ""


def notebook_file(notebook: str) -> Path:
    matches = sorted(NOTEBOOKS_DIR.glob(f"{notebook}_*.ipynb"))
    if not matches:
        raise FileNotFoundError(f"no notebook {notebook}_*.ipynb in {NOTEBOOKS_DIR}")
    return matches[0]


def execute_notebook(notebook: str, profile: str, timeout: int = 3600) -> Execution:
    """Execute ``notebook`` headless in ``profile``, in a separate process, without saving it: what
    it leaves behind is its runs in the cache and its claims' records. Never raises for a failing
    notebook; the error (its last lines) is returned."""
    env = dict(os.environ, BN_PROFILE=profile)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "helpers.claim_records", notebook, "--timeout", str(timeout)],
                          env=env, capture_output=True, text=True)
    error = "" if done.returncode == 0 else (done.stderr or done.stdout).strip()[-1500:]
    return Execution(notebook, time.perf_counter() - start, error)


def _execute_here(notebook: str, timeout: int) -> None:
    """The child process of :func:`execute_notebook`: nbclient, in memory, the notebook's own folder."""
    import nbformat

    from .notebook_kernel import notebook_client

    path = notebook_file(notebook)
    nb = nbformat.read(path, as_version=4)
    notebook_client(nb, timeout=timeout, resources={"metadata": {"path": str(path.parent)}}).execute()


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Execute one notebook headless (not saved), to record its claims.")
    parser.add_argument("notebook")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds any one cell may run")
    args = parser.parse_args()
    _execute_here(args.notebook, args.timeout)
