import numpy as np
import pytest
import torch

from helpers import FunctionProbe, GradientICSProbe, LandscapeProbe, RunConfig, build_model, train
from helpers import ensemble as ensemble_module
from helpers.ensemble import build_ensemble, ensemble_task, train_ensemble
from helpers.runs import History, load_run
from helpers.train import fit, make_task, run_record

from .test_train import in_float64
from .tolerances import FLOAT64_RTOL, gamma

CPU = torch.device("cpu")


@pytest.fixture
def runs_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("BN_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("BN_DEVICE", "cpu")
    return tmp_path / "runs"


def dln(seed: int = 0, **overrides) -> RunConfig:
    base = dict(model="dln", norm="none", lr=1e-4, steps=40, batch_size=64, train_size=64, test_size=64,
                eval_every=10, seed=seed, data_seed=seed + 10)
    return RunConfig(**{**base, **overrides})


def probes() -> list:
    return [GradientICSProbe([2, 13, 24], every=15), LandscapeProbe.paper("dln", every=20, points=4),
            LandscapeProbe.paper("dln", every=20, points=4, unit_step=True)]


def assert_same_run(single: History, member: History, rtol: float) -> None:
    """Equal up to float rounding. ``grad_diff``, a difference of two gradients that may nearly cancel,
    is compared on the scale of the two gradients (‖G′‖ ≤ ‖G‖ + ‖G − G′‖ for the ICS probe)."""
    assert member.steps.tolist() == single.steps.tolist() and member.eval_steps.tolist() == single.eval_steps.tolist()
    np.testing.assert_allclose(member.train_loss, single.train_loss, rtol=rtol)
    np.testing.assert_allclose(member.test_loss, single.test_loss, rtol=rtol)
    assert member.probes.keys() == single.probes.keys()
    for name, records in single.probes.items():
        got = member.probes[name]
        assert got.settings == records.settings and got.keys() == records.keys()
        assert got["step"].tolist() == records["step"].tolist()
        for key, expected in records.items():
            assert got[key].shape == expected.shape, (name, key)
            if key == "grad_diff":
                other = records["grad_norm"] if "grad_norm" in records else expected
                scale = np.reshape(records["g_norm"], (len(expected), -1)) + other
                assert np.all(np.abs(got[key] - expected) <= rtol * scale), (name, key)
            else:
                np.testing.assert_allclose(got[key], expected, rtol=rtol, atol=rtol if key == "cosine" else 0)


# The same maths two ways (products and BN statistics summed in another order), so in float64: the
# members' rounding differences start at u₆₄ = 1.1e-16 instead of u₃₂ = 6e-8. Training amplifies them:
# in float32 this very comparison differs by up to 1.7e-3 relative after 40 steps (ℓ1 at lr 1e-5, on an
# Intel Xeon; 3.4e-7 on an AMD EPYC), an amplification of up to 3e4. The same amplification of float64's
# rounding is 3e-12, a factor 300 inside FLOAT64_RTOL, while a wrong step or record is off by 1e-3 or more.
# Learning rates at which the loss falls by 3-25 % in 40 steps, so the comparison can see a wrong step.
@pytest.mark.parametrize("norm, lr", [("none", 1e-4), ("batch", 1e-5), ("l1", 1e-5)])
def test_members_equal_their_single_runs_with_probe_records_in_float64(norm, lr):
    configs = [dln(seed, norm=norm, lr=lr) for seed in range(3)]
    settings = dict(lr=lr, steps=40, batch_size=64, eval_every=10, progress=False)
    ensemble = build_ensemble(norm, [c.seed for c in configs]).double()
    members = fit(ensemble, in_float64(ensemble_task(configs, CPU)), probes=probes(), seed=configs[0].seed,
                  **settings)
    for config, member in zip(configs, members):
        model = build_model("dln", norm, seed=config.seed).double()
        single = fit(model, in_float64(make_task(config, CPU)), probes=probes(), seed=config.seed, **settings)
        assert single.train_loss[-1] < 0.97 * single.train_loss[0]  # training moved: the test can see a wrong step
        assert not member.diverged and member.finished
        assert member.probes["ics"]["grad_diff"].shape == (3, 3)  # records × layers, as for a single run
        assert_same_run(single, member, FLOAT64_RTOL)


def test_train_ensemble_is_fit_on_the_ensemble_with_each_members_configuration(runs_dir):
    # train_ensemble only wires configurations to build_ensemble, ensemble_task and fit: the same calls
    # on the same inputs in one process, so its members equal the direct calls' bit for bit.
    norm = "l1"
    configs = [dln(seed, norm=norm, lr=1e-5) for seed in range(3)]
    members = train_ensemble(configs, probes=probes(), cache=False, progress=False)
    direct = fit(build_ensemble(norm, [0, 1, 2]), ensemble_task(configs, CPU), lr=1e-5, steps=40, batch_size=64,
                 eval_every=10, probes=probes(), progress=False)
    for config, member, expected in zip(configs, members, direct):
        assert member.config == config and member.record == {**run_record(config, probes(), CPU), "batched": True}
        assert all(np.array_equal(getattr(member, k), getattr(expected, k), equal_nan=True) for k in History.ARRAYS)
        for name, records in expected.probes.items():
            assert all(np.array_equal(member.probes[name][k], v) for k, v in records.items())


@pytest.mark.parametrize("norm", ["none", "batch", "l1", "l2", "linf"])
def test_ensemble_starts_from_each_members_single_model(norm):
    seeds = [4, 0, 9]
    ens = build_ensemble(norm, seeds)
    assert ens.members == 3 and len(ens.layers) == 25 and ens.layer(25).weight.shape == (3, 10, 10)
    for k, seed in enumerate(seeds):  # copied weights: exact
        single = build_model("dln", norm, seed=seed)
        assert all(torch.equal(ens.layer(i).weight[k], single.layer(i).weight) for i in range(1, 26))
    # The same 25 layers computed two ways (batched products, BN's reductions over other layouts): float64.
    # In float32 ℓ∞ carries the rounding furthest (it divides by one value per unit), 1e-5 relative.
    ens = ens.double()
    x = torch.randn(32, 3, 10, dtype=torch.float64)
    out = ens(x)
    for k, seed in enumerate(seeds):
        expected = build_model("dln", norm, seed=seed).double()(x[:, k]).detach()
        torch.testing.assert_close(out[:, k].detach(), expected, rtol=FLOAT64_RTOL,
                                   atol=FLOAT64_RTOL * float(expected.abs().max()))
    if norm != "none":
        assert ens.layer(1).norm.weight.shape == (30,)  # one norm layer over E × features, member-major


def test_a_diverging_member_is_cut_and_marked_while_the_others_finish():
    configs = [dln(seed, lr=1e-3, steps=60) for seed in range(3)]
    task = ensemble_task(configs, torch.device("cpu"))
    task.train.x[:, 1] *= 30  # member 1's task is 900× steeper: at the shared learning rate it blows up
    kwargs = dict(lr=1e-3, steps=60, batch_size=64, eval_every=10, progress=False)
    a, b, c = fit(build_ensemble("none", [0, 1, 2]), task, **kwargs)
    assert b.diverged and 1 < len(b.steps) < 60
    assert not np.isfinite(b.train_loss[-1]) and np.all(np.isfinite(b.train_loss[:-1]))
    assert b.eval_steps.max() < b.steps[-1] and b.final() == float("inf")
    for member in (a, c):
        assert not member.diverged and member.finished and len(member.steps) == 60
        assert np.all(np.isfinite(member.train_loss)) and member.eval_steps.tolist() == [0, 10, 20, 30, 40, 50, 60]


def test_the_run_stops_when_every_member_has_diverged():
    configs = [dln(seed) for seed in range(2)]
    model = build_ensemble("none", [0, 1])
    with torch.no_grad():
        model.layer(3).weight.fill_(float("nan"))
    histories = fit(model, ensemble_task(configs, torch.device("cpu")), lr=1e-4, steps=100, batch_size=64,
                    progress=False)
    assert all(h.diverged and len(h.steps) == 1 and h.planned_steps == 100 for h in histories)


def test_each_member_is_cached_on_its_own_and_only_missing_members_train(runs_dir, monkeypatch):
    trained = []
    real_fit = ensemble_module.fit

    def counting_fit(model, task, **kwargs):
        trained.append(model.members)
        return real_fit(model, task, **kwargs)

    monkeypatch.setattr(ensemble_module, "fit", counting_fit)
    first = train_ensemble([dln(0), dln(1)], progress=False)
    again = train_ensemble([dln(0), dln(1)], progress=False)
    assert trained == [2] and all(h.from_cache for h in again)
    assert all(np.array_equal(a.train_loss, b.train_loss) for a, b in zip(first, again))
    mixed = train_ensemble([dln(1), dln(2)], progress=False)
    assert trained == [2, 1] and [h.from_cache for h in mixed] == [True, False]
    assert mixed[1].config == dln(2) and mixed[1].record["batched"] is True
    # a batched result equals the single run only to a tolerance: it never stands in for one
    assert load_run(run_record(dln(2), (), torch.device("cpu"))) is None


@pytest.mark.parametrize("change, message", [
    (dict(lr=1e-3), "differ in lr"),
    (dict(model="vgg11", batch_size=32, train_size=250), "DLN runs only"),
])
def test_configurations_that_cannot_share_an_ensemble_are_refused(change, message):
    with pytest.raises(ValueError, match=message):
        train_ensemble([dln(0), dln(1, **change)], cache=False, progress=False)


@pytest.mark.parametrize("change, message", [
    (dict(norm="noisy_batch"), "supports the norms none, batch, l1, l2, linf only"),
    (dict(batch_size=16), "full-batch"),
])
def test_unsupported_norms_and_mini_batches_are_refused(change, message):
    with pytest.raises(ValueError, match=message):
        train_ensemble([dln(0, **change), dln(1, **change)], cache=False, progress=False)
    if "norm" in change:
        with pytest.raises(ValueError, match=message):
            build_ensemble(change["norm"], [0, 1])


def test_a_probe_record_without_a_member_axis_is_refused_on_an_ensemble():
    configs = [dln(seed) for seed in range(2)]
    probe = FunctionProbe("scalar", after=lambda ctx: {"loss": 1.0})
    with pytest.raises(ValueError, match="leading member axis"):
        fit(build_ensemble("none", [0, 1]), ensemble_task(configs, torch.device("cpu")), lr=1e-4, steps=2,
            batch_size=64, probes=[probe], progress=False)


def test_ics_probe_records_the_norm_of_the_training_gradient(runs_dir):
    layers = [2, 13]
    grads = FunctionProbe("grads", every=5, after=lambda ctx: {
        "norm": np.array([float(ctx.model.layer(i).weight.grad.norm()) for i in layers])})
    h = train(dln(0, norm="batch", steps=10), probes=[GradientICSProbe(layers, every=5), grads], cache=False,
              progress=False)
    assert h.probes["ics"]["g_norm"].shape == (2, 2)
    # two float32 norms of the same 100 numbers, each within γ₁₀₂ of the exact one, in any order
    np.testing.assert_allclose(h.probes["ics"]["g_norm"], h.probes["grads"]["norm"], rtol=2 * gamma(102))
