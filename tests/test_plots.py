import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from helpers.plots import plot_curves, show_images, smooth  # noqa: E402
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
