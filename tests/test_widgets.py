"""The sliders' callbacks, driven in code as the notebooks' headless cells do."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from helpers.probes import ActivationProbe  # noqa: E402
from helpers.widgets import AffineExplorer, LearningRateExplorer, NoiseExplorer  # noqa: E402

from .test_train import small  # noqa: E402


def test_learning_rate_explorer_trains_the_selected_run(cifar_dir):
    explorer = LearningRateExplorer(small(norm="batch", norm_options={"momentum": 0.2}))
    explorer.slider.value, explorer.batchnorm.value = 0.02, False
    explorer.button.click()
    (label, history), = explorer.runs.items()
    assert label == "Standard, lr 0.02"
    assert history.config["run"]["norm"] == "none" and history.config["run"]["norm_options"] == {}
    explorer.batchnorm.value = True
    assert explorer.train_selected().config["run"]["norm_options"] == {"momentum": 0.2}


def test_noise_explorer_trains_noisy_bn_at_the_chosen_strength(cifar_dir):
    explorer = NoiseExplorer(small(), lambda: ActivationProbe([1, 2], units=2, every=4))
    explorer.slider.value = 0.5
    explorer.button.click()
    history = explorer.runs["noisy BN, strength 0.5"]
    assert history.config["run"]["norm"] == "noisy_batch"
    assert history.config["run"]["norm_options"] == {"strength": 0.5}
    assert history.probes["activations"]["hist"].shape[:3] == (3, 2, 2)


def test_affine_explorer_follows_gamma_and_beta():
    explorer = AffineExplorer(np.random.default_rng(0).standard_normal(10_000))
    explorer.gamma.value, explorer.beta.value = 2.0, -1.0
    mean, std = explorer.shown
    assert abs(mean + 1.0) < 0.05 and abs(std - 2.0) < 0.05
