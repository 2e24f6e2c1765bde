"""Saved points: a probe replayed later from a saved step gives what it recorded during training."""

import copy
import dataclasses

import numpy as np
import pytest
import torch

from helpers import train
from helpers.landscape_views import fine_curve
from helpers.probes import LandscapeProbe
from helpers.saved_points import SavedPoint, SavePointsProbe, load_point, replay, saved_steps

from .test_train import small
from .tolerances import gamma

KEYS = ("eta", "loss", "grad_diff", "grad_norm", "g_norm", "weight_norm")


def landscape():
    return LandscapeProbe(every=4, low=0.5, high=4.0, points=3)


@pytest.mark.parametrize("norm", ["batch", "none", "noisy_batch"])
def test_replaying_a_probe_at_a_saved_point_gives_the_training_records_bit_for_bit(cifar_dir, norm):
    history = train(small(norm=norm), probes=[landscape(), SavePointsProbe(4)], cache=False, progress=False)
    assert saved_steps(history) == [0, 4, 8]
    for k, step in enumerate(saved_steps(history)):
        point = load_point(history, step)  # the same process: the same arithmetic as training
        assert point.bit_for_bit
        again = replay(point, [landscape()])["landscape"]
        for key in KEYS:
            np.testing.assert_array_equal(np.asarray(again[key]), history.probes["landscape"][key][k])


def one_ulp_apart(point: SavedPoint, seed: int = 0) -> SavedPoint:
    """The same point with every weight moved by one float32 ulp, up or down at random: as if each
    weight had been rounded once more (uniform signs would rescale whole layers, which BN ignores)."""
    model = copy.deepcopy(point.model)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            up = torch.rand(p.shape, generator=generator).to(p.device) < 0.5
            p.copy_(torch.nextafter(p, torch.where(up, torch.inf, -torch.inf).to(p.dtype)))
    return dataclasses.replace(point, model=model)


def test_a_point_saved_with_another_thread_count_replays_to_rounding_and_with_the_same_bit_for_bit(cifar_dir):
    # BN's reductions are split by thread, so a run's bits depend on the thread count (and the CPU). A
    # point must still load and replay where they differ, only not bit for bit.
    threads = torch.get_num_threads()
    other = 1 if threads > 1 else 2
    try:
        torch.set_num_threads(other)
        history = train(small(norm="batch"), probes=[landscape(), SavePointsProbe(4)], cache=False, progress=False)
    finally:
        torch.set_num_threads(threads)
    assert history.probes["points"].settings["arithmetic"]["threads"] == other
    recorded = history.probes["landscape"]
    point = load_point(history, 8)  # recomputes the step's loss: to float32 rounding here, not exactly
    assert not point.bit_for_bit
    again = replay(point, [landscape()])["landscape"]
    # The bound is this point's own sensitivity to rounding: the gap between replays one ulp apart in
    # every weight. Another thread count reorders each sum of the probe's forward and backward passes,
    # an error of the same order (√n·u relative for n terms); we allow 100 times it. A wrong batch or
    # point moves the records by 1e-3 relative or more, 10⁴ times the sensitivity.
    nudged = replay(one_ulp_apart(point), [landscape()])["landscape"]
    for key in KEYS:
        gap = np.abs(np.asarray(again[key]) - recorded[key][2]).max()
        sensitivity = np.abs(np.asarray(nudged[key]) - np.asarray(again[key])).max()
        if key == "weight_norm":  # ‖w‖ of the very same weights: a norm's rounding bound, for any order
            n = sum(p.numel() for p in point.model.parameters())
            assert gap <= gamma(n + 2) * recorded[key][2], (key, gap)
        else:  # eta is lr·multiplier, no rounding from the weights: exact
            assert gap <= 100 * sensitivity, (key, gap, sensitivity)
    torch.set_num_threads(other)
    try:
        assert load_point(history, 8).bit_for_bit
    finally:
        torch.set_num_threads(threads)


def test_a_fine_curve_through_the_probe_steps_equals_the_probe_records(cifar_dir):
    history = train(small(), probes=[landscape(), SavePointsProbe(4)], cache=False, progress=False)
    point = load_point(history, 8)
    curve = fine_curve(point, landscape().multipliers)
    # the same point, batch and operations as the probe's in training, in one process: exact
    np.testing.assert_array_equal(curve["loss"], history.probes["landscape"]["loss"][2])
    np.testing.assert_array_equal(curve["grad_norm"], history.probes["landscape"]["grad_norm"][2])
    assert curve["g_norm"] == history.probes["landscape"]["g_norm"][2]


def test_saved_points_come_back_from_the_run_cache_and_leave_the_point_unchanged(cifar_dir):
    config = small()
    train(config, probes=[SavePointsProbe(6)], progress=False)
    cached = train(config, probes=[SavePointsProbe(6)], progress=False)
    assert cached.from_cache and saved_steps(cached) == [0, 6]
    point = load_point(cached, 6)
    before = {k: v.clone() for k, v in point.model.state_dict().items()}
    replay(point, [landscape()])
    point.gradient()
    assert all(torch.equal(before[k], v) for k, v in point.model.state_dict().items())
    assert point.train_loss == cached.train_loss[6]


def test_an_unsaved_step_gets_an_error_listing_the_saved_ones(cifar_dir):
    history = train(small(), probes=[SavePointsProbe(5)], cache=False, progress=False)
    with pytest.raises(ValueError, match="step 3 was not saved in this run; saved steps: 0, 5, 10"):
        load_point(history, 3)
    plain = train(small(), cache=False, progress=False)
    with pytest.raises(ValueError, match="saved steps: none"):
        load_point(plain, 0)


def test_a_point_whose_loss_no_longer_matches_is_refused(cifar_dir):
    history = train(small(), probes=[SavePointsProbe(5)], cache=False, progress=False)
    history.train_loss[5] += 0.5  # as if the data or the code had changed since
    with pytest.raises(RuntimeError, match="the data or the code has changed"):
        load_point(history, 5)


def test_saving_points_needs_plain_sgd_and_one_network(cifar_dir):
    with pytest.raises(ValueError, match="momentum"):
        train(small(momentum=0.9), probes=[SavePointsProbe(5)], cache=False, progress=False)
    from helpers import build_model
    from helpers.ensemble import DeepLinearEnsemble
    with pytest.raises(ValueError, match="not an ensemble"):
        SavePointsProbe(5).start(DeepLinearEnsemble([build_model("dln", seed=k) for k in range(2)]))


def test_the_matched_loss_step_is_the_saved_step_nearest_in_smoothed_loss(cifar_dir):
    from helpers.saved_points import nearest_loss_step, smoothed_loss

    history = train(small(), probes=[SavePointsProbe(4)], cache=False, progress=False)
    assert smoothed_loss(history, 0, window=3) == pytest.approx(np.mean(history.train_loss[:3]))
    for step in saved_steps(history):  # one step's own loss: no two windows overlap
        assert nearest_loss_step(history, history.train_loss[step], window=1) == step
    assert nearest_loss_step(history, 2.0) in saved_steps(history)
    with pytest.raises(ValueError, match="saved no points"):
        nearest_loss_step(train(small(), cache=False, progress=False), 1.0)
