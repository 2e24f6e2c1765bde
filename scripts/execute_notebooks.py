"""Execute notebooks in place, in one profile, so that they are committed with their outputs.

    python scripts/execute_notebooks.py [NOTEBOOK ...] [--profile laptop] [--timeout 900]

Without notebooks, runs every numbered notebook in ``notebooks/``. Runs come from the run cache
when present (set ``BN_RUNS_DIR`` to an empty folder to recompute). Each notebook is stamped with
the fingerprints of the ``helpers`` modules it imported (``metadata.bn_landscape``), which the tests
compare with the code at hand, so stale outputs cannot be committed while an edit to a module a
notebook never imports leaves its stamp valid. Cells carry no timing metadata. Fails, naming the notebook
and the cell, on a cell that raises or runs past the timeout; fails on an error output or a
notebook over 3 MB. Each widget's saved view becomes a line saying to run the cell (JupyterLab
cannot show a saved widget). Prints each notebook's run time and size. Then, if it ran any of
``notebooks/``, rewrites the labs (``scripts/make_labs.py``), whose one source is those notebooks,
after notebook 09 in ``laptop``, the README's verdict column (``python -m helpers.verdict_readme``), and
in ``laptop`` the README's table of what recomputes what (``python -m helpers.recompute_map``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

ROOT = Path(__file__).resolve().parent.parent
MAX_BYTES = 3_000_000


def first_line(cell) -> str:
    lines = [line for line in cell.source.splitlines() if line.strip()]
    return (lines[0][:60] + ("…" if len(lines[0]) > 60 else "")) if lines else "(empty)"


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_PLACEHOLDER = "(A slider panel: run this cell in Jupyter to use it. Widgets are not saved with the notebook.)"


def widget_placeholders(nb) -> int:
    """Replace each widget's saved view by a line of text, and drop the saved widget state.

    JupyterLab 4 does not rebuild widgets from saved state, so a saved view shows "Error displaying
    widget" until the notebook runs; the line says what is there instead. Returns how many."""
    count = 0
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if WIDGET_VIEW in output.get("data", {}):
                output["data"] = {"text/plain": WIDGET_PLACEHOLDER}
                count += 1
    nb.metadata.pop("widgets", None)
    return count


def coalesce_streams(nb) -> None:
    """Merge each cell's consecutive outputs to the same stream into one. The kernel sends a cell's
    prints in as many messages as timing makes, so without this the same outputs are split
    differently from one execution to the next."""
    for cell in nb.cells:
        merged = []
        for output in cell.get("outputs", []):
            if (merged and output.get("output_type") == "stream" and merged[-1].get("output_type") == "stream"
                    and merged[-1].get("name") == output.get("name")):
                merged[-1]["text"] = "".join(merged[-1]["text"]) + "".join(output["text"])
            else:
                merged.append(output)
        if "outputs" in cell:
            cell["outputs"] = merged


def execute(path: Path, profile: str, timeout: int) -> None:
    """Execute one notebook in place, in this interpreter (not whichever kernel Jupyter knows as
    "python3"); SystemExit with a message naming the notebook and cell on failure."""
    from helpers.fingerprints import code_stamp, helpers_fingerprint, short_name
    from helpers.notebook_kernel import execute_and_list_modules, notebook_client

    code = helpers_fingerprint()
    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("widgets", None)  # an earlier run's widget state; this run writes its own, if any
    where = {"index": None}
    client = notebook_client(nb, timeout=timeout, resources={"metadata": {"path": str(path.parent)}})
    client.on_cell_execute = lambda cell, cell_index: where.update(index=cell_index)
    start = time.perf_counter()
    try:
        modules = execute_and_list_modules(nb, client)
    except (CellTimeoutError, CellExecutionError, DeadKernelError) as err:
        index = where["index"]
        cell = nb.cells[index] if index is not None else None
        what = (f"ran past the timeout of {timeout} s" if isinstance(err, CellTimeoutError)
                else "killed the kernel" if isinstance(err, DeadKernelError) else "raised an error")
        detail = "" if isinstance(err, CellTimeoutError) else f"\n{str(err)[-2000:]}"
        raise SystemExit(f"{path}: cell {index} ({first_line(cell) if cell else '?'}) {what}{detail}") from None
    if helpers_fingerprint() != code:
        raise SystemExit(f"{path}: helpers/ changed while the notebook ran; run it again")
    nb.metadata["bn_landscape"] = {**code_stamp(short_name(m) for m in modules), "profile": profile}
    widget_placeholders(nb)
    coalesce_streams(nb)
    errors = [i for i, c in enumerate(nb.cells) if any(o.get("output_type") == "error" for o in c.get("outputs", []))]
    if errors:
        raise SystemExit(f"{path}: error outputs in cells {errors}")
    nbformat.write(nb, path)
    size = path.stat().st_size
    print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {time.perf_counter() - start:.0f} s, "
          f"{size // 1024} KiB (profile {profile})", flush=True)
    if size > MAX_BYTES:
        raise SystemExit(f"{path} is over 3 MB ({size:,} bytes)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--profile", default=os.environ.get("BN_PROFILE", "laptop"))
    parser.add_argument("--timeout", type=int, default=900, help="seconds any one cell may run")
    args = parser.parse_args()
    os.environ["BN_PROFILE"] = args.profile  # the kernels inherit it
    notebooks = args.notebooks or sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
    for path in notebooks:
        execute(path.resolve(), args.profile, args.timeout)
    status = 0
    if any(path.resolve().parent == ROOT / "notebooks" for path in notebooks):  # the labs' one source
        status = subprocess.call([sys.executable, str(ROOT / "scripts" / "make_labs.py")])
    if args.profile == "laptop" and ROOT / "notebooks" / "09_verdict.ipynb" in [p.resolve() for p in notebooks]:
        status = status or subprocess.call([sys.executable, "-m", "helpers.verdict_readme"], cwd=ROOT)
    if args.profile == "laptop" and any(path.resolve().parent == ROOT / "notebooks" for path in notebooks):
        status = status or subprocess.call([sys.executable, "-m", "helpers.recompute_map"], cwd=ROOT)  # new stamps
    return status


if __name__ == "__main__":
    sys.exit(main())
