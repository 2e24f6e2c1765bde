"""Run groups and the notebooks' run definitions: what each notebook trains, described before training."""

from dataclasses import replace

import pytest
import torch

from helpers.config import RunConfig
from helpers.gpu_speed import GpuSpeed
from helpers.notebook_runs import NOTEBOOKS, notebook_runs
from helpers.probes import ActivationProbe
from helpers.profiles import PROFILES
from helpers.run_groups import RunGroup
from helpers.runs import run_key

from .test_train import small

CPU = torch.device("cpu")


def group(**overrides) -> RunGroup:
    base = dict(name="g", base=small(), networks={"Standard": "none", "BN": "batch"}, seeds=(0, 1))
    return RunGroup(**{**base, **overrides})


def test_a_group_trains_every_network_at_every_learning_rate_over_its_seeds():
    g = group(lrs=(0.1, 0.2, 0.5), kind="grid")
    configs = g.configs()
    assert len(configs) == 2 * 3 * 2
    assert {(c.norm, c.lr, c.seed) for c in configs} == {(n, lr, s) for n in ("none", "batch")
                                                          for lr in (0.1, 0.2, 0.5) for s in (0, 1)}


def test_units_split_a_group_into_the_pieces_that_train_on_their_own():
    vgg = group(lrs=(0.1, 0.2), kind="grid")
    assert len(vgg.units()) == 2 * 2 * 2  # one VGG run each
    assert sorted(c for u in vgg.units() for c in map(run_key, (u.record(c, CPU) for c in u.configs()))) == \
        sorted(run_key(vgg.record(c, CPU)) for c in vgg.configs())
    dln = group(base=RunConfig(model="dln", steps=5, batch_size=20, train_size=20, test_size=20), seeds=(0, 1, 2))
    assert [len(u.configs()) for u in dln.units()] == [3, 3]  # a network's instances train as one ensemble
    search = group(lrs=(0.1, 0.2, 0.5), kind="top_down")
    assert len(search.units()) == 2 * 2 and all(len(u.configs()) == 3 for u in search.units())
    assert [c.lr for c in search.units()[0].configs()] == [0.5, 0.2, 0.1]  # from the top down


@pytest.mark.parametrize("bad, message", [
    (dict(kind="sideways"), "unknown kind"), (dict(kind="grid"), "needs learning rates"),
    (dict(probes=(ActivationProbe([1]),), curves_only=True), "must stay exact"), (dict(seeds=()), "at least one"),
])
def test_a_malformed_group_is_refused_with_a_reason(bad, message):
    with pytest.raises(ValueError, match=message):
        group(**bad)


def test_only_plain_vgg_curves_take_the_faster_mode(monkeypatch):
    monkeypatch.setenv("BN_FAST", "tf32")
    assert group(curves_only=True).speed() == GpuSpeed("tf32")
    assert group().speed().exact
    dln = RunConfig(model="dln", steps=5, batch_size=20, train_size=20, test_size=20)
    assert group(base=dln, curves_only=True).speed().exact


def test_a_top_down_search_misses_only_the_runs_down_to_the_first_that_trains(cifar_dir):
    search = group(base=small(steps=30, lr=0.05), networks={"BN": "batch"}, seeds=(0,), lrs=(0.05, 0.01),
                   kind="top_down")
    assert len(search.missing(CPU)) == 2  # nothing cached: every candidate, an upper bound
    result = search.train(progress=False)
    assert search.missing(CPU) == []
    assert result.runs == 2 - (result.largest["BN"][0] == 0.05)


def test_every_notebook_has_a_definition_in_every_profile():
    for name in NOTEBOOKS:
        for profile in PROFILES.values():
            planned = notebook_runs(name, profile)
            assert planned.notebook == name and planned.profile is profile
            for g in planned.values():
                assert g.configs() and g.describe()
    assert notebook_runs(5, "ci").notebook == "05"
    assert "trains no runs" in repr(notebook_runs("01", "ci"))
    assert "python -m helpers.precompute --notebooks 08" in repr(notebook_runs("08", "ci"))


def test_an_unknown_notebook_or_group_is_named_in_the_error():
    with pytest.raises(ValueError, match="unknown notebook '12'"):
        notebook_runs("12", "ci")
    with pytest.raises(KeyError, match="has no run group 'vgg2'; it has: vgg"):
        notebook_runs("07", "ci")["vgg2"]


def test_runs_two_notebooks_share_have_the_same_cache_keys():
    keys = lambda g: [run_key(g.record(c, CPU)) for c in g.configs()]  # noqa: E731
    for profile in ("ci", "laptop", "paper"):
        assert keys(notebook_runs("04", profile)["dln"]) == keys(notebook_runs("05", profile)["dln"])
        assert keys(notebook_runs("05", profile)["vgg"]) == keys(notebook_runs("08", profile)["vgg"])
        assert keys(notebook_runs("03", profile)["vgg"]) == keys(notebook_runs("04", profile)["vgg"])


def test_definitions_follow_the_first_seed(monkeypatch):
    monkeypatch.setenv("BN_FIRST_SEED", "100")
    g = notebook_runs("02", "ci")["sweep"]
    assert g.seeds == (100, 101) and {c.seed for c in g.configs()} == {100, 101}
    assert replace(g, seeds=(0,)).configs()[0].seed == 0
