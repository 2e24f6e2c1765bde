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
