"""The figures of BN at initialization build from the plain data of helpers.init_effects."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from helpers.init_effects import gradient_survey, growth_by_batch, rank_survey  # noqa: E402
from helpers.init_plots import plot_gradient_growth, plot_rank_by_depth  # noqa: E402
from helpers.plots import NETWORK_COLORS  # noqa: E402

NETWORKS = (("Standard", False), ("BN", True))


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_gradient_plot_has_a_line_per_seed_and_the_mean_field_slope():
    surveys = {label: gradient_survey([0, 1], 6, 16, 16, batch_norm=bn) for label, bn in NETWORKS}
    fig = plot_gradient_growth(surveys)
    ax = fig.axes[0]
    assert len(fig.axes) == 1 and len(ax.lines) == 2 * (2 + 1)
    assert ax.lines[0].get_color() == NETWORK_COLORS["Standard"] and ax.lines[3].get_color() == NETWORK_COLORS["BN"]
    assert ax.get_yscale() == "log"


def test_gradient_plot_adds_the_batch_panel():
    surveys = {"BN": gradient_survey([0], 6, 16, 16)}
    sweeps = {"BN": growth_by_batch([4, 16], [0, 1], 6, 16)}
    fig = plot_gradient_growth(surveys, by_batch=sweeps)
    assert len(fig.axes) == 2
    np.testing.assert_array_equal(fig.axes[1].lines[1].get_xdata(), [4, 16])


def test_rank_plot_has_a_line_per_seed_and_the_largest_rank():
    surveys = {label: rank_survey([0, 1, 2], 5, 16, 8, batch_norm=bn) for label, bn in NETWORKS}
    ax = plot_rank_by_depth(surveys).axes[0]
    assert len(ax.lines) == 2 * 3 + 1
    np.testing.assert_array_equal(ax.lines[-1].get_ydata(), 8)
