"""Where datasets and cached runs live, and how files are written safely.

Paths are found from the package, never from the working directory, so a notebook
finds the same data whichever folder its kernel starts in.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent


def default_data_dir() -> Path:
    """``data/`` at the repository root; ``~/.cache/bn-landscape`` if the package is not in a checkout."""
    if (REPO_ROOT / "pyproject.toml").is_file():
        return REPO_ROOT / "data"
    return Path.home() / ".cache" / "bn-landscape"


def data_dir() -> Path:
    """Dataset directory: ``BN_DATA_DIR`` if set (it may be read-only), else the default."""
    env = os.environ.get("BN_DATA_DIR")
    return Path(env).expanduser() if env else default_data_dir()


def runs_dir() -> Path:
    """Run-cache directory: ``BN_RUNS_DIR`` if set, else ``runs/`` in the default data directory.

    Deliberately independent of ``BN_DATA_DIR``, so pointing that at a read-only copy of the
    datasets never makes us write there.
    """
    env = os.environ.get("BN_RUNS_DIR")
    return Path(env).expanduser() if env else default_data_dir() / "runs"


def shown_path(path: Path, variable: str | None = None) -> str:
    """``path`` as a notebook prints it, without this machine's layout: relative to the repository
    (``data/runs``), under ``~``, or, when the environment variable ``variable`` chose it, its name."""
    path = Path(path).resolve()
    if variable and os.environ.get(variable):
        return f"${variable} (set in the environment)"
    for base, prefix in ((REPO_ROOT, ""), (Path.home().resolve(), "~/")):
        if path.is_relative_to(base):
            return prefix + path.relative_to(base).as_posix()
    return str(path)


def atomic_savez(path: Path, **arrays: np.ndarray) -> None:
    """Write an ``.npz`` so that readers see either the old file or the complete new one.

    Fails with the ``OSError`` of the first thing that went wrong (a read-only folder, a full
    disk); the temporary file is removed either way, or left for nobody to read when even that
    is impossible (its name starts with a dot and ends in ``.tmp``).
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):  # never hide the first error behind a second one
            tmp.unlink(missing_ok=True)
