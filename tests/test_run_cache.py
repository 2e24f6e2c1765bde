"""The run cache notices code changes: a run is reused only when it was made by the same code."""

import json
import linecache
import os
import shutil
import subprocess
import sys
import textwrap
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers import ActivationProbe, GradientICSProbe, LandscapeProbe, RunConfig, train
from helpers.fingerprints import code_fingerprint, source_fingerprint
from helpers.norms import NORMS
from helpers.runs import run_key
from helpers.train import run_record

from .test_train import small

ROOT = Path(__file__).resolve().parent.parent
CPU = torch.device("cpu")
_cells = iter(range(10**6))


def cell(source: str, namespace: dict) -> dict:
    """Run ``source`` as a notebook cell would: in the shared ``__main__`` namespace, with its text
    in ``linecache`` under a file name of its own (which is how IPython lets ``inspect`` find it)."""
    source = textwrap.dedent(source)
    filename = f"<notebook-cell-{next(_cells)}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)
    return namespace


@pytest.fixture
def notebook():
    """A fresh notebook namespace; norms it registers are removed afterwards."""
    before = dict(NORMS)
    yield {"__name__": "__main__"}
    NORMS.clear()
    NORMS.update(before)


def key(config: RunConfig, probes=()) -> str:
    return run_key(run_record(config, probes, CPU))


def test_source_fingerprint_ignores_comments_docstrings_and_layout_but_not_code():
    base = source_fingerprint("def f(x):\n    return x + 1\n")
    assert source_fingerprint('def f(x):\n    """Add one."""\n    # why: because\n    return x + 1  # here\n') == base
    assert source_fingerprint("def f(x):\n    return (x\n            + 1)\n") == base
    assert source_fingerprint("def f(x):\n    return x + 2\n") != base
    assert source_fingerprint("def f(y):\n    return y + 1\n") != base


def test_norm_redefined_in_a_notebook_cell_misses_the_cache_and_a_docstring_edit_hits(cifar_dir, notebook):
    definition = textwrap.dedent('''
        from torch import nn
        from helpers import register_norm

        class Halve(nn.Module):
            def forward(self, x):
                return x * FACTOR

        @register_norm("cell_norm", absorbs_bias=False)
        def make(num_features, dim):
            return Halve()
        ''')
    cell("FACTOR = 0.5" + definition, notebook)
    config = small(norm="cell_norm", steps=3)
    first = train(config, progress=False)
    assert not first.from_cache and train(config, progress=False).from_cache
    cell("FACTOR = 0.25" + definition, notebook)  # a constant the norm's code uses
    assert not train(config, progress=False).from_cache
    cell("FACTOR = 0.25" + definition.replace("return x * FACTOR", "return x * FACTOR * 2"), notebook)
    changed = train(config, progress=False)
    assert not changed.from_cache
    cell("FACTOR = 0.25" + definition.replace("return x * FACTOR", '"""Now documented."""\n'
                                              "        return x * FACTOR * 2  # a comment"), notebook)
    assert train(config, progress=False).from_cache


def test_probe_redefined_in_a_notebook_cell_misses_the_cache(cifar_dir, notebook):
    definition = textwrap.dedent('''
        from helpers import Probe

        class WeightNorm(Probe):
            def __init__(self):
                super().__init__("weight_norm", every=2)

            def after(self, ctx):
                return {"norm": float(ctx.model.layer(1).weight.detach().norm()) * SCALE}
        ''')
    cell("SCALE = 1.0" + definition, notebook)
    config = small(steps=4)
    first = train(config, probes=[notebook["WeightNorm"]()], progress=False)
    assert train(config, probes=[notebook["WeightNorm"]()], progress=False).from_cache
    cell("SCALE = 1.0" + definition.replace("* SCALE", "* SCALE * 2"), notebook)
    again = train(config, probes=[notebook["WeightNorm"]()], progress=False)
    assert not again.from_cache
    # the same seeded run, its norm doubled (exact in binary floating point)
    np.testing.assert_array_equal(again.probes["weight_norm"]["norm"], 2 * first.probes["weight_norm"]["norm"])
    assert train(config, progress=False).from_cache is False  # a run without the probe is a run of its own


def test_two_functions_with_the_same_qualified_name_do_not_collide(notebook):
    cell("def measure(ctx):\n    return {'a': 1}\n", notebook)
    first = notebook["measure"]
    cell("def measure(ctx):\n    return {'a': 2}\n", notebook)
    assert first.__qualname__ == notebook["measure"].__qualname__
    assert code_fingerprint(first) != code_fingerprint(notebook["measure"])
    cell("def measure(ctx):\n    return {'a': 1}  # the first one again\n", notebook)
    assert code_fingerprint(first) == code_fingerprint(notebook["measure"])


def test_probe_settings_and_norm_options_are_part_of_the_key():
    config = small()
    assert key(config, [GradientICSProbe([2, 5], every=3)]) != key(config, [GradientICSProbe([2, 5], every=4)])
    assert key(config, [GradientICSProbe([2, 5])]) != key(config, [GradientICSProbe([2, 6])])
    assert key(config, [ActivationProbe([2, 5])]) != key(config, [ActivationProbe([2, 5], units=3)])
    assert key(config, [LandscapeProbe(every=5)]) != key(config, [LandscapeProbe(every=5, high=8.0)])
    assert key(config, [LandscapeProbe(every=5)]) != key(config, [LandscapeProbe(every=5, points=9)])
    assert key(config, [LandscapeProbe(every=5)]) == key(config, [LandscapeProbe(every=5)])
    options = replace(config, norm_options={"momentum": 0.2})
    assert key(config) != key(options) != key(replace(config, norm_options={"momentum": 0.3}))


def test_int_and_float_settings_are_the_same_run():
    assert key(small(lr=1, width=1)) == key(small(lr=1.0, width=1.0))
    assert key(small(steps=np.int64(12))) == key(small(steps=12))
    assert small(lr=1).lr == 1.0 and isinstance(small(lr=1).lr, float)


@pytest.mark.parametrize("bad, message", [
    (dict(lr=True), "lr must be a finite number"),
    (dict(seed=-1), "seed must be a non-negative integer"),
    (dict(data_seed=-3), "data_seed must be a non-negative integer"),
    (dict(seed=1.5), "seed must be an integer"),
    (dict(steps=10.0), "steps must be an integer"),
    (dict(steps=True), "steps must be an integer"),
    (dict(augment="yes"), "augment must be True or False"),
    (dict(norm_options={"momentum": [0.1]}), "must be a number, string, bool or None"),
    (dict(norm_options={"flavour": 1}), "does not accept the options"),
])
def test_bad_settings_are_rejected_with_a_clear_error(bad, message):
    with pytest.raises(ValueError, match=message):
        small(**bad)


def test_unreadable_user_code_is_never_cached_and_said_once(cifar_dir, notebook):
    exec(compile("def peek(ctx):\n    return {'x': 1.0}\n", "<no-source>", "exec"), notebook)  # no linecache entry
    from helpers import FunctionProbe

    probe = FunctionProbe("peek", after=notebook["peek"], every=4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = train(small(steps=4), probes=[probe], progress=False)
        second = train(small(steps=4), probes=[probe], progress=False)
    said = [w for w in caught if "cannot read the source" in str(w.message)]
    assert len(said) == 1 and "peek" in str(said[0].message)
    assert not first.from_cache and not second.from_cache
    assert not list((cifar_dir.parent / "runs").glob("*.npz"))


# --- editing helpers/: run in a copy of the package, in fresh processes ------------------------

RUN_BOTH = """
import json
from helpers import LandscapeProbe, RunConfig, train
config = RunConfig(model="vgg11", width=0.125, norm="batch", lr=0.05, steps=3, batch_size=32, train_size=250,
                   test_size=50, eval_every=3)
plain = train(config, progress=False)
probed = train(config, probes=[LandscapeProbe(every=2, points=2)], progress=False)
print(json.dumps([plain.from_cache, probed.from_cache]))
"""


def run_in(package_root: Path, script: str, env: dict) -> str:
    result = subprocess.run([sys.executable, "-c", script], cwd=package_root, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip().splitlines()[-1]


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


@pytest.fixture
def package_copy(tmp_path, cifar_dir):
    """A copy of helpers/ to edit, and the environment that imports it first."""
    root = tmp_path / "copy"
    shutil.copytree(ROOT / "helpers", root / "helpers", ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "PYTHONPATH": str(root), "PYTHONDONTWRITEBYTECODE": "1"}
    return root, env


def test_edits_to_helpers_miss_the_cache_exactly_where_they_change_code(package_copy):
    root, env = package_copy
    assert json.loads(run_in(root, RUN_BOTH, env)) == [False, False]
    edit(root / "helpers" / "train.py", '"""The training engine', '"""The training engine (edited docstring)')
    edit(root / "helpers" / "probes.py", "        self.w = {}\n", "        self.w = {}  # a new comment\n")
    assert json.loads(run_in(root, RUN_BOTH, env)) == [True, True]
    edit(root / "helpers" / "probes.py", '"g_norm": g_norm,', '"g_norm": g_norm, "extra": 0.0,')
    assert json.loads(run_in(root, RUN_BOTH, env)) == [True, False]  # only the probed run used that code
    edit(root / "helpers" / "train.py", "SYNC_EVERY = 10", "SYNC_EVERY = 5")
    assert json.loads(run_in(root, RUN_BOTH, env)) == [False, False]


def test_a_module_edited_under_a_running_kernel_keeps_its_fingerprint_until_reloaded(package_copy):
    root, env = package_copy
    script = """
import importlib, json, pathlib
import helpers.noise
from helpers.fingerprints import module_fingerprint
before = module_fingerprint("noise")
path = pathlib.Path(helpers.noise.__file__)
path.write_text(path.read_text().replace("return scale * x + shift", "return scale * x - shift"))
unchanged = module_fingerprint("noise") == before
importlib.reload(helpers.noise)
print(json.dumps([unchanged, module_fingerprint("noise") != before]))
"""
    assert json.loads(run_in(root, script, env)) == [True, True]
