"""The sliders' callbacks, driven in code as the notebooks' headless cells do."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from helpers.probes import ActivationProbe  # noqa: E402
from helpers.widgets import AffineExplorer, LearningRateExplorer, NoiseExplorer  # noqa: E402

from .test_train import small  # noqa: E402


def test_learning_rate_explorer_trains_the_selected_run(cifar_dir):
    explorer = LearningRateExplorer(small(norm="batch", norm_options={"momentum": 0.2}))
    explorer.slider.value, explorer.choice.value = 0.02, False
    explorer.button.click()
    (label, history), = explorer.runs.items()
    assert label == "Standard, lr 0.02"
    assert history.config.norm == "none" and history.config.norm_options == {}
    explorer.choice.value = True
    assert explorer.train_selected().config.norm_options == {"momentum": 0.2}


def test_learning_rate_explorer_offers_a_menu_of_networks_by_label(cifar_dir):
    explorer = LearningRateExplorer(small(norm="l1"), networks=("Standard", "BN", "ℓ1", "ℓ∞"))
    assert [label for label, _ in explorer.choice.options] == ["Standard", "BN", "ℓ1", "ℓ∞"]
    assert explorer.choice.value == "l1"
    explorer.choice.value, explorer.slider.value = "linf", 0.05
    explorer.button.click()
    (label, history), = explorer.runs.items()
    assert label == "ℓ∞, lr 0.05" and history.config.norm == "linf"


def test_noise_explorer_trains_noisy_bn_at_the_chosen_strength(cifar_dir):
    explorer = NoiseExplorer(small(), ActivationProbe([1, 2], units=2, every=4))
    explorer.slider.value = 0.5
    explorer.button.click()
    history = explorer.runs["noisy BN, strength 0.5"]
    assert history.config.norm == "noisy_batch"
    assert history.config.norm_options == {"strength": 0.5}
    assert history.probes["activations"]["hist"].shape[:3] == (3, 2, 2)


def test_affine_explorer_follows_gamma_and_beta():
    explorer = AffineExplorer(np.random.default_rng(0).standard_normal(10_000))
    explorer.gamma.value, explorer.beta.value = 2.0, -1.0
    mean, std = explorer.shown
    # statistical: 10,000 fixed draws (numpy's generator is the same everywhere) put the mean of 2x − 1
    # within 2 standard errors (0.02 each) of −1: 0.013 here, and the std within 0.004 of 2
    assert abs(mean + 1.0) < 0.05 and abs(std - 2.0) < 0.05


def never_captured(*args):
    raise AssertionError("an explorer printed inside `with output:`; set output.outputs instead")


def test_explorers_draw_by_setting_outputs_never_by_capturing(cifar_dir, monkeypatch):
    # Capturing (`with output:`) makes a headless notebook runner send messages to the kernel on the
    # channel it awaits the cell's reply on, which can hang execution (see helpers/widgets/panels.py).
    import ipywidgets

    monkeypatch.setattr(ipywidgets.Output, "__enter__", never_captured)
    explorer = LearningRateExplorer(small())
    explorer.button.click()
    (figure,) = explorer.output.outputs
    assert figure["output_type"] == "display_data" and "image/png" in figure["data"]
    assert explorer.progress.value == explorer.progress.max == small().steps
    affine = AffineExplorer(np.zeros(10))
    affine.gamma.value = 2.0
    assert len(affine.output.outputs) == 1


def test_slider_labels_are_shown_in_full():
    explorer = LearningRateExplorer(small())
    assert explorer.slider.style.description_width == "initial"


def test_projection_explorer_redraws_with_the_chosen_make_up_of_g():
    from helpers.widgets import ProjectionExplorer

    explorer = ProjectionExplorer(m=16)
    explorer.alignment.value, explorer.mean_share.value = 0.5, 0.9  # the share along 1 is capped at 0.5
    terms = explorer.terms  # float64 cases of 16 numbers: rounding of about 1e-16
    assert abs(terms["along_y_hat"] - 0.5) < 1e-9 and abs(terms["along_1"] - 0.5) < 1e-9
    assert abs(terms["lhs"]) < 1e-12  # nothing left once both parts are removed
    explorer.sigma.value = 10.0
    assert abs(explorer.terms["scale"] - 0.01) < 1e-12 and len(explorer.output.outputs) == 1


def test_fine_landscape_explorer_computes_curves_and_planes_at_saved_steps(cifar_dir):
    from helpers import train
    from helpers.saved_points import SavePointsProbe
    from helpers.widgets import FineLandscapeExplorer

    runs = {name: train(small(norm=norm), probes=[SavePointsProbe(4)], progress=False)
            for name, norm in (("Standard", "none"), ("BN", "batch"))}
    explorer = FineLandscapeExplorer(runs, points=6)
    assert explorer.step.options == (0, 4, 8) and explorer.step.value == 8
    assert set(explorer.shown) == {"Standard", "BN"} and len(explorer.shown["BN"]["loss"]) == 6
    explorer.max_eta.value, explorer.with_grad.value = 2.0, True
    assert explorer.shown["BN"]["multiplier"][-1] == pytest.approx(2.0) and "grad_norm" in explorer.shown["BN"]
    shown = explorer.shown
    explorer.resolution.value = 5  # a 2-D control: the 1-D view is not recomputed, and it is greyed out
    assert explorer.shown is shown and explorer.resolution.disabled and not explorer.spacing.disabled
    explorer.view.value = "2-D"
    assert explorer.shown["BN"]["loss"].shape == (5, 5) and "computed in" in explorer.status.value
    assert explorer.spacing.disabled and not explorer.resolution.disabled and not explorer.max_eta.disabled
    explorer.match.value = "same loss"
    assert set(explorer.steps_shown()) == {"Standard", "BN"} and explorer.steps_shown()["Standard"] == 8
    with pytest.raises(ValueError, match="share no saved step"):
        FineLandscapeExplorer({"Standard": train(small(), progress=False)})


def test_a_training_panel_opens_with_its_reference_runs_drawn_and_copies_its_view(cifar_dir):
    from helpers.train import train

    reference = {"Standard": train(small(norm="none"))}
    explorer = LearningRateExplorer(small(), reference=reference)
    (figure,) = explorer.output.outputs  # drawn before any click
    assert "image/png" in figure["data"]
    assert [t.get_text() for t in explorer.figure().axes[-1].get_legend().get_texts()] == ["Standard"]
    assert LearningRateExplorer(small()).output.outputs == ()  # nothing to draw yet
    explorer.button.click()
    labels = [t.get_text() for t in explorer.figure().axes[-1].get_legend().get_texts()]
    assert labels == ["Standard", "BN, lr 0.05"]



def test_sharpness_explorer_trains_full_batch_runs_with_lambda_max(cifar_dir, monkeypatch):
    from helpers import edge_of_stability as eos
    from helpers.train import train
    from helpers.widgets import SharpnessExplorer

    monkeypatch.setenv("BN_PROFILE", "ci")
    test50 = {"test_size": 50}  # the fixture's CIFAR-10 has 50 test images
    monkeypatch.setattr("helpers.widgets.after_the_paper.full_batch_config",
                        lambda **kw: eos.full_batch_config(**kw, **test50))
    config = eos.full_batch_config(lr=0.1, **test50)
    reference = {("Standard", 0.1): [train(config, probes=[eos.sharpness_probe(config.steps)], progress=False)]}
    explorer = SharpnessExplorer(reference=reference)
    (figure,) = explorer.output.outputs  # the reference run, before any click
    assert "image/png" in figure["data"]
    explorer.slider.value, explorer.choice.value = 0.2, "batch"
    explorer.button.click()
    (summary,) = explorer.runs[("BN (trained here)", 0.2)]
    assert summary["lr"] == 0.2 and summary["step"][-1] < eos.full_batch_steps(0.2)  # half the steps of η = 0.1
    steps = eos.full_batch_steps(0.2)
    assert len(summary["lambda_max"]) == len(range(0, steps, eos.sharpness_probe(steps).every))
    legend = [t.get_text() for t in explorer.figure().axes[0].get_legend().get_texts()]
    assert legend == ["Standard, η = 0.1", "BN (trained here), η = 0.2", "λ_max = 2/η"]
