"""Notebook 07's figures build from the plain data of helpers.theory and helpers.scale_invariance."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from helpers.theory import gradient_case, lipschitz_terms, ray_problem, smoothness_survey  # noqa: E402
from helpers.theory_plots import (  # noqa: E402
    plot_lemma45,
    plot_projection,
    plot_scale_sweeps,
    plot_smoothness_survey,
    plot_weight_norms,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_projection_bars_split_g_into_three_parts_and_mark_the_wrong_bound():
    fig = plot_projection(lipschitz_terms(*gradient_case(16, 0.3, 0.2), 1.0))
    ax = fig.axes[0]
    assert len(ax.patches) == 5 and len(ax.get_legend().get_texts()) == 6


def test_survey_plot_has_one_colour_per_loss_kind():
    fig = plot_smoothness_survey(smoothness_survey(range(3)))
    assert len(fig.axes) == 2 and len(fig.axes[0].collections) == 3 and len(fig.axes[1].collections) == 2
    assert len(fig.legends[0].get_texts()) == 3


def test_lemma_plot_shows_both_losses_with_the_ray_and_the_three_points():
    fig = plot_lemma45(ray_problem(0), torch.tensor([0.3, 1.8], dtype=torch.float64))
    assert len(fig.axes) == 2 and len(fig.axes[1].get_legend().get_texts()) == 4


def test_scale_and_weight_norm_plots_draw_a_line_per_setting_and_seed():
    sweep = {"scale": np.array([0.1, 1, 10]), "loss": np.ones(3), "grad_norm": np.array([10, 1, 0.1]),
             "cos": np.zeros(3)}
    assert len(plot_scale_sweeps({"a": sweep, "b": sweep}).axes[0].lines) == 2
    s = {"step": np.arange(5), "norm": np.ones((5, 3)), "eff_lr": np.ones((5, 3)), "cos": np.zeros((5, 3))}
    fig = plot_weight_norms({"Standard": [s, s], "BN": [s]}, layers=(1, 3))
    assert len(fig.axes) == 6 and len(fig.axes[0].lines) == 3
