import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from helpers.experiments import LRSweep  # noqa: E402
from helpers.plots import NETWORK_COLORS, plot_curves, plot_lr_runs, plot_lr_sweep, show_images, smooth  # noqa: E402
from helpers.probes import ACTIVATION_EDGES  # noqa: E402
from helpers.runs import History, ProbeRecords  # noqa: E402


def test_smooth_is_a_trailing_mean():
    np.testing.assert_allclose(smooth(np.array([1.0, 3.0, 5.0, 7.0]), 2), [1, 2, 4, 6])
    np.testing.assert_array_equal(smooth(np.array([1.0, 2.0]), 1), [1, 2])


def fake_history(diverged: bool, interrupted: bool = False) -> History:
    loss = np.array([2.3, 2.0, 1.5] + ([np.inf] if diverged else [1.2]))
    return History(None, np.arange(1, 5), loss, np.full(4, 0.5), np.array([0, 4]), np.array([2.3, 1.0]),
                   np.array([0.1, 0.4]), wall_time=1.0, diverged=diverged, interrupted=interrupted, planned_steps=4)


def test_curves_mark_diverged_and_interrupted_runs():
    runs = {"ok": fake_history(False), "boom": fake_history(True), "cut": fake_history(False, interrupted=True)}
    fig = plot_curves(runs, smooth_window=1)
    legend = [t.get_text() for t in fig.axes[-1].get_legend().get_texts()]
    assert legend == ["ok", "boom (diverged)", "cut (interrupted)"]
    markers = [line for line in fig.axes[0].lines if line.get_marker() == "x"]
    assert len(markers) == 1 and markers[0].get_xdata()[0] == 4
    assert len([line for line in fig.axes[0].lines if line.get_marker() == "|"]) == 1


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


def test_sweep_plot_marks_interrupted_runs():
    lrs = np.array([0.1, 1.0])
    cut = LRSweep(lrs, [0], {"A": np.array([[1.0], [np.nan]])}, {"A": np.array([[0.5], [np.nan]])},
                  {"A": np.array([[False], [False]])}, {"A": np.array([[False], [True]])})
    legend = [t.get_text() for t in plot_lr_sweep(cut).axes[-1].get_legend().get_texts()]
    assert "| interrupted or not run" in legend and not cut.complete


def test_sweep_plot_marks_divergence_only_when_there_is_some():
    lrs = np.array([0.1, 1.0])
    calm = LRSweep(lrs, [0, 1], {"A": np.array([[1.0, 1.1], [2.0, 2.1]])}, {"A": np.array([[0.5, 0.5], [0.3, 0.3]])},
                   {"A": np.zeros((2, 2), bool)})
    legend = [t.get_text() for t in plot_lr_sweep(calm).axes[-1].get_legend().get_texts()]
    assert "× diverged" not in legend
    wild = LRSweep(lrs, [0, 1], {"A": np.array([[1.0, 1.0], [np.inf, 2.0]])},
                   {"A": np.array([[0.5, 0.5], [np.nan, 0.3]])}, {"A": np.array([[False, False], [True, False]])})
    legend = [t.get_text() for t in plot_lr_sweep(wild).axes[-1].get_legend().get_texts()]
    assert "× diverged" in legend


def fake_probed(drift: float, interrupted: bool = False) -> History:
    """Activation records of 3 layers × 2 units whose means move by ``drift`` per record."""
    rng = np.random.default_rng(0)
    steps = np.arange(0, 50, 10)
    hist = np.stack([[[np.histogram(rng.normal(drift * r, 1, 500), ACTIVATION_EDGES)[0] for _ in range(2)]
                      for _ in range(3)] for r in range(len(steps))])
    mean = drift * np.arange(5.0)[:, None, None] * np.ones((1, 3, 2))
    h = fake_history(False, interrupted)
    records = {"step": steps, "hist": hist, "mean": mean, "var": np.ones((5, 3, 2)),
               "pool_mean": np.zeros((5, 3, 2)), "pool_var": np.ones((5, 3, 2))}
    positions = [[[0, 1, 1], [3, 0, 2]]] * 3
    h.probes = {"activations": ProbeRecords(records, {"layers": [2, 5, 8], "edges": ACTIVATION_EDGES.tolist(),
                                                      "positions": positions})}
    return h


def test_distribution_grid_reads_layers_and_bins_from_the_records():
    from helpers.plots import plot_distributions

    runs = {"A": [fake_probed(0.0), fake_probed(0.5)], "B": fake_probed(1.0, interrupted=True)}
    fig = plot_distributions(runs, layer=8)
    assert len(fig.axes) == 4  # rows: networks, columns: seeds (B has one; its second cell stays empty)
    assert fig.axes[0].get_title() == "A, seed 0\nlayer 8, unit (c, y, x) = (0, 1, 1)"
    assert fig.axes[2].get_title().startswith("B (interrupted), seed 0")
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["0", "10", "20", "30", "40"]


def test_drift_bars_one_group_per_recorded_layer():
    from helpers.plots import plot_drift

    fig = plot_drift({"A": fake_probed(0.0), "B": [fake_probed(2.0), fake_probed(4.0)]})
    heights = sorted(p.get_height() for p in fig.axes[0].patches)
    assert heights == [0.0] * 3 + [3.0] * 3  # B: the median of its two seeds
    pooled = plot_drift({"A": fake_probed(0.0), "B": fake_probed(2.0)}, pooled=True)
    assert all(p.get_height() == 0.0 for p in pooled.axes[0].patches)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["layer 2", "layer 5", "layer 8"]


def test_ics_plot_has_norm_and_cosine_rows_per_recorded_layer():
    from helpers.plots import plot_ics

    h = fake_history(False)
    h.probes = {"ics": ProbeRecords({"step": np.arange(0, 40, 10), "grad_diff": np.ones((4, 2)),
                                     "g_norm": np.full((4, 2), 4.0), "cosine": np.full((4, 2), 0.5)},
                                    {"layers": [3, 7]})}
    fig = plot_ics({"A": h})
    assert [ax.get_title() for ax in fig.axes[:2]] == ["layer 3", "layer 7"]
    assert fig.axes[4].get_ylim() == (-1.05, 1.05)
    assert fig.axes[2].lines[0].get_ydata().tolist() == [0.25] * 4  # the relative row: ‖G − G′‖ / ‖G‖
    assert all(ax.get_ylabel() for ax in fig.axes)


def test_normalized_channels_one_panel_per_layer_with_each_channels_variance():
    from helpers.plots import plot_normalized_channels

    rng = np.random.default_rng(0)
    panels = {"BN": rng.standard_normal((500, 2)), "ℓ∞": 0.2 * rng.standard_normal((500, 2))}
    fig = plot_normalized_channels(panels)
    assert [ax.get_title() for ax in fig.axes] == ["BN", "ℓ∞"]
    labels = [t.get_text() for t in fig.axes[1].get_legend().get_texts()]
    assert labels[:2] == [f"channel {k}: var {panels['ℓ∞'][:, k].var():.2f}" for k in range(2)]
    assert labels[-1] == "N(0, 1)"
    assert fig.axes[0].get_xlim() == fig.axes[1].get_xlim()  # shared axes: scales compare at a glance


def test_fine_curves_and_planes_one_line_or_panel_per_network():
    from helpers.plots import plot_fine_curves, plot_planes

    curve = {"multiplier": np.linspace(0, 4, 5), "loss": np.ones(5), "grad_norm": np.ones(5), "step": 3}
    fig = plot_fine_curves({"Standard": curve, "BN": curve})
    assert len(fig.axes) == 2 and len(fig.axes[0].lines) == 3  # two networks and η = LR
    assert fig.axes[0].lines[0].get_color() == "C0" and fig.axes[0].lines[1].get_color() == "C1"
    assert len(plot_fine_curves({"BN": {k: v for k, v in curve.items() if k != "grad_norm"}}).axes) == 1
    view = {"a": np.linspace(-1, 4, 5), "b": np.linspace(-2, 2, 5), "loss": np.random.rand(5, 5), "unit": 0.1,
            "direction": "random", "step": 3}
    assert len(plot_planes({"Standard": view, "BN": view}).axes) == 4  # two panels and their colour bars


def test_a_network_keeps_its_colour_whatever_else_is_in_the_figure():
    alone = plot_curves({"noisy BN": fake_history(False)}, smooth_window=1)
    crowd = plot_curves({"Standard": fake_history(False), "BN": fake_history(False), "noisy BN": fake_history(False),
                         "noisy BN, per-layer draws": fake_history(False)}, smooth_window=1)
    colour = lambda fig, label: next(line.get_color() for line in fig.axes[0].lines if line.get_label() == label)
    assert colour(alone, "noisy BN") == colour(crowd, "noisy BN") == NETWORK_COLORS["noisy BN"]
    others = {colour(crowd, label) for label in ("Standard", "BN", "noisy BN, per-layer draws")}
    assert len(others) == 3 and NETWORK_COLORS["noisy BN"] not in others


def test_a_learning_rate_keeps_its_line_style_and_legends_sit_outside_the_curves():
    fig = plot_curves({"BN, lr 0.5": fake_history(False), "Standard, lr 0.5": fake_history(False),
                       "BN, lr 0.1": fake_history(False)}, metrics=("train_loss", "test_acc"), smooth_window=1)
    style = {line.get_label(): line.get_linestyle() for line in fig.axes[0].lines}
    assert style["BN, lr 0.5"] == style["Standard, lr 0.5"] == "--" and style["BN, lr 0.1"] == "-"
    fig.canvas.draw()
    legend, last = fig.axes[-1].get_legend().get_window_extent(), fig.axes[-1].get_window_extent()
    assert legend.x0 >= last.x1  # to the right of the last panel, over no curve
