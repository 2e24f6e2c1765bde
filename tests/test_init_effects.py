"""BN at initialization: gradient explosion with depth (Yang et al. 2019) and no rank collapse
(Daneshmand et al. 2020), measured on seeds 0–4. The thresholds on growth factors and ranks are
statistical: set from their spread over seeds 0–9 and checked on seeds 100–104 (the numbers are in each
test's comment); float32 rounding, whatever the CPU, moves them by about 1e-6."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from helpers.init_effects import (
    effective_rank,
    fit_growth,
    forward,
    gradient_norms,
    gradient_survey,
    growth_by_batch,
    init_weights,
    mean_field_growth,
    rank_by_depth,
    rank_survey,
)

from .tolerances import FLOAT64_RTOL, unit_roundoff

SEEDS = range(5)


def test_mean_field_growth_is_yang_et_als_large_batch_rate():
    assert mean_field_growth("relu") == pytest.approx(math.sqrt(math.pi / (math.pi - 1)), rel=1e-15)
    assert mean_field_growth("relu") == pytest.approx(1.2112, abs=1e-4)
    assert mean_field_growth("linear") == 1.0
    with pytest.raises(ValueError, match="unknown activation 'tanh'"):
        mean_field_growth("tanh")


def test_with_bn_gradients_grow_at_the_mean_field_rate():
    # depth 30, width = batch = 512: seeds 0–9 give 1.2055–1.2100, seeds 100–104 1.2054–1.2084
    # (at depth 50: 1.2006–1.2056 and 1.2011–1.2048); the prediction is 1.2112
    survey = gradient_survey(SEEDS, depth=30, width=512, batch=512, batch_norm=True)
    assert survey["mean_field"] == mean_field_growth("relu")
    np.testing.assert_allclose(survey["factor"], survey["mean_field"], atol=0.02)
    assert (np.diff(np.log(survey["grad_norm"]), axis=1)[:, 1:] < 0).mean() > 0.95  # growing going backwards


def test_without_bn_gradients_keep_their_norm():
    # seeds 0–9: 0.9929–1.0041, seeds 100–104: 0.9925–1.0036 (depth 50: 0.9930–1.0040, 0.9972–1.0009)
    survey = gradient_survey(SEEDS, depth=30, width=512, batch=512, batch_norm=False)
    assert survey["mean_field"] == 1.0
    np.testing.assert_allclose(survey["factor"], 1.0, atol=0.02)


def test_smaller_batches_grow_faster_with_relu_and_bn():
    # depth 30, width 512, seeds 0–4: batch 16 gives 1.261–1.269, batch 512 1.207–1.210
    sweep = growth_by_batch([16, 512], range(3), depth=30, width=512)
    assert sweep["factor"].shape == (2, 3)
    assert (sweep["factor"][0] > sweep["factor"][1] + 0.03).all()


def test_a_bn_linear_network_explodes_only_at_small_batches():
    # width 256, depth 30: batch 8 gives 1.076–1.101 (seeds 0–4 and 100–104), batch 512 1.0015–1.0048
    sweep = growth_by_batch([8, 512], range(3), depth=30, width=256, activation="linear")
    assert sweep["mean_field"] == 1.0
    assert (sweep["factor"][0] > 1.05).all()
    np.testing.assert_allclose(sweep["factor"][1], 1.0, atol=0.01)


def test_the_rate_holds_for_cross_entropy_and_for_weight_gradients():
    # width = batch = 128, depth 20: the three fits differ by at most 0.007 on seeds 0–4 and 100–104
    lin = gradient_survey(SEEDS, depth=20, width=128, batch=128, weight_grads=True)
    ce = gradient_survey(SEEDS, depth=20, width=128, batch=128, loss="cross_entropy")
    np.testing.assert_allclose(ce["factor"], lin["factor"], atol=0.02)
    np.testing.assert_allclose([fit_growth(w) for w in lin["weight_grad_norm"]], lin["factor"], atol=0.01)
    np.testing.assert_allclose(lin["factor"], mean_field_growth(), atol=0.02)
    # the first layer's BN divides by √2 (Gaussian inputs, He's scale), not by √((π−1)/π): 0.69–0.75
    np.testing.assert_allclose(lin["ratio"][:, 0], 1 / math.sqrt(2), atol=0.06)


def test_gradients_are_autograds_through_a_textbook_network():
    # the same maths two ways (our forward and hand-picked gradients, nn modules and autograd): float64
    depth, width, batch, seed, d = 4, 16, 8, 3, torch.float64
    weights = init_weights(depth, width, seed=seed, dtype=d)
    gen = torch.Generator().manual_seed(seed)
    for w in weights:  # the documented order of draws: the weights, then the inputs, then the loss
        torch.randn(w.shape, generator=gen, dtype=d)
    x = torch.randn(batch, width, generator=gen, dtype=d)
    layers = []
    for w in weights:
        linear = nn.Linear(width, width, bias=False, dtype=d)
        linear.weight.data.copy_(w)
        layers += [linear, nn.BatchNorm1d(width, dtype=d), nn.ReLU()]
    net = nn.Sequential(*layers).train()
    out = net(x)
    (torch.randn(out.shape, generator=gen, dtype=d) * out).sum().backward()
    ours = gradient_norms(depth, width, batch, seed=seed, weight_grads=True, dtype=d)
    expected = [float(m.weight.grad.norm()) for m in net if isinstance(m, nn.Linear)]
    np.testing.assert_allclose(ours["weight_grad_norm"], expected, rtol=FLOAT64_RTOL)
    pre, reps = forward(x, weights, batch_norm=True)
    torch.testing.assert_close(reps[-1], out.detach(), rtol=FLOAT64_RTOL, atol=FLOAT64_RTOL)
    assert len(pre) == depth and len(reps) == depth + 1 and reps[0] is x


def test_fit_growth_recovers_a_geometric_sequence_and_checks_its_layers():
    norms = 3.0 * 1.25 ** np.arange(10)[::-1]  # layer 1 largest: growing going backwards
    assert fit_growth(norms) == pytest.approx(1.25, rel=1e-12)
    assert fit_growth(norms, layers=(1, 10)) == pytest.approx(1.25, rel=1e-12)
    bent = norms.copy()
    bent[0] *= 0.7  # the first and the top layer are left out by default
    bent[-1] *= 5.0
    assert fit_growth(bent) == pytest.approx(1.25, rel=1e-12)
    for layers in ((0, 5), (3, 3), (2, 11)):
        with pytest.raises(ValueError, match="first < last"):
            fit_growth(norms, layers)
    with pytest.raises(ValueError, match="finite and positive"):
        fit_growth(np.array([1.0, 0.0, 2.0, 1.0]))


def test_effective_rank_counts_equal_directions_and_ignores_scale():
    assert effective_rank(torch.eye(7, dtype=torch.float64)) == pytest.approx(7.0, rel=1e-12)
    # float64: the other singular values of a rank-one matrix are rounding, 1e-16 of the first, and add
    # about 1e-14 to the rank (in float32, 1e-6)
    column, row = torch.arange(1.0, 6.0, dtype=torch.float64), torch.randn(9, dtype=torch.float64,
                                                                          generator=torch.Generator().manual_seed(0))
    rank_one = torch.outer(column, row)
    assert effective_rank(rank_one) == pytest.approx(1.0, abs=1e-10)
    h = torch.randn(20, 30, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    assert effective_rank(1e6 * h) == pytest.approx(effective_rank(h), rel=1e-10)
    assert 1.0 < effective_rank(h) < 20.0
    # a large common mean: uncentred, the rows line up along it; centred, it is removed
    shifted = h + 100.0
    assert effective_rank(shifted) < 2.0 < 10.0 < effective_rank(shifted, centered=True)
    assert effective_rank(shifted, centered=True) == pytest.approx(effective_rank(h, centered=True), rel=1e-10)
    with pytest.raises(ValueError, match="2-D tensor"):
        effective_rank(torch.ones(3))
    with pytest.raises(ValueError, match="zero"):
        effective_rank(torch.zeros(3, 3))


def test_without_bn_relu_representations_collapse_and_with_bn_they_do_not():
    # depth 50, width = batch = 256, last layer: without BN 5.7–12.1 (seeds 0–9) and 5.6–11.7
    # (100–104), with BN 139.7–156.2 and 139.3–150.5 (at width 512: 14.8–29.8 against 283.7–310.0)
    none = rank_survey(SEEDS, depth=50, width=256, batch=256, batch_norm=False, layers=[0, 50])
    bn = rank_survey(SEEDS, depth=50, width=256, batch=256, batch_norm=True, layers=[0, 50])
    np.testing.assert_array_equal(none["effective_rank"][:, 0], bn["effective_rank"][:, 0])  # the same inputs
    assert (none["effective_rank"][:, 1] < 20).all() and (bn["effective_rank"][:, 1] > 100).all()
    assert (bn["effective_rank"][:, 1] > 5 * none["effective_rank"][:, 1]).all()
    assert (bn["max_rank"] == 256).all()


def test_without_bn_linear_representations_collapse_and_with_bn_they_stay_above_sqrt_width():
    # depth 200, width = batch = 128, last layer: without BN 2.0–4.3, with BN 16.3–17.8 (√128 ≈ 11.3),
    # seeds 0–9 and 100–104
    none = rank_survey(SEEDS, depth=200, width=128, batch=128, batch_norm=False, activation="linear", layers=[200])
    bn = rank_survey(SEEDS, depth=200, width=128, batch=128, batch_norm=True, activation="linear", layers=[200])
    assert (none["effective_rank"] < 6).all() and (bn["effective_rank"] > 12).all()


def test_rank_falls_with_depth_without_bn():
    ranks = rank_by_depth(depth=20, width=64, batch=64, batch_norm=False)
    assert list(ranks["layer"]) == list(range(21))
    assert ranks["effective_rank"][-1] < 0.5 * ranks["effective_rank"][0]


def test_same_seed_same_numbers_other_seed_other_numbers():
    a, b = gradient_norms(10, 32, 16, seed=7), gradient_norms(10, 32, 16, seed=7)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["grad_norm"], gradient_norms(10, 32, 16, seed=8)["grad_norm"])
    r1, r2 = rank_by_depth(10, 32, 16, seed=7), rank_by_depth(10, 32, 16, seed=7)
    assert np.array_equal(r1["effective_rank"], r2["effective_rank"])
    survey = gradient_survey([7, 8], 10, 32, 16)
    assert np.array_equal(survey["grad_norm"][0], a["grad_norm"])  # a seed's numbers do not depend on the others
    for w1, w2 in zip(init_weights(10, 32, seed=7), init_weights(10, 32, seed=7, activation="linear")):
        # the same draws, He's scale for ReLU: the two sides are three roundings each from the exact value
        torch.testing.assert_close(w1, math.sqrt(2) * w2, rtol=6 * unit_roundoff(torch.float32), atol=0)


def test_a_batch_of_images_is_flattened():
    images = torch.randn(24, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    grads = gradient_norms(6, 32, inputs=images, seed=1)
    ranks = rank_by_depth(6, 32, inputs=images, seed=1, layers=[0, 6])
    assert grads["grad_norm"].shape == (6,) and np.isfinite(grads["grad_norm"]).all()
    assert ranks["max_rank"].tolist() == [24, 24]
    assert ranks["effective_rank"][0] == effective_rank(images.flatten(1))  # the same computation: exact


def test_bad_input_is_refused_with_a_reason():
    cases = [
        (lambda: gradient_norms(depth=1), "depth must be an integer ≥ 2"),
        (lambda: rank_by_depth(depth=1), "depth must be an integer ≥ 2"),
        (lambda: gradient_norms(4, width=0), "width must be an integer ≥ 1"),
        (lambda: gradient_norms(4, 8, 2.5), "batch must be an integer"),
        (lambda: gradient_norms(4, 8, 2), "at least 3 .*span"),
        (lambda: rank_by_depth(4, 8, 1), "at least 2"),
        (lambda: gradient_norms(4, 8, 8, activation="tanh"), "unknown activation"),
        (lambda: gradient_norms(4, 8, 8, loss="mse"), "unknown loss"),
        (lambda: gradient_norms(4, 8, 8, seed=-1), "seed must be"),
        (lambda: gradient_norms(4, 8, 8, inputs=torch.ones(8)), "inputs must be a tensor"),
        (lambda: gradient_norms(4, 8, 4, inputs=torch.ones(8, 3)), "inputs hold 8 samples but batch=4"),
        (lambda: gradient_norms(4, 8, inputs=torch.full((8, 3), float("nan"))), "non-finite"),
        (lambda: rank_by_depth(4, 8, 8, layers=[5]), "between 0"),
        (lambda: gradient_survey([], 4, 8, 8), "at least one seed"),
        (lambda: growth_by_batch([], [0], 4, 8), "at least one batch"),
        (lambda: forward(torch.ones(1, 4), init_weights(2, 4), batch_norm=True), "at least 2"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()
    gradient_norms(4, 8, 2, batch_norm=False)  # without BN any batch goes
    rank_by_depth(4, 8, 1, batch_norm=False)
