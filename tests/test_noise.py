"""The paper's noise after BN. The noise is drawn from a seed, so the thresholds on its statistics are
statistical (hundreds of steps of thousands of draws); a margin of 1e-6 on a bound of the noise is float32
rounding: a few ulps (1.2e-7 at most) of the values, which are below 1.5."""

import numpy as np
import pytest
import torch
from torch import nn

from helpers.models import build_model
from helpers.noise import ActivationNoise
from helpers.norms import make_norm
from helpers.train import train

from .test_train import small


def draws(layer: ActivationNoise, steps: int = 400, n: int = 4000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per step: the shift m of elements whose input is 0, and s + m of elements whose input is 1."""
    x = torch.cat([torch.zeros(n, 1), torch.ones(n, 1)], 1)  # (N, 2): channel 0 zeros, channel 1 ones
    layer.train()
    outs = np.stack([layer(x).numpy() for _ in range(steps)])  # (steps, N, 2)
    return outs[:, :, 0], outs[:, :, 1], outs


def test_noise_follows_the_paper_per_layer():
    torch.manual_seed(0)
    shift, scaled, _ = draws(ActivationNoise(2, draw="layer"))
    mu_t = shift.mean(1)  # m ~ U(μᵗ − 0.1, μᵗ + 0.1): its mean is μᵗ
    assert -0.5 <= mu_t.min() and mu_t.max() <= 0.5 and abs(mu_t.mean()) < 0.05
    assert abs(mu_t.std() - 1 / np.sqrt(12)) < 0.03  # μᵗ ~ U(−0.5, 0.5)
    width = shift.max(1) - shift.min(1)  # each step's shifts fill an interval of width 0.2 around μᵗ
    assert np.all(width <= 0.2 + 1e-6) and width.min() > 0.19
    sigma_t = scaled.mean(1) - mu_t  # E[s + m] − E[m] = σᵗ
    assert 1 - 0.01 <= sigma_t.min() and sigma_t.max() <= 1.25 + 0.01 and abs(sigma_t.mean() - 1.125) < 0.01
    s_sd = np.sqrt((scaled - scaled.mean(1, keepdims=True)).var(1) - (0.2**2) / 12)  # var(s+m) − var(m)
    assert abs(np.median(s_sd) - 0.1) < 0.01  # s ~ N(σᵗ, 0.1): 0.1 read as a standard deviation


def test_reading_point_one_as_a_variance_widens_the_scale_noise():
    torch.manual_seed(0)
    _, scaled, _ = draws(ActivationNoise(2, draw="layer", spread="variance"), steps=100)
    s_sd = np.sqrt((scaled - scaled.mean(1, keepdims=True)).var(1) - (0.2**2) / 12)
    assert abs(np.median(s_sd) - np.sqrt(0.1)) < 0.02


def test_per_channel_draws_differ_between_channels_and_per_layer_draws_do_not():
    torch.manual_seed(0)
    x = torch.zeros(2000, 8)
    per_channel = ActivationNoise(8, draw="channel").train()(x).mean(0)
    per_layer = ActivationNoise(8, draw="layer").train()(x).mean(0)
    assert per_channel.std() > 0.1 and per_layer.std() < 0.01


def test_noise_draws_per_unit_by_default():
    assert ActivationNoise(8).draw == "channel"
    assert make_norm("noisy_batch", 4, dim=1)[1].draw == "channel" and make_norm("noise", 4, dim=1).draw == "channel"


def test_noise_is_the_identity_in_evaluation_and_at_strength_zero():
    x = torch.randn(16, 3, 4, 4)
    assert torch.equal(ActivationNoise(3).eval()(x), x)
    assert torch.equal(ActivationNoise(3, strength=0.0).train()(x), x)


def test_strength_scales_the_shift():
    torch.manual_seed(0)
    shift, _, _ = draws(ActivationNoise(2, strength=2.0), steps=300)
    assert 0.9 < np.abs(shift.mean(1)).max() <= 1.0 + 1e-6  # μᵗ ~ U(−1, 1)


def test_bad_noise_options_are_clear_errors():
    for kwargs, message in ((dict(draw="unit"), "draw must be"), (dict(spread="sd"), "spread must be"),
                            (dict(strength=-1.0), "non-negative")):
        with pytest.raises(ValueError, match=message):
            ActivationNoise(4, **kwargs)


def test_noisy_bn_is_bn_then_noise_before_the_relu_and_the_control_has_no_bn():
    noisy = build_model("vgg11", "noisy_batch", width=0.125)
    assert isinstance(noisy.layer(1).norm[0], nn.BatchNorm2d) and isinstance(noisy.layer(1).norm[1], ActivationNoise)
    assert noisy.layer(1).conv.bias is None
    control = build_model("vgg11", "noise", width=0.125)
    assert isinstance(control.layer(1).norm, ActivationNoise) and control.layer(1).conv.bias is not None
    assert make_norm("noisy_batch", 4, dim=1, draw="channel")[1].draw == "channel"


def test_noisy_runs_are_seeded(cifar_dir):
    a, b = (train(small(norm="noisy_batch"), cache=False, progress=False) for _ in range(2))
    assert np.array_equal(a.train_loss, b.train_loss)
    c = train(small(norm="noisy_batch", seed=1), cache=False, progress=False)
    assert not np.array_equal(a.train_loss, c.train_loss)
