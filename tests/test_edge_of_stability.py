"""Notebook 08's experiments: full-batch runs with λ_max, their summaries, λ_max at saved points,
and the top-down search for the largest learning rate that trains."""

import matplotlib

matplotlib.use("Agg")

from dataclasses import replace  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from helpers import edge_of_stability as eos  # noqa: E402
from helpers.profiles import PROFILES  # noqa: E402
from helpers.runs import History  # noqa: E402
from helpers.saved_points import SavePointsProbe  # noqa: E402
from helpers.sharpness import SharpnessProbe  # noqa: E402
from helpers.train import train  # noqa: E402

from .test_train import small  # noqa: E402


def test_full_batch_config_uses_every_training_image_at_every_step():
    for profile in PROFILES.values():
        config = eos.full_batch_config(profile, lr=0.05)
        assert config.batch_size == config.train_size == profile.full_batch_images
        assert config.width == profile.small_width and config.lr == 0.05


def test_full_batch_runs_last_the_same_gradient_flow_time_at_every_learning_rate():
    profile = PROFILES["laptop"]
    assert eos.full_batch_config(profile, lr=eos.STEPS_AT_LR).steps == profile.full_batch_steps
    assert eos.full_batch_config(profile, lr=0.05).steps == 2 * profile.full_batch_steps  # η·t the same
    assert eos.full_batch_steps(0.2, profile) == profile.full_batch_steps // 2
    with pytest.raises(ValueError, match="positive"):
        eos.full_batch_steps(0.0, profile)


def test_sharpness_probe_measures_the_profiles_count_per_run():
    probe = eos.sharpness_probe(200, PROFILES["laptop"])
    assert probe.every == 200 // PROFILES["laptop"].sharpness_probes
    assert probe.iterations == eos.ITERATIONS and probe.tol == eos.TOLERANCE


def fake_run(lam, lr=0.1, loss=None, diverged=False) -> History:
    """A History with sharpness records λ_max = ``lam`` at steps 0, 10, 20, ..."""
    from helpers.runs import ProbeRecords

    lam = np.asarray(lam, dtype=float)
    steps = np.arange(len(lam)) * 10
    n = int(steps[-1]) + 10
    train_loss = np.linspace(2.3, 1.0, n) if loss is None else np.asarray(loss, dtype=float)
    records = ProbeRecords({"step": steps, "lambda_max": lam, "weight_norm": np.full(len(lam), 2.0),
                            "converged": np.ones(len(lam), bool), "hvps": np.full(len(lam), 5),
                            "residual": np.zeros(len(lam))}, {"lr": lr})
    return History(config=None, steps=np.arange(1, n + 1), train_loss=train_loss, train_acc=np.zeros(n),
                   eval_steps=np.array([0]), test_loss=np.array([2.3]), test_acc=np.array([0.1]), wall_time=1.0,
                   diverged=diverged, planned_steps=n, probes={"sharpness": records})


def test_sharpness_summary_puts_lambda_max_in_units_of_the_stability_limit():
    s = eos.sharpness_summary(fake_run([1.0, 10.0, 20.0, 40.0], lr=0.1))
    assert s["edge"].tolist() == pytest.approx([0.05, 0.5, 1.0, 2.0])  # λ·η/2: 1 is λ = 2/η
    assert s["scale_aware"].tolist() == pytest.approx([4.0, 40.0, 80.0, 160.0])  # λ·‖w‖², ‖w‖ = 2
    assert s["train_loss"][0] == pytest.approx(2.3) and s["lr"] == 0.1
    with pytest.raises(ValueError, match="no 'other' probe"):
        eos.sharpness_summary(fake_run([1.0]), name="other")


def test_edge_statistics_find_the_first_crossing_and_what_follows():
    loss = np.linspace(2.3, 1.0, 60)
    stats = eos.edge_statistics(eos.sharpness_summary(fake_run([1, 5, 19, 21, 15, 30], lr=0.1, loss=loss)))
    assert stats["start"] == pytest.approx(0.05) and stats["peak"] == pytest.approx(1.5)
    assert stats["crossing"] == 30  # the first probe with λ ≥ 2/η = 20
    assert stats["after"] == pytest.approx(np.median([1.05, 0.75, 1.5]))
    assert stats["loss_at_crossing"] == pytest.approx(loss[30]) and stats["final_loss"] < stats["loss_at_crossing"]
    never = eos.edge_statistics(eos.sharpness_summary(fake_run([1, 2, 3], lr=0.1)))
    assert np.isnan(never["crossing"]) and np.isnan(never["after"]) and np.isnan(never["loss_at_crossing"])


def test_a_diverged_run_ends_with_an_infinite_final_loss():
    stats = eos.edge_statistics(eos.sharpness_summary(fake_run([1, 30], lr=0.1, diverged=True)))
    assert stats["final_loss"] == np.inf


def test_full_batch_runs_follow_lambda_max_over_seeds(cifar_dir):
    profile = replace(PROFILES["ci"], test_size=50)  # the test fixture's CIFAR-10 has 50 test images
    runs = eos.full_batch_runs([0.1], seeds=[0, 1], profile=profile, progress=False)
    assert set(runs) == {("Standard", 0.1), ("BN", 0.1)}
    for hs in runs.values():
        assert len(hs) == 2 and [h.config.seed for h in hs] == [0, 1]
        summary = eos.sharpness_summary(hs[0])
        assert len(summary["step"]) == profile.sharpness_probes and np.all(np.isfinite(summary["lambda_max"]))


def test_lambda_max_at_saved_points_equals_what_the_probe_recorded_in_training(cifar_dir):
    probe = SharpnessProbe(every=4, iterations=eos.ITERATIONS, tol=eos.TOLERANCE)
    history = train(small(), probes=[probe, SavePointsProbe(4)], progress=False)
    again = eos.sharpness_at_points(history, [0, 8])
    recorded = history.probes["sharpness"]
    for k, step in enumerate(again["step"]):
        at = list(recorded["step"]).index(step)
        # the probe replayed at its own step (same weights, batch, random state and code): exact
        assert again["lambda_max"][k] == recorded["lambda_max"][at]
        assert again["weight_norm"][k] == recorded["weight_norm"][at]
    assert np.all(again["seconds"] > 0)


def test_largest_trainable_search_stops_at_the_first_learning_rate_that_trains(cifar_dir, monkeypatch):
    finals = {("none", 1.0): 2.30, ("none", 0.5): 2.31, ("none", 0.2): 1.5, ("none", 0.1): 1.0,
              ("batch", 1.0): 1.2}
    trained = []

    def fake_train(config, progress=True, **_):
        trained.append((config.norm, config.lr, config.seed))
        return fake_run([1.0], loss=np.full(20, finals[config.norm, config.lr]))

    monkeypatch.setattr(eos, "train", fake_train)
    search = eos.largest_trainable_search(small(), [0.1, 0.5, 0.2, 1.0], {"Standard": "none", "BN": "batch"},
                                          seeds=[3])
    assert search.lrs.tolist() == [1.0, 0.5, 0.2, 0.1]  # from the top down
    assert search.largest["Standard"].tolist() == [0.2] and search.largest["BN"].tolist() == [1.0]
    assert trained == [("none", 1.0, 3), ("none", 0.5, 3), ("none", 0.2, 3), ("batch", 1.0, 3)]  # never 0.1
    assert np.isnan(search.final_loss["Standard"][3, 0]) and search.runs == 4
    assert search.at_top("BN").tolist() == [True] and search.at_top("Standard").tolist() == [False]


def test_largest_trainable_search_says_nan_when_nothing_trains(cifar_dir, monkeypatch):
    monkeypatch.setattr(eos, "train", lambda config, progress=True, **_: fake_run([1.0], loss=np.full(20, 2.3)))
    search = eos.largest_trainable_search(small(), [0.1, 0.2], ["Standard"], seeds=[0, 1])
    assert np.isnan(search.largest["Standard"]).all() and search.runs == 4


def test_trains_means_ending_the_margin_below_chance():
    assert eos.trains(np.log(10) - 0.21) and not eos.trains(np.log(10) - 0.19) and not eos.trains(np.inf)


def test_sharpness_figures_draw_every_seed_and_the_stability_limit():
    from helpers.sharpness_plots import plot_edge, plot_largest_lr, plot_sharpness, plot_sharpness_and_beta

    summaries = {(name, lr): [eos.sharpness_summary(fake_run([1.0, 30.0], lr=lr)) for _ in range(3)]
                 for name in ("Standard", "BN") for lr in (0.05, 0.1)}
    fig = plot_sharpness(summaries)
    assert len(fig.axes) == 4 and len(fig.axes[0].lines) == 2 * 3 + 1  # every seed, and 2/η
    assert fig.axes[0].lines[-1].get_ydata()[0] == pytest.approx(2 / 0.05)
    fig = plot_edge(summaries)
    assert len(fig.axes[0].lines) == 4 * 3 + 1
    rows = {"Standard": [{"step": np.array([0, 4]), "lambda_max": np.array([2.0, 3.0]), "beta": np.array([1.0, 1.0]),
                          "weight_norm": np.array([1.0, 2.0])}]}
    fig = plot_sharpness_and_beta(rows, 0.1)
    assert fig.axes[1].lines[0].get_ydata().tolist() == [2.0, 12.0]  # λ·‖w‖²
    search = eos.TopDownSearch(np.array([1.0, 0.5]), [0, 1], {}, {"BN": np.array([1.0, 1.0]),
                                                                    "Standard": np.array([0.5, np.nan])}, runs=5)
    fig = plot_largest_lr(search)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["BN", "Standard"]
