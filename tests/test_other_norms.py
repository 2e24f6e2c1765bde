"""The normalizations after BN (helpers/other_norms.py) and the weight-reparametrisation hook they need."""

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from helpers import RunConfig, train
from helpers.models import ConvLayer, build_model
from helpers.norms import NORMS, make_norm, norm_spec, register_norm
from helpers.other_norms import MeanOnlyBatchNorm, VarianceOnlyBatchNorm, group_count, weight_normalize
from helpers.train import run_record

from .tolerances import FLOAT64_RTOL, float64_by_default

NEW_NORMS = ["layer", "group", "weight", "mean_only", "variance_only"]
SHAPES = [(16, 3), (6, 3, 4, 5)]  # after a linear layer (N, C) and after a conv (N, C, H, W)
CPU = torch.device("cpu")


def batch(shape, seed=0):
    """float64 activations far from mean 0 and variance 1, a different offset per channel."""
    g = torch.Generator().manual_seed(seed)
    shift = torch.tensor([3.0, -2.0, 0.5], dtype=torch.float64)[: shape[1]].view(1, -1, *([1] * (len(shape) - 2)))
    return torch.randn(shape, generator=g, dtype=torch.float64) * 2 + shift


def per_channel(t, shape):
    """A per-channel vector shaped to broadcast against a batch of ``shape``: (1, C) or (1, C, 1, 1)."""
    return t.view(1, -1, *([1] * (len(shape) - 2)))


def dims(x):
    return (0, *range(2, x.dim()))


def bn_like(shape):
    return (nn.BatchNorm2d if len(shape) == 4 else nn.BatchNorm1d)(shape[1]).double()


@pytest.fixture
def restore_norms():
    before = dict(NORMS)
    yield
    NORMS.clear()
    NORMS.update(before)


# --- mean-only BN ------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", SHAPES)
def test_mean_only_removes_the_batch_mean_adds_beta_and_keeps_the_spread(shape):
    norm = MeanOnlyBatchNorm(3).double()
    beta = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)
    with torch.no_grad():
        norm.bias.copy_(beta)
    x = batch(shape)
    out = norm(x)
    torch.testing.assert_close(out.mean(dims(x)), beta)
    torch.testing.assert_close(out - per_channel(beta, shape), x - x.mean(dims(x), keepdim=True))


@pytest.mark.parametrize("shape", SHAPES)
def test_mean_only_running_mean_follows_batchnorm_and_is_used_in_eval(shape):
    norm, bn = MeanOnlyBatchNorm(3).double(), bn_like(shape)
    first, second = batch(shape, seed=1), batch(shape, seed=2)
    norm(first)
    torch.testing.assert_close(norm.running_mean, 0.1 * first.mean(dims(first)))  # momentum 0.1 from 0
    norm(second)
    bn(first), bn(second)
    torch.testing.assert_close(norm.running_mean, bn.running_mean)
    with torch.no_grad():
        norm.bias.fill_(0.25)
    x = batch(shape, seed=3)
    kept = norm.running_mean.clone()
    out = norm.eval()(x)
    torch.testing.assert_close(out, x - per_channel(kept, shape) + 0.25)
    assert torch.equal(norm.running_mean, kept)  # eval does not update it


# --- variance-only BN --------------------------------------------------------------------------

@pytest.mark.parametrize("shape", SHAPES)
def test_variance_only_scales_each_channel_to_std_gamma_and_leaves_the_mean_in(shape):
    norm = VarianceOnlyBatchNorm(3).double()
    gamma = torch.tensor([0.5, 2.0, 1.5], dtype=torch.float64)
    with torch.no_grad():
        norm.weight.copy_(gamma)
    x = batch(shape)
    out = norm(x)
    mean, var = x.mean(dims(x)), x.var(dims(x), unbiased=False)
    # up to ε: √(σ²/(σ² + ε)) is 1 − ε/(2σ²), 1.3e-6 below 1 for these channels' σ² ≈ 4
    torch.testing.assert_close(out.std(dims(x), unbiased=False), gamma, rtol=1e-5, atol=0)
    torch.testing.assert_close(out.mean(dims(x)), gamma * mean / (var + norm.eps).sqrt())
    assert (out.mean(dims(x)).abs() > 0.1).all()  # the mean is not removed


@pytest.mark.parametrize("shape", SHAPES)
def test_variance_only_is_batchnorm_plus_the_scaled_mean(shape):
    norm, bn = VarianceOnlyBatchNorm(3).double(), bn_like(shape)
    x = batch(shape)
    mean, var = x.mean(dims(x)), x.var(dims(x), unbiased=False)
    torch.testing.assert_close(norm(x), bn(x) + per_channel(mean / (var + 1e-5).sqrt(), shape))


@pytest.mark.parametrize("shape", SHAPES)
def test_variance_only_running_variance_is_unbiased_like_batchnorm_and_used_in_eval(shape):
    norm, bn = VarianceOnlyBatchNorm(3).double(), bn_like(shape)
    for seed in (1, 2, 3):
        x = batch(shape, seed)
        norm(x), bn(x)
    torch.testing.assert_close(norm.running_var, bn.running_var)
    x = batch(shape, seed=4)
    kept = norm.running_var.clone()
    out = norm.eval()(x)
    torch.testing.assert_close(out, x / per_channel(kept + norm.eps, shape).sqrt())
    assert torch.equal(norm.running_var, kept)


def test_the_two_halves_of_batchnorm_give_batchnorm():
    x = batch((6, 3, 4, 5))
    mean_only, variance_only, bn = MeanOnlyBatchNorm(3).double(), VarianceOnlyBatchNorm(3).double(), bn_like(x.shape)
    torch.testing.assert_close(variance_only(mean_only(x)), bn(x))


# --- LayerNorm and GroupNorm -------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(4, 6), (4, 6, 3, 5)])
def test_layer_norm_normalises_each_sample_over_all_its_channels_and_positions(shape):
    norm = make_norm("layer", 6, dim=2 if len(shape) == 4 else 1).double()
    offsets = torch.arange(shape[0], dtype=torch.float64).view(-1, *[1] * (len(shape) - 1))  # one per sample
    x = torch.randn(shape, dtype=torch.float64) * 3 + offsets
    out = norm(x).flatten(1)
    torch.testing.assert_close(out.mean(1), torch.zeros(shape[0], dtype=torch.float64))
    # up to ε: σ²/(σ² + ε) is 1 − ε/σ², about 1e-6 below 1 for these samples' σ² ≈ 9
    torch.testing.assert_close(out.var(1, unbiased=False), torch.ones(shape[0], dtype=torch.float64), rtol=1e-5, atol=0)


def test_layer_norm_of_a_sample_does_not_depend_on_the_rest_of_the_batch_unlike_batchnorm():
    x = torch.randn(4, 6, 3, 3, dtype=torch.float64)
    other = x.clone()
    other[1:] = other[1:] * 5 + 7
    layer, bn = make_norm("layer", 6).double(), make_norm("batch", 6).double()
    torch.testing.assert_close(layer(other)[0], layer(x)[0])
    torch.testing.assert_close(layer(x[:1])[0], layer(x)[0])  # alone or in a batch: the same
    assert not torch.allclose(bn(other)[0], bn(x)[0])


@pytest.mark.parametrize("channels, groups", [(1024, 32), (512, 32), (64, 32), (32, 16), (16, 8), (8, 4), (4, 2),
                                              (2, 1), (1, 1)])
def test_group_count_is_32_from_64_channels_else_half_the_channels_at_least_one(channels, groups):
    assert group_count(channels) == groups


@pytest.mark.parametrize("width", [0.0625, 0.125])
def test_group_norm_builds_for_narrow_vgg11_with_the_counted_groups(width):
    model = build_model("vgg11", "group", width=width, seed=0)
    for layer in model.layers[:-1]:
        channels = layer.weight.shape[0]
        assert isinstance(layer.norm, nn.GroupNorm) and layer.norm.num_groups == group_count(channels)
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_group_norm_normalises_each_group_of_each_sample():
    norm = make_norm("group", 8).double()  # 4 groups of 2 channels
    x = torch.randn(3, 8, 3, 3, dtype=torch.float64) * 4 + torch.arange(8, dtype=torch.float64).view(1, 8, 1, 1)
    out = norm(x).reshape(3, 4, -1)
    torch.testing.assert_close(out.mean(-1), torch.zeros(3, 4, dtype=torch.float64))
    # up to ε: 1 − ε/σ², with each group's σ² ≥ 16 (x·4 plus offsets), below 1e-6
    torch.testing.assert_close(out.var(-1, unbiased=False), torch.ones(3, 4, dtype=torch.float64), rtol=1e-4, atol=0)
    assert not torch.allclose(out.reshape(3, 8, 9).mean(-1), torch.zeros(3, 8, dtype=torch.float64))  # not per channel


@pytest.mark.parametrize("channels, groups", [(5, 1), (13, 1), (19, 1), (96, 32), (80, 20), (12, 6), (18, 9)])
def test_group_count_divides_any_channel_count(channels, groups):
    assert group_count(channels) == groups and channels % groups == 0
    assert isinstance(make_norm("group", channels), nn.GroupNorm)
    assert build_model("vgg11", "group", width=0.1, seed=0)(torch.randn(2, 3, 32, 32)).shape == (2, 10)


# --- weight normalization ----------------------------------------------------------------------

def test_weight_norm_leaves_the_function_unchanged_at_initialisation():
    # g·v/‖v‖ against v: the same weights computed two ways, so in float64 (built so: a float32 g = ‖v‖
    # would carry its own rounding of 1e-7 into every later comparison)
    with float64_by_default():
        plain = build_model("vgg11", "none", width=0.0625, seed=0)
        normed = build_model("vgg11", "weight", width=0.0625, seed=0)
    x = torch.randn(4, 3, 32, 32, dtype=torch.float64)
    out = plain(x)
    torch.testing.assert_close(normed(x), out, rtol=FLOAT64_RTOL, atol=FLOAT64_RTOL * float(out.detach().abs().max()))
    for a, b in zip(normed.layer_weights(), plain.layer_weights()):
        torch.testing.assert_close(a, b, rtol=FLOAT64_RTOL, atol=0)


def test_weight_norm_splits_each_conv_weight_into_g_and_v_but_not_the_classifiers():
    model = build_model("vgg11", "weight", width=0.0625, seed=0)
    for layer in model.layers[:-1]:
        assert isinstance(layer, ConvLayer) and isinstance(layer.norm, nn.Identity)
        assert parametrize.is_parametrized(layer.conv, "weight")
        g, v = layer.conv.parametrizations.weight.original0, layer.conv.parametrizations.weight.original1
        assert g.shape == (v.shape[0], 1, 1, 1) and v.shape == layer.weight.shape
        torch.testing.assert_close(g.flatten(), v.flatten(1).norm(dim=1))  # g starts as ‖v‖
        torch.testing.assert_close(layer.weight, g * v / v.flatten(1).norm(dim=1).view(-1, 1, 1, 1))
    assert not parametrize.is_parametrized(model.layers[-1].linear)
    names = {name for name, _ in model.named_parameters()}
    assert "layers.0.conv.parametrizations.weight.original0" in names and "layers.0.conv.weight" not in names
    assert "layers.8.linear.weight" in names


def test_weight_norm_output_is_invariant_to_scaling_v():
    with float64_by_default():  # an identity up to rounding: in float64
        model = build_model("vgg11", "weight", width=0.0625, seed=0)
    x = torch.randn(4, 3, 32, 32, dtype=torch.float64)
    before = model(x)
    same = dict(rtol=FLOAT64_RTOL, atol=FLOAT64_RTOL * float(before.detach().abs().max()))
    with torch.no_grad():
        model.layer(3).conv.parametrizations.weight.original1.mul_(3.7)
        model.layer(6).conv.parametrizations.weight.original1.mul_(0.2)
    torch.testing.assert_close(model(x), before, **same)
    with torch.no_grad():  # while g is a real scale: an effect of order 1
        model.layer(3).conv.parametrizations.weight.original0.mul_(2.0)
    assert not torch.allclose(model(x), before, rtol=1e-3, atol=1e-4)


def test_weight_norm_on_the_dln_reparametrises_the_bias_free_linear_layers():
    plain, normed = build_model("dln", "none", seed=0), build_model("dln", "weight", seed=0)
    for layer in normed.layers:
        assert layer.linear.bias is None
    assert all(parametrize.is_parametrized(layer.linear, "weight") for layer in normed.layers[:-1])
    assert not parametrize.is_parametrized(normed.layers[-1].linear)
    # the same maths two ways, through 25 layers: in float64
    with float64_by_default():
        plain, normed = build_model("dln", "none", seed=0), build_model("dln", "weight", seed=0)
    x = torch.randn(8, 10, dtype=torch.float64)
    out = plain(x)
    same = dict(rtol=FLOAT64_RTOL, atol=FLOAT64_RTOL * float(out.detach().abs().max()))
    torch.testing.assert_close(normed(x), out, **same)
    with torch.no_grad():
        normed.layer(5).linear.parametrizations.weight.original1.mul_(4.0)
    torch.testing.assert_close(normed(x), out, **same)


def test_weight_normalize_keeps_a_layer_function_and_gives_g_and_v_gradients():
    torch.manual_seed(0)
    layer = nn.Linear(5, 3).double()  # g·v/‖v‖ against the weight itself: in float64
    x = torch.randn(7, 5, dtype=torch.float64)
    before = layer(x).detach()
    weight_normalize(layer)
    torch.testing.assert_close(layer(x), before, rtol=FLOAT64_RTOL, atol=FLOAT64_RTOL)
    layer(x).sum().backward()
    parts = layer.parametrizations.weight
    assert parts.original0.grad is not None and parts.original1.grad is not None


def test_build_model_reparametrises_each_normalised_layer_after_glorot_init(restore_norms):
    seen = []

    def spy(layer):
        seen.append((type(layer), layer.weight.detach().clone()))

    register_norm("spied", absorbs_bias=False, reparametrize=spy)(lambda num_features, dim: nn.Identity())
    build_model("vgg11", "spied", width=0.0625, seed=0)
    plain = build_model("vgg11", "none", width=0.0625, seed=0)
    assert [kind for kind, _ in seen] == [nn.Conv2d] * 8  # not the classifier, whose norm is "none"
    for (_, weight), expected in zip(seen, plain.layer_weights()[:-1]):
        assert torch.equal(weight, expected)


# --- biases, configuration, training, run records ----------------------------------------------

@pytest.mark.parametrize("norm, has_bias", [("mean_only", False), ("layer", True), ("group", True),
                                            ("weight", True), ("variance_only", True)])
def test_only_mean_only_absorbs_the_conv_bias(norm, has_bias):
    assert norm_spec(norm).absorbs_bias is not has_bias
    model = build_model("vgg11", norm, width=0.0625, seed=0)
    assert all((layer.conv.bias is not None) is has_bias for layer in model.layers[:-1])
    assert model.layers[-1].linear.bias is not None  # the classifier always keeps it
    assert all(layer.norm_name == norm for layer in model.layers[:-1]) and model.layers[-1].norm_name == "none"


@pytest.mark.parametrize("norm", NEW_NORMS)
def test_each_new_norm_trains_reproducibly_on_the_cpu(norm, cifar_dir):
    config = RunConfig(model="vgg11", width=0.0625, norm=norm, steps=3, batch_size=16, train_size=64,
                       test_size=32, eval_every=3)
    a = train(config, cache=False, progress=False, device="cpu")
    b = train(config, cache=False, progress=False, device="cpu")
    assert a.train_loss.shape == (3,) and np.all(np.isfinite(a.train_loss))
    np.testing.assert_array_equal(a.train_loss, b.train_loss)
    np.testing.assert_array_equal(a.test_loss, b.test_loss)


@pytest.mark.parametrize("norm", NEW_NORMS)
def test_each_new_norm_builds_a_dln(norm):
    model = build_model("dln", norm, seed=0)
    assert model(torch.randn(8, 10)).shape == (8, 10)


def _shared_factory(num_features, dim):
    return nn.Identity()


def _scale_rows(layer):
    with torch.no_grad():
        layer.weight.mul_(2.0)


def test_run_record_norm_fingerprint_counts_the_reparametrisation(restore_norms):
    register_norm("plain_twin", absorbs_bias=False)(_shared_factory)
    register_norm("wn_twin", absorbs_bias=False, reparametrize=weight_normalize)(_shared_factory)
    register_norm("scaled_twin", absorbs_bias=False, reparametrize=_scale_rows)(_shared_factory)
    prints = [run_record(RunConfig(norm=name), (), CPU)["code"]["norm"] for name in ("plain_twin", "wn_twin",
                                                                                      "scaled_twin")]
    assert None not in prints and len(set(prints)) == 3
    again = run_record(RunConfig(norm="wn_twin"), (), CPU)["code"]["norm"]
    assert again == prints[1]
