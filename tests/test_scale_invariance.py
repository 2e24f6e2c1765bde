"""Scale invariance of the loss in the weights before BN, and the weight-norm probe."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from helpers import build_model, train
from helpers.ensemble import DeepLinearEnsemble
from helpers.layer_inputs import layer_input
from helpers.scale_invariance import WeightNormProbe, scale_sweep, weight_norm_summary

from .test_train import fit_in_float64, same_history, small
from .tolerances import FLOAT64_RTOL

D = torch.float64
SCALES = (0.01, 0.1, 1.0, 10.0, 100.0)


def net_and_batch(norm: str, eps: float = 1e-5):
    model = build_model("vgg11", norm, width=0.125, seed=0).double()
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.eps = eps
    gen = torch.Generator().manual_seed(0)
    return model, torch.randn(16, 3, 32, 32, generator=gen, dtype=D), torch.randint(0, 10, (16,), generator=gen)


def test_loss_is_scale_invariant_gradient_orthogonal_and_inverse_to_the_scale():
    model, x, y = net_and_batch("batch", eps=1e-14)
    sweep = scale_sweep(model, "layers.2.conv.weight", x, y, F.cross_entropy, SCALES)
    # In float64, where what breaks the invariance is ε: at scale c BN divides by √(c²σ² + ε), not c·σ,
    # a relative change of at most ε/(2c²σ²) with σ² the layer's smallest channel variance at c = 1
    # (0.24 here: 4e-10 at c = 0.01); float64 rounding adds about 1e-14.
    with torch.no_grad():
        var = float(model.layer(3).conv(layer_input(model, x, 3)).var((0, 2, 3), unbiased=False).min())
    tol = 1e-14 / (min(SCALES) ** 2 * var) + FLOAT64_RTOL
    np.testing.assert_allclose(sweep["loss"], sweep["loss"][2], rtol=tol)
    np.testing.assert_allclose(sweep["scale"] * sweep["grad_norm"], sweep["grad_norm"][2], rtol=tol)
    assert np.abs(sweep["cos"]).max() < tol


def test_bn_eps_breaks_the_invariance_at_small_weight_scales():
    model, x, y = net_and_batch("batch", eps=1e-5)
    sweep = scale_sweep(model, "layers.2.conv.weight", x, y, F.cross_entropy, (1e-3, 1.0))
    # ε/(c²σ²) ≈ 40 at c = 1e-3: effects of order 1, against float64 rounding of 1e-15
    assert abs(sweep["loss"][0] - sweep["loss"][1]) > 1e-4
    assert abs(sweep["cos"][0]) > 1e-6


def test_without_bn_the_loss_depends_on_the_weight_scale():
    model, x, y = net_and_batch("none")
    sweep = scale_sweep(model, "layers.2.conv.weight", x, y, F.cross_entropy, (0.5, 1.0, 2.0))
    assert np.ptp(sweep["loss"]) > 1e-3 and np.abs(sweep["cos"]).max() > 1e-3


def test_scale_sweep_leaves_the_model_as_it_was_and_rejects_bad_input():
    model, x, y = net_and_batch("batch")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    scale_sweep(model, "layers.0.conv.weight", x, y, F.cross_entropy, (0.5, 2.0))
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    with pytest.raises(ValueError, match="no parameter 'nope'"):
        scale_sweep(model, "nope", x, y, F.cross_entropy, (1.0,))
    with pytest.raises(ValueError, match="positive"):
        scale_sweep(model, "layers.0.conv.weight", x, y, F.cross_entropy, (0.0,))


def test_weight_norm_probe_shows_orthogonal_gradients_and_the_sgd_norm_growth_law(cifar_dir):
    # In float64, so that rounding is out of the way (1e-15) and what is left is BN's ε: it tilts each
    # conv's gradient off W by about ε/σ² (ε = 1e-5; the channels' batch variances σ² are of order 1
    # or more on these images), far below 1e-3.
    history = fit_in_float64(small(norm="batch"), probes=[WeightNormProbe()])
    s = weight_norm_summary(history)
    assert s["norm"].shape == (12, 9) and s["norm_name"] == "batch"
    assert np.abs(s["cos"][:, :-1]).max() < 1e-3  # the convs, each followed by BN
    assert np.abs(s["cos"][:, -1]).max() > 1e-2  # the classifier is not
    # plain SGD: ‖W − lr·g‖² = ‖W‖² − 2·lr·cos·‖W‖‖g‖ + lr²‖g‖², an identity up to float64 rounding;
    # with cos ≈ 0 the norm grows by lr²‖g‖² at every step
    norm, grad, cos = (s[k][:-1, :-1] for k in ("norm", "grad_norm", "cos"))
    grown = norm**2 - 2 * s["lr"] * cos * norm * grad + s["lr"] ** 2 * grad**2
    np.testing.assert_allclose(s["norm"][1:, :-1] ** 2, grown, rtol=FLOAT64_RTOL)
    assert np.all(s["norm"][1:, :-1] > norm)
    np.testing.assert_array_equal(s["eff_lr"], s["lr"] / s["norm"] ** 2)  # the same formula: exact


def test_weight_norm_probe_leaves_training_unchanged(cifar_dir):
    plain = train(small(norm="batch"), cache=False, progress=False)
    probed = train(small(norm="batch"), probes=[WeightNormProbe(every=3)], cache=False, progress=False)
    assert same_history(plain, probed)
    assert list(probed.probes["weights"]["step"]) == [0, 3, 6, 9]


def test_weight_norm_probe_and_summary_reject_what_they_cannot_read(cifar_dir):
    with pytest.raises(ValueError, match="not an ensemble"):
        WeightNormProbe().start(DeepLinearEnsemble([build_model("dln", seed=k) for k in range(2)]))
    with pytest.raises(ValueError, match="WeightNormProbe"):
        weight_norm_summary(train(small(), cache=False, progress=False))
