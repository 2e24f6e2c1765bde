import os

import numpy as np
import pytest
import torch

from helpers import FunctionProbe, RunConfig, build_model, fit, train
from helpers.data import TensorData
from helpers.runs import History, load_run, run_path
from helpers.train import Task, make_task


def small(**overrides) -> RunConfig:
    base = dict(model="vgg11", width=0.125, norm="batch", lr=0.05, steps=12, batch_size=32, train_size=250,
                test_size=50, eval_every=5)
    return RunConfig(**{**base, **overrides})


def same_history(a: History, b: History) -> bool:
    return all(np.array_equal(getattr(a, k), getattr(b, k)) for k in History.ARRAYS)


def in_float64(task: Task) -> Task:
    """The same data in float64 (class labels stay integers)."""
    def convert(d: TensorData) -> TensorData:
        return TensorData(d.x.double(), d.y.double() if d.y.is_floating_point() else d.y)

    return Task(convert(task.train), convert(task.test), regression=task.regression)


def fit_in_float64(config: RunConfig, probes=()) -> History:
    """What ``train(config, probes=probes)`` computes, in float64: the same initial weights (drawn in
    float32, then widened), data, batches and seed; for comparing the same maths computed two ways."""
    model = build_model(config.model, config.norm, config.width, seed=config.seed, **config.norm_options)
    model = model.double().to(memory_format=torch.channels_last)
    history = fit(model, in_float64(make_task(config, torch.device("cpu"))), lr=config.lr, steps=config.steps,
                  batch_size=config.batch_size, momentum=config.momentum, seed=config.seed,
                  eval_every=config.eval_every, augment=config.augment, probes=probes, progress=False)
    history.config = config
    return history


def test_history_has_per_step_training_and_interval_test_records(cifar_dir):
    h = train(small(), progress=False)
    assert h.steps.tolist() == list(range(1, 13))
    assert h.train_loss.shape == h.train_acc.shape == (12,)
    assert h.eval_steps.tolist() == [0, 5, 10, 12]
    assert np.all((0 <= h.test_acc) & (h.test_acc <= 1)) and np.all(np.isfinite(h.test_loss))
    assert h.wall_time > 0 and not h.diverged and not h.interrupted
    assert h.config.lr == 0.05 and h.record["device"] == "cpu" and h.finished


def test_same_seed_gives_the_same_history_bit_for_bit(cifar_dir):
    a = train(small(norm="none", augment=True), cache=False, progress=False)
    b = train(small(norm="none", augment=True), cache=False, progress=False)
    assert same_history(a, b)
    c = train(small(norm="none", augment=True, seed=1), cache=False, progress=False)
    assert not np.array_equal(a.train_loss, c.train_loss)


def test_plain_sgd_lowers_the_training_loss_on_a_fixed_batch(cifar_dir):
    config = small(norm="batch", lr=0.05, batch_size=250, steps=20)  # full batch: no sampling noise
    h = train(config, cache=False, progress=False)
    assert h.train_loss[-1] < h.train_loss[0]


def test_a_nan_loss_stops_the_run_and_marks_it_diverged(cifar_dir):
    h = train(small(norm="none", lr=1e4, steps=40), progress=False)
    assert h.diverged and len(h.steps) < 40
    assert not np.isfinite(h.train_loss[-1]) and np.all(np.isfinite(h.train_loss[:-1]))
    assert h.eval_steps.max() <= h.steps[-1]
    assert h.final("train_loss") == float("inf")
    assert load_run(h.record).diverged  # a divergence is a result: it is cached


def test_final_value_averages_the_last_five_percent_of_steps():
    steps = np.arange(1, 401)
    h = History(None, steps, steps.astype(float), steps * 0.0, np.array([0]), np.array([1.0]), np.array([0.1]), 1.0)
    assert h.final("train_loss") == np.mean(np.arange(381, 401))  # 20 = 5% of 400
    assert h.final("train_loss", last=2) == 399.5


def test_ctrl_c_returns_the_partial_history_and_caches_nothing(cifar_dir):
    def interrupt(ctx):
        if ctx.step == 7:
            raise KeyboardInterrupt

    h = train(small(), probes=[FunctionProbe("stop", before=interrupt)], progress=False)
    assert h.interrupted and not h.finished and h.steps.tolist() == list(range(1, 8))
    assert not run_path(h.record).exists()


def test_probes_run_every_k_steps_on_the_current_batch(cifar_dir):
    seen = []

    def record(ctx):
        seen.append(ctx.step)
        assert ctx.x.shape == (32, 3, 32, 32) and ctx.y.shape == (32,) and ctx.lr == 0.05
        with torch.no_grad():
            loss = ctx.loss_fn(ctx.model(ctx.x), ctx.y)
        return {"loss": float(loss), "w1_norm": ctx.model.layer(1).weight.detach().flatten(1).norm(dim=1)}

    h = train(small(), probes=[FunctionProbe("norms", before=record, every=4)], progress=False)
    assert seen == [0, 4, 8]
    rec = h.probes["norms"]
    assert rec["step"].tolist() == [0, 4, 8] and rec["w1_norm"].shape == (3, 8) and rec["loss"].shape == (3,)
    again = train(small(), probes=[FunctionProbe("norms", before=record, every=4)], progress=False)
    assert again.from_cache and np.array_equal(again.probes["norms"]["w1_norm"], rec["w1_norm"])


def test_run_cache_reuses_same_config_and_force_recomputes(cifar_dir):
    first = train(small(), progress=False)
    path = run_path(first.record)
    assert path.is_file() and path.parent == cifar_dir.parent / "runs"
    second = train(small(), progress=False)
    assert second.from_cache and same_history(first, second) and second.wall_time == first.wall_time
    forced = train(small(), force=True, progress=False)
    assert not forced.from_cache and same_history(first, forced)
    assert not train(small(lr=0.04), progress=False).from_cache
    with np.load(path, allow_pickle=False) as z:  # plain arrays and a JSON string only
        assert "record_json" in z.files
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_cache_can_be_switched_off(cifar_dir):
    h = train(small(), cache=False, progress=False)
    assert not run_path(h.record).exists()


def test_read_only_data_dir_is_never_written(cifar_dir):
    os.chmod(cifar_dir / "cifar10", 0o555)
    try:
        h = train(small(), progress=False)
        assert run_path(h.record).is_file()
        assert sorted(p.name for p in (cifar_dir / "cifar10").iterdir()) == ["test.npz", "train.npz"]
    finally:
        os.chmod(cifar_dir / "cifar10", 0o755)


@pytest.mark.parametrize("bad, message", [
    (dict(lr=0.0), "learning rate must be a positive"),
    (dict(lr=-0.1), "learning rate must be a positive"),
    (dict(lr=float("nan")), "lr must be a finite number"),
    (dict(steps=0), "steps must be a positive integer"),
    (dict(norm="instance"), "unknown norm 'instance'; choose one of: none, batch"),
    (dict(model="vgg7"), "unknown model 'vgg7'"),
    (dict(batch_size=300), "batch size 300 is larger than the training set"),
])
def test_bad_input_is_a_clear_error(bad, message):
    with pytest.raises(ValueError, match=message):
        small(**bad)


def test_profile_config_for_vgg_and_dln(monkeypatch):
    monkeypatch.setenv("BN_PROFILE", "paper")
    vgg = RunConfig.from_profile(norm="batch")
    assert (vgg.model, vgg.batch_size, vgg.steps, vgg.momentum, vgg.augment) == ("vgg16", 128, 15_000, 0.0, False)
    dln = RunConfig.from_profile(model="dln")
    assert dln.lr == 1e-6 and dln.steps == 10_000 and dln.batch_size == dln.train_size  # full batch


def test_dln_trains_with_full_batch_gradient_descent(monkeypatch):
    monkeypatch.setenv("BN_RUNS_DIR", "/nonexistent-never-written")
    config = RunConfig.from_profile("ci", model="dln", steps=50, eval_every=25)
    h = train(config, cache=False, progress=False)
    assert h.train_loss[-1] < h.train_loss[0] and np.isnan(h.train_acc).all()
    assert h.eval_steps.tolist() == [0, 25, 50]


def test_fit_trains_a_model_you_built(cifar_dir):
    config = small()
    model = build_model("vgg11", "batch", 0.125, seed=0).to(memory_format=torch.channels_last)
    task = make_task(config, torch.device("cpu"))
    h = fit(model, task, lr=0.05, steps=12, batch_size=32, eval_every=5, progress=False)
    assert same_history(h, train(config, cache=False, progress=False))


def test_probe_settings_with_numpy_values_are_stored_as_plain_numbers(cifar_dir):
    probe = FunctionProbe("peek", after=lambda ctx: {"lr": ctx.lr}, every=5,
                          settings={"scale": np.float32(0.5), "layers": np.arange(2)})
    first = train(small(steps=5), probes=[probe], progress=False)
    again = train(small(steps=5), probes=[probe], progress=False)
    assert not first.from_cache and again.from_cache
    assert again.probes["peek"].settings == {"every": 5, "scale": 0.5, "layers": [0, 1]}
