"""Fine curves and planes, checked on a quadratic whose landscape is known in closed form."""

import numpy as np
import pytest
import torch
from torch import nn

from helpers.landscape_views import filter_normalized_direction, fine_curve, plane, step_multipliers_grid
from helpers.probes import rng_state
from helpers.saved_points import SavedPoint

D = torch.float64


class Quadratic(nn.Module):
    """L(W) = ½ vec(W)ᵀ A vec(W): the 'network' returns its weights, the loss is the quadratic form."""

    def __init__(self, w: torch.Tensor):
        super().__init__()
        self.w = nn.Parameter(w.clone())

    def forward(self, x):
        return self.w


def quadratic_point(lr=0.1, seed=0):
    gen = torch.Generator().manual_seed(seed)
    B = torch.randn(12, 12, generator=gen, dtype=D)
    A = B @ B.T / 12 + 0.1 * torch.eye(12, dtype=D)
    w = torch.randn(3, 4, generator=gen, dtype=D)
    loss = lambda out, y: 0.5 * out.reshape(-1) @ A @ out.reshape(-1)  # noqa: E731
    point = SavedPoint(Quadratic(w), torch.zeros(1, dtype=D), torch.zeros(1, dtype=D), 7, lr, loss, rng_state(
        torch.device("cpu")), label="quadratic")
    return point, A, w.reshape(-1)


def closed_loss(A, v):
    return 0.5 * float(v @ A @ v)


def test_fine_curve_matches_the_closed_form_loss_and_gradient_norm():
    point, A, w = quadratic_point()
    multipliers = step_multipliers_grid(6.0, 25)
    curve = fine_curve(point, multipliers)
    g = A @ w
    for m, loss, norm in zip(multipliers, curve["loss"], curve["grad_norm"]):
        v = w - m * point.lr * g
        assert loss == pytest.approx(closed_loss(A, v), rel=1e-12)
        assert norm == pytest.approx(float((A @ v).norm()), rel=1e-12)
    assert curve["g_norm"] == pytest.approx(float(g.norm()), rel=1e-12) and curve["step"] == 7
    assert "grad_norm" not in fine_curve(point, multipliers, grad_norm=False)


@pytest.mark.parametrize("direction", ["random", "next_gradient"])
def test_plane_matches_the_closed_form_in_units_of_the_training_step(direction):
    point, A, w = quadratic_point(seed=1)
    a, b = np.linspace(-1, 4, 6), np.linspace(-2, 2, 5)
    view = plane(point, a, b, direction=direction, seed=3)
    g = A @ w
    s, u = point.lr * float(g.norm()), -g / g.norm()
    if direction == "random":
        v = filter_normalized_direction(point, seed=3)["w"].reshape(-1)
    else:
        v = -(A @ (w - point.lr * g))
    v = v - (v @ u) * u
    v = v / v.norm()
    expected = np.array([[closed_loss(A, w + s * (aj * u + bi * v)) for aj in a] for bi in b])
    np.testing.assert_allclose(view["loss"], expected, rtol=1e-12)
    assert view["unit"] == pytest.approx(s) and view["loss"].shape == (5, 6)


def test_filter_normalization_gives_each_filter_its_weights_norm_and_skips_vectors():
    point, _, _ = quadratic_point()
    d = filter_normalized_direction(point, seed=0)["w"]
    np.testing.assert_allclose(d.norm(dim=1), point.model.w.detach().norm(dim=1), rtol=1e-12)

    class WithBias(Quadratic):
        def __init__(self, w):
            super().__init__(w)
            self.bias = nn.Parameter(torch.ones(3, dtype=D))

    point.model = WithBias(point.model.w.detach())
    assert torch.equal(filter_normalized_direction(point)["bias"], torch.zeros(3, dtype=D))


def test_bad_requests_get_clear_errors():
    point, _, _ = quadratic_point()
    with pytest.raises(ValueError, match="unknown direction 'sideways'"):
        plane(point, [0.0], [0.0], direction="sideways")
    with pytest.raises(ValueError, match="spacing"):
        step_multipliers_grid(4.0, 10, spacing="cubic")
    with pytest.raises(ValueError, match="0 < low < high"):
        step_multipliers_grid(4.0, 10, spacing="log", low=5.0)
    point.model.w.data.zero_()
    with pytest.raises(ValueError, match="gradient is zero"):
        plane(point, [0.0], [0.0])
