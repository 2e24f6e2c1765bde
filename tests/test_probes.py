import numpy as np
import pytest
import torch

from helpers.probes import ACTIVATION_EDGES, ActivationProbe
from helpers.runs import History
from helpers.summaries import distribution_drift
from helpers.train import train

from .test_train import small
from .tolerances import gamma


@pytest.mark.parametrize("norm", ["none", "batch", "noisy_batch"])
def test_recording_activations_does_not_change_training(cifar_dir, norm):
    plain = train(small(norm=norm), cache=False, progress=False)
    probed = train(small(norm=norm), probes=[ActivationProbe([1, 4], every=3)], cache=False,
                   progress=False)
    assert all(np.array_equal(getattr(plain, k), getattr(probed, k)) for k in History.ARRAYS)


def test_records_follow_single_activations_at_fixed_positions(cifar_dir):
    probe = ActivationProbe([2, 5, 8], units=3, every=4)
    h = train(small(), probes=[probe], progress=False)
    rec = h.probes["activations"]
    assert rec["step"].tolist() == [0, 4, 8]
    assert rec["hist"].shape == (3, 3, 3, len(ACTIVATION_EDGES) - 1)
    for key in ("mean", "var", "pool_mean", "pool_var"):
        assert rec[key].shape == (3, 3, 3)
    assert (rec["hist"].sum(-1) == 32).all()  # one activation: one value per example of the batch
    positions = rec.settings["positions"]
    assert [len(p) for p in positions] == [3, 3, 3]
    assert all(0 <= r < 16 and 0 <= c < 16 for _, r, c in positions[0])  # layer 2 of VGG-11: 16×16 maps
    assert all(r < 2 and c < 2 for _, r, c in positions[2])
    assert train(small(), probes=[ActivationProbe([2, 5, 8], units=3, every=4)], progress=False).from_cache


def test_bn_pins_its_channel_pools_but_not_its_single_activations(cifar_dir):
    h = train(small(norm="batch", steps=12), probes=[ActivationProbe([2, 5], units=4, every=1)], progress=False)
    rec = h.probes["activations"]
    # Thresholds on what training does, with margins of 5 or more: β moves by lr·|∂L/∂β| per step, 0.01 in
    # these 12 steps; single activations' means reach 1.2, and the pools drift 1 % as much as they do.
    # Rounding differs between CPUs and thread counts, and these BN runs amplify it, yet only to a few
    # per cent of these numbers in 12 steps.
    np.testing.assert_allclose(rec["pool_mean"], 0.0, atol=0.05)  # β barely moves from 0 in 12 steps
    assert np.abs(rec["mean"]).max() > 0.2  # a single activation's batch mean is not pinned at β
    single, pooled = distribution_drift(rec), distribution_drift(rec, pooled=True)
    assert np.median(pooled) < 0.2 * np.median(single)


def test_histogram_and_moments_match_numpy():
    probe = ActivationProbe([1], units=2, edges=np.linspace(-2, 2, 9))
    probe._draws = [(np.array([0, 2]), np.array([[0.3, 0.6], [0.9, 0.1]]))]
    out = torch.randn(10, 3, 4, 4) * 1.5
    probe._record(0, None, None, out)
    assert probe.positions == [[[0, 1, 2], [2, 3, 0]]]
    counts, mean, var, pool_mean, pool_var = (t.numpy() for t in probe._stats[0])

    def assert_moments(got_mean, got_var, values):
        # The probe's float32 moments against exact (float64) ones. A mean of n values, summed in any
        # order, is within γₙ₊₁·mean|x| of the exact one; the variance about it within γₙ₊₄·mean(x²)
        # (each centred value rounds once, its square once, the sum γₙ: the two-pass bound).
        values = values.astype(np.float64)
        n = len(values)
        np.testing.assert_allclose(got_mean, values.mean(), rtol=0, atol=gamma(n + 1) * np.abs(values).mean())
        np.testing.assert_allclose(got_var, values.var(), rtol=0, atol=gamma(n + 4) * (values**2).mean())

    for j, (c, r, q) in enumerate(probe.positions[0]):
        values = out[:, c, r, q].numpy()
        expected, _ = np.histogram(np.clip(values, -2, 2), bins=np.linspace(-2, 2, 9))
        np.testing.assert_array_equal(counts[j], expected)
        assert_moments(mean[j], var[j], values)
        assert_moments(pool_mean[j], pool_var[j], out[:, c].flatten().numpy())


def test_drift_is_zero_for_a_still_distribution_and_scale_free():
    still = {"mean": np.ones((5, 2, 3)), "var": np.full((5, 2, 3), 4.0)}
    assert np.all(distribution_drift(still) == 0)
    moving = {"mean": np.arange(5.0)[:, None, None] * np.ones((1, 2, 3)), "var": np.ones((5, 2, 3))}
    np.testing.assert_allclose(distribution_drift(moving), 1.0)
    scaled = {"mean": moving["mean"] * 10, "var": moving["var"] * 100}
    np.testing.assert_allclose(distribution_drift(scaled), distribution_drift(moving))
    # in the activations' own units the same motion, ten times as large, drifts ten times as much
    raw_moving, raw_scaled = (distribution_drift(r, relative=False) for r in (moving, scaled))
    np.testing.assert_allclose(raw_scaled, 10 * raw_moving)
    np.testing.assert_allclose(raw_moving, 1.0)
    with pytest.raises(ValueError, match="two records"):
        distribution_drift({"mean": np.ones((1, 1, 1)), "var": np.ones((1, 1, 1))})


def test_activation_records_come_from_the_training_pass_whatever_the_order_of_the_probes(cifar_dir):
    from helpers.probes import LandscapeProbe
    from helpers.sharpness import SharpnessProbe

    others = [LandscapeProbe.paper("vgg11", every=4), SharpnessProbe(every=4, iterations=3)]
    first = train(small(), probes=[ActivationProbe([2, 5], units=2, every=4), *others], cache=False, progress=False)
    last = train(small(), probes=[*others, ActivationProbe([2, 5], units=2, every=4)], cache=False, progress=False)
    for key in ("hist", "mean", "var", "pool_mean", "pool_var"):
        np.testing.assert_array_equal(first.probes["activations"][key], last.probes["activations"][key])


def test_probes_that_need_weight_parameters_say_so_under_weight_normalization(cifar_dir):
    from helpers.probes import GradientICSProbe
    from helpers.scale_invariance import WeightNormProbe

    with pytest.raises(ValueError, match="weight normalization"):
        train(small(norm="weight"), probes=[GradientICSProbe([2], every=4)], cache=False, progress=False)
    with pytest.raises(ValueError, match="weight normalization"):
        train(small(norm="weight"), probes=[WeightNormProbe(every=4)], cache=False, progress=False)
