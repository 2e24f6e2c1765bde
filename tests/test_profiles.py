import pytest
import torch

from helpers.profiles import PROFILES, active_profile, pick_device


def test_default_profile_is_laptop(monkeypatch):
    monkeypatch.delenv("BN_PROFILE", raising=False)
    assert active_profile().name == "laptop"


def test_profile_is_chosen_by_env(monkeypatch):
    monkeypatch.setenv("BN_PROFILE", "Paper")
    assert active_profile().name == "paper"


def test_unknown_profile_lists_the_valid_ones(monkeypatch):
    monkeypatch.setenv("BN_PROFILE", "fast")
    with pytest.raises(ValueError, match="'fast'.*ci, laptop, paper"):
        active_profile()


def test_paper_profile_follows_the_paper():
    p = PROFILES["paper"]
    assert (p.train_size, p.test_size, p.batch_size, p.steps) == (50_000, 10_000, 128, 15_000)
    assert p.dln_steps == 10_000
    assert (p.lp_steps, p.lp_dln_steps) == (p.steps, p.dln_steps)  # notebook 06 shortens runs below paper only


def test_profiles_grow_from_ci_to_paper():
    ci, laptop, paper = PROFILES["ci"], PROFILES["laptop"], PROFILES["paper"]
    for field in ("train_size", "steps", "width", "dln_steps", "lp_steps", "lp_dln_steps"):
        assert getattr(ci, field) <= getattr(laptop, field) <= getattr(paper, field)


def test_device_can_be_forced_and_bad_names_are_explained(monkeypatch):
    monkeypatch.setenv("BN_DEVICE", "cpu")
    assert pick_device() == torch.device("cpu")
    monkeypatch.setenv("BN_DEVICE", "gpu0")
    with pytest.raises(ValueError, match="not a device name"):
        pick_device()
    if not torch.cuda.is_available():
        monkeypatch.setenv("BN_DEVICE", "cuda")
        with pytest.raises(ValueError, match="no CUDA"):
            pick_device()


def test_auto_device_prefers_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.delenv("BN_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert pick_device() == torch.device("cpu")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert pick_device() == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pick_device() == torch.device("cuda")
