import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from helpers.experiments import LRSweep  # noqa: E402
from helpers.plots import plot_curves, plot_lr_runs, plot_lr_sweep, show_images, smooth  # noqa: E402
from helpers.runs import History  # noqa: E402


def test_smooth_is_a_trailing_mean():
    np.testing.assert_allclose(smooth(np.array([1.0, 3.0, 5.0, 7.0]), 2), [1, 2, 4, 6])
    np.testing.assert_array_equal(smooth(np.array([1.0, 2.0]), 1), [1, 2])


def fake_history(diverged: bool) -> History:
    loss = np.array([2.3, 2.0, 1.5] + ([np.inf] if diverged else [1.2]))
    return History({}, np.arange(1, 5), loss, np.full(4, 0.5), np.array([0, 4]), np.array([2.3, 1.0]),
                   np.array([0.1, 0.4]), wall_time=1.0, diverged=diverged)


def test_curves_mark_diverged_runs():
    fig = plot_curves({"ok": fake_history(False), "boom": fake_history(True)}, smooth_window=1)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["ok", "boom (diverged)"]
    markers = [line for line in fig.axes[0].lines if line.get_marker() == "x"]
    assert len(markers) == 1 and markers[0].get_xdata()[0] == 4


def test_image_grid_has_a_row_per_class():
    images = np.zeros((40, 32, 32, 3), np.uint8)
    fig = show_images(images, np.arange(40) % 4, ["a", "b", "c", "d"], per_class=3)
    assert len(fig.axes) == 12


def test_fig1_layout_colours_networks_and_styles_rates():
    runs = {("Standard", 0.1): fake_history(False), ("BN", 0.1): fake_history(False),
            ("Standard", 0.5): fake_history(True), ("BN", 0.5): fake_history(False)}
    fig = plot_lr_runs(runs, metrics=("train_loss", "test_acc"))
    lines = {line.get_label(): line for line in fig.axes[0].lines if not line.get_label().startswith("_")}
    assert lines["Standard, lr 0.1"].get_color() == lines["Standard, lr 0.5 (diverged)"].get_color()
    assert lines["BN, lr 0.1"].get_linestyle() != lines["BN, lr 0.5"].get_linestyle()


def test_sweep_plot_marks_divergence_only_when_there_is_some():
    lrs = np.array([0.1, 1.0])
    calm = LRSweep(lrs, {"A": np.array([1.0, 2.0])}, {"A": np.array([0.5, 0.3])}, {"A": np.array([False, False])})
    legend = [t.get_text() for t in plot_lr_sweep(calm).axes[0].get_legend().get_texts()]
    assert "× diverged" not in legend
    wild = LRSweep(lrs, {"A": np.array([1.0, np.inf])}, {"A": np.array([0.5, np.nan])}, {"A": np.array([False, True])})
    legend = [t.get_text() for t in plot_lr_sweep(wild).axes[0].get_legend().get_texts()]
    assert "× diverged" in legend


def fake_probed(drift: float) -> History:
    from helpers.probes import ACTIVATION_EDGES

    rng = np.random.default_rng(0)
    steps = np.arange(0, 50, 10)
    hist = np.stack([[[np.histogram(rng.normal(drift * r, 1, 500), ACTIVATION_EDGES)[0] for _ in range(2)]
                      for _ in range(3)] for r in range(len(steps))])
    h = fake_history(False)
    h.probes = {"activations": {"step": steps, "hist": hist, "mean": np.zeros((5, 3, 2)), "var": np.ones((5, 3, 2))}}
    return h


def test_distribution_grid_shows_the_chosen_layers_for_every_network():
    from helpers.plots import plot_distributions
    from helpers.probes import ACTIVATION_EDGES

    runs = {"A": fake_probed(0.0), "B": fake_probed(1.0)}
    fig = plot_distributions(runs, [2, 5, 8], ACTIVATION_EDGES, show=[2, 8])
    assert [ax.get_title() for ax in fig.axes] == ["A, layer 2", "A, layer 8", "B, layer 2", "B, layer 8"]
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["0", "10", "20", "30", "40"]


def test_drift_bars_one_group_per_layer():
    from helpers.plots import plot_drift

    fig = plot_drift({"A": np.ones((3, 4)), "B": np.full((3, 4), 2.0)}, [2, 5, 8])
    heights = sorted(p.get_height() for p in fig.axes[0].patches)
    assert heights == [1.0] * 3 + [2.0] * 3


def test_ics_plot_has_norm_and_cosine_rows_per_layer():
    from helpers.plots import plot_ics

    h = fake_history(False)
    h.probes = {"ics": {"step": np.arange(0, 40, 10), "grad_diff": np.ones((4, 2)), "cosine": np.full((4, 2), 0.5)}}
    fig = plot_ics({"A": h}, [3, 7])
    assert [ax.get_title() for ax in fig.axes[:2]] == ["layer 3", "layer 7"]
    assert fig.axes[2].get_ylim() == (-1.05, 1.05)
