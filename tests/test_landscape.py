from dataclasses import replace

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from helpers import build_model  # noqa: E402
from helpers.data import TensorData  # noqa: E402
from helpers.models import DeepLinearNet  # noqa: E402
from helpers.plots import plot_landscape, plot_step_curves  # noqa: E402
from helpers.probes import LandscapeProbe, step_multipliers  # noqa: E402
from helpers.protocol import STEP_POINTS, STEP_RANGES  # noqa: E402
from helpers.runs import ProbeRecords  # noqa: E402
from helpers.summaries import landscape_summary, matched_loss_medians, phase_medians  # noqa: E402
from helpers.train import Task, fit, make_task, train  # noqa: E402
from helpers.widgets import LandscapeExplorer  # noqa: E402

from .test_train import fit_in_float64, same_history, small  # noqa: E402


def test_quadratic_loss_matches_the_closed_forms():
    # One linear layer with the mean squared error: L(W) = (1/m) Σ‖W xᵢ − tᵢ‖², a quadratic with
    # g = (2/m)(W Xᵀ − Tᵀ) X and Hessian acting as D ↦ (2/m) D XᵀX. Along −g:
    # L(W − ηg) = L − η‖g‖² + ½η²⟨g, Hg⟩, ‖g − ∇L(W − ηg)‖ = η‖Hg‖, effective β = ‖Hg‖ / ‖g‖.
    torch.manual_seed(0)
    net = DeepLinearNet(depth=1, in_dim=4, out_dim=3).double()
    x, t = torch.randn(30, 4, dtype=torch.float64), torch.randn(30, 3, dtype=torch.float64)
    W, X, T, m, lr = net.layer(1).weight.detach().numpy().copy(), x.numpy(), t.numpy(), 30, 0.05
    task = Task(TensorData(x, t), TensorData(x, t), regression=True)
    probe = LandscapeProbe(every=1, low=0.5, high=4.0, points=5)
    h = fit(net, task, lr=lr, steps=1, batch_size=m, probes=[probe], progress=False)

    loss = ((W @ X.T - T.T) ** 2).sum() / m
    g = 2 / m * (W @ X.T - T.T) @ X
    hg = 2 / m * g @ X.T @ X
    eta = lr * np.geomspace(0.5, 4.0, 5)
    rec, s = h.probes["landscape"], landscape_summary(h)
    np.testing.assert_allclose(rec["eta"][0], eta)
    expected_loss = loss - eta * (g * g).sum() + 0.5 * eta**2 * (g * hg).sum()
    np.testing.assert_allclose(rec["loss"][0], expected_loss, rtol=1e-10)
    np.testing.assert_allclose(rec["grad_diff"][0], eta * np.linalg.norm(hg), rtol=1e-10)
    np.testing.assert_allclose(rec["grad_norm"][0], [np.linalg.norm(g - e * hg) for e in eta], rtol=1e-10)
    np.testing.assert_allclose(s["beta"][0], np.linalg.norm(hg) / np.linalg.norm(g), rtol=1e-10)
    np.testing.assert_allclose([s["loss_min"][0], s["loss_max"][0]], [expected_loss.min(), expected_loss.max()])
    np.testing.assert_allclose([s["pred_min"][0], s["pred_max"][0]], np.linalg.norm(hg) * eta[[0, -1]])
    np.testing.assert_allclose(s["train_loss"][0], loss, rtol=1e-10)  # a float64 run keeps float64 losses
    np.testing.assert_allclose(rec["g_norm"][0], np.linalg.norm(g), rtol=1e-10)


@pytest.mark.parametrize("norm, momentum", [("none", 0.0), ("batch", 0.9), ("noisy_batch", 0.0)])
def test_probe_leaves_training_exactly_as_it_was(cifar_dir, norm, momentum):
    config = small(norm=norm, momentum=momentum, steps=7)
    plain = train(config, cache=False, progress=False)
    probed = train(config, probes=[LandscapeProbe(every=3, points=3)], cache=False, progress=False)
    assert same_history(plain, probed)
    assert probed.probes["landscape"]["loss"].shape == (3, 3)
    assert probed.probes["landscape"]["step"].tolist() == [0, 3, 6]


def test_probe_leaves_every_parameter_buffer_and_optimizer_state_bit_for_bit(cifar_dir):
    config = small(norm="batch")
    task = make_task(config, torch.device("cpu"))
    states = []
    for probes in ((), (LandscapeProbe(every=1, points=3),)):
        model = build_model("vgg11", "batch", 0.125, seed=0)
        # momentum: the optimizer's buffers feed every later step, so the final weights check them too
        fit(model, task, lr=0.05, momentum=0.9, steps=3, batch_size=32, probes=probes, progress=False)
        states.append(model.state_dict())
        assert model.training  # BN is left in training mode
    assert states[0].keys() == states[1].keys()
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])


@pytest.mark.parametrize("norm", ["batch", "noisy_batch"])
def test_a_vanishing_step_sees_the_training_gradient(cifar_dir, norm):
    # Near η = 0 the probe must see the training loss itself, which needs BN in training mode (the
    # batch's statistics, not the running ones) and, for noisy BN, the same noise as the training pass:
    # then L(w) − L(w − ηg) = η‖g‖² and ‖g − ∇L(w − ηg)‖ = η‖Hg‖ to first order in η. Any other
    # function adds a gap of order 1 that does not shrink with η. In float64, since at η = 1e-10 float32
    # cannot tell w − ηg from w. The second-order terms are about ηβ ≈ 3e-8 of the first (β ≈ 300
    # here) and float64 rounding of the losses 1e-15 of them, so 1e-3 leaves a factor 3e4.
    probe = LandscapeProbe(every=1, low=1e-7, high=2e-7, points=2)
    h = fit_in_float64(small(norm=norm, lr=1e-3, steps=2), probes=[probe])
    rec = h.probes["landscape"]
    drop = h.train_loss[:, None] - rec["loss"]
    np.testing.assert_allclose(drop, rec["eta"] * rec["g_norm"][:, None] ** 2, rtol=1e-3)
    np.testing.assert_allclose(rec["grad_diff"][:, 1] / rec["grad_diff"][:, 0], 2.0, rtol=1e-3)  # linear in η


def test_paper_step_ranges_and_default_points():
    vgg, dln = LandscapeProbe.paper("vgg16", every=5), LandscapeProbe.paper("dln", every=5)
    assert vgg.multipliers[[0, -1]].tolist() == pytest.approx(list(STEP_RANGES["vgg"]))
    assert dln.multipliers[[0, -1]].tolist() == pytest.approx(list(STEP_RANGES["dln"]))
    assert (len(vgg.multipliers), len(dln.multipliers)) == (STEP_POINTS["vgg"], STEP_POINTS["dln"])
    assert 1.0 == pytest.approx(vgg.multipliers[2])  # the step training takes is one of the points
    assert len(LandscapeProbe.paper("dln", every=5, points=4).multipliers) == 4


def test_bad_landscape_arguments():
    with pytest.raises(ValueError, match="every"):
        LandscapeProbe(every=0)
    with pytest.raises(ValueError, match="low < high"):
        step_multipliers(4.0, 0.5, 7)
    with pytest.raises(ValueError, match="2 points"):
        step_multipliers(0.5, 4.0, 1)


def test_summary_of_a_run_without_records_is_an_error(cifar_dir):
    h = train(small(steps=2), probes=[LandscapeProbe(every=5, points=2)], cache=False, progress=False)
    h.probes["landscape"] = ProbeRecords({"step": np.zeros(0, dtype=int)})
    with pytest.raises(ValueError, match="no 'landscape' records"):
        landscape_summary(h)


def synthetic_summary(steps, losses, value):
    n = len(steps)
    return {"step": np.asarray(steps), "train_loss": np.asarray(losses, dtype=float),
            "loss_min": np.zeros(n), "loss_max": np.full(n, 2.0 * value), "loss_range": np.full(n, 2.0 * value),
            "pred_min": np.full(n, value),
            "pred_max": np.full(n, 3.0 * value), "beta": np.asarray(value * np.arange(1, n + 1), dtype=float),
            "rel_pred_max": np.ones(n)}


def test_phase_medians_split_the_run_at_the_early_boundary():
    s = synthetic_summary([0, 10, 20, 30], [2.3, 2.0, 1.0, 0.5], 1.0)  # beta 1, 2, 3, 4
    m = phase_medians(s, early_until=15)
    assert (m["early"]["beta"], m["rest"]["beta"], m["all"]["beta"]) == (1.5, 3.5, 2.5)
    assert m["all"]["loss_range"] == 2.0 and m["rest"]["pred_max"] == 3.0


def test_matched_loss_medians_use_only_the_common_loss_range():
    a = synthetic_summary([0, 10, 20], [2.3, 2.0, 0.5], 1.0)  # beta 1, 2, 3
    b = synthetic_summary([0, 10, 20], [2.2, 2.0, 1.8], 10.0)  # beta 10, 20, 30, all inside
    matched = matched_loss_medians({"a": a, "b": b}, min_probes=1)
    assert matched["range"] == (1.8, 2.2) and matched["counts"] == {"a": 1, "b": 3}
    m = matched["medians"]
    assert m["a"]["beta"] == 2.0  # a's probes at losses 2.3 and 0.5 lie outside the common range
    assert m["b"]["beta"] == 20.0


def test_matched_loss_comparisons_with_too_few_probes_are_refused():
    a = synthetic_summary([0, 10, 20], [2.3, 2.0, 0.5], 1.0)
    b = synthetic_summary([0, 10, 20], [2.2, 2.0, 1.8], 10.0)
    matched = matched_loss_medians({"a": a, "b": b})  # a has one probe in the common range; 5 are needed
    assert matched["refused"] and np.isnan(matched["medians"]["b"]["beta"])


def test_the_early_phase_ends_where_the_loss_leaves_its_plateau():
    from helpers.runs import History
    from helpers.summaries import plateau_end

    loss = np.concatenate([np.full(30, 2.3), np.linspace(2.3, 1.0, 70)])
    h = History(None, np.arange(1, 101), loss, loss * 0, np.zeros(1), np.zeros(1), np.zeros(1), 0.0)
    end = plateau_end(h)
    assert 30 < end < 45 and loss[end - 10:end].mean() < 0.95 * 2.3 <= loss[end - 11:end - 1].mean()
    flat = History(None, np.arange(1, 51), np.full(50, 2.3), np.zeros(50), np.zeros(1), np.zeros(1), np.zeros(1), 0.0)
    assert plateau_end(flat) == 50


@pytest.fixture
def probed_runs(cifar_dir):
    config = small(steps=4)
    return {name: train(replace(config, norm=norm), probes=[LandscapeProbe(every=2, points=3)],
                        cache=False, progress=False) for name, norm in (("Standard", "none"), ("BN", "batch"))}


def test_landscape_plot_has_a_band_per_network_and_the_stability_line(probed_runs):
    summaries = {name: landscape_summary(h) for name, h in probed_runs.items()}
    fig = plot_landscape(summaries)
    loss_ax, pred_ax, beta_ax = fig.axes
    assert len([c for c in loss_ax.collections if c.get_label() in summaries]) == 2
    assert pred_ax.get_yscale() == beta_ax.get_yscale() == "log"
    assert any(np.allclose(line.get_ydata(), 2 / 0.05) for line in beta_ax.lines)


def test_landscape_explorer_shows_the_stored_curves_of_the_chosen_step(probed_runs):
    explorer = LandscapeExplorer(probed_runs)
    assert explorer.step.options == (0, 2)
    explorer.step.value = 2
    explorer.max_step.value = float(explorer.max_step.options[0][1])
    curves = explorer.curves()
    np.testing.assert_array_equal(curves["BN"]["loss"], probed_runs["BN"].probes["landscape"]["loss"][1])
    fig = plot_step_curves(curves, explorer.max_step.value)
    assert len(fig.axes[0].lines[0].get_xdata()) == 2  # points up to the chosen maximum step length
