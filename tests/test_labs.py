"""Labs from one source: scripts/make_labs.py, and the student and solutions notebooks it writes."""

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from helpers.notebook_kernel import notebook_client

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("make_labs", ROOT / "scripts" / "make_labs.py")
make_labs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_labs)

SOURCES = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
STUDENT = sorted((ROOT / "labs" / "student").glob("*.ipynb"))


def read(path: Path):
    return nbformat.read(path, as_version=4)


def checker_cells(nb) -> list:
    """The cells that call an exercise checker (``check_...(``), with nbgrader's grade metadata."""
    return [c for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")]


def shown(cell) -> str:
    return "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in cell.get("outputs", []))


def test_committed_labs_are_what_the_script_writes():
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_labs.py"), "--check"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr + "\nrun: python scripts/make_labs.py"


def test_every_notebook_from_01_on_ends_with_a_checked_exercise():
    for path in SOURCES:
        if path.name.startswith("00"):
            continue
        nb = read(path)
        checks = checker_cells(nb)
        assert make_labs.has_solutions(nb) and checks, f"{path.name} has no checked exercise"
        for cell in checks:
            assert "check_" in cell.source and make_labs.HIDDEN[0] in cell.source, (path.name, cell.source)
        assert (ROOT / "labs" / "student" / path.name).exists() and (ROOT / "labs" / "solutions" / path.name).exists()


def test_the_solutions_pass_every_checker_in_the_committed_notebooks():
    """The committed notebooks ran with the answers in (laptop profile); nbval runs them again in ci,
    where each hidden test asserts that its checker passed."""
    for path in SOURCES:
        for cell in checker_cells(read(path)):
            assert "all checks passed" in shown(cell), (path.name, cell.source, shown(cell))


def test_student_version_has_stubs_and_no_answers_or_hidden_tests():
    source = read(ROOT / "notebooks" / "07_theory.ipynb")
    student = make_labs.lab_version(source, "student")
    solutions = make_labs.lab_version(source, "solutions")
    text = "\n".join(c.source for c in student.cells)
    assert "BEGIN" not in text and "END SOLUTION" not in text and "return grad / c" not in text
    assert text.count("    # YOUR CODE HERE\n    raise NotImplementedError()") == 3  # indented like the answer
    assert "assert scale_report.passed" not in text and "scale_report = check_gradient_at_scale" in text
    solved = "\n".join(c.source for c in solutions.cells)
    assert "return grad / c" in solved and "assert scale_report.passed" in solved and "### " not in solved
    assert all(not c.get("outputs") for c in student.cells + solutions.cells)
    assert "](../../docs/protocol.md)" in student.cells[0].source  # a folder deeper than the notebook


def test_markdown_answers_become_a_prompt_and_unbalanced_markers_name_the_cell():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# T"),
                nbformat.v4.new_markdown_cell("Why?\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION")]
    assert make_labs.lab_version(nb, "student").cells[1].source == "Why?\nYOUR ANSWER HERE"
    nb.cells.append(nbformat.v4.new_code_cell("x = 1\n### BEGIN SOLUTION\ny = 2"))
    with pytest.raises(make_labs.MarkerError, match="lab.ipynb, cell 2: '### BEGIN SOLUTION' on line 2 is never"):
        make_labs.lab_version(nb, "student", "lab.ipynb")
    nb.cells[2].source = "### END HIDDEN TESTS"
    with pytest.raises(make_labs.MarkerError, match="without a '### BEGIN HIDDEN TESTS'"):
        make_labs.lab_version(nb, "solutions", "lab.ipynb")


@pytest.mark.parametrize("path", STUDENT, ids=lambda p: p.stem)
def test_student_lab_runs_and_every_checker_says_not_implemented(path, tmp_path):
    """Executed in the test profile (ci unless BN_TEST_PROFILE says otherwise), from a copy one
    folder deep, as a student would open it."""
    copy = tmp_path / "student" / path.name
    copy.parent.mkdir()
    shutil.copy(path, copy)
    nb = read(copy)
    notebook_client(nb, timeout=600, resources={"metadata": {"path": str(copy.parent)}},
                    allow_errors=False).execute()
    checks = checker_cells(nb)
    assert checks, f"{path.name} has no checker cell"
    for cell in checks:
        assert "not implemented yet" in shown(cell), (cell.source, shown(cell))
        assert "passed" not in shown(cell)


@pytest.mark.skipif(shutil.which("nbgrader") is None, reason="nbgrader is optional; install it to run this test")
def test_nbgrader_generate_assignment_accepts_every_lab_and_writes_our_stubs(tmp_path):
    source = tmp_path / "source" / "labs"
    source.mkdir(parents=True)
    labs = [path for path in SOURCES if make_labs.has_solutions(read(path))]
    for path in labs:
        shutil.copy(path, source)
    env = {**os.environ, "HOME": str(tmp_path)}
    result = subprocess.run(["nbgrader", "generate_assignment", "labs", "--force", "--create"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    stubs = lambda nb: [c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
    for path in labs:
        released = read(tmp_path / "release" / "labs" / path.name)
        assert stubs(released) == stubs(make_labs.lab_version(read(path), "student")), path.name
