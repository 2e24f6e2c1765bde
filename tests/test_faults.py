"""Faults lose nothing and explain themselves: damaged files, read-only caches, Ctrl-C, hooks."""

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch

from helpers import FunctionProbe, Probe, build_model, cifar10_files, experiments, fit, train
from helpers.data import DatasetDamagedError, DatasetNotFoundError, load_cifar10
from helpers.experiments import lr_sweep, train_grid
from helpers.runs import run_path
from helpers.train import make_task

from .test_train import same_history, small


def test_a_damaged_cached_run_is_reported_recomputed_and_overwritten(cifar_dir):
    first = train(small(), progress=False)
    path = run_path(first.record)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # truncated, as by a full disk
    with pytest.warns(UserWarning, match=f"{path}.*cannot be read.*recomputing"):
        again = train(small(), progress=False)
    assert not again.from_cache and same_history(first, again)
    assert train(small(), progress=False).from_cache  # overwritten with a good file


def test_a_cache_that_cannot_be_written_warns_once_and_loses_no_run(cifar_dir, monkeypatch, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("BN_RUNS_DIR", str(blocker / "runs"))  # cannot be created, like a read-only checkout
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = train(small(), progress=False)
        second = train(small(lr=0.04), progress=False)
    said = [w for w in caught if "cannot write the run cache" in str(w.message)]
    assert len(said) == 1 and "BN_RUNS_DIR" in str(said[0].message)
    assert first.finished and second.finished and not second.from_cache


def test_a_failed_write_leaves_no_temporary_file(cifar_dir, monkeypatch):
    def refuse(src, dst):
        raise PermissionError(13, "Permission denied", str(dst))

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.warns(UserWarning, match="cannot write the run cache"):
        h = train(small(), progress=False)
    assert h.finished
    assert not list((cifar_dir.parent / "runs").iterdir())


def test_a_truncated_cifar_file_names_itself_and_the_fix(cifar_dir):
    path = cifar_dir / "cifar10" / "train.npz"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(DatasetDamagedError) as err:
        load_cifar10("train")
    message = str(err.value)
    assert str(path) in message and "Delete it and run again" in message and "BN_DATA_DIR" in message
    assert err.value.__context__ is None  # the message stands alone


def test_the_offline_data_error_stands_alone_and_says_to_restart(tmp_path, monkeypatch):
    monkeypatch.setattr(cifar10_files, "CIFAR10_URL", "http://127.0.0.1:9/cifar-10-python.tar.gz")  # refused
    monkeypatch.delenv("BN_NO_DOWNLOAD", raising=False)
    with pytest.raises(DatasetNotFoundError) as err:
        load_cifar10("train", root=tmp_path / "data")
    assert err.value.__cause__ is None and err.value.__context__ is None
    assert "restart the kernel" in str(err.value) and "download failed" in str(err.value)


class CtrlC(Probe):
    """Raises KeyboardInterrupt at ``step`` of the ``run``-th run it takes part in, as Ctrl-C would."""

    def __init__(self, run: int, step: int):
        super().__init__("ctrl_c")
        self.run, self.step, self.runs = run, step, 0

    def start(self, model):
        self.runs += 1

    def before(self, ctx):
        if self.runs == self.run and ctx.step == self.step:
            raise KeyboardInterrupt


def test_one_ctrl_c_stops_the_whole_grid_and_returns_what_finished(cifar_dir, capsys):
    runs = train_grid(small(steps=6), [0.01, 0.05], probes=[CtrlC(run=3, step=3)], seeds=[0, 1], progress=False)
    assert list(runs) == [("Standard", 0.01), ("Standard", 0.05)]
    assert all(h.finished for h in runs["Standard", 0.01])
    assert runs["Standard", 0.05][0].interrupted and len(runs["Standard", 0.05]) == 1  # seed 1 never started
    assert "2 not started" in capsys.readouterr().out


def test_an_interrupted_sweep_marks_what_is_missing(cifar_dir, monkeypatch):
    calls = []

    def train_until_ctrl_c(config, **kwargs):
        calls.append(config)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return train(config, **kwargs)

    monkeypatch.setattr(experiments, "train", train_until_ctrl_c)
    sweep = lr_sweep(small(steps=4), [0.01, 0.05], seeds=[0, 1], progress=False)
    assert not sweep.complete
    assert sweep.interrupted["Standard"].tolist() == [[False, False], [True, True]]  # lrs × seeds
    assert sweep.interrupted["BN"].all() and np.isnan(sweep.final_loss["BN"]).all()
    assert not sweep.diverged["BN"].any() and np.isnan(sweep.largest_trainable_lr("BN")).all()


class Hooked(Probe):
    """Installs a hook on layer 1's norm at every step, as the activation probe does."""

    def __init__(self):
        super().__init__("hooked")

    def before(self, ctx):
        ctx.add_hook(ctx.model.layer(1).norm, lambda module, inputs, output: None)


@pytest.mark.parametrize("fault", [KeyboardInterrupt, RuntimeError])
def test_hooks_are_removed_when_the_step_fails_or_is_interrupted(cifar_dir, fault):
    model = build_model("vgg11", "batch", 0.125, seed=0)
    task = make_task(small(), torch.device("cpu"))

    def fail(ctx):
        if ctx.step == 2:
            raise fault("stop")

    probes = [Hooked(), FunctionProbe("fail", before=fail)]  # fails after the hook is in place
    if fault is KeyboardInterrupt:
        h = fit(model, task, lr=0.05, steps=5, batch_size=32, probes=probes, progress=False)
        assert h.interrupted and len(h.steps) == 2
    else:
        with pytest.raises(RuntimeError, match="stop"):
            fit(model, task, lr=0.05, steps=5, batch_size=32, probes=probes, progress=False)
    assert not any(m._forward_hooks for m in model.modules())


def test_probes_need_distinct_names(cifar_dir):
    with pytest.raises(ValueError, match="share a name"):
        train(small(), probes=[Hooked(), Hooked()], cache=False, progress=False)


def test_the_training_engine_imports_neither_widgets_nor_matplotlib():
    script = ("import sys, helpers.train, helpers.experiments, helpers.summaries; "
              "print(sorted(m for m in ('ipywidgets', 'matplotlib') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
