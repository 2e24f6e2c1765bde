import numpy as np
import pytest
import torch

from helpers.probes import ACTIVATION_EDGES, ActivationProbe
from helpers.runs import History
from helpers.summaries import distribution_drift
from helpers.train import train

from .test_train import small


@pytest.mark.parametrize("norm", ["none", "batch", "noisy_batch"])
def test_recording_activations_does_not_change_training(cifar_dir, norm):
    plain = train(small(norm=norm), cache=False, progress=False)
    probed = train(small(norm=norm), probes=[ActivationProbe([1, 4], every=3)], cache=False,
                   progress=False)
    assert all(np.array_equal(getattr(plain, k), getattr(probed, k)) for k in History.ARRAYS)


def test_records_have_one_histogram_mean_and_variance_per_unit(cifar_dir):
    probe = ActivationProbe([2, 5, 8], units=3, every=4)
    h = train(small(), probes=[probe], progress=False)
    rec = h.probes["activations"]
    assert rec["step"].tolist() == [0, 4, 8]
    assert rec["hist"].shape == (3, 3, 3, len(ACTIVATION_EDGES) - 1)
    assert rec["mean"].shape == rec["var"].shape == (3, 3, 3)
    # layer 2 of VGG-11 sees 16×16 maps: each unit's histogram counts batch × positions values
    assert (rec["hist"][:, 0].sum(-1) == 32 * 16 * 16).all()
    assert (rec["hist"][:, 2].sum(-1) == 32 * 2 * 2).all()
    assert [len(c) for c in probe.channels] == [3, 3, 3]
    assert train(small(), probes=[ActivationProbe([2, 5, 8], units=3, every=4)], progress=False).from_cache


def test_histogram_and_moments_match_numpy():
    probe = ActivationProbe([1], units=2, edges=np.linspace(-2, 2, 9))
    probe.channels = [np.array([0, 2])]
    out = torch.randn(10, 3, 4, 4) * 1.5
    probe._record(0, None, None, out)
    counts, mean, var = (t.numpy() for t in probe._stats[0])
    for j, c in enumerate([0, 2]):
        values = out[:, c].flatten().numpy()
        expected, _ = np.histogram(np.clip(values, -2, 2), bins=np.linspace(-2, 2, 9))
        np.testing.assert_array_equal(counts[j], expected)
        np.testing.assert_allclose(mean[j], values.mean(), rtol=1e-5)
        np.testing.assert_allclose(var[j], values.var(), rtol=1e-5)


def test_drift_is_zero_for_a_still_distribution_and_scale_free():
    still = {"mean": np.ones((5, 2, 3)), "var": np.full((5, 2, 3), 4.0)}
    assert np.all(distribution_drift(still) == 0)
    moving = {"mean": np.arange(5.0)[:, None, None] * np.ones((1, 2, 3)), "var": np.ones((5, 2, 3))}
    np.testing.assert_allclose(distribution_drift(moving), 1.0)
    scaled = {"mean": moving["mean"] * 10, "var": moving["var"] * 100}
    np.testing.assert_allclose(distribution_drift(scaled), distribution_drift(moving))
    with pytest.raises(ValueError, match="two records"):
        distribution_drift({"mean": np.ones((1, 1, 1)), "var": np.ones((1, 1, 1))})
