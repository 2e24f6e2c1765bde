import numpy as np
import pytest

from helpers.claims import TEXT_AGREES, Claims
from helpers.declared_checks import MUCH_SMALLER


def test_a_paper_claim_holds_only_by_its_rule_over_seeds():
    claims = Claims([0, 1, 2])
    every = claims.paper("x positive", "x > 0", "x", [1.0, 2.0, -1.0], lambda v: v > 0)
    majority = claims.paper("x positive, mostly", "x > 0", "x", [1.0, 2.0, -1.0], lambda v: v > 0, rule="majority")
    median = claims.paper("median positive", "x > 0", "x", [1.0, 2.0, -1.0], lambda v: v > 0, rule="median")
    assert not every.holds and majority.holds and median.holds
    assert every.count == "2 of 3" and every.verdict == "DOES NOT HOLD (2 of 3 seeds)"


def test_a_claim_that_fails_is_printed_loudly_and_the_notebook_goes_on(capsys):
    claims = Claims([0, 1])
    claims.paper("the paper's A", "A", "a", [1.0, -1.0], lambda v: v > 0)
    claims.observation("ours, stated for every seed", "b", [1.0, -1.0], lambda v: v > 0, rule="every")
    claims.check()  # no exception: a failing claim is a result
    out = capsys.readouterr().out
    assert "DOES NOT HOLD IN THIS RUN" in out and "the paper's A: a 1, -1 (1 of 2 seeds)" in out
    assert [c.text for c in claims.failures()] == ["the paper's A", "ours, stated for every seed"]


def test_an_identity_that_fails_stops_the_notebook_because_it_is_a_bug():
    claims = Claims(unit="cases")
    claims.identity("an identity", "Thm", "gap", [0.0, 1e-3], lambda v: v < 1e-9)
    with pytest.raises(AssertionError, match="the code has a bug: an identity"):
        claims.check()


def test_kinds_of_evidence_are_recorded_apart_and_printed_with_their_label():
    claims = Claims(unit="cases")
    claims.identity("an identity", "Thm", "gap", [0.0], lambda v: v < 1e-9)
    claims.premise("a premise", "Thm needs it", "factor", [0.5, 2.0], lambda v: v <= 1)
    claims.paper("a run", "paper", "ratio", [0.3], MUCH_SMALLER)
    assert [c.evidence for c in claims.claims] == ["identity", "premise", "empirical"]
    table = claims.table()
    assert "[identity] an identity" in table and "[premise] a premise" in table
    assert "test: ratio to Standard ≤ 1/2" in table  # a declared reading says what it tests
    assert claims.claims[1].holds and claims.claims[1].count == "1 of 2"  # a premise is reported, never failed
    with pytest.raises(ValueError, match="kind of evidence"):
        claims._add("paper", "x", "", "x", [1.0], lambda v: True, "every", evidence="hunch")


def test_nan_leaves_a_seed_undecided_and_inf_is_a_number():
    claims = Claims([0, 1, 2])
    c = claims.paper("some undecided", "", "n", [np.nan, 1.0, np.inf], lambda v: v > 0)
    assert c.counts == (2, 2) and c.count == "2 of 2, 1 undecided" and c.holds
    none = claims.paper("none decided", "", "n", [np.nan, np.nan], lambda v: v > 0)
    assert not none.holds and none.verdict == "cannot be decided"
    assert "undecided, 1, inf" in claims.table()


def test_bad_rules_duplicate_names_and_empty_numbers_are_clear_errors():
    claims = Claims()
    claims.paper("x", "", "x", [1.0], lambda v: True)
    with pytest.raises(ValueError, match="already checked"):
        claims.paper("x", "", "x", [1.0], lambda v: True)
    with pytest.raises(ValueError, match="rule"):
        claims.paper("y", "", "x", [1.0], lambda v: True, rule="count")
    with pytest.raises(ValueError, match="observation"):
        claims.observation("z", "x", [1.0], lambda v: True, rule="majority")
    with pytest.raises(ValueError, match="no numbers"):
        claims.paper("w", "", "x", [], lambda v: True)


def test_table_keeps_the_kinds_apart_and_prints_every_seeds_number():
    claims = Claims([3, 4])
    claims.observation("ours", "q", [0.5, 0.25], lambda v: v > 0)
    claims.paper("theirs", "the paper's words", "p", [1.5, 2.5], lambda v: v > 1)
    table = claims.table()
    assert table.index("THE PAPER'S CLAIMS") < table.index("theirs") < table.index("OUR OBSERVATIONS")
    assert "the paper's words" in table and "1.5, 2.5" in table and "0.5, 0.25" in table
    assert "seeds 3, 4" in table


def test_many_values_are_summarised_and_the_unit_named():
    claims = Claims(list(range(40)), unit="cases")
    claims.identity("an identity", "a theorem", "gap", np.linspace(0, 1e-12, 40), lambda v: v < 1e-9)
    claims.observation("a count", "value", np.arange(40.0), lambda v: v < 10)
    table = claims.table()
    assert "(cases 0–39 (40))" in table and "holds (40 of 40 cases)" in table
    assert "per case: 40 values from 0 to 1e-12, median 5e-13" in table and "in every case" in table
    assert "holds in 10 of 40" in table and "reported: how many cases" in table


def test_claims_of_later_work_are_printed_apart_from_the_papers():
    claims = Claims([0, 1])
    claims.paper("the paper's", "the paper says", "p", [1.0, 2.0], lambda v: v > 0)
    cited = claims.cited("theirs", "Someone et al. 2021: it is so", "c", [1.0, -1.0], lambda v: v > 0)
    claims.observation("ours", "o", [1.0, 1.0], lambda v: v > 0)
    table = claims.table()
    assert table.index("THE PAPER'S CLAIMS") < table.index("CLAIMS OF LATER WORK") < table.index("theirs")
    assert table.index("theirs") < table.index("OUR OBSERVATIONS") and "they say: Someone et al." in table
    assert not cited.holds and cited in claims.failures()
    with pytest.raises(ValueError, match="rule that can fail"):
        claims.cited("x", "y", "z", [1.0], lambda v: True, rule="count")


def test_the_text_is_held_to_the_run_and_a_difference_is_printed_not_raised(capsys):
    claims = Claims([0, 1, 2])
    claims.paper("A holds", "", "a", [1.0, 2.0, -1.0], lambda v: v > 0)
    assert claims.compare_text({r"^A": "2 of 3"}) == [] and TEXT_AGREES in capsys.readouterr().out
    differ = claims.compare_text({r"^A": "3 of 3"})
    assert differ == ["A holds: the text says 3 of 3, this run 2 of 3"]
    assert "WRITTEN FOR ANOTHER RUN" in capsys.readouterr().out
    assert "names no one claim here (0 claims match" in claims.compare_text({"nothing": "1 of 1"})[0]
