"""Headless execution runs notebooks in this interpreter, even when Jupyter knows another "python3"."""

import json
import os
import sys
import time

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager

from helpers.notebook_kernel import KERNEL_NAME, notebook_client


@pytest.fixture
def other_environments_python3(tmp_path, monkeypatch):
    """A user-level kernel spec named python3 for another interpreter, as another environment leaves."""
    other = tmp_path / "other-env" / "bin" / "python"
    other.parent.mkdir(parents=True)
    other.write_text("#!/bin/sh\nexit 1\n")  # a kernel that would never start
    other.chmod(0o755)
    spec = tmp_path / "jupyter" / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(other), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (another environment)", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    return other


def test_a_user_level_python3_kernel_spec_does_not_take_over_headless_execution(other_environments_python3):
    # what plain nbclient (kernel_name="python3") would start
    assert KernelSpecManager().get_kernel_spec(KERNEL_NAME).argv[0] == str(other_environments_python3)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import sys\nprint(sys.executable)")])
    nb.metadata["kernelspec"] = {"name": KERNEL_NAME, "display_name": "Python 3", "language": "python"}
    notebook_client(nb, timeout=120).execute()
    assert nb.cells[0].outputs[0]["text"].strip() == sys.executable


def test_headless_execution_shuts_its_kernel_down_when_done():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import os\nprint(os.getpid())")])
    nb.metadata["kernelspec"] = {"name": KERNEL_NAME, "display_name": "Python 3", "language": "python"}
    notebook_client(nb, timeout=120).execute()
    kernel = int(nb.cells[0].outputs[0]["text"])
    deadline = time.monotonic() + 30
    while kernel_alive(kernel) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not kernel_alive(kernel), "the kernel outlived the execution (one idle kernel per notebook)"


def kernel_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") if os.path.exists(f"/proc/{pid}/stat") else open(os.devnull) as stat:
        return " Z " not in stat.read()  # a zombie has exited; only its parent has not reaped it yet
