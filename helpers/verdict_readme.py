"""The README's verdict column, read from notebook 09 as committed (executed in ``laptop``).

    python -m helpers.verdict_readme          # rewrite the column in README.md
    python -m helpers.verdict_readme --check  # exit 1 if README.md differs from that

The column is computed by :func:`helpers.verdicts.readme_column` from the tables notebook 09 printed,
so the README says what the committed notebook says; a test keeps the two equal.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .paths import REPO_ROOT
from .verdicts import parse_markdown_table, readme_column

NOTEBOOK = REPO_ROOT / "notebooks" / "09_verdict.ipynb"
README = REPO_ROOT / "README.md"
HEADER = "| notebook | what it shows | verdicts (`laptop`, from notebook 09) |"


def committed_tables(notebook: Path = NOTEBOOK) -> list[list[tuple[str, str]]]:
    """The (notebook, verdict) pairs of each verdict table in ``notebook``'s saved outputs, in order."""
    tables = []
    for cell in json.loads(notebook.read_text())["cells"]:
        for output in cell.get("outputs", []):
            text = "".join(output.get("data", {}).get("text/markdown", ""))
            pairs = parse_markdown_table(text)
            if pairs:
                tables.append(pairs)
    if len(tables) != 2:
        raise ValueError(f"{notebook} should show two verdict tables (the paper's claims, later work); "
                         f"it shows {len(tables)}: execute it first")
    return tables


def with_column(readme: str, column: dict[str, str]) -> str:
    """``readme`` with the notebook table's last column set from ``column`` ({"05": "..."}; "—" for the rest)."""
    lines, inside = readme.splitlines(), False
    for i, line in enumerate(lines):
        if line.startswith("| notebook | what it shows"):
            lines[i], inside = HEADER, True
        elif inside and line.startswith("| ---"):
            lines[i] = "| --- | --- | --- |"
        elif inside and line.startswith("| `"):
            cells = line.strip().strip("|").split(" | ")
            notebook = cells[0].strip(" `")[:2]
            lines[i] = f"| {cells[0].strip()} | {cells[1].strip()} | {column.get(notebook, '—')} |"
        elif inside:
            inside = False
    return "\n".join(lines) + ("\n" if readme.endswith("\n") else "")


def expected_readme() -> str:
    paper, later = committed_tables()
    return with_column(README.read_text(), readme_column(paper, later))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if README.md would change")
    args = parser.parse_args()
    expected = expected_readme()
    if args.check:
        if expected != README.read_text():
            print("README.md's verdict column differs from notebook 09: run python -m helpers.verdict_readme")
            return 1
        return 0
    README.write_text(expected)
    print(f"wrote the verdict column of {README.name} from {NOTEBOOK.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
