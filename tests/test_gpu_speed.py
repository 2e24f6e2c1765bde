"""Exact float32 by default, faster GPU modes only on request, and cached-only runs."""

import pytest
import torch

from helpers.ensemble import train_ensemble
from helpers.gpu_speed import EXACT, GpuSpeed, exact_arithmetic
from helpers.probes import FunctionProbe
from helpers.runs import RunNotCachedError
from helpers.train import train

from .test_train import small


@pytest.mark.parametrize("text, precision, compiled", [
    (None, "exact", False), ("", "exact", False), ("tf32", "tf32", False), ("BF16", "bf16", False),
    ("tf32+compile", "tf32", True), ("compile", "exact", True),
])
def test_speed_modes_parse_from_what_bn_fast_says(text, precision, compiled):
    speed = GpuSpeed.parse(text)
    assert (speed.precision, speed.compile) == (precision, compiled)
    assert speed.exact == (precision == "exact" and not compiled)


@pytest.mark.parametrize("text", ["fp16", "tf32+bf16", "fast"])
def test_an_unknown_speed_mode_names_the_valid_ones(text):
    with pytest.raises(ValueError, match="tf32, bf16, compile"):
        GpuSpeed.parse(text)


def test_faster_modes_are_gpu_only_with_a_clear_error(cifar_dir):
    EXACT.check(torch.device("cpu"))
    with pytest.raises(ValueError, match="GPU-only"):
        GpuSpeed("tf32").check(torch.device("cpu"))
    with pytest.raises(ValueError, match="GPU-only"):
        train(small(), speed=GpuSpeed("bf16"), device="cpu")


def test_runs_record_their_arithmetic_and_are_exact_by_default(cifar_dir):
    history = train(small(steps=3), progress=False)
    assert history.record["arithmetic"] == "exact" and history.arithmetic == "exact"
    assert train(small(steps=3), progress=False).from_cache  # the same key, read back


def test_tf32_is_off_inside_every_probe_and_restored_after_the_run(cifar_dir):
    flags = lambda: {"tf32": torch.backends.cuda.matmul.allow_tf32 or torch.backends.cudnn.allow_tf32}  # noqa: E731
    probe = FunctionProbe("flags", before=lambda ctx: flags(), after=lambda ctx: flags())
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    try:
        history = train(small(steps=4), probes=[probe], cache=False, progress=False)
        assert not history.probes["flags"]["tf32"].any()
        assert torch.backends.cuda.matmul.allow_tf32 and torch.backends.cudnn.allow_tf32
        with exact_arithmetic():
            assert not torch.backends.cudnn.allow_tf32
        assert torch.backends.cudnn.allow_tf32
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def test_cached_only_refuses_to_train_a_run_that_is_not_cached(cifar_dir, monkeypatch):
    monkeypatch.setenv("BN_CACHED_ONLY", "1")
    with pytest.raises(RunNotCachedError, match="not in the cache.*lr=0.05"):
        train(small(steps=3), progress=False)
    monkeypatch.delenv("BN_CACHED_ONLY")
    trained = train(small(steps=3), progress=False)
    monkeypatch.setenv("BN_CACHED_ONLY", "yes")
    assert train(small(steps=3), progress=False).from_cache
    assert train(small(steps=3), cache=False, progress=False).steps.tolist() == trained.steps.tolist()  # a measurement


def test_cached_only_covers_dln_ensembles(monkeypatch, tmp_path):
    from helpers.config import RunConfig

    monkeypatch.setenv("BN_RUNS_DIR", str(tmp_path))
    monkeypatch.setenv("BN_CACHED_ONLY", "1")
    configs = [RunConfig(model="dln", steps=5, batch_size=20, train_size=20, test_size=20, lr=1e-3, seed=s,
                         data_seed=s, eval_every=5) for s in (0, 1)]
    with pytest.raises(RunNotCachedError):
        train_ensemble(configs, progress=False, device="cpu")
