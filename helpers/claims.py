"""Claims checked on a run's own numbers, over seeds, and reported in one table.

Whose claim it is, kept apart:

- **the paper's claims** (:meth:`Claims.paper`): what the paper says, turned into a test of one
  number per seed and a rule over seeds ("in every seed", "in a majority", "of the median");
- **claims of later work** (:meth:`Claims.cited`): what another paper reports (notebook 08),
  printed apart so that nobody reads it as this paper's claim;
- **our observations** (:meth:`Claims.observation`): what we found in our setup, reported with
  how many seeds show it.

And what kind of evidence it is, kept apart too:

- **empirical**: runs over seeds or task instances, the only kind that can reproduce a claim;
- **identity** (:meth:`Claims.identity`): mathematics verified numerically on random cases. It
  holds unless the code has a bug, so it is evidence of nothing empirical, and failing it stops
  the notebook;
- **premise** (:meth:`Claims.premise`): an assumption a theorem needs, checked on the runs.

A claim that does not hold in a reader's run is a result: :meth:`Claims.check` prints it loudly,
records it, and the notebook goes on. What must not drift is the notebook's text: a notebook
states what its committed run found with :meth:`Claims.compare_text`, which says where this
run differs, and a test holds the committed notebooks to it.

A number that cannot be computed in a seed (NaN: a phase with too few probed steps, a refused
comparison) leaves that seed undecided; it counts neither way. An infinite one (a diverged run)
is tested like any other.

A notebook's claims name it (``Claims(seeds, notebook="05", part="dln")``), and :meth:`Claims.check`
then records them beside the runs (:mod:`helpers.claim_records`) for notebook 09's verdicts.

Taught in notebooks 02, 03, 04, 05, 06, 07 and 08 (each ends with its table).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

RULES = {
    "every": "in every seed",
    "majority": "in more than half of the seeds",
    "median": "of the median over seeds",
    "count": "reported: how many seeds",
}
EVIDENCE = ("empirical", "identity", "premise")
TEXT_AGREES = "the text above describes this run"  # what compare_text prints when it does


@dataclass
class Claim:
    """One checked statement: ``values`` (one per seed) and whether each passes its test."""

    kind: str  # "paper", "cited" (later work's) or "observation"
    text: str  # what we check, in our words
    paper: str  # the paper's statement it stands for ("" for our own observations)
    quantity: str  # what the numbers are
    values: np.ndarray
    passes: np.ndarray  # per seed (False where undecided)
    rule: str
    unit: str = "seeds"  # what the values are one per: seeds, instances, or random cases
    evidence: str = "empirical"
    reading: str = ""  # the reading of an open protocol choice it is checked under ("summed loss")
    says: str = ""  # the test in words ("BN / Standard ≤ 1/2"), where it is a declared reading
    median_passes: bool = False  # does the median over decided seeds pass (the "median" rule)

    def __repr__(self) -> str:
        return f"<{self.kind}: {self.text}: {self.verdict}>"

    @property
    def decided(self) -> np.ndarray:
        """Per seed: was there a number to test (NaN: undecided; ±inf, as from a diverged run, is a number)."""
        return ~np.isnan(self.values)

    @property
    def counts(self) -> tuple[int, int]:
        """(holds in, out of) over the decided seeds."""
        return int(self.passes[self.decided].sum()), int(self.decided.sum())

    @property
    def count(self) -> str:
        k, n = self.counts
        undecided = len(self.values) - n
        return f"{k} of {n}" + (f", {undecided} undecided" if undecided else "")

    @property
    def holds(self) -> bool:
        """Does the claim hold by its rule? (A "count" observation is a report: it always holds;
        a claim with no decided seed does not hold.)"""
        k, n = self.counts
        if self.rule == "count":
            return True
        if n == 0:
            return False
        if self.rule == "every":
            return k == n
        if self.rule == "majority":
            return 2 * k > n
        return self.median_passes

    @property
    def verdict(self) -> str:
        if self.counts[1] == 0:
            return "cannot be decided"
        if self.rule == "count":
            return f"holds in {self.count}"
        return ("holds" if self.holds else "DOES NOT HOLD") + f" ({self.count} {self.unit})"


class Claims:
    """A notebook's claims and observations; :meth:`check` prints and records them."""

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
             test: Callable[[float], bool], rule: str, evidence: str = "empirical", reading: str = "") -> Claim:
        if rule not in RULES:
            raise ValueError(f"unknown rule {rule!r}; choose one of: {', '.join(RULES)}")
        if evidence not in EVIDENCE:
            raise ValueError(f"unknown kind of evidence {evidence!r}; choose one of: {', '.join(EVIDENCE)}")
        if any(c.text == text for c in self.claims):
            raise ValueError(f"a claim named {text!r} is already checked here")
        values = np.atleast_1d(np.asarray(values, dtype=float))
        if values.size == 0:
            raise ValueError(f"no numbers for the claim {text!r}")
        passes = np.array([bool(not np.isnan(v) and test(v)) for v in values])
        decided = values[~np.isnan(values)]
        claim = Claim(kind, text, paper, quantity, values, passes, rule, self.unit, evidence, reading,
                      getattr(test, "says", ""), bool(len(decided) and test(float(np.median(decided)))))
        self.claims.append(claim)
        return claim

    def paper(self, text: str, paper: str, quantity: str, values: Sequence[float] | np.ndarray,
              test: Callable[[float], bool], rule: str = "every", reading: str = "") -> Claim:
        """A claim of the paper, empirical: ``test`` one number per seed (a declared reading from
        :mod:`helpers.declared_checks`, or a function), ``rule`` over seeds; ``reading``: the reading
        of an open protocol choice it is checked under."""
        if rule == "count":
            raise ValueError("a claim of the paper needs a rule that can fail: every, majority or median")
        return self._add("paper", text, paper, quantity, values, test, rule, "empirical", reading)

    def identity(self, text: str, paper: str, quantity: str, values: Sequence[float] | np.ndarray,
                 test: Callable[[float], bool]) -> Claim:
        """A statement of the paper's theory verified numerically, case by case: mathematics, not
        evidence for an empirical claim. :meth:`check` stops the notebook if it fails (a bug)."""
        return self._add("paper", text, paper, quantity, values, test, "every", "identity")

    def premise(self, text: str, paper: str, quantity: str, values: Sequence[float] | np.ndarray,
                test: Callable[[float], bool]) -> Claim:
        """An assumption a theorem needs for the paper's argument (``paper``: which), checked on the
        runs: reported in how many seeds, channels or points it holds."""
        return self._add("paper", text, paper, quantity, values, test, "count", "premise")

    def cited(self, text: str, work: str, quantity: str, values: Sequence[float] | np.ndarray,
              test: Callable[[float], bool], rule: str = "every") -> Claim:
        """A claim of later work (``work``: who says what, with the reference), tested like the paper's."""
        if rule == "count":
            raise ValueError("a claim of later work needs a rule that can fail: every, majority or median")
        return self._add("cited", text, work, quantity, values, test, rule)

    def observation(self, text: str, quantity: str, values: Sequence[float] | np.ndarray,
                    test: Callable[[float], bool], rule: str = "count", expected: str = "",
                    reading: str = "") -> Claim:
        """Something we found in our setup: ``rule="count"`` reports in how many seeds it holds;
        ``rule="every"`` states it for every seed."""
        if rule not in ("count", "every"):
            raise ValueError("an observation is reported (rule='count') or stated for every seed (rule='every')")
        return self._add("observation", text, expected, quantity, values, test, rule, "empirical", reading)

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
                label = "" if c.evidence == "empirical" else f"[{c.evidence}] "
                lines.append(f"  {c.verdict:28s} {label}{c.text}")
                if c.paper:
                    source = {"paper": "paper", "cited": "they say"}.get(kind, "expected")
                    lines.append(f"  {'':28s}   {source}: {c.paper}")
                test = f"test: {c.says}; " if c.says else ""
                lines.append(f"  {'':28s}   {c.quantity}, per {per}: {self._listed(c.values, self.fmt.format)}"
                             f"   ({test}rule: {RULES[c.rule].replace('seed', per)})")
        return "\n".join(lines)

    def _listed(self, values: Sequence, fmt: Callable) -> str:
        """Every value, or for more than :attr:`SHOWN` of them their count, range and median."""
        if len(values) <= self.SHOWN:
            return ", ".join("undecided" if isinstance(v, float) and np.isnan(v) else fmt(v) for v in values)
        if all(isinstance(v, (int, np.integer)) for v in values):
            return f"{fmt(min(values))}–{fmt(max(values))} ({len(values)})"
        v = np.asarray(values, dtype=float)
        return (f"{len(v)} values from {fmt(float(np.nanmin(v)))} to {fmt(float(np.nanmax(v)))}, "
                f"median {fmt(float(np.nanmedian(v)))}")

    def report(self) -> None:
        print(self.table())

    def failures(self) -> list[Claim]:
        """The claims that do not hold by their rule (reported counts never fail)."""
        return [c for c in self.claims if not c.holds]

    def to_record(self) -> dict:
        """The claims as plain data, with what made them: profile, runs, and the helpers modules loaded when
        they were checked, with their fingerprints (see :mod:`helpers.claim_records`)."""
        from .claim_records import planned_run_keys
        from .fingerprints import code_stamp
        from .profiles import active_profile

        profile = active_profile().name
        claims = [dict(kind=c.kind, text=c.text, paper=c.paper, quantity=c.quantity, rule=c.rule,
                       evidence=c.evidence, reading=c.reading, says=c.says,
                       values=[float(v) for v in c.values], passes=[bool(p) for p in c.passes],
                       decided=[bool(d) for d in c.decided], holds=c.holds)
                  for c in self.claims]
        return dict(name=f"{self.notebook}-{self.part}" if self.part else self.notebook, notebook=self.notebook,
                    part=self.part, profile=profile, unit=self.unit, seeds=self.seeds,
                    failing=[c.text for c in self.failures()], claims=claims,
                    runs=planned_run_keys(self.notebook, profile), **code_stamp())

    def check(self) -> None:
        """Print the table, record it (when the claims name their notebook), and say loudly which claims
        do not hold in this run. Only a failing identity raises: that is a bug, not a result."""
        self.report()
        if self.notebook:
            from .claim_records import save_record

            save_record(self.to_record())
        broken = [c for c in self.claims if c.evidence == "identity" and not c.holds]
        if broken:
            raise AssertionError("an identity fails, so the code has a bug: " + "; ".join(c.text for c in broken))
        failing = [c for c in self.failures() if c.kind != "observation"]
        if failing:
            print("\n" + "!" * 100 + "\nDOES NOT HOLD IN THIS RUN (a result, not an error: notebook 09 counts it):")
            for c in failing:
                print(f"  {c.text}: {c.quantity} {self._listed(c.values, self.fmt.format)} ({c.count} {c.unit})")
            print("!" * 100)
        elif any(c.kind != "observation" and c.rule != "count" for c in self.claims):
            kinds = " and of later work" if any(c.kind == "cited" for c in self.claims) else ""
            print(f"every claim of the paper{kinds} held to a rule here holds in this run "
                  "(premises and our observations are reported, not held to a rule)")

    def find(self, pattern: str) -> Claim:
        """The one claim whose text matches ``pattern`` (a regular expression)."""
        found = [c for c in self.claims if re.search(pattern, c.text)]
        if len(found) != 1:
            raise LookupError(f"{len(found)} claims match {pattern!r}: " + "; ".join(c.text for c in found))
        return found[0]

    def compare_text(self, described: Mapping[str, str]) -> list[str]:
        """Hold the notebook's text to this run. ``described``: for a pattern naming one claim, the count
        the text states ("3 of 3"). Prints :data:`TEXT_AGREES` when every count matches, else each
        difference, loudly; returns the differences (the committed notebooks must have none)."""
        differ = []
        for pattern, stated in described.items():
            try:
                claim = self.find(pattern)
            except LookupError as missing:  # another profile can name its checks otherwise: say so, go on
                differ.append(f"the text states {stated} for {pattern!r}, which names no one claim here ({missing})")
                continue
            if claim.count != stated:
                differ.append(f"{claim.text}: the text says {stated}, this run {claim.count}")
        if differ:
            print("THE TEXT ABOVE WAS WRITTEN FOR ANOTHER RUN (the committed `laptop` one); in this run:\n  "
                  + "\n  ".join(differ))
        else:
            print(f"{TEXT_AGREES}: {len(described)} counts it states match")
        return differ
