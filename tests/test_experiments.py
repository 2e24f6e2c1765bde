import numpy as np

from helpers.experiments import LRSweep, lr_sweep, train_grid

from .test_train import small


def test_grid_trains_every_network_at_every_rate_through_the_cache(cifar_dir):
    runs = train_grid(small(steps=4), [0.01, 0.05], progress=False)
    assert sorted(runs) == [("BN", 0.01), ("BN", 0.05), ("Standard", 0.01), ("Standard", 0.05)]
    assert runs["BN", 0.05].config.norm == "batch" and runs["Standard", 0.01].config.lr == 0.01
    again = train_grid(small(steps=4), [0.05], progress=False)
    assert all(h.from_cache for h in again.values())


def test_sweep_marks_diverged_runs_and_reports_their_loss_as_inf(cifar_dir):
    sweep = lr_sweep(small(steps=20), [0.01, 1e4], {"Standard": "none"}, progress=False)
    assert sweep.diverged["Standard"].tolist() == [False, True]
    assert np.isfinite(sweep.final_loss["Standard"][0]) and sweep.final_loss["Standard"][1] == np.inf
    assert np.isnan(sweep.final_test_acc["Standard"][1])


def test_largest_trainable_rate_uses_the_distance_below_chance():
    sweep = LRSweep(np.array([0.1, 0.5, 1.0]), {"A": np.array([1.0, 2.05, np.inf])}, {}, {})
    assert sweep.largest_trainable_lr("A") == 0.5
    assert sweep.largest_trainable_lr("A", margin=0.5) == 0.1
    assert np.isnan(LRSweep(np.array([0.1]), {"A": np.array([2.3])}, {}, {}).largest_trainable_lr("A"))
