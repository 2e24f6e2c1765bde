"""``python -m helpers.precompute`` in the ``ci`` profile on the CPU: it computes exactly what the
notebooks train, a notebook executed afterwards trains nothing, Ctrl-C loses at most the run in
progress, and bad arguments get a clear error."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
import torch

from helpers import precompute
from helpers.notebook_kernel import notebook_client
from helpers.notebook_runs import NOTEBOOKS, notebook_runs
from helpers.profiles import PROFILES

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"


@pytest.fixture
def ci_runs(tmp_path, monkeypatch):
    """The ci profile on the CPU, with an empty run cache; the real CIFAR-10 copy (BN_DATA_DIR)."""
    runs = tmp_path / "runs"
    monkeypatch.setenv("BN_RUNS_DIR", str(runs))
    monkeypatch.setenv("BN_PROFILE", "ci")
    monkeypatch.setenv("BN_DEVICE", "cpu")
    monkeypatch.delenv("BN_CACHED_ONLY", raising=False)
    monkeypatch.delenv("BN_FAST", raising=False)
    return runs


def cached(folder: Path) -> set[str]:
    return {p.stem for p in folder.glob("*.npz")} if folder.is_dir() else set()


def execute(notebook: str) -> None:
    path = next(NOTEBOOK_DIR.glob(f"{notebook}_*.ipynb"))
    nb = nbformat.read(path, as_version=4)
    notebook_client(nb, timeout=600, resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
                    allow_errors=False).execute()


def planned_keys(notebooks: list[str]) -> set[str]:
    units = precompute.plan(notebooks, PROFILES["ci"], torch.device("cpu"))
    return {key for unit in units for key in unit.keys}


@pytest.mark.parametrize("notebook", ["04", "08"])
def test_precompute_trains_what_the_notebook_trains_and_the_notebook_then_trains_nothing(notebook, ci_runs,
                                                                                         tmp_path, monkeypatch):
    execute(notebook)  # as a student would, into an empty cache
    by_notebook = cached(ci_runs)
    assert by_notebook and by_notebook <= planned_keys([notebook])  # the list holds every run it trained

    computed = tmp_path / "precomputed"
    monkeypatch.setenv("BN_RUNS_DIR", str(computed))
    assert precompute.main(["--notebooks", notebook, "--no-estimate"]) == 0
    assert cached(computed) == by_notebook  # the same runs, under the same keys

    monkeypatch.setenv("BN_CACHED_ONLY", "1")  # any run not in the cache would now raise
    execute(notebook)
    assert cached(computed) == by_notebook


def test_list_shows_every_group_and_dry_run_trains_nothing(ci_runs, capsys):
    assert precompute.main(["--list", "--no-estimate"]) == 0
    shown = capsys.readouterr().out
    for name in NOTEBOOKS:
        for group in notebook_runs(name, "ci"):
            assert group in shown
    assert "total:" in shown and "to train" in shown
    assert precompute.main(["--dry-run", "--notebooks", "07"]) == 0  # with the timed estimate
    shown = capsys.readouterr().out
    assert "dry run: nothing was trained" in shown and "estimated" in shown
    assert not cached(ci_runs)


def test_an_interrupted_precompute_resumes_where_it_stopped(ci_runs):
    command = [sys.executable, "-m", "helpers.precompute", "--notebooks", "02", "--no-estimate"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=os.environ)
    deadline = time.monotonic() + 300
    while not cached(ci_runs) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)  # Ctrl-C while the second run trains
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 130, output
    assert "interrupted" in output and "run the same command again to resume" in output
    done, total = cached(ci_runs), planned_keys(["02"])
    assert 1 <= len(done) < len(total) and done <= total
    assert not list(ci_runs.glob(".*.tmp"))  # nothing half-written

    again = subprocess.run(command, capture_output=True, text=True, env=os.environ, timeout=600)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"({len(done)} already cached)" in again.stdout
    assert cached(ci_runs) == total


def test_runs_spread_over_two_devices_land_in_one_cache(ci_runs, capsys):
    assert precompute.main(["--notebooks", "07", "--devices", "cpu,cpu", "--no-estimate"]) == 0
    assert cached(ci_runs) == planned_keys(["07"])
    assert f"{len(planned_keys(['07']))} runs trained" in capsys.readouterr().out


@pytest.mark.parametrize("arguments, message", [
    (["--notebooks", "12"], "unknown notebook '12'"),
    (["--profile", "gpu"], "unknown profile 'gpu'"),
    (["--fast", "fp8"], "not a speed mode"),
    (["--fast", "tf32"], "GPU-only"),
    (["--devices", "cuda:0"], "no CUDA GPU"),
])
def test_bad_arguments_get_a_clear_error(arguments, message, ci_runs, capsys):
    if torch.cuda.is_available() and message in ("GPU-only", "no CUDA GPU"):
        pytest.skip("this machine has a GPU")
    with pytest.raises(SystemExit) as exit_:
        precompute.main(arguments)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_a_worker_whose_cache_keys_differ_from_the_drivers_names_the_difference_and_trains_nothing(ci_runs):
    units = [u for u in precompute.plan(["07"], PROFILES["ci"], torch.device("cpu")) if not u.shared_with]
    here = precompute.what_keys_depend_on(torch.device("cpu"), "ci")
    precompute.check_share([u.keys for u in units], units, here, here)  # the same keys: nothing to say
    driver = {**here, "torch": "2.2.2"}  # as if the driver ran another torch build, so its keys differ
    with pytest.raises(precompute.WorkerMismatch, match="torch: '2.2.2' in the driver, .* here"):
        precompute.check_share([("another key",)], units, driver, here)
    queue = _ListQueue()
    precompute._worker("cpu", [("another key",)], driver, ["07"], "ci", 1, queue)
    assert len(queue) == 1 and "torch: '2.2.2' in the driver" in queue[0]
    assert not cached(ci_runs)  # it stopped before training anything


def test_precompute_fails_when_its_workers_would_train_under_other_keys(ci_runs, monkeypatch, capsys):
    real_plan = precompute.plan

    def drivers_plan(*args, **kwargs):  # the driver's keys no longer match what its workers compute
        return [precompute.Unit(u.notebook, u.group, tuple(k + "-elsewhere" for k in u.keys), u.todo, u.seconds,
                                u.shared_with) for u in real_plan(*args, **kwargs)]

    monkeypatch.setattr(precompute, "plan", drivers_plan)
    assert precompute.main(["--notebooks", "07", "--devices", "cpu,cpu", "--no-estimate"]) == 1
    err = capsys.readouterr().err
    assert "computes other cache keys than the driver" in err and "the run definitions differ" in err
    assert not cached(ci_runs)


def test_devices_of_two_kinds_are_refused(ci_runs, monkeypatch, capsys):
    monkeypatch.setattr(precompute, "pick_device", lambda name=None: torch.device(name or "cpu"))
    with pytest.raises(SystemExit) as exit_:
        precompute.main(["--devices", "cuda:0,cpu", "--no-estimate"])
    assert exit_.value.code == 2 and "mixes cpu and cuda" in capsys.readouterr().err


class _ListQueue(list):
    put = list.append
