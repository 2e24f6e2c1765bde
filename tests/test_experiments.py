import numpy as np

from helpers.config import RunConfig
from helpers.experiments import LRSweep, lr_sweep, seed_configs, train_grid, train_seeds
from helpers.profiles import PROFILES, profile_seeds

from .test_train import small


def test_grid_trains_every_network_at_every_rate_and_seed_through_the_cache(cifar_dir):
    runs = train_grid(small(steps=4), [0.01, 0.05], seeds=[0, 1], progress=False)
    assert sorted(runs) == [("BN", 0.01), ("BN", 0.05), ("Standard", 0.01), ("Standard", 0.05)]
    assert [h.config.seed for h in runs["BN", 0.05]] == [0, 1]
    assert runs["BN", 0.05][0].config.norm == "batch" and runs["Standard", 0.01][1].config.lr == 0.01
    assert not np.array_equal(runs["BN", 0.05][0].train_loss, runs["BN", 0.05][1].train_loss)
    again = train_grid(small(steps=4), [0.05], seeds=[1], progress=False)
    assert all(h.from_cache for hs in again.values() for h in hs)


def test_seeds_vary_initialization_for_vgg_and_the_task_instance_for_the_dln():
    vgg = seed_configs(small(), [3, 4])
    assert [(c.seed, c.data_seed) for c in vgg] == [(3, 0), (4, 0)]
    dln = seed_configs(RunConfig.from_profile("ci", model="dln"), [3, 4])
    assert [(c.seed, c.data_seed) for c in dln] == [(3, 3), (4, 4)]


def test_profiles_set_how_many_seeds_and_first_seed_moves_them(monkeypatch):
    assert len(profile_seeds("vgg", PROFILES["laptop"])) >= 3 and len(profile_seeds("dln", PROFILES["laptop"])) >= 5
    assert len(profile_seeds("vgg", PROFILES["paper"])) >= 3
    monkeypatch.setenv("BN_FIRST_SEED", "100")
    assert profile_seeds("vgg", PROFILES["ci"]) == [100, 101]
    monkeypatch.setenv("BN_FIRST_SEED", "x")
    import pytest

    with pytest.raises(ValueError, match="BN_FIRST_SEED"):
        profile_seeds("vgg", PROFILES["ci"])


def test_train_seeds_returns_one_history_per_seed_in_order(cifar_dir):
    runs = train_seeds(small(steps=3), [2, 0], progress=False)
    assert [h.config.seed for h in runs] == [2, 0]


def test_sweep_marks_diverged_runs_and_reports_their_loss_as_inf(cifar_dir):
    sweep = lr_sweep(small(steps=20), [0.01, 1e4], {"Standard": "none"}, seeds=[0], progress=False)
    assert sweep.diverged["Standard"][:, 0].tolist() == [False, True]
    assert np.isfinite(sweep.final_loss["Standard"][0, 0]) and sweep.final_loss["Standard"][1, 0] == np.inf
    assert np.isnan(sweep.final_test_acc["Standard"][1, 0])


def test_largest_trainable_rate_is_per_seed_and_uses_the_distance_below_chance():
    loss = np.array([[1.0, 1.0], [2.05, 2.5], [np.inf, 1.5]])
    sweep = LRSweep(np.array([0.1, 0.5, 1.0]), [0, 1], {"A": loss}, {}, {})
    np.testing.assert_array_equal(sweep.largest_trainable_lr("A"), [0.5, 1.0])
    np.testing.assert_array_equal(sweep.largest_trainable_lr("A", margin=0.5), [0.1, 1.0])
    assert np.isnan(LRSweep(np.array([0.1]), [0], {"A": np.array([[2.3]])}, {}, {}).largest_trainable_lr("A")[0])
