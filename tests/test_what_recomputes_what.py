"""What keys the run cache: exactly the code a run executes, checked by tracing runs.

A run's cache key holds the fingerprints of the engine (``ENGINE_MODULES``), of its normalization and
of each probe. ``trace_keyed_code.py`` traces, in a fresh process, every registered normalization and
every probe the notebooks use; these tests read what it found, both ways: no run executes helpers
code that its key does not cover, and no engine module holds a function that no run executes (so
an edit to code that changes no number, a picture or an accessor, cannot recompute every run).
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.fingerprints import ENGINE_MODULES, VALUE_MODULES, package_modules

from .cifar_fixtures import fake_cifar10, write_cache

ROOT = Path(__file__).resolve().parent.parent
HELPERS = ROOT / "helpers"
# What a module prints (``print(model)``), which PyTorch asks of the class itself: it changes no
# number, but it cannot live anywhere else; an edit to it recomputes runs.
DISPLAY_METHODS = {"extra_repr"}


@pytest.fixture(scope="module")
def trace(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("trace")
    env = {**os.environ, "BN_DATA_DIR": str(write_cache(tmp / "data", fake_cifar10())),
           "BN_RUNS_DIR": str(tmp / "runs"), "BN_NO_DOWNLOAD": "1", "BN_DEVICE": "cpu", "BN_PROFILE": "ci"}
    env.pop("BN_FIRST_SEED", None)
    done = subprocess.run([sys.executable, str(Path(__file__).with_name("trace_keyed_code.py")), str(HELPERS)],
                          env=env, capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_a_run_executes_no_helpers_code_its_cache_key_does_not_cover(trace):
    uncovered = {}
    for run in trace["runs"]:
        modules = {module for module, _, _ in run["executed"]}
        extra = modules - set(run["keyed"]) - set(VALUE_MODULES)
        if extra:
            uncovered[run["run"]] = sorted(extra)
    assert not uncovered, f"runs executed code their cache key does not cover: {uncovered}"
    assert len(trace["runs"]) > 40  # every normalization, VGG and DLN, every probe, cache hits


def functions(module: str) -> list[tuple[str, int]]:
    """(name, first line) of every function and method a module defines, as its code object reports them."""
    path = HELPERS / (module.replace(".", "/") + ".py")
    tree = ast.parse(path.read_text())
    return [(node.name, min([node.lineno] + [d.lineno for d in node.decorator_list]))
            for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]


def test_every_function_of_the_engine_runs_when_runs_train(trace):
    ran = {(module, name, line) for module, name, line in trace["executed"]}
    idle = [f"{module}.{name} (line {line})" for module in ENGINE_MODULES for name, line in functions(module)
            if (module, name, line) not in ran and name not in DISPLAY_METHODS]
    assert not idle, ("engine modules hold code no run executes; move it out of the keyed modules "
                      f"(helpers.fingerprints.ENGINE_MODULES): {idle}")


def test_the_engine_and_value_modules_exist_and_are_apart():
    assert set(ENGINE_MODULES) <= set(package_modules()) and set(VALUE_MODULES) <= set(package_modules())
    assert not set(ENGINE_MODULES) & set(VALUE_MODULES)


RUN_KEYS = """
import json, torch
from helpers.notebook_runs import NOTEBOOKS, notebook_runs
keys = {}
for notebook in NOTEBOOKS:
    for name, group in notebook_runs(notebook, "ci").items():
        for config in group.configs():
            keys[f"{notebook}/{name}/{config}"] = json.dumps(group.record(config, torch.device("cpu")), sort_keys=True)
print(json.dumps(keys))
"""


@pytest.fixture
def package_copy(tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(HELPERS, root / "helpers", ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "PYTHONPATH": str(root), "PYTHONDONTWRITEBYTECODE": "1", "BN_PROFILE": "ci"}
    env.pop("BN_FIRST_SEED", None)
    env.pop("BN_FAST", None)

    def run_keys() -> dict[str, str]:
        done = subprocess.run([sys.executable, "-c", RUN_KEYS], env=env, cwd=tmp_path, capture_output=True,
                              text=True)
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout)

    return root / "helpers", run_keys


def append(path: Path, code: str) -> None:
    path.write_text(path.read_text() + code)


def test_code_that_changes_no_number_keeps_every_cached_run_a_hit(package_copy):
    helpers, run_keys = package_copy
    before = run_keys()
    append(helpers / "protocol.py", "\nNEW_NOTEBOOK_THRESHOLD = 0.5  # a new notebook's constant\n")
    append(helpers / "plots" / "curves.py", "\n\ndef plot_something_new(history):\n    return history.final()\n")
    append(helpers / "history_readings.py", "\n\ndef best_loss(history):\n    return min(history.train_loss)\n")
    append(helpers / "batchnorm_checks.py", "\n\ndef another_check():\n    return 0.0\n")
    assert run_keys() == before
    assert len(before) > 100  # every run of every notebook, in ci


def test_a_real_change_to_training_code_misses_every_run_it_touches(package_copy):
    helpers, run_keys = package_copy
    before = run_keys()
    train = helpers / "train.py"
    train.write_text(train.read_text().replace("SYNC_EVERY = 10", "SYNC_EVERY = 5"))
    after = run_keys()
    assert all(after[name] != before[name] for name in before)


STAMPS = """
import json, pathlib, sys
from helpers.fingerprints import stamp_staleness
stale = {}
for path in sorted(pathlib.Path(sys.argv[1]).glob("[0-9][0-9]_*.ipynb")):
    stale[path.name[:2]] = stamp_staleness(json.loads(path.read_text())["metadata"]["bn_landscape"])
print(json.dumps(stale))
"""


def test_an_edit_to_the_verdicts_re_stamps_notebook_09_alone(package_copy):
    helpers, _ = package_copy
    env = {**os.environ, "PYTHONPATH": str(helpers.parent), "PYTHONDONTWRITEBYTECODE": "1"}

    def staleness() -> dict[str, str]:
        done = subprocess.run([sys.executable, "-c", STAMPS, str(ROOT / "notebooks")], env=env, capture_output=True,
                              text=True, cwd=helpers.parent)
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout)

    assert set(staleness().values()) == {""}  # the committed notebooks match this code (see test_repository)
    verdicts = helpers / "verdicts.py"
    verdicts.write_text(verdicts.read_text() + "\n\ndef a_new_reading(rows):\n    return len(rows)\n")
    after = staleness()
    assert "the code of verdicts changed" in after.pop("09")
    assert set(after.values()) == {""} and len(after) == 9  # notebooks 00-08 keep their stamps


def test_the_readme_table_of_what_recomputes_what_is_current():
    from helpers.recompute_map import README, with_section

    assert with_section(README.read_text()) == README.read_text(), (
        "README.md's 'What recomputes what' is out of date: run python -m helpers.recompute_map")
