"""How each claim of the paper is read: its checks, declared once, for every claim that shares them.

A claim's words set how strong a check must be. "Much smaller" is a stated factor, "close to BN"
a stated share of BN's lead, "stops training" the series' own "trains" rule. Every such reading
is ours (the paper states none) and is declared here once, with its reason, so that the notebooks
test it and notebook 09 reads it by the same name. Two claims about the same quantity take the
same phases, measures and readings: BN's and the ℓp layers' landscape claims take
:data:`LANDSCAPE_PHASES` × :data:`LANDSCAPE_MEASURES`, every drift claim both
:data:`DRIFT_READINGS`, every DLN claim both :data:`DLN_LOSS_READINGS`.

The checks' names are built by the functions below, in the notebooks (which record them) and in
:mod:`helpers.verdicts` (which looks them up), so a name is never typed twice.

Taught in notebooks 03, 05 and 09 (and used by every notebook that checks claims).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .protocol import CHANCE_LOSS, TRAINS_MARGIN


@dataclass(frozen=True)
class Reading:
    """A threshold on one number per seed: what it says, the test, and why that strength."""

    says: str  # the comparison in words, e.g. "ratio ≤ 1/2"
    test: Callable[[float], bool]
    why: str

    def __call__(self, value: float) -> bool:
        return bool(self.test(value))


MUCH_SMALLER = Reading(
    "ratio to Standard ≤ 1/2", lambda r: r <= 0.5,
    "'much smaller' (Fig. 4): at least a factor 2, the least that reads as 'much'; the bare ratio is printed beside it")
EARLY_GAP = Reading(
    "ratio to Standard ≤ 1/10", lambda r: r <= 0.1,
    "'roughly two orders of magnitude early in training': at least one order, a lenient reading")
CLOSE_TO_BN = Reading(
    "share of BN's lead ≥ 0.8", lambda s: s >= 0.8,
    "'close to BN', 'comparable to BN': keeps at least four fifths of BN's lead over Standard in final training "
    "loss; the gap to BN (1 − share) is printed")
FAR_BETTER = Reading(
    "share of BN's lead ≥ 0.5", lambda s: s >= 0.5,
    "'far better than Standard': a lead over Standard at least half the size of BN's own")
DOES_NOT_TRAIN = Reading(
    f"final loss ≥ ln 10 − {TRAINS_MARGIN:g}", lambda v: v >= CHANCE_LOSS - TRAINS_MARGIN,
    "'stops it from training': does not train by the series' rule (final loss within 0.2 of chance)")
NOT_VERY_DIFFERENT = Reading(
    "ratio within [1/2, 2]", lambda r: 0.5 <= r <= 2,
    "'not very different': within a factor 2 either way")
MORE = Reading("ratio > 1", lambda r: r > 1, "'less stable', 'shift more': any excess, as the paper states no size")
LOWER = Reading("difference > 0", lambda d: d > 0, "'trains better', 'faster': any lead, in every seed")
ALMOST_IDENTICAL = Reading(
    "lowest median cosine > 0.99", lambda c: c > 0.99, "'almost identical': the angle under 8° at every probed layer")
NEARLY_UNCORRELATED = Reading(
    "some layer's median cosine in (−0.5, 0.5)", lambda c: abs(c) < 0.5,
    "'nearly uncorrelated': at some probed layer G′'s part along G is under half its size, either sign "
    "(G′ ≈ −G is correlated, not uncorrelated)")

# The landscape (Fig. 4; Sec. 3.3 for ℓp): the same phases and measures for every claim.
LANDSCAPE_PHASES = ("whole run", "early", "after the split")
PHASE_KEYS = {"whole run": "all", "early": "early", "after the split": "rest"}  # summaries.phase_medians' names
LANDSCAPE_MEASURES = {"loss_range": "loss variation", "pred_max": "gradient predictiveness", "beta": "effective β"}
DRIFT_READINGS = ("relative to each unit's spread", "in the activations' own units")
DLN_LOSS_READINGS = ("mean loss", "summed loss")


def landscape_check(network: str, phase: str, measure: str, name: str = "BN", reading: str = "") -> str:
    """The name of one landscape check: ``name``'s median over ``phase`` over Standard's, much smaller."""
    if phase not in LANDSCAPE_PHASES or measure not in LANDSCAPE_MEASURES:
        raise ValueError(f"unknown phase {phase!r} or measure {measure!r}")
    where = f"{network}, {reading}" if reading else network
    return f"{where}, {phase}: {name}'s {LANDSCAPE_MEASURES[measure]} much smaller than Standard's"


def early_check(network: str, reading: str = "") -> str:
    """The name of the early-training check: BN's gradient predictiveness an order smaller, early."""
    where = f"{network}, {reading}" if reading else network
    return f"{where}, early: BN's gradient predictiveness at least 10× smaller than Standard's"


def drift_check(name: str, reading: str, than: str = "Standard", comparison: str = "more") -> str:
    """The name of a drift check over all probed layers: ``name``'s drift against ``than``'s."""
    if reading not in DRIFT_READINGS:
        raise ValueError(f"unknown drift reading {reading!r}; choose one of {DRIFT_READINGS}")
    says = {"more": f"drift more than {than}'s", "similar": f"drift within a factor 2 of {than}'s"}[comparison]
    return f"{name}'s activations {says}, {reading}"


def dln_check(statement: str, reading: str) -> str:
    """The name of a DLN check under one reading of its loss (mean or sum over samples)."""
    if reading not in DLN_LOSS_READINGS:
        raise ValueError(f"unknown DLN reading {reading!r}; choose one of {DLN_LOSS_READINGS}")
    return f"DLN, {reading}: {statement}"


def share_check(name: str, reading: Reading, where: str = "") -> str:
    """The name of a check on ``name``'s share of BN's lead over Standard in final training loss."""
    return f"{where + ', ' if where else ''}{name}: {reading.says} (final training loss)"


def lead_share(standard: float, network: float, bn: float) -> float:
    """``network``'s share of BN's lead over Standard: (Standard − network) / (Standard − BN), in
    final training loss. 1: as good as BN; 0: no better than Standard."""
    return (standard - network) / (standard - bn)


MIN_PHASE_PROBES = 3  # ours: a phase's median from fewer probed steps than this leaves the seed undecided
