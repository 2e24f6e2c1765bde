"""The committed notebooks' text states what their committed runs found, and nothing else.

Each of notebooks 02-09 states the counts of its committed `laptop` run in its prose and follows
that prose with a cell that checks it against the run (``Claims.compare_text``; notebook 09 does
the same for its verdicts). In a reader's run a difference is printed, not raised; here, on the
committed outputs, any difference fails.
"""

import json
from pathlib import Path

import pytest

from helpers.claims import TEXT_AGREES

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
STATING = ("02", "03", "04", "05", "06", "07", "08", "09")


def _text_checks(path: Path) -> list[str]:
    """The outputs of every cell that holds the text to the run."""
    found = []
    for cell in json.loads(path.read_text())["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "code" and ("compare_text(" in source or "described = {" in source):
            found.append("".join("".join(o.get("text", "")) for o in cell.get("outputs", [])))
    return found


@pytest.mark.parametrize("number", STATING)
def test_a_committed_notebooks_text_agrees_with_its_numbers(number):
    path = next(NOTEBOOKS.glob(f"{number}_*.ipynb"))
    checks = _text_checks(path)
    assert checks, f"{path.name} states results in its text but never checks them against its run"
    for output in checks:
        assert "WRITTEN FOR ANOTHER RUN" not in output, f"{path.name}: {output}"
        assert output.count(TEXT_AGREES) >= 1, f"{path.name}: a text check printed no verdict: {output!r}"
