"""Write each notebook's lab in two versions, from the one source: the notebook itself.

    python scripts/make_labs.py            # write labs/student/ and labs/solutions/
    python scripts/make_labs.py --check    # exit 1 if the committed labs differ from what it would write

In ``notebooks/``, an exercise's answer sits between ``### BEGIN SOLUTION`` and ``### END SOLUTION``,
and the checks that only the answer passes between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN
TESTS`` (nbgrader's markers; the cells carry nbgrader's metadata too, so nbgrader's
``generate_assignment`` works on the notebooks as they are). From each notebook with a marked
answer this writes, without outputs:

- ``labs/student/<name>.ipynb``: every answer replaced by nbgrader's stub (``raise
  NotImplementedError()``, which the checkers report as "not implemented yet"), hidden tests removed;
- ``labs/solutions/<name>.ipynb``: the answers kept, the markers removed.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
LABS = ROOT / "labs"
SOLUTION = ("### BEGIN SOLUTION", "### END SOLUTION")
HIDDEN = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
CODE_STUB = ["# YOUR CODE HERE", "raise NotImplementedError()"]  # nbgrader's, so its checks agree with ours
TEXT_STUB = ["YOUR ANSWER HERE"]
KEPT_CELL_METADATA = ("nbgrader", "tags")
KEPT_NOTEBOOK_METADATA = ("kernelspec", "language_info")
HEADERS = {
    "student": "> **Lab, student version.** Each exercise's answer is a stub: write it, then run the\n"
               "> checker cell below it, which says what is wrong until all its checks pass.",
    "solutions": "> **Lab, solutions version.** Every exercise answered, and checked when the notebook runs.\n"
                 "> Instructors: hand out `labs/student/`, not this folder.",
}


class MarkerError(ValueError):
    """A marker without its partner, or one region inside another."""


def _regions(lines: list[str], markers: tuple[str, str], where: str) -> list[tuple[int, int]]:
    """(begin, end) line numbers of each marked region."""
    found, begin = [], None
    for k, line in enumerate(lines):
        text = line.strip()
        if text == markers[0]:
            if begin is not None:
                raise MarkerError(f"{where}: '{markers[0]}' on line {k + 1} inside another region")
            begin = k
        elif text == markers[1]:
            if begin is None:
                raise MarkerError(f"{where}: '{markers[1]}' on line {k + 1} without a '{markers[0]}'")
            found.append((begin, k))
            begin = None
    if begin is not None:
        raise MarkerError(f"{where}: '{markers[0]}' on line {begin + 1} is never closed")
    return found


def _replace(lines: list[str], markers: tuple[str, str], where: str, stub: list[str] | None) -> list[str]:
    """Each region replaced by ``stub`` (indented like its begin marker); None keeps its content."""
    out, last = [], 0
    for begin, end in _regions(lines, markers, where):
        out += lines[last:begin]
        if stub is None:
            out += lines[begin + 1:end]
        else:
            indent = lines[begin][: len(lines[begin]) - len(lines[begin].lstrip())]
            out += [indent + s for s in stub]
        last = end + 1
    return out + lines[last:]


def has_solutions(nb) -> bool:
    return any(line.strip() == SOLUTION[0] for cell in nb.cells for line in cell.source.splitlines())


def lab_version(nb, version: str, name: str = "notebook"):
    """The student or solutions version of a source notebook, without outputs."""
    if version not in HEADERS:
        raise ValueError(f"version must be one of {sorted(HEADERS)}, not {version!r}")
    lab = copy.deepcopy(nb)
    lab.metadata = {k: v for k, v in nb.metadata.items() if k in KEPT_NOTEBOOK_METADATA}
    cells = []
    for index, cell in enumerate(lab.cells):
        where = f"{name}, cell {index}"
        lines = cell.source.splitlines()
        stub = None if version == "solutions" else (CODE_STUB if cell.cell_type == "code" else TEXT_STUB)
        lines = _replace(lines, SOLUTION, where, stub)
        lines = _replace(lines, HIDDEN, where, None if version == "solutions" else [])
        if not any(line.strip() for line in lines):
            continue  # a cell that held only hidden tests
        cell.source = "\n".join(lines)
        if cell.cell_type == "markdown":  # the lab sits one folder deeper than the notebook
            cell.source = re.sub(r"\]\(\.\./", "](../../", cell.source)
        cell.metadata = {k: v for k, v in cell.metadata.items() if k in KEPT_CELL_METADATA}
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cells.append(cell)
    title = cells[0]
    first, _, rest = title.source.partition("\n")
    title.source = f"{first}\n\n{HEADERS[version]}\n{rest}".rstrip("\n")
    lab.cells = cells
    return lab


def expected_labs() -> dict[Path, str]:
    """Every lab file this script writes, with its text."""
    labs = {}
    for path in sorted((ROOT / "notebooks").glob("[0-9]*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        if not has_solutions(nb):
            continue
        for version in HEADERS:
            labs[LABS / version / path.name] = nbformat.writes(lab_version(nb, version, path.name)) + "\n"
    return labs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare with the committed labs, write nothing")
    args = parser.parse_args()
    labs = expected_labs()
    present = {p for version in HEADERS for p in (LABS / version).glob("*.ipynb")}
    stale = sorted(p for p in present | set(labs) if p not in labs or not p.exists() or p.read_text() != labs[p])
    if args.check:
        for path in stale:
            print(f"{path.relative_to(ROOT)} is not what scripts/make_labs.py writes", file=sys.stderr)
        return 1 if stale else 0
    for path in present - set(labs):
        path.unlink()
    for path, text in labs.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    print(f"wrote {len(labs)} lab notebooks in {LABS.relative_to(ROOT)}/ ({len(stale)} changed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
