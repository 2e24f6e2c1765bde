import math

import numpy as np
import pytest
import torch
from torch import nn

from helpers.layer_inputs import layer_input
from helpers.models import VGG, DeepLinearNet, build_model
from helpers.norms import NORMS, make_norm, register_norm

from .test_train import fit_in_float64, small
from .tolerances import FLOAT64_RTOL


@pytest.mark.parametrize("name, convs", [("vgg11", 8), ("vgg16", 13)])
def test_vgg_has_the_configured_conv_layers_then_a_classifier(name, convs):
    model = build_model(name, "batch", width=0.25)
    assert model.num_layers == convs + 1
    assert [type(model.layer(i).weight) for i in range(1, convs + 2)] == [nn.Parameter] * (convs + 1)
    assert model.layer(convs + 1).weight.shape == (10, 128)  # 512 channels × 1/4
    out = model(torch.randn(4, 3, 32, 32))
    assert out.shape == (4, 10)


def test_width_multiplier_scales_channels():
    assert [VGG("vgg11", width=w).layer(1).weight.shape[0] for w in (0.125, 0.5, 1.0)] == [8, 32, 64]
    with pytest.raises(ValueError, match="width"):
        VGG("vgg11", width=0)


def test_layers_are_addressable_from_one_like_the_paper():
    model = build_model("vgg16", "batch")
    assert isinstance(model.layer(3).norm, nn.BatchNorm2d)
    assert model.layer(11).weight.shape[:2] == (512, 512)
    for bad in (0, 15):
        with pytest.raises(IndexError, match="layers 1..14"):
            model.layer(bad)


def test_layer_input_is_the_output_of_the_layers_before():
    model = build_model("vgg11", "batch", width=0.125).eval()
    x = torch.randn(2, 3, 32, 32)
    # the same layers applied in the same order: exact
    assert torch.equal(model.layer(3)(layer_input(model, x, 3)), layer_input(model, x, 4))
    assert torch.equal(layer_input(model, x, 1), x)


def test_bias_only_where_no_norm_absorbs_it():
    assert build_model("vgg11", "none").layer(1).conv.bias is not None
    assert build_model("vgg11", "batch").layer(1).conv.bias is None
    assert build_model("vgg11", "batch").layer(9).linear.bias is not None  # the classifier


def test_glorot_uniform_initialisation_within_bounds_and_seeded():
    model = build_model("vgg11", "none", width=0.25, seed=0)
    for w in (w.detach() for w in model.layer_weights()):
        fan_in, fan_out = w[0].numel(), w.shape[0] * w[0, 0].numel()
        bound = math.sqrt(6 / (fan_in + fan_out))
        assert float(w.abs().max()) <= bound
        assert float(w.abs().max()) > 0.9 * bound  # uniform: reaches near the bound
    again = build_model("vgg11", "none", width=0.25, seed=0)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))
    other = build_model("vgg11", "none", width=0.25, seed=1)
    assert not torch.equal(model.layer(1).weight, other.layer(1).weight)


def test_seeded_build_leaves_the_global_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    build_model("vgg11", width=0.125, seed=5)
    assert torch.equal(torch.rand(3), expected)


def test_dln_is_25_linear_layers_of_width_10_with_optional_batchnorm():
    plain, bn = DeepLinearNet(), DeepLinearNet(norm="batch")
    assert plain.num_layers == 25 and all(w.shape == (10, 10) for w in plain.layer_weights())
    assert not any(isinstance(m, nn.BatchNorm1d) for m in plain.modules())
    assert sum(isinstance(m, nn.BatchNorm1d) for m in bn.modules()) == 24  # all but the output layer
    assert all(layer.linear.bias is None for layer in plain.layers)
    # No nonlinearity: one matrix product. The same maths in another order of products, so in float64.
    plain = plain.double()
    x = torch.randn(8, 10, dtype=torch.float64)
    w = plain.layer(1).weight.T
    for i in range(2, 26):
        w = w @ plain.layer(i).weight.T
    out = plain(x)
    torch.testing.assert_close(out, x @ w, rtol=FLOAT64_RTOL, atol=FLOAT64_RTOL * float(out.detach().abs().max()))


def test_unknown_names_list_the_valid_ones():
    with pytest.raises(ValueError, match="vgg11, vgg13, vgg16, vgg19, dln"):
        build_model("resnet18")
    with pytest.raises(ValueError, match="none, batch"):
        build_model("vgg11", norm="instance")
    with pytest.raises(ValueError, match="unknown VGG"):
        VGG("vgg12")


def test_a_new_norm_is_a_few_lines_and_plugs_into_every_model():
    @register_norm("scale_only", absorbs_bias=False)
    def _scale_only(num_features, dim, factor=2.0):
        class Scale(nn.Module):
            def forward(self, x):
                return x * factor
        return Scale()

    try:
        vgg = build_model("vgg11", "scale_only", width=0.125)
        assert vgg.layer(1).conv.bias is not None
        assert vgg(torch.randn(2, 3, 32, 32)).shape == (2, 10)
        assert make_norm("scale_only", 4, dim=1, factor=3.0)(torch.ones(1, 4)).sum() == 12
        assert DeepLinearNet(norm="scale_only")(torch.randn(2, 10)).shape == (2, 10)
    finally:
        del NORMS["scale_only"]


def test_norm_options_reach_the_layers():
    fixed = build_model("vgg11", "batch", width=0.125, affine=False)
    assert fixed.layer(1).norm.weight is None and fixed.layer(1).norm.bias is None
    assert build_model("vgg11", "batch", width=0.125, momentum=0.5).layer(2).norm.momentum == 0.5
    with pytest.raises(ValueError, match="'batch' does not accept the options"):
        build_model("vgg11", "batch", affin=False)


def test_batch_norm_layer_matches_the_input_rank():
    assert isinstance(make_norm("batch", 8, dim=2), nn.BatchNorm2d)
    assert isinstance(make_norm("batch", 8, dim=1), nn.BatchNorm1d)
    with pytest.raises(ValueError, match="dim"):
        make_norm("batch", 8, dim=3)


def test_vgg_with_scratch_batchnorm_trains_like_nn_batchnorm(cifar_dir):
    # The same maths two ways, so in float64: in float32 the two (both correct) variance computations
    # differ by rounding, which a channel with near-zero variance amplifies over a few SGD steps.
    a, b = (fit_in_float64(small(norm=norm, steps=8, eval_every=3)) for norm in ("batch", "batch_scratch"))
    np.testing.assert_allclose(a.train_loss, b.train_loss, rtol=FLOAT64_RTOL)
    np.testing.assert_allclose(a.test_loss, b.test_loss, rtol=FLOAT64_RTOL)
    np.testing.assert_array_equal(a.test_acc, b.test_acc)
