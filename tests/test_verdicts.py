"""The verdict rule, the claims' records, notebook 09's table and the README's verdict column."""

import json

import numpy as np
import pytest

from helpers import claim_records, verdict_readme, verdicts
from helpers.claims import TEXT_AGREES, Claims
from helpers.declared_checks import DLN_LOSS_READINGS, DRIFT_READINGS, LANDSCAPE_MEASURES, LANDSCAPE_PHASES
from helpers.verdicts import PaperClaim, verdict


@pytest.fixture
def ci_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("BN_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("BN_PROFILE", "ci")
    monkeypatch.setenv("BN_DEVICE", "cpu")
    return tmp_path / "runs"


@pytest.mark.parametrize("counts, expected", [
    ([(3, 3)], "reproduced"), ([(3, 3), (8, 8)], "reproduced"), ([(2, 3)], "partly"), ([(1, 3)], "not reproduced"),
    ([(4, 8)], "not reproduced"), ([(3, 3), (0, 3)], "partly"), ([(3, 3), (2, 3)], "mostly"),
    ([(2, 3), (0, 8)], "partly"), ([(8, 8), (8, 8), (4, 8)], "mostly"), ([(0, 3), (0, 8)], "not reproduced"),
    ([(0, 3), (0, 3), (2, 3), (0, 8)], "partly"), ([(0, 0)], verdicts.UNDECIDED), ([(0, 0), (3, 3)], "reproduced"),
])
def test_verdict_follows_the_rule_stated_in_the_module(counts, expected):
    assert verdict(counts) == expected


def test_verdict_relaxed_to_a_fraction_of_seeds_counts_most_seeds_as_holding():
    assert verdict([(7, 8), (3, 3)]) == "mostly"
    assert verdict([(7, 8), (3, 3)], need=0.8) == "reproduced"
    assert verdict([(7, 8), (1, 3)], need=0.8) == "partly"


def test_adding_a_holding_check_never_lowers_a_verdict_and_a_failing_one_never_raises_it():
    rank = {v: i for i, v in enumerate(reversed(verdicts.VERDICTS))}  # not reproduced 0 ... reproduced 3
    rng = np.random.default_rng(0)
    for _ in range(2000):
        counts = []
        for _ in range(rng.integers(1, 6)):
            n = int(rng.integers(1, 9))
            counts.append((int(rng.integers(0, n + 1)), n))
        need = float(rng.choice([1.0, 0.8, 0.6]))
        before = rank[verdict(counts, need)]
        n = int(rng.integers(1, 9))
        assert rank[verdict(counts + [(n, n)], need)] >= before, counts
        assert rank[verdict(counts + [(0, n)], need)] <= before, counts


def test_intervals_are_exact_clopper_pearson_and_three_seeds_are_never_firm():
    lo, hi = verdicts.interval(3, 3)
    assert hi == 1.0 and abs(lo - 0.025 ** (1 / 3)) < 1e-12  # k = n: the lower end is (α/2)^(1/n)
    lo, hi = verdicts.interval(0, 8)
    assert lo == 0.0 and abs(hi - (1 - 0.025 ** (1 / 8))) < 1e-12
    lo, hi = verdicts.interval(4, 8)
    assert abs(lo + hi - 1) < 1e-12 and lo < 0.5 < hi  # symmetric about ½ at k = n/2
    assert not any(verdicts.firm(k, 3) for k in range(4))
    assert verdicts.firm(6, 6) and verdicts.firm(0, 6) and verdicts.firm(8, 8) and not verdicts.firm(7, 8)
    assert verdicts.firm(300, 300) and not verdicts.firm(0, 0)


@pytest.mark.parametrize("counts", [[], [(4, 3)], [(-1, 3)]])
def test_verdict_of_malformed_counts_is_a_clear_error(counts):
    with pytest.raises(ValueError, match="verdict|holds"):
        verdict(counts)


def _claims(notebook="02", part=""):
    claims = Claims([0, 1, 2], notebook=notebook, part=part)
    claims.paper("A holds", "the paper says A", "margin", [1.0, 2.0, 3.0], lambda v: v > 0)
    claims.observation("B in some seeds", "ratio", [0.5, 2.0, 3.0], lambda v: v > 1)
    return claims


def test_checking_a_notebooks_claims_records_them_beside_the_runs(ci_cache):
    _claims().check()
    record = claim_records.load_record("02", "ci")
    assert record["profile"] == "ci" and record["failing"] == []
    assert [c["text"] for c in record["claims"]] == ["A holds", "B in some seeds"]
    assert record["claims"][1]["passes"] == [False, True, True] and record["claims"][1]["values"] == [0.5, 2.0, 3.0]
    assert record["claims"][0]["evidence"] == "empirical" and record["claims"][0]["decided"] == [True] * 3
    assert record["runs"] == claim_records.planned_run_keys("02", "ci") and len(record["runs"]) > 0
    assert (ci_cache / "claims" / "ci" / "02.json").is_file()


def test_a_failing_claim_is_recorded_as_failing_and_nothing_raises(ci_cache):
    claims = Claims([0, 1], notebook="03")
    claims.paper("C holds", "the paper says C", "margin", [1.0, -1.0], lambda v: v > 0)
    claims.check()
    assert claim_records.load_record("03", "ci")["failing"] == ["C holds"]


def test_claims_without_a_notebook_are_not_recorded(ci_cache):
    Claims([0]).observation("D", "x", [1.0], lambda v: v > 0)
    Claims([0]).check()
    assert not (ci_cache / "claims").exists()


def test_a_record_is_stale_without_its_runs_or_with_other_code(ci_cache, monkeypatch):
    assert claim_records.staleness(None) == "not recorded yet"
    _claims().check()
    record = claim_records.load_record("02", "ci")
    assert "no longer in the cache" in claim_records.staleness(record)  # a fresh cache: nothing trained
    monkeypatch.setattr(claim_records, "missing_runs", lambda notebook, profile: 0)
    assert claim_records.staleness(record) == ""
    assert "other runs" in claim_records.staleness(dict(record, runs=record["runs"][1:]))
    assert "modules" in record and "claims" in record["modules"]  # stamped with the modules loaded when checked
    changed = dict(record, modules={**record["modules"], "claims": "0" * 16})
    assert "other helpers code (the code of claims changed since)" in claim_records.staleness(changed)


def _claim(kind, text, passes, rule="every", holds=None, evidence="empirical", reading="", decided=None):
    decided = [True] * len(passes) if decided is None else decided
    k, n = sum(p for p, d in zip(passes, decided) if d), sum(decided)
    holds = (n > 0 and k == n) if holds is None and rule == "every" else True if holds is None else holds
    return dict(kind=kind, text=text, paper="", quantity="q", rule=rule, evidence=evidence, reading=reading, says="",
                values=[float(p) if d else float("nan") for p, d in zip(passes, decided)], passes=passes,
                decided=decided, holds=holds)


def _record(name, claims, unit="seeds"):
    notebook, _, part = name.partition("-")
    return dict(name=name, notebook=notebook, part=part, profile="laptop", unit=unit, seeds=[0, 1, 2],
                failing=[], runs=[], claims=claims)


MEAN, SUM = DLN_LOSS_READINGS
TOY_CLAIMS = (
    PaperClaim("BN trains faster", "Fig. 1", "02", verdicts.BN_HELPS, "faster",
               (("02", "lr 0.1: BN ends lower"), ("02", "lr 0.5: BN ends lower"))),
    PaperClaim("G and G' apart", "Fig. 3", "04", verdicts.NOT_ICS, "apart",
               (("04-dln", "DLN, mean loss: far apart"), ("04-dln", "DLN, summed loss: far apart")),
               readings=DLN_LOSS_READINGS),
    PaperClaim("Theorem X", "Thm X", "07", verdicts.SMOOTHER, "Thm X",
               (("07-cases", "Thm X holds"), ("07-cases", "premise of X")), kind="theorem"),
)


def _toy_records():
    t, f = True, False
    return {
        "02": _record("02", [_claim("paper", "lr 0.1: BN ends lower", [t, t, t]),
                             _claim("paper", "lr 0.5: BN ends lower", [t, t, t]),
                             _claim("observation", "something else", [f, t, f], "count")]),
        "04-dln": _record("04-dln", [_claim("paper", "DLN, mean loss: far apart", [t, f, f, f], reading=MEAN),
                                     _claim("paper", "DLN, summed loss: far apart", [t, t, t, t], reading=SUM)],
                          unit="instances"),
        "07-cases": _record("07-cases", [_claim("paper", "Thm X holds", [t] * 5, evidence="identity"),
                                         _claim("paper", "premise of X", [f] * 5, "count", evidence="premise")],
                            unit="cases"),
    }


def test_rows_take_their_checks_and_give_a_verdict_under_each_reading(monkeypatch):
    monkeypatch.setattr(verdicts, "PAPER_CLAIMS", TOY_CLAIMS)
    records = _toy_records()
    rows = verdicts.paper_rows(records)
    assert [len(r.checks) for r in rows] == [2, 2, 2]
    assert rows[1].verdicts() == {MEAN: "not reproduced", SUM: "reproduced"}
    assert [r.verdict() for r in rows] == ["reproduced", "depends on the DLN's loss",
                                           verdicts.IDENTITY_HOLDS]
    assert rows[1].behind == "4 instances" and rows[0].profile == "laptop"
    assert rows[2].empirical() == [] and "identity: 5 of 5 cases; premise: 0 of 5 cases" in rows[2].standing()
    assert [c.text for c in rows[0].unfirm()] == [c.text for c in rows[0].checks]  # 3 of 3 is never firm
    assert verdicts.disagreements(rows, records) == []


def test_a_check_name_that_matches_no_recorded_claim_names_the_notebook(monkeypatch):
    missing = PaperClaim("x", "Fig. 9", "04", verdicts.NOT_ICS, "x", (("04-dln", "no such claim"),))
    monkeypatch.setattr(verdicts, "PAPER_CLAIMS", (missing,))
    with pytest.raises(LookupError, match="notebook 04 disagree"):
        verdicts.paper_rows(_toy_records())


def test_disagreements_catch_a_claim_left_out_an_identity_counted_as_evidence_and_a_wrong_holds(monkeypatch):
    monkeypatch.setattr(verdicts, "PAPER_CLAIMS", TOY_CLAIMS)
    records = _toy_records()
    records["02"]["claims"].append(_claim("paper", "a claim of the paper with no row", [True]))
    records["02"]["claims"][0].update(evidence="identity")  # an identity inside an empirical row
    records["02"]["claims"][1].update(passes=[False, False, False], holds=True)  # says it holds; its seeds say not
    problems = verdicts.disagreements(verdicts.paper_rows(records), records)
    assert any("the table leaves it out" in p for p in problems)
    assert any("an empirical row counts ['identity'] checks" in p for p in problems)
    assert any("holds in 0 of 3 by rule 'every', recorded as holds=True" in p for p in problems)


def test_load_records_executes_only_notebooks_whose_records_are_not_current(monkeypatch):
    current = {"02": {"fresh": True}}
    executed = []

    def fake_execute(notebook, profile):
        executed.append(notebook)
        current.update({name: {"fresh": True} for name in verdicts.RECORDS[notebook]})
        return claim_records.Execution(notebook, 0.1)

    monkeypatch.setattr(verdicts, "load_record", lambda name, profile: current.get(name))
    monkeypatch.setattr(verdicts, "staleness", lambda r: "" if r else "not recorded yet")
    monkeypatch.setattr(verdicts, "execute_notebook", fake_execute)
    records = verdicts.load_records("ci", notebooks=("02", "05"), log=lambda *_: None)
    assert executed == ["05"] and set(records) == {"02", "05-vgg", "05-dln"}
    with pytest.raises(RuntimeError, match="execute notebook 03 first"):
        verdicts.load_records("ci", execute_stale=False, notebooks=("03",))


def test_a_notebook_that_fails_while_recording_is_named(monkeypatch):
    monkeypatch.setattr(verdicts, "load_record", lambda name, profile: None)
    monkeypatch.setattr(verdicts, "execute_notebook", lambda nb, profile: claim_records.Execution(nb, 1.0, "boom"))
    with pytest.raises(RuntimeError, match="notebook 06 failed while recording its claims:\nboom"):
        verdicts.load_records("ci", notebooks=("06",), log=lambda *_: None)


def test_every_row_names_recorded_parts_of_its_own_notebook():
    parts = {name for names in verdicts.RECORDS.values() for name in names}
    for pc in verdicts.PAPER_CLAIMS:
        assert pc.argument in verdicts.ARGUMENT and pc.notebook in verdicts.RECORDS and pc.kind in ("empirical",
                                                                                                     "theorem")
        for record, _ in pc.checks:
            assert record in parts and record.startswith(pc.notebook)


def test_rows_about_the_same_quantity_take_the_same_phases_measures_and_readings():
    """Declared checks: every landscape claim (BN's Fig. 4 rows, the ℓp row) takes the same phases, and
    the ℓp row BN's measures; every drift claim both drift readings; every DLN claim both loss readings."""
    families: dict[str, list[PaperClaim]] = {}
    for pc in verdicts.PAPER_CLAIMS:
        families.setdefault(pc.family, []).append(pc)
    landscape = families["landscape"]
    assert {pc.phases for pc in landscape} == {LANDSCAPE_PHASES}
    bn_measures = {m for pc in landscape if pc.notebook == "05" for m in pc.measures}
    assert [set(pc.measures) for pc in landscape if pc.notebook == "06"] == [bn_measures]
    assert {pc.readings for pc in families["drift"]} == {DRIFT_READINGS}
    assert {pc.readings for pc in families["dln"]} == {DLN_LOSS_READINGS}
    for pc in landscape:  # the check names are exactly the declared product, nothing added or left out
        names = {text for _, text in pc.checks}
        for phase in pc.phases:
            for measure in pc.measures:
                assert any(f"{phase}: " in t and LANDSCAPE_MEASURES[measure] in t for t in names), (pc.claim, phase)
        assert len(names) == len(pc.checks)
    for pc in verdicts.PAPER_CLAIMS:  # a check under one layer or phase alone never enters a row
        assert not any("lowest" in text or "deepest" in text for _, text in pc.checks), pc.claim


def test_the_markdown_table_reads_back_as_the_verdicts_it_shows(monkeypatch):
    monkeypatch.setattr(verdicts, "PAPER_CLAIMS", TOY_CLAIMS)
    rows = verdicts.paper_rows(_toy_records())
    table = verdicts.markdown_table(rows)
    assert "mean loss: not reproduced; summed loss: reproduced" in table and "identity and premise" in table
    pairs = verdicts.parse_markdown_table(table)
    assert pairs == [("02", "reproduced"), ("04", "depends on the DLN's loss"), ("07", verdicts.IDENTITY_HOLDS)]
    column = verdicts.readme_column(pairs + [("02", "partly")], later=[("08", "reproduced")])
    assert column == {"02": "1 reproduced, 1 partly", "04": "1 depend on a choice of ours",
                      "07": "1 identities hold", "08": "later work: 1 reproduced"}


def test_the_readme_column_is_rewritten_only_in_the_notebook_table():
    readme = ("intro | with a bar\n\n| notebook | what it shows |\n| --- | --- |\n| `00_setup.ipynb` | setup |\n"
              "| `05_landscape.ipynb` | Fig. 4 |\n\nafter\n| a | b |\n")
    out = verdict_readme.with_column(readme, {"05": "2 reproduced"})
    assert "| `05_landscape.ipynb` | Fig. 4 | 2 reproduced |" in out and "| `00_setup.ipynb` | setup | — |" in out
    assert out.endswith("after\n| a | b |\n") and verdict_readme.HEADER in out
    assert verdict_readme.with_column(out, {"05": "2 reproduced"}) == out  # rewriting again changes nothing


def test_readme_verdicts_match_the_committed_notebook_09():
    """The README's column is what notebook 09, as committed, shows (python -m helpers.verdict_readme)."""
    paper, later = verdict_readme.committed_tables()
    assert {nb for nb, _ in paper} <= set(verdicts.RECORDS) and {nb for nb, _ in later} == {"08"}
    assert len(paper) == len(verdicts.PAPER_CLAIMS)
    assert verdict_readme.expected_readme() == verdict_readme.README.read_text(), \
        "README.md's verdict column differs from notebook 09: run python -m helpers.verdict_readme"


def test_recorded_claims_print_with_their_counts_and_numbers():
    text = verdicts.recorded(_toy_records(), "02", r"^lr")
    assert "3 of 3   lr 0.1: BN ends lower" in text and "something else" not in text
    with pytest.raises(LookupError):
        verdicts.recorded(_toy_records(), "02", r"nothing")


def test_records_survive_nan_and_inf_values(ci_cache):
    claims = Claims([0, 1], notebook="05", part="dln")
    claims.observation("E", "x", [np.nan, np.inf], lambda v: v > 0)
    claims.check()
    values = claim_records.load_record("05-dln", "ci")["claims"][0]["values"]
    assert np.isnan(values[0]) and values[1] == np.inf
    assert json.loads((ci_cache / "claims" / "ci" / "05-dln.json").read_text())["unit"] == "seeds"


def test_the_committed_notebook_09_prose_describes_its_own_verdicts():
    outputs = "".join("".join(o.get("text", "")) for c in json.loads(verdict_readme.NOTEBOOK.read_text())["cells"]
                      for o in c.get("outputs", []))
    assert TEXT_AGREES in outputs
