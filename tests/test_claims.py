import numpy as np
import pytest

from helpers.claims import Claims


def test_a_paper_claim_holds_only_by_its_rule_over_seeds():
    claims = Claims([0, 1, 2])
    every = claims.paper("x positive", "x > 0", "x", [1.0, 2.0, -1.0], lambda v: v > 0)
    majority = claims.paper("x positive, mostly", "x > 0", "x", [1.0, 2.0, -1.0], lambda v: v > 0, rule="majority")
    median = claims.paper("median positive", "x > 0", "x", [1.0, 2.0, -1.0], lambda v: v > 0, rule="median")
    assert not every.holds and majority.holds and median.holds
    assert every.count == "2 of 3" and every.verdict == "FAILS (2 of 3 seeds)"


def test_observations_report_counts_and_only_every_seed_ones_are_asserted():
    claims = Claims([0, 1])
    counted = claims.observation("sometimes", "y", [1.0, -1.0], lambda v: v > 0)
    assert counted.holds and counted.verdict == "holds in 1 of 2"
    claims.check(assert_claims=True)  # a reported count never fails the check
    claims.observation("always", "y", [1.0, -1.0], lambda v: v > 0, rule="every")
    with pytest.raises(AssertionError, match="always"):
        claims.check(assert_claims=True)


def test_check_asserts_the_papers_claims_only_when_asked(capsys):
    claims = Claims([0])
    claims.paper("fails", "the paper says so", "z", [0.0], lambda v: v > 0)
    claims.check(assert_claims=False)
    assert "not asserted" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="fails"):
        claims.check(assert_claims=True)


def test_table_keeps_the_two_kinds_apart_and_prints_every_seeds_number():
    claims = Claims([3, 4])
    claims.observation("ours", "q", [0.5, 0.25], lambda v: v > 0)
    claims.paper("theirs", "the paper's words", "p", [1.5, 2.5], lambda v: v > 1)
    table = claims.table()
    assert table.index("THE PAPER'S CLAIMS") < table.index("theirs") < table.index("OUR OBSERVATIONS")
    assert "the paper's words" in table and "1.5, 2.5" in table and "0.5, 0.25" in table
    assert "seeds 3, 4" in table


def test_nan_numbers_fail_their_test_and_bad_rules_are_errors():
    claims = Claims()
    assert not claims.paper("nan", "", "n", [np.nan, 1.0], lambda v: v > 0).holds
    with pytest.raises(ValueError, match="rule"):
        claims.paper("x", "", "x", [1.0], lambda v: True, rule="count")
    with pytest.raises(ValueError, match="observation"):
        claims.observation("x", "x", [1.0], lambda v: True, rule="majority")
    with pytest.raises(ValueError, match="no numbers"):
        claims.paper("x", "", "x", [], lambda v: True)


def test_many_values_are_summarised_and_the_unit_named():
    claims = Claims(list(range(40)), unit="cases")
    claims.paper("an identity", "a theorem", "gap", np.linspace(0, 1e-12, 40), lambda v: v < 1e-9)
    claims.observation("a count", "value", np.arange(40.0), lambda v: v < 10)
    table = claims.table()
    assert "(cases 0–39 (40))" in table and "holds (40 of 40 cases)" in table
    assert "per case: 40 values from 0 to 1e-12, median 5e-13" in table and "in every case" in table
    assert "holds in 10 of 40" in table and "reported: how many cases" in table


def test_claims_of_later_work_are_asserted_and_printed_apart_from_the_papers(capsys):
    claims = Claims([0, 1])
    claims.paper("the paper's", "the paper says", "p", [1.0, 2.0], lambda v: v > 0)
    cited = claims.cited("theirs", "Someone et al. 2021: it is so", "c", [1.0, -1.0], lambda v: v > 0)
    claims.observation("ours", "o", [1.0, 1.0], lambda v: v > 0)
    table = claims.table()
    assert table.index("THE PAPER'S CLAIMS") < table.index("CLAIMS OF LATER WORK") < table.index("theirs")
    assert table.index("theirs") < table.index("OUR OBSERVATIONS") and "they say: Someone et al." in table
    assert not cited.holds and cited in claims.failures()
    with pytest.raises(AssertionError, match="theirs"):
        claims.check(assert_claims=True)
    with pytest.raises(ValueError, match="rule that can fail"):
        claims.cited("x", "y", "z", [1.0], lambda v: True, rule="count")
