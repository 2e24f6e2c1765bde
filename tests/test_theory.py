"""The paper's Sec. 4 on one BN unit, checked in float64: identities to round-off, bounds over fixed seeds.

Round-off here is float64's: u = 1.1e-16 per operation, on problems of at most a few thousand numbers
and modest conditioning, so the identities' tolerances of 1e-13 to 1e-10 leave factors of 10³ to 10⁶."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from helpers import build_model
from helpers.layer_inputs import layer_input
from helpers.theory import (
    bn_unit,
    bn_unit_backward,
    channel_lipschitz_terms,
    gradient_case,
    lemma45_terms,
    lipschitz_terms,
    nearest_on_ray,
    projection_off,
    random_loss,
    random_unit,
    ray_losses,
    ray_problem,
    reparametrize_network,
    smoothness_survey,
    smoothness_terms,
    standardize,
    weight_gradients,
    worst_case_over_inputs,
)

D = torch.float64
SEEDS = range(12)


@pytest.mark.parametrize("eps", [0.0, 1e-3])
def test_bn_backward_formula_equals_autograd_for_any_eps(eps):
    for seed in SEEDS:
        y, gamma, _, gen = random_unit(seed)
        g = torch.randn(y.numel(), generator=gen, dtype=D)
        expected = torch.func.vjp(lambda v, gamma=gamma: bn_unit(v, gamma, 0.3, eps), y)[1](g)[0]
        torch.testing.assert_close(bn_unit_backward(y, g, gamma, eps), expected, rtol=1e-12, atol=1e-12)


def test_bn_jacobian_is_gamma_over_sigma_times_the_projection_off_one_and_y_hat():
    y, gamma, _, _ = random_unit(3)
    y_hat, _, sigma = standardize(y)
    P = projection_off(y_hat)
    torch.testing.assert_close(torch.func.jacrev(lambda v: bn_unit(v, gamma, 0.0))(y), gamma / sigma * P)
    torch.testing.assert_close(P @ P, P)
    torch.testing.assert_close(P, P.T)
    assert float((P @ torch.ones_like(y)).abs().max()) < 1e-12 and float((P @ y_hat).abs().max()) < 1e-12
    assert math.isclose(float(y_hat @ y_hat), y.numel(), rel_tol=1e-12)


def test_theorem_4_1_holds_with_equality_with_the_factor_one_over_m():
    for seed in SEEDS:
        y, gamma, _, gen = random_unit(seed, m=int(3 + seed * 5))
        terms = lipschitz_terms(y, torch.randn(y.numel(), generator=gen, dtype=D), gamma)
        assert math.isclose(terms["lhs"], terms["rhs_1/m"], rel_tol=1e-10)


def test_the_one_over_root_m_transcription_is_violated_when_g_has_a_part_along_y_hat():
    y, g = gradient_case(16, alignment=0.3, mean_share=0.2, seed=1)
    terms = lipschitz_terms(y, g, 1.0)
    assert terms["lhs"] > terms["rhs_1/√m"] + 0.1 * terms["lhs"]
    y, g = gradient_case(16, alignment=0.0, mean_share=0.2, seed=1)  # no part along ŷ: both agree
    terms = lipschitz_terms(y, g, 1.0)
    assert math.isclose(terms["rhs_1/m"], terms["rhs_1/√m"], rel_tol=1e-10, abs_tol=1e-14)


def test_gradient_case_has_the_requested_make_up():
    y, g = gradient_case(32, alignment=-0.25, mean_share=0.5, sigma=3.0, seed=2)
    y_hat = standardize(y)[0]
    assert math.isclose(float(g @ g), 1.0, rel_tol=1e-12)
    assert math.isclose(float(g.sum() ** 2 / 32), 0.5, rel_tol=1e-10)
    assert math.isclose(float((g @ y_hat) ** 2 / 32), 0.25, rel_tol=1e-10) and float(g @ y_hat) < 0
    assert math.isclose(float(y.std(unbiased=False)), 3.0, rel_tol=1e-12)
    with pytest.raises(ValueError, match="mean_share"):
        gradient_case(8, alignment=0.7, mean_share=0.5)


def test_with_eps_theorem_4_1_is_a_strict_inequality():
    y = torch.tensor([0.0, 0.01, 0.03, -0.02], dtype=D)  # variance comparable to ε
    terms = lipschitz_terms(y, torch.tensor([1.0, -2.0, 0.5, 0.3], dtype=D), 1.0, eps=1e-4)
    assert terms["lhs"] < terms["rhs_1/m"] * (1 - 1e-3)


def test_theorem_4_1_on_every_channel_of_a_real_bn_layer():
    torch.manual_seed(0)
    model = build_model("vgg11", "batch", width=0.125, seed=0).double()
    x, target = torch.randn(16, 3, 32, 32, dtype=D), torch.randint(0, 10, (16,))
    terms = channel_lipschitz_terms(model, 2, x, target, F.cross_entropy)
    assert terms["m"] == 16 * 16 * 16
    assert np.all(terms["lhs"] <= terms["rhs_1/m"] * (1 + 1e-9))  # float64 rounding: 1e-15
    # Equal but for ε: with it ‖ŷ‖² = m·σ²/(σ² + ε), not m, which moves the bound by at most about ε/σ²
    # relative (σ² the channel's variance; 4e-5 for the smallest here).
    with torch.no_grad():
        var = model.layer(2).conv(layer_input(model, x, 2)).var((0, 2, 3), unbiased=False)
    np.testing.assert_allclose(terms["lhs"], terms["rhs_1/m"], rtol=model.layer(2).norm.eps / float(var.min()))
    assert np.all(terms["lhs"] > terms["rhs_1/√m"])
    with pytest.raises(ValueError, match="no BatchNorm"):
        channel_lipschitz_terms(model, 9, x, target, F.cross_entropy)


def test_theorem_4_2_bound_is_an_identity_over_fixed_seeds():
    survey = smoothness_survey(range(20))
    scale = np.maximum(np.abs(survey["lhs"]), np.abs(survey["first"]))
    np.testing.assert_array_less(np.abs(survey["lhs"] - survey["bound"]), 1e-9 * scale + 1e-300)
    assert set(survey["kind"]) == {"quadratic", "logistic", "indefinite"} and len(survey["lhs"]) == 60


def test_theorem_4_2_reduces_curvature_exactly_when_g_aligns_with_y_hat():
    survey = smoothness_survey(range(20), kinds=("quadratic", "logistic"))
    convex = survey["min_eig_H"] >= -1e-12
    assert convex.all()
    reduced = survey["lhs"] <= survey["first"]
    np.testing.assert_array_equal(reduced, survey["alignment"] >= 0)
    assert reduced.any() and not reduced.all()  # both signs occur among these seeds


def test_theorem_4_2_rewritten_form_is_not_implied_without_the_extra_assumption():
    survey = smoothness_survey(range(20), kinds=("quadratic",))
    ok = survey["alignment"] > 0
    assert np.any(survey["lhs"][ok] > survey["rewritten"][ok])


def test_random_losses_have_the_promised_curvature():
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(8, dtype=D)
    from helpers.theory import hessian
    assert float(torch.linalg.eigvalsh(hessian(random_loss("quadratic", 8, gen), z))[0]) > -1e-12
    assert float(torch.linalg.eigvalsh(hessian(random_loss("logistic", 8, gen), z))[0]) > -1e-12
    assert float(torch.linalg.eigvalsh(hessian(random_loss("indefinite", 8, gen), z))[0]) < 0
    with pytest.raises(ValueError, match="unknown loss kind"):
        random_loss("cubic", 8, gen)


def test_worst_case_over_bounded_inputs_is_attained_by_a_rank_one_input_and_never_exceeded():
    u = torch.randn(12, generator=torch.Generator().manual_seed(1), dtype=D)
    worst = worst_case_over_inputs(u, d=5, lam=2.5, samples=500)
    assert math.isclose(worst["rank_one"], worst["closed_form"], rel_tol=1e-12)
    assert worst["random_max"] <= worst["closed_form"] * (1 + 1e-12)


def test_bn_weight_gradient_ignores_the_input_scale_and_the_standard_one_does_not():
    gen = torch.Generator().manual_seed(2)
    X, w = torch.randn(16, 4, generator=gen, dtype=D), torch.randn(4, generator=gen, dtype=D)
    loss = random_loss("quadratic", 16, gen)
    at_1, at_3 = weight_gradients(X, w, 1.3, 0.2, loss), weight_gradients(3 * X, w, 1.3, 0.2, loss)
    torch.testing.assert_close(at_1["bn"], at_3["bn"], rtol=1e-10, atol=1e-12)
    assert float(at_3["standard"].norm()) > 2 * float(at_1["standard"].norm())
    torch.testing.assert_close(at_1["bn"], X.T @ at_1["bn_y"])


def test_bn_with_gamma_sigma_beta_mu_reproduces_its_input():
    y = torch.randn(20, dtype=D) * 3 + 1
    _, mu, sigma = standardize(y)
    torch.testing.assert_close(bn_unit(y, float(sigma), float(mu)), y, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("model", ["vgg11", "dln"])
def test_a_bn_network_reparametrized_reproduces_the_standard_network_on_the_batch(model):
    standard = build_model(model, "none", width=0.125, seed=0).double()
    bn = build_model(model, "batch", width=0.125, seed=1).double()
    x = torch.randn(16, 3, 32, 32, dtype=D) if model == "vgg11" else torch.randn(32, 10, dtype=D)
    reparametrize_network(standard, bn, x)
    with torch.no_grad():
        torch.testing.assert_close(bn(x), standard(x), rtol=1e-9, atol=1e-12)
        assert float((bn(2 * x + 1) - standard(2 * x + 1)).abs().max()) > 1e-6  # its γ, β fit this batch only


def test_lemma_4_5_is_an_identity_and_the_square_is_needed():
    gen = torch.Generator().manual_seed(3)
    for _ in range(20):
        w_star, w0 = torch.randn(5, generator=gen, dtype=D), torch.randn(5, generator=gen, dtype=D)
        w0 = w0 if float(w0 @ w_star) > 0 else -w0
        terms = lemma45_terms(w0, w_star)
        assert math.isclose(terms["lhs"], terms["rhs"], rel_tol=1e-10, abs_tol=1e-12)
        assert terms["lhs"] <= terms["standard"] + 1e-12
    w_star = torch.tensor([1.5, 1.0], dtype=D)  # ⟨w*, w0⟩ between ‖w*‖² − 1 and ‖w*‖²: unsquared fails
    w0 = 0.8 * w_star + torch.tensor([0.1, -0.15], dtype=D)
    terms = lemma45_terms(w0, w_star)
    assert terms["rhs_no_square"] < terms["lhs"]
    with pytest.raises(ValueError, match="⟨w0, w\\*⟩ > 0"):
        nearest_on_ray(-w_star, w_star)


def test_ray_problem_bn_loss_is_flat_along_the_ray_and_never_below_the_standard_optimum():
    problem = ray_problem(0)
    w_star = problem["w_star"]
    standard, bn = ray_losses(problem, torch.stack([c * w_star for c in (0.1, 1.0, 7.0)]))
    torch.testing.assert_close(bn, standard[1].expand(3), rtol=1e-10, atol=0)
    grid = torch.randn(2000, 2, generator=torch.Generator().manual_seed(0), dtype=D) * 3
    assert float(ray_losses(problem, grid)[1].min()) >= float(standard[1]) - 1e-12


def test_bad_inputs_get_clear_errors():
    with pytest.raises(ValueError, match="1-D tensor"):
        lipschitz_terms(torch.zeros(3, 2, dtype=D), torch.zeros(3, 2, dtype=D), 1.0)
    with pytest.raises(ValueError, match="shape of y"):
        lipschitz_terms(torch.arange(4.0, dtype=D), torch.zeros(3, dtype=D), 1.0)
    with pytest.raises(ValueError, match="1-D tensor"):
        smoothness_terms(torch.zeros(1, dtype=D), 1.0, 0.0, lambda z: z.sum())
