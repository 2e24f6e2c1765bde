import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from helpers.plots import plot_split_sweep  # noqa: E402
from helpers.probes import ACTIVATION_EDGES  # noqa: E402
from helpers.runs import ProbeRecords  # noqa: E402
from helpers.summaries import distribution_drift, resampling_floor, split_sweep  # noqa: E402

# --- split_sweep: which network is over which -----------------------------------------------------

STEPS = np.arange(0, 200, 10)


def _summaries(order: tuple[str, ...]) -> dict[str, dict]:
    """Two synthetic landscape summaries whose BN quantity is a tenth of Standard's at every probed step."""
    beta = np.random.default_rng(0).uniform(1, 100, len(STEPS))
    made = {"Standard": {"step": STEPS, "early_until": 50, "beta": beta},
            "BN": {"step": STEPS, "early_until": 50, "beta": beta / 10}}
    return {name: made[name] for name in order}


@pytest.mark.parametrize("order", [("Standard", "BN"), ("BN", "Standard")])
def test_split_sweep_divides_the_numerator_by_the_denominator_whatever_the_mapping_order(order):
    sweep = split_sweep(_summaries(order), "beta", STEPS[1:])
    assert (sweep["numerator"], sweep["denominator"], sweep["key"]) == ("BN", "Standard", "beta")
    np.testing.assert_array_equal(sweep["splits"], STEPS[1:])
    for phase in ("early", "rest"):  # a median of values a tenth as large, to rounding
        np.testing.assert_allclose(sweep[phase], 0.1, rtol=1e-12)
    flipped = split_sweep(_summaries(order), "beta", STEPS[1:], numerator="Standard", denominator="BN")
    np.testing.assert_allclose(flipped["early"], 10, rtol=1e-12)


def test_split_sweep_names_the_networks_it_has_when_one_is_missing():
    with pytest.raises(ValueError, match="no summary for LN; the networks are: Standard, BN"):
        split_sweep(_summaries(("Standard", "BN")), "beta", STEPS[1:], numerator="LN")


def test_split_sweep_plot_labels_its_axis_with_the_sweeps_own_orientation():
    summaries = _summaries(("Standard", "BN"))
    for numerator, denominator in (("BN", "Standard"), ("Standard", "BN")):
        sweep = split_sweep(summaries, "beta", STEPS[1:], numerator=numerator, denominator=denominator)
        fig = plot_split_sweep({"beta": [sweep, sweep]})
        assert fig.axes[0].get_ylabel() == f"{numerator} / {denominator}, median beta"
        plt.close(fig)
    mixed = [split_sweep(summaries, "beta", STEPS[1:]), split_sweep(summaries, "beta", STEPS[1:], "Standard", "BN")]
    with pytest.raises(ValueError, match="one orientation"):
        plot_split_sweep({"beta": mixed})


# --- resampling_floor: the drift of distributions that never move ---------------------------------

B = 128  # the laptop protocol's batch
# A still Gaussian unit: a pair of records' |Δ mean| + |Δ sd| is the sum of two independent half-normals
# of scales √(2/B)·σ and √(1/B)·σ (the sd of a batch of B has variance ≈ σ²/2B), so its mean is
# √(2/π)·(√(2/B) + √(1/B))·σ ≈ 0.170·σ and its standard deviation a fraction √(π/2 − 1)·√3/(√2 + 1) ≈ 0.54 of that.
EXPECTED = np.sqrt(2 / np.pi) * (np.sqrt(2 / B) + np.sqrt(1 / B))
PAIR_SPREAD = np.sqrt(np.pi / 2 - 1) * np.sqrt(3) / (np.sqrt(2) + 1)
# A bootstrap resamples the batch itself: its variance is (B − 1)/B of the batch's and its kurtosis is low
# by ≈ 6/B, so the floor falls ≈ 1/B below the drift (1.1 % measured at B = 128), and the analytic mean
# above is 0.5 % below the exact one; the bins' width adds under 0.5 % for σ ≥ 0.1. Allowed: 2/B.
BIAS = 2 / B


def _se_drift(records: int) -> float:
    """Standard error of a still unit's relative drift: records − 1 pairs, consecutive ones sharing a
    record, which at most doubles the variance of their mean (a correlation of at most ½)."""
    return EXPECTED * PAIR_SPREAD * np.sqrt(2 / (records - 1))


def _se_floor(records: int, draws: int) -> float:
    """Standard error of its floor: records × draws independent resampled pairs, and the records' own
    batches, whose sd (which the floor scales with) varies by 1/√(2B) from one to the next."""
    return EXPECTED * np.sqrt(PAIR_SPREAD**2 / (records * draws) + 1 / (2 * B * records))


def _records(values: np.ndarray) -> ProbeRecords:
    """Activation-probe records of batches ``values`` (records, layers, units, B), histograms and all."""
    bins = len(ACTIVATION_EDGES) - 1
    index = np.clip(np.searchsorted(ACTIVATION_EDGES, values) - 1, 0, bins - 1)  # outside: the outer bins
    rows = np.arange(index.size // B).reshape(values.shape[:-1])
    hist = np.bincount((index + bins * rows[..., None]).ravel(), minlength=rows.size * bins)
    return ProbeRecords({"hist": hist.reshape(*values.shape[:-1], bins), "mean": values.mean(-1),
                         "var": values.var(-1)}, {"edges": ACTIVATION_EDGES.tolist()})


def test_still_gaussian_units_drift_by_their_resampling_floor_and_the_analytic_one():
    sigma = np.array([[0.1, 0.3, 1.0, 3.0], [0.2, 0.5, 2.0, 5.0]])  # small (Standard-like) to large spreads
    count, draws = 1000, 16
    rec = _records(np.random.default_rng(1).normal(0.0, sigma[..., None], (count, *sigma.shape, B)))
    drift, floor = distribution_drift(rec), resampling_floor(rec, draws=draws)
    assert floor.shape == drift.shape == sigma.shape
    se_drift, se_floor = _se_drift(count), _se_floor(count, draws)
    unit_tol = 4 * np.hypot(se_drift, se_floor) + BIAS * EXPECTED  # ≈ 12 % of the floor, for each unit
    np.testing.assert_allclose(floor, drift, rtol=0, atol=unit_tol)
    # the eight units are independent: their average to a tolerance √8 times smaller (≈ 5 %)
    assert abs(floor.mean() - drift.mean()) <= unit_tol / np.sqrt(sigma.size) + BIAS * EXPECTED
    np.testing.assert_allclose(drift, EXPECTED, rtol=0, atol=4 * se_drift + BIAS * EXPECTED)
    np.testing.assert_allclose(floor, EXPECTED, rtol=0, atol=4 * se_floor + BIAS * EXPECTED)
    # in the activations' own units the floor scales with the spread
    raw = resampling_floor(rec, draws=draws, relative=False)
    np.testing.assert_allclose(raw, floor * np.sqrt(rec["var"]).mean(0), rtol=1e-12)


def test_a_unit_whose_mean_moves_drifts_well_above_its_floor_which_is_a_still_units():
    count, rng = 40, np.random.default_rng(2)
    shift = 0.5 * (np.arange(count) - count / 2)  # half a spread per record, kept within ±10 of 0
    values = rng.normal(0.0, 1.0, (count, 1, 2, B))
    values[:, 0, 1] += shift[:, None]  # unit 0 stays still, unit 1 moves
    rec = _records(values)
    drift, floor = distribution_drift(rec)[0], resampling_floor(rec)[0]
    assert drift[1] > 2 * floor[1]  # ≈ 0.5 + 0.07 against ≈ 0.17
    assert abs(drift[0] - floor[0]) <= 4 * np.hypot(_se_drift(count), _se_floor(count, 64)) + BIAS * EXPECTED
    # the floor sees each record's batch, not the motion between records
    assert abs(floor[1] - floor[0]) <= 4 * np.sqrt(2) * _se_floor(count, 64) + BIAS * EXPECTED


def test_resampling_floor_is_fixed_by_its_seed_and_needs_the_histograms_edges():
    rec = _records(np.random.default_rng(3).normal(0.0, 1.0, (10, 2, 3, B)))
    np.testing.assert_array_equal(resampling_floor(rec, seed=5), resampling_floor(rec, seed=5))
    assert not np.array_equal(resampling_floor(rec, seed=5), resampling_floor(rec, seed=6))
    with pytest.raises(ValueError, match="edges"):
        resampling_floor(dict(rec))  # plain arrays: no settings, so no bin edges


def test_a_phase_with_fewer_probed_steps_than_asked_is_undecided():
    from helpers.summaries import phase_medians

    summary = {"step": np.arange(0, 100, 10), "early_until": 25, "beta": np.arange(10.0)}  # early: steps 0, 10, 20
    assert phase_medians(summary, ("beta",))["early"]["beta"] == 1.0
    assert phase_medians(summary, ("beta",), min_probes=3)["early"]["beta"] == 1.0
    fewer = phase_medians(summary, ("beta",), min_probes=4)
    assert np.isnan(fewer["early"]["beta"]) and fewer["rest"]["beta"] == 6.0 and fewer["all"]["beta"] == 4.5
