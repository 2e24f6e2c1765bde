"""scripts/execute_notebooks.py: stamps notebooks with the code they ran with, and never hangs silently."""

import json
import subprocess
import sys
from pathlib import Path

import nbformat

from helpers.fingerprints import code_stamp, stamp_staleness

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "execute_notebooks.py"


def notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nbformat.write(nb, path)
    return path


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=300)


def test_an_executed_notebook_is_stamped_with_the_helpers_modules_it_imported(tmp_path):
    path = notebook(tmp_path / "ok.ipynb", "import os\nprint(os.environ['BN_PROFILE'])", "import helpers.protocol")
    result = run(str(path), "--profile", "ci")
    assert result.returncode == 0, result.stderr
    nb = json.loads(path.read_text())
    stamp = nb["metadata"]["bn_landscape"]
    assert stamp["profile"] == "ci" and not stamp_staleness(stamp)
    assert {"__init__", "protocol", "train"} <= set(stamp["modules"])  # the package imports its engine
    assert "verdicts" not in stamp["modules"] and "widgets" not in stamp["modules"]
    assert stamp == {**code_stamp(stamp["modules"]), "profile": "ci"}
    assert len(nb["cells"]) == 2 and "".join(nb["cells"][0]["outputs"][0]["text"]) == "ci\n"


def test_re_executing_a_notebook_whose_outputs_are_the_same_changes_no_byte(tmp_path):
    path = notebook(tmp_path / "same.ipynb", "print(1 + 1)", "import helpers.protocol",
                    "import time\nprint('before')\ntime.sleep(0.5)\nprint('after')")
    assert run(str(path), "--profile", "ci").returncode == 0
    first = path.read_bytes()
    assert b'"execution"' not in first  # no per-cell timestamps
    outputs = json.loads(first)["cells"][2]["outputs"]  # prints apart in time, in one output
    assert len(outputs) == 1 and "".join(outputs[0]["text"]) == "before\nafter\n"
    assert run(str(path), "--profile", "ci").returncode == 0
    assert path.read_bytes() == first


def test_a_cell_past_the_timeout_is_named_with_its_notebook(tmp_path):
    path = notebook(tmp_path / "slow.ipynb", "x = 1", "import time\ntime.sleep(60)")
    result = run(str(path), "--profile", "ci", "--timeout", "3")
    assert result.returncode != 0
    assert f"{path}: cell 1 (import time) ran past the timeout of 3 s" in result.stderr


def test_a_failing_cell_is_named_with_its_notebook(tmp_path):
    path = notebook(tmp_path / "bad.ipynb", "x = 1", "1 / 0")
    result = run(str(path), "--profile", "ci")
    assert result.returncode != 0
    assert f"{path}: cell 1 (1 / 0) raised an error" in result.stderr and "ZeroDivisionError" in result.stderr
