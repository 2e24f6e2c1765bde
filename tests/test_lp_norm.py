import math

import pytest
import torch

from helpers import build_model, make_norm
from helpers.lp_norm import LpNorm, _LpNormFunction, lp_scale
from helpers.lp_norm_reference import lp_norm_reference

PS = [1.0, 2.0, 3.0, math.inf]
# (shape, channels-last): a DLN layer (N, C), the ensemble's (1, C, L), a conv output in both layouts
LAYOUTS = [((16, 3), False), ((1, 3, 9), False), ((4, 3, 3, 2), False), ((4, 3, 3, 2), True)]


def batch(shape, channels_last=False, seed=0, dtype=torch.float64):
    """Pre-activations far from mean 0 and scale 1, as a layer's input is."""
    g = torch.Generator().manual_seed(seed)
    shift = torch.randn(shape[1], generator=g, dtype=dtype).view(1, -1, *([1] * (len(shape) - 2)))
    y = torch.randn(shape, generator=g, dtype=dtype) * 2 + 3 * shift
    return y.contiguous(memory_format=torch.channels_last) if channels_last else y


def layer(p, num_features=3, **options):
    torch.manual_seed(1)
    norm = LpNorm(num_features, p, **options).double()
    with torch.no_grad():  # γ, β away from 1, 0 so that their gradients are tested too
        norm.weight.uniform_(0.5, 1.5)
        norm.bias.normal_()
    return norm


@pytest.mark.parametrize("shape, channels_last", LAYOUTS)
@pytest.mark.parametrize("p", PS)
@pytest.mark.parametrize("center_first", [False, True])
def test_forward_and_hand_written_backward_equal_plain_autograd_in_float64(shape, channels_last, p, center_first):
    norm = layer(p, center_first=center_first)
    y = batch(shape, channels_last).requires_grad_()
    out = norm(y)
    expected = lp_norm_reference(y, norm.weight, norm.bias, p, norm.eps, center_first)
    torch.testing.assert_close(out, expected, rtol=1e-12, atol=1e-12)
    w = torch.randn(shape, dtype=torch.float64)
    got = torch.autograd.grad((out * w).sum(), (y, norm.weight, norm.bias))
    want = torch.autograd.grad((expected * w).sum(), (y, norm.weight, norm.bias))
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape, channels_last", LAYOUTS)
@pytest.mark.parametrize("p", PS)
@pytest.mark.parametrize("center_first", [False, True])
def test_backward_passes_gradcheck(shape, channels_last, p, center_first):
    y = batch(shape, channels_last, seed=2).requires_grad_()
    gamma = (torch.rand(3, dtype=torch.float64) + 0.5).requires_grad_()
    beta = torch.randn(3, dtype=torch.float64).requires_grad_()
    training_output = lambda y_, g_, b_: _LpNormFunction.apply(y_, g_, b_, p, 1e-5, center_first)[0]
    assert torch.autograd.gradcheck(training_output, (y, gamma, beta))


@pytest.mark.parametrize("shape, channels_last", LAYOUTS)
def test_l2_with_the_norm_taken_after_centring_is_batchnorm(shape, channels_last):
    y = batch(shape, channels_last)
    bn = (torch.nn.BatchNorm2d if len(shape) == 4 else torch.nn.BatchNorm1d)(3, eps=1e-30).double()  # 0 is refused
    l2 = LpNorm(3, 2, eps=0.0, center_first=True).double()
    torch.testing.assert_close(l2(y), bn(y), rtol=1e-10, atol=1e-10)
    l2_eps = LpNorm(3, 2, center_first=True).double()  # ε = 1e-5 sits elsewhere than BN's: equal up to ε
    bn_eps = (torch.nn.BatchNorm2d if len(shape) == 4 else torch.nn.BatchNorm1d)(3).double()
    torch.testing.assert_close(l2_eps(y), bn_eps(y), rtol=0, atol=10 * 1e-5)


def test_l2_in_the_papers_order_is_not_batchnorm():
    """Before centring, s² = σ² + μ²: a channel whose mean is large comes out with variance σ²/(σ² + μ²)."""
    y = torch.randn(4096, 2, dtype=torch.float64) + torch.tensor([0.0, 3.0], dtype=torch.float64)
    out = LpNorm(2, 2, eps=0.0).double()(y)
    mean, var = y.mean(0), y.var(0, unbiased=False)
    torch.testing.assert_close(out.var(0, unbiased=False), var / (var + mean**2))
    assert out.var(0, unbiased=False)[1] < 0.15  # not the unit variance BN would give


@pytest.mark.parametrize("p", PS)
@pytest.mark.parametrize("center_first", [False, True])
def test_each_layer_is_invariant_to_scaling_its_input(p, center_first):
    norm = layer(p, eps=0.0, center_first=center_first)
    y = batch((8, 3, 4, 4), seed=3)
    for c in (1e-3, 0.5, 7.0):
        torch.testing.assert_close(norm(c * y), norm(y), rtol=1e-12, atol=1e-12)


def test_infinity_norm_is_the_largest_absolute_value_in_both_reduction_paths():
    y = batch((128, 5), seed=4, dtype=torch.float32)  # 128 rows: the folded fast path
    expected = y.abs().amax(0)
    assert torch.equal(lp_scale(y, math.inf, (0,)), expected)
    assert torch.equal(lp_scale(y[:100], math.inf, (0,)), y[:100].abs().amax(0))
    assert torch.equal(lp_scale(y, math.inf, (0,), keepdim=True), expected.view(1, -1))


def test_training_updates_running_statistics_and_evaluation_uses_them():
    norm = layer(1.0, momentum=0.25)
    y = batch((64, 3, 2, 2), seed=5)
    norm(y)
    mean = y.mean((0, 2, 3))
    scale = y.abs().mean((0, 2, 3))
    torch.testing.assert_close(norm.running_mean, 0.25 * mean)
    torch.testing.assert_close(norm.running_scale, 0.75 + 0.25 * scale)
    norm.eval()
    before = (norm.running_mean.clone(), norm.running_scale.clone())
    out = norm(y[:2])  # a batch of two: evaluation must not depend on the batch
    shape = (1, -1, 1, 1)
    expected = (norm.weight.view(shape) * (y[:2] - before[0].view(shape)) / (before[1].view(shape) + norm.eps)
                + norm.bias.view(shape))
    torch.testing.assert_close(out, expected)
    assert torch.equal(norm.running_mean, before[0]) and torch.equal(norm.running_scale, before[1])
    torch.testing.assert_close(norm(y[:1])[0], out[0])  # one sample at a time, the same outputs


@pytest.mark.parametrize("p", [0.5, 0, -1, float("nan"), "2", True, None])
def test_a_bad_p_gets_a_clear_error(p):
    with pytest.raises(ValueError, match="p must be a number ≥ 1 or math.inf"):
        LpNorm(4, p)


def test_bad_inputs_and_options_get_clear_errors():
    with pytest.raises(ValueError, match=r"takes \(N, 4, ...\) inputs"):
        LpNorm(4, 1)(torch.randn(8, 3))
    with pytest.raises(ValueError, match="center_first must be True or False"):
        make_norm("l2", 4, dim=1, center_first="yes")
    with pytest.raises(ValueError, match="does not accept the options"):
        make_norm("l1", 4, dim=1, p=3)  # p is the norm's name, not an option


@pytest.mark.parametrize("norm", ["l1", "l2", "linf"])
def test_lp_norms_build_into_vgg_and_the_dln_from_the_registry(norm):
    vgg = build_model("vgg11", norm, width=0.125, seed=0)
    assert isinstance(vgg.layer(1).norm, LpNorm) and vgg.layer(1).conv.bias is None  # β replaces the bias
    assert vgg.layer(1).norm.p == {"l1": 1, "l2": 2, "linf": math.inf}[norm]
    out = vgg(torch.randn(4, 3, 32, 32).contiguous(memory_format=torch.channels_last))
    assert out.shape == (4, 10) and torch.isfinite(out).all()
    dln = build_model("dln", norm, seed=0, center_first=True)
    assert isinstance(dln.layer(1).norm, LpNorm) and dln.layer(1).norm.center_first
    assert dln(torch.randn(16, 10)).shape == (16, 10)
