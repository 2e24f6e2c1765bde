"""Claims checked on a run's own numbers, over seeds, and reported in one table.

Two kinds, kept apart:

- **the paper's claims** (:meth:`Claims.paper`): what the paper says, turned into a test of one
  number per seed and a rule over seeds ("in every seed", "in a majority", "of the median").
  They are asserted in the ``laptop`` and ``paper`` profiles.
- **claims of later work** (:meth:`Claims.cited`): what another paper reports (notebook 08), tested
  and asserted the same way, and printed apart so that nobody reads it as this paper's claim.
- **our observations** (:meth:`Claims.observation`): what we found in our setup. They are
  reported with how many seeds show them; only those stated "in every seed" are asserted,
  and only where they held in every seed the profile runs.

A claim is never made to pass: the rule is stated before the numbers are seen, and the table
prints the number of each seed beside the verdict, so a reader sees how close each call was.
A notebook's claims name it (``Claims(seeds, notebook="05", part="dln")``), and :meth:`Claims.check`
then records them beside the runs (:mod:`helpers.claim_records`) for notebook 09's verdicts.

Taught in notebooks 02, 03, 04, 05, 06, 07 and 08 (each ends with its table).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

RULES = {
    "every": "in every seed",
    "majority": "in more than half of the seeds",
    "median": "of the median over seeds",
    "count": "reported: how many seeds",
}


@dataclass
class Claim:
    """One checked statement: ``values`` (one per seed) and whether each passes ``test``."""

    kind: str  # "paper", "cited" (later work's) or "observation"
    text: str  # what we check, in our words
    paper: str  # the paper's statement it stands for ("" for our own observations)
    quantity: str  # what the numbers are
    values: np.ndarray
    passes: np.ndarray  # per seed
    rule: str
    median_passes: bool
    unit: str = "seeds"  # what the values are one per: seeds, or random cases for the theory

    def __repr__(self) -> str:
        return f"<{self.kind}: {self.text}: {self.verdict}>"

    @property
    def count(self) -> str:
        return f"{int(self.passes.sum())} of {len(self.passes)}"

    @property
    def holds(self) -> bool:
        """Does the claim hold by its rule? (A "count" observation is a report: it always holds.)"""
        if self.rule == "every":
            return bool(self.passes.all())
        if self.rule == "majority":
            return bool(self.passes.sum() * 2 > len(self.passes))
        if self.rule == "median":
            return self.median_passes
        return True

    @property
    def verdict(self) -> str:
        if self.rule == "count":
            return f"holds in {self.count}"
        return ("holds" if self.holds else "FAILS") + f" ({self.count} {self.unit})"


class Claims:
    """A notebook's claims and observations; :meth:`report` prints them, :meth:`check` asserts."""

    SHOWN = 12  # at most this many numbers per claim in the table; more are summarised

    def __init__(self, seeds: Sequence[int] | None = None, fmt: str = "{:.3g}", unit: str = "seeds",
                 notebook: str = "", part: str = ""):
        """``unit`` names what the values are one per: "seeds" (runs), "instances" (DLN tasks) or "cases"
        (random problems). ``notebook`` (and ``part``, when it has several sets): record them on check."""
        self.seeds = list(seeds) if seeds is not None else None
        self.fmt, self.unit = fmt, unit
        self.notebook, self.part = notebook, part
        self.claims: list[Claim] = []

    def _add(self, kind: str, text: str, paper: str, quantity: str, values: Sequence[float] | np.ndarray,
             test: Callable[[float], bool], rule: str) -> Claim:
        if rule not in RULES:
            raise ValueError(f"unknown rule {rule!r}; choose one of: {', '.join(RULES)}")
        values = np.atleast_1d(np.asarray(values, dtype=float))
        if values.size == 0:
            raise ValueError(f"no numbers for the claim {text!r}")
        passes = np.array([bool(test(v)) for v in values])
        claim = Claim(kind, text, paper, quantity, values, passes, rule, bool(test(float(np.median(values)))),
                      self.unit)
        self.claims.append(claim)
        return claim

    def paper(self, text: str, paper: str, quantity: str, values: Sequence[float] | np.ndarray,
              test: Callable[[float], bool], rule: str = "every") -> Claim:
        """A claim of the paper: ``test`` one number per seed, ``rule`` over seeds."""
        if rule == "count":
            raise ValueError("a claim of the paper needs a rule that can fail: every, majority or median")
        return self._add("paper", text, paper, quantity, values, test, rule)

    def cited(self, text: str, work: str, quantity: str, values: Sequence[float] | np.ndarray,
              test: Callable[[float], bool], rule: str = "every") -> Claim:
        """A claim of later work (``work``: who says what, with the reference), tested like the paper's."""
        if rule == "count":
            raise ValueError("a claim of later work needs a rule that can fail: every, majority or median")
        return self._add("cited", text, work, quantity, values, test, rule)

    def observation(self, text: str, quantity: str, values: Sequence[float] | np.ndarray,
                    test: Callable[[float], bool], rule: str = "count", expected: str = "") -> Claim:
        """Something we found in our setup: ``rule="count"`` reports in how many seeds it holds;
        ``rule="every"`` states it for every seed (and :meth:`check` asserts it)."""
        if rule not in ("count", "every"):
            raise ValueError("an observation is reported (rule='count') or stated for every seed (rule='every')")
        return self._add("observation", text, expected, quantity, values, test, rule)

    def table(self) -> str:
        """The claims as text: kind, claim, the paper's statement, our number per seed, verdict."""
        lines = []
        for kind, title in (("paper", "THE PAPER'S CLAIMS"), ("cited", "CLAIMS OF LATER WORK"),
                            ("observation", "OUR OBSERVATIONS")):
            rows = [c for c in self.claims if c.kind == kind]
            if not rows:
                continue
            lines.append(title + (f" ({self.unit} {self._listed(self.seeds, str)})" if self.seeds else ""))
            per = self.unit[:-1] if self.unit.endswith("s") else self.unit
            for c in rows:
                lines.append(f"  {c.verdict:18s} {c.text}")
                if c.paper:
                    source = {"paper": "paper", "cited": "they say"}.get(kind, "expected")
                    lines.append(f"  {'':18s}   {source}: {c.paper}")
                lines.append(f"  {'':18s}   {c.quantity}, per {per}: {self._listed(c.values, self.fmt.format)}"
                             f"   (rule: {RULES[c.rule].replace('seed', per)})")
        return "\n".join(lines)

    def _listed(self, values: Sequence, fmt: Callable) -> str:
        """Every value, or for more than :attr:`SHOWN` of them their count, range and median."""
        if len(values) <= self.SHOWN:
            return ", ".join(fmt(v) for v in values)
        if all(isinstance(v, (int, np.integer)) for v in values):
            return f"{fmt(min(values))}–{fmt(max(values))} ({len(values)})"
        v = np.asarray(values, dtype=float)
        return (f"{len(v)} values from {fmt(float(v.min()))} to {fmt(float(v.max()))}, "
                f"median {fmt(float(np.median(v)))}")

    def report(self) -> None:
        print(self.table())

    def failures(self, paper: bool = True) -> list[Claim]:
        """What :meth:`check` would assert on and fails: the paper's claims (when ``paper``) and the
        observations stated for every seed."""
        return [c for c in self.claims if (c.kind in ("paper", "cited") and paper) or c.rule == "every"
                if not c.holds]

    def to_record(self, asserted: bool) -> dict:
        """The claims as plain data, with what made them: profile, runs, and the helpers modules loaded when
        they were checked, with their fingerprints (see :mod:`helpers.claim_records`)."""
        from .claim_records import planned_run_keys
        from .fingerprints import code_stamp
        from .profiles import active_profile

        profile = active_profile().name
        claims = [dict(kind=c.kind, text=c.text, paper=c.paper, quantity=c.quantity, rule=c.rule,
                       values=[float(v) for v in c.values], passes=[bool(p) for p in c.passes], holds=c.holds)
                  for c in self.claims]
        return dict(name=f"{self.notebook}-{self.part}" if self.part else self.notebook, notebook=self.notebook,
                    part=self.part, profile=profile, unit=self.unit, seeds=self.seeds, asserted=asserted,
                    failed=[c.text for c in self.failures()] if asserted else [], claims=claims,
                    runs=planned_run_keys(self.notebook, profile), **code_stamp())

    def check(self, assert_claims: bool = True) -> None:
        """Print the table and, when ``assert_claims`` (the ``laptop`` and ``paper`` profiles),
        fail on any claim of the paper or of later work, or any every-seed observation, that does not hold.
        A notebook's claims are recorded first, whatever the outcome."""
        self.report()
        if self.notebook:
            from .claim_records import save_record

            save_record(self.to_record(assert_claims))
        if not assert_claims:
            print("(not asserted in this profile: the runs are too short to mean much)")
            return
        failed = self.failures()
        if failed:
            raise AssertionError("these do not hold in this run: " + "; ".join(c.text for c in failed))
        cited = " and of later work" if any(c.kind == "cited" for c in self.claims) else ""
        print(f"asserted: every claim of the paper{cited}, and every observation stated for every seed, holds")
