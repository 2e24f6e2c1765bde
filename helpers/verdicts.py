"""The series' verdict on the paper: each claim it tests, from the claims the notebooks recorded.

A row of :data:`PAPER_CLAIMS` is one claim of the paper in our words, the notebook that tests it,
and the checks that speak to it: claims that notebook recorded (:mod:`helpers.claim_records`),
named by :mod:`helpers.declared_checks`, so that claims about the same quantity take the same
phases, measures and readings. Nothing here states a result: each verdict is computed from the
recorded numbers. The rule is ours, not the paper's (docs/protocol.md, §10):

- each **check** holds (in every decided seed), fails (in at most half of them), or is mixed;
- a row's **share** counts its holding checks as 1, mixed ones as ½, failing ones as 0, averaged:
  1 is **reproduced**, above ½ **mostly**, above 0 **partly**, 0 **not reproduced**. Adding a
  holding check never lowers the share and a failing one never raises it;
- where an open choice of our protocol changes the verdict (the DLN's loss, the drift measure),
  the row gives the verdict under each reading and says **depends on** that choice;
- each count carries an exact 95 % interval for the per-seed rate; a check is **firm** when its
  interval lies on one side of ½. Three seeds never make a check firm, and the table says so;
- **identities** (the theory's statements, verified numerically) and **premises** (what a theorem
  needs, checked on the runs) are kept apart and never count towards an empirical verdict.

Claims of later work (notebook 08) get the same verdicts in a table of their own.

Taught in notebook 09.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .claim_records import execute_notebook, load_record, staleness
from .declared_checks import (
    CLOSE_TO_BN,
    DLN_LOSS_READINGS,
    DOES_NOT_TRAIN,
    DRIFT_READINGS,
    FAR_BETTER,
    LANDSCAPE_MEASURES,
    LANDSCAPE_PHASES,
    dln_check,
    drift_check,
    early_check,
    landscape_check,
    share_check,
)

VERDICTS = ("reproduced", "mostly", "partly", "not reproduced")  # the empirical scale, best first
UNDECIDED = "cannot be decided"
IDENTITY_HOLDS, IDENTITY_FAILS = "identity: holds", "identity: FAILS"
CHOICES = {**{r: "the DLN's loss" for r in DLN_LOSS_READINGS},  # mean or sum over the samples
           **{r: "the drift measure" for r in DRIFT_READINGS}}


def check_class(k: int, n: int, need: float = 1.0) -> str:
    """One check's standing from its count: "holds" (in at least ``need`` of its ``n`` decided seeds;
    1.0: every seed, the series' rule), "fails" (in at most half), "mixed", or "undecided" (n = 0)."""
    if n < 0 or not 0 <= k <= n:
        raise ValueError(f"a count is (holds in, out of) with 0 ≤ holds ≤ out of; got {(k, n)}")
    if n == 0:
        return "undecided"
    if k >= need * n:
        return "holds"
    return "fails" if 2 * k <= n else "mixed"


def share(counts: Sequence[tuple[int, int]], need: float = 1.0) -> float | None:
    """The mean standing of the decided checks (holds 1, mixed ½, fails 0); None when none is decided."""
    score = {"holds": 1.0, "mixed": 0.5, "fails": 0.0}
    standings = [check_class(k, n, need) for k, n in counts]
    decided = [score[s] for s in standings if s != "undecided"]
    return sum(decided) / len(decided) if decided else None


def verdict(counts: Sequence[tuple[int, int]], need: float = 1.0) -> str:
    """The verdict on a claim from its checks' ``(holds in, out of)`` counts, by the series' rule."""
    if not counts:
        raise ValueError("a verdict needs at least one check")
    s = share(counts, need)
    if s is None:
        return UNDECIDED
    return "reproduced" if s == 1 else "mostly" if s > 0.5 else "partly" if s > 0 else "not reproduced"


def _binomial_tail(k: int, n: int, p: float) -> float:
    """P(X ≥ k) for X ~ Binomial(n, p)."""
    return sum(math.comb(n, j) * p ** j * (1 - p) ** (n - j) for j in range(k, n + 1))


def interval(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """The exact (Clopper–Pearson) ``level`` interval for a check's per-seed rate from k of n."""
    if n <= 0 or not 0 <= k <= n:
        raise ValueError(f"an interval needs 0 ≤ k ≤ n, n > 0; got {(k, n)}")
    alpha = (1 - level) / 2

    def solve(f, target: float) -> float:  # f increasing in p on [0, 1]
        lo, hi = 0.0, 1.0
        for _ in range(60):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if f(mid) < target else (lo, mid)
        return (lo + hi) / 2

    lower = 0.0 if k == 0 else solve(lambda p: _binomial_tail(k, n, p), alpha)
    upper = 1.0 if k == n else solve(lambda p: _binomial_tail(k + 1, n, p), 1 - alpha)  # P(X ≤ k) = α
    return lower, upper


def firm(k: int, n: int) -> bool:
    """Does the count tell, at 95 %, whether the check holds in most seeds or in few? (Its interval
    lies above ½ or below ½.) 3 of 3 does not: a rate of 0.3 gives it 3 % of the time."""
    if n == 0:
        return False
    lower, upper = interval(k, n)
    return lower > 0.5 or upper < 0.5


@dataclass(frozen=True)
class PaperClaim:
    """A claim of the paper (``claim``, in our words; ``source``: where the paper makes it), the part of
    the argument it belongs to, and its checks: (record, check name) pairs, each one claim a notebook
    recorded (``record``: "05-vgg", notebook and part). ``kind``: "empirical", or "theorem" for a row
    whose checks are identities and premises. ``family``, ``phases``, ``measures``, ``readings``:
    what the checks were built from, so that rows about one quantity can be compared."""

    claim: str
    source: str
    notebook: str
    argument: str
    short: str  # a few words, for the diagram
    checks: tuple[tuple[str, str], ...]
    kind: str = "empirical"
    family: str = ""
    phases: tuple[str, ...] = ()
    measures: tuple[str, ...] = ()
    readings: tuple[str, ...] = ()
    note: str = ""  # what the row cannot show, and why


BN_HELPS, NOT_ICS, SMOOTHER = "BN helps training", "ICS is not the mechanism", "a smoother landscape is"
ARGUMENT = (BN_HELPS, NOT_ICS, SMOOTHER)
LP = ("ℓ1", "ℓ2", "ℓ∞")
DLN_NOTE = "Under the summed loss the DLN's step is n × 1e-6 (n samples), the same runs notebook 05 calls fast."


def _landscape_row(claim: str, source: str, short: str, measure: str) -> PaperClaim:
    """A Fig. 4 claim: BN against Standard on VGG (notebook 05's runs) and the DLN under both readings."""
    vgg = tuple(("05-vgg", landscape_check("VGG", phase, measure)) for phase in LANDSCAPE_PHASES)
    dln = tuple(("05-dln", landscape_check("DLN", phase, measure, reading=r))
                for r in DLN_LOSS_READINGS for phase in LANDSCAPE_PHASES)
    return PaperClaim(claim, source, "05", SMOOTHER, short, vgg + dln, family="landscape",
                      phases=LANDSCAPE_PHASES, measures=(measure,), readings=DLN_LOSS_READINGS, note=DLN_NOTE)


def _drift_row(claim: str, source: str, notebook: str, short: str, names: Sequence[str], comparison: str,
               than: str = "Standard") -> PaperClaim:
    """A claim about how far activation distributions move, over all probed layers, under both readings."""
    record = "06-vgg" if notebook == "06" else "03"
    checks = tuple((record, drift_check(name, r, than, comparison)) for name in names for r in DRIFT_READINGS)
    return PaperClaim(claim, source, notebook, NOT_ICS, short, checks, family="drift", readings=DRIFT_READINGS,
                      note="The drift of single activations; its resampling floor is printed beside it in 03.")


def _dln_row(claim: str, source: str, argument: str, short: str, statement: str) -> PaperClaim:
    return PaperClaim(claim, source, "04", argument, short,
                      tuple(("04-dln", dln_check(statement, r)) for r in DLN_LOSS_READINGS),
                      family="dln", readings=DLN_LOSS_READINGS, note=DLN_NOTE)


PAPER_CLAIMS: tuple[PaperClaim, ...] = (
    PaperClaim("BN trains faster: lower training loss and higher test accuracy at the same step", "Fig. 1a–b", "02",
               BN_HELPS, "trains faster",
               tuple(("02", f"lr {lr:g}: BN ends with a {what} than Standard")
                     for lr in (0.1, 0.5) for what in ("lower training loss", "higher test accuracy")),
               note="The paper's 83 % against 80 % is the gap after 15,000 steps; only `paper` runs that long, so "
                    "at `laptop` the accuracy check measures speed."),
    PaperClaim("BN allows larger learning rates", "Fig. 1", "02", BN_HELPS, "larger learning rates",
               (("02", "BN still trains at a larger learning rate than Standard"),)),
    _dln_row("on the deep linear network too, BN trains better", "Fig. 3", BN_HELPS, "DLN trains better",
             "BN ends with a lower training loss than Standard"),
    _drift_row("activation distributions with and without BN are not very different", "Fig. 1c", "03",
               "similar distributions", ("BN",), "similar"),
    PaperClaim("noisy BN trains far better than Standard, and close to BN", "Fig. 2", "03", NOT_ICS,
               "noisy BN still trains", (("03", share_check("noisy BN", FAR_BETTER)),
                                         ("03", share_check("noisy BN", CLOSE_TO_BN))), family="share"),
    PaperClaim("the same noise stops the network without BN from training", "Fig. 2, text", "03", NOT_ICS,
               "noise stops Standard", (("03", f"Standard + noise: {DOES_NOT_TRAIN.says}"),)),
    _drift_row("noisy BN's activations are less stable than Standard's", "Fig. 2", "03", "noisy BN less stable",
               ("noisy BN",), "more"),
    PaperClaim("BN does not reduce ICS measured through gradients (VGG): as much or more with BN", "Fig. 3", "04",
               NOT_ICS, "as much gradient ICS",
               (("04-vgg", "VGG: BN's relative ICS ≥ Standard's at a majority of layers"),
                ("04-vgg", "VGG: BN's absolute ‖G − G′‖ ≥ Standard's at every layer"))),
    _dln_row("deep linear network without BN: G and G′ almost identical", "Fig. 3", NOT_ICS,
             "DLN: G ≈ G′ without BN", "Standard's G and G′ almost identical at every layer"),
    _dln_row("deep linear network with BN: G and G′ nearly uncorrelated", "Fig. 3", NOT_ICS,
             "DLN: G, G′ apart with BN", "BN's G and G′ nearly uncorrelated at some layer"),
    _drift_row("ℓp normalizations shift their distributions more than Standard", "Sec. 3.3", "06", "ℓp shift more",
               LP, "more"),
    PaperClaim("ℓp normalizations train about as well as BN", "Sec. 3.3", "06", NOT_ICS, "ℓp train like BN",
               tuple(("06-vgg", share_check(name, CLOSE_TO_BN, f"lr {lr:g}")) for lr in (0.1, 0.5) for name in LP),
               family="share"),
    PaperClaim("ℓ1 even beats BN on the deep linear network", "Sec. 3.3", "06", NOT_ICS, "ℓ1 beats BN (DLN)",
               (("06-dln", "DLN: ℓ1 ends with a lower training loss than BN"),),
               note="Mean loss only: the ℓp DLN runs under the summed loss are not trained (40 more runs)."),
    _landscape_row("with BN the loss changes much less along the gradient", "Fig. 4a", "loss varies less",
                   "loss_range"),
    _landscape_row("with BN the gradient is much more predictive", "Fig. 4b", "gradients predictive", "pred_max"),
    _landscape_row("with BN the effective β-smoothness is much smaller", "Fig. 4c", "smaller effective β", "beta"),
    PaperClaim("early in training, BN's gradient predictiveness is about two orders of magnitude smaller",
               "Fig. 4b, text", "05", SMOOTHER, "two orders, early", (("05-vgg", early_check("VGG")),)),
    PaperClaim("ℓp normalizations smooth the landscape as BN does", "Sec. 3.3", "06", SMOOTHER, "ℓp smooth too",
               tuple(("06-vgg", landscape_check("VGG", phase, measure, name)) for name in LP
                     for measure in LANDSCAPE_MEASURES for phase in LANDSCAPE_PHASES),
               family="landscape", phases=LANDSCAPE_PHASES, measures=tuple(LANDSCAPE_MEASURES),
               note="VGG only: notebook 06 does not probe the DLN's landscape."),
    PaperClaim("Theorem 4.1: BN's gradient is its projection off 1 and ŷ, scaled by γ²/σ²", "Thm 4.1", "07",
               SMOOTHER, "Thm 4.1",
               (("07-cases", "Thm 4.1 with 1/m: ‖∂L̂/∂y‖² within the bound"),
                ("07-premise", "γ²/σ² ≤ 1 in trained BN channels")), kind="theorem"),
    PaperClaim("Theorem 4.2: along the gradient, BN's curvature is γ²/σ² times the curvature without, less a "
               "term", "Thm 4.2", "07", SMOOTHER, "Thm 4.2",
               (("07-cases", "Thm 4.2 under its conditions: curvature along the gradient within the bound"),
                ("07-cases", "... and the second term reduces it"),
                ("07-premise", "γ²/σ² ≤ 1 in trained BN channels"),
                ("07-cases", "convex losses: curvature per unit step lower with BN than without")), kind="theorem"),
    PaperClaim("Observation 4.3: BN is a reparametrization, no minimum is lost", "Obs. 4.3", "07", SMOOTHER,
               "Obs. 4.3", (("07-vgg", "Obs. 4.3: a BN VGG with γ = σ, β = μ reproduces the VGG without BN on the "
                             "batch"),), kind="theorem"),
    PaperClaim("Theorem 4.4: the worst case over bounded inputs is Theorem 4.1's, scaled", "Thm 4.4", "07",
               SMOOTHER, "Thm 4.4", (("07-cases", "Thm 4.4 (our reading): the worst case over ‖X‖ ≤ λ is λ² times "
                                      "Thm 4.1's sides"), ("07-premise", "γ²/σ² ≤ 1 in trained BN channels")),
               kind="theorem"),
    PaperClaim("Lemma 4.5: with BN an optimum lies closer to the initialization", "Lemma 4.5", "07", SMOOTHER,
               "Lemma 4.5", (("07-cases", "Lemma 4.5: BN's nearest optimum within the bound"),), kind="theorem"),
)

RECORDS: dict[str, tuple[str, ...]] = {  # each notebook's recorded parts (Claims(..., notebook=, part=))
    "02": ("02",), "03": ("03",), "04": ("04-vgg", "04-dln"), "05": ("05-vgg", "05-dln"),
    "06": ("06-vgg", "06-dln"), "07": ("07-cases", "07-vgg", "07-premise"), "08": ("08",),
}


@dataclass
class Check:
    """One recorded claim as it bears on a row: its text, numbers, and in how many seeds it holds."""

    record: str
    text: str
    kind: str
    evidence: str
    reading: str
    quantity: str
    values: list[float]
    passes: list[bool]
    decided: list[bool]
    unit: str
    says: str = ""

    @property
    def count(self) -> tuple[int, int]:
        """(holds in, out of) over the decided seeds."""
        return sum(p for p, d in zip(self.passes, self.decided) if d), sum(self.decided)

    @property
    def undecided(self) -> int:
        return len(self.decided) - sum(self.decided)

    def counted(self) -> str:
        """"2/3 [0.09, 0.99]": the count and its exact 95 % interval for the per-seed rate."""
        k, n = self.count
        if n == 0:
            return f"undecided in all {self.undecided}"
        lo, hi = interval(k, n)
        return f"{k}/{n} [{lo:.2f}, {hi:.2f}]" + (f", {self.undecided} undecided" if self.undecided else "")


@dataclass
class Row:
    """One line of the verdict table: a claim, its checks, the verdict and what it rests on."""

    claim: str
    source: str
    notebook: str
    argument: str
    short: str
    profile: str
    checks: list[Check] = field(default_factory=list)
    kind: str = "empirical"
    note: str = ""

    def empirical(self) -> list[Check]:
        return [c for c in self.checks if c.evidence == "empirical"]

    def by_reading(self) -> dict[str, list[Check]]:
        """The row's empirical checks under each reading of its open choice ({"": all} when it has none):
        a check made under no particular reading counts in every one."""
        checks = self.empirical()
        readings = list(dict.fromkeys(c.reading for c in checks if c.reading))
        if len({CHOICES[r] for r in readings}) > 1:
            raise ValueError(f"{self.claim}: checks under two open choices at once: {readings}")
        if not readings:
            return {"": checks}
        return {r: [c for c in checks if c.reading in ("", r)] for r in readings}

    def verdicts(self, need: float = 1.0) -> dict[str, str]:
        """The empirical verdict under each reading ({"": verdict} when the row has no open choice)."""
        return {r: verdict([c.count for c in cs], need) for r, cs in self.by_reading().items()}

    def verdict(self, need: float = 1.0) -> str:
        """The row's verdict: an identity's standing for a theorem; otherwise the empirical verdict, or
        "depends on <the choice>" when the readings of an open choice disagree."""
        if self.kind == "theorem":
            identities = [c for c in self.checks if c.evidence == "identity"]
            return IDENTITY_HOLDS if all(c.count[0] == c.count[1] > 0 for c in identities) else IDENTITY_FAILS
        got = self.verdicts(need)
        if len(set(got.values())) == 1:
            return next(iter(got.values()))
        return "depends on " + CHOICES[next(iter(got))]

    def unfirm(self) -> list[Check]:
        """The empirical checks whose count cannot tell, at 95 %, whether they hold in most seeds."""
        return [c for c in self.empirical() if not firm(*c.count)]

    @property
    def behind(self) -> str:
        """What the verdict rests on: "3 seeds", "3 seeds, 8 instances", "531 cases"."""
        sizes: dict[str, int] = {}
        for c in self.checks:
            sizes[c.unit] = max(sizes.get(c.unit, 0), len(c.passes))
        return ", ".join(f"{n} {unit}" for unit, n in sizes.items())

    def standing(self, need: float = 1.0) -> str:
        """The checks in a few words: "2 hold, 1 mixed, 3 fail" (and undecided), per kind of evidence."""
        parts = []
        for evidence in ("identity", "premise", "empirical"):
            cs = [c for c in self.checks if c.evidence == evidence]
            if not cs:
                continue
            got = [check_class(*c.count, need) for c in cs]
            words = {"holds": "hold", "mixed": "mixed", "fails": "fail", "undecided": "undecided"}
            counts = ", ".join(f"{got.count(s)} {w}" for s, w in words.items() if got.count(s))
            label = "" if self.kind != "theorem" else {"identity": "identity: ", "premise": "premise: ",
                                                      "empirical": "with and without BN: "}[evidence]
            if self.kind == "theorem":
                counts = "; ".join(f"{c.count[0]} of {c.count[1]} {c.unit}" for c in cs)
            parts.append(label + counts)
        return "; ".join(parts)


def _not_current(parts: Mapping[str, dict | None]) -> str:
    """Why the first of a notebook's records is not current ("" when all are)."""
    for record in parts.values():
        why = staleness(record)
        if why:
            return why
    return ""


def load_records(profile: str, execute_stale: bool = True, notebooks: Sequence[str] = tuple(RECORDS),
                 log=print) -> dict[str, dict[str, Any]]:
    """Every part's current record in ``profile``; a notebook whose records are missing or out of date
    is executed first (headless, not saved; it trains only runs that are not cached). Raises, naming
    the notebook, when one cannot be brought up to date."""
    records = {}
    for nb in notebooks:
        parts = {name: load_record(name, profile) for name in RECORDS[nb]}
        why = _not_current(parts)
        if why and execute_stale:
            log(f"notebook {nb}: {why}; executing it (profile '{profile}')...")
            run = execute_notebook(nb, profile)
            if run.error:
                raise RuntimeError(f"notebook {nb} failed while recording its claims:\n{run.error}")
            log(f"notebook {nb}: executed in {run.seconds:.0f} s")
            parts = {name: load_record(name, profile) for name in RECORDS[nb]}
            why = _not_current(parts)
        if why:
            raise RuntimeError(f"notebook {nb}'s claims are not current ({why}); execute notebook {nb} first")
        records.update(parts)
    return records


def _check(record: Mapping, claim: Mapping) -> Check:
    return Check(record["name"], claim["text"], claim["kind"], claim["evidence"], claim["reading"], claim["quantity"],
                 claim["values"], claim["passes"], claim["decided"], record["unit"], claim["says"])


def _find(records: Mapping[str, dict], record: str, text: str) -> Check:
    if record not in records:
        raise KeyError(f"no record {record!r}; recorded: {', '.join(records)}")
    r = records[record]
    found = [c for c in r["claims"] if c["text"] == text]
    if not found:
        raise LookupError(f"record {record!r} has no check {text!r}: the verdict table and notebook "
                          f"{r['notebook']} disagree on what it tests. Its claims: "
                          + "; ".join(c["text"] for c in r["claims"]))
    return _check(r, found[0])


def paper_rows(records: Mapping[str, dict]) -> list[Row]:
    """The verdict table of the paper's claims, from the notebooks' records."""
    rows = []
    for pc in PAPER_CLAIMS:
        checks = [_find(records, record, text) for record, text in pc.checks]
        profile = records[pc.checks[0][0]]["profile"]
        rows.append(Row(pc.claim, pc.source, pc.notebook, pc.argument, pc.short, profile, checks, pc.kind, pc.note))
    return rows


def later_work_rows(records: Mapping[str, dict]) -> list[Row]:
    """One row per claim of later work that notebook 08 tests (who says it is in ``source``)."""
    r = records["08"]
    return [Row(c["text"], c["paper"], "08", "later work", c["text"][:24], r["profile"], [_check(r, c)])
            for c in r["claims"] if c["kind"] == "cited"]


def disagreements(rows: Sequence[Row], records: Mapping[str, dict]) -> list[str]:
    """Where the table and the records disagree; empty when they agree. Every empirical claim of the
    paper a notebook recorded must be in some row; an empirical row holds no identity or premise, a
    theorem's row at least one identity; each claim holds by its rule exactly when the record says so."""
    problems = []
    for row in rows:
        kinds = {c.evidence for c in row.checks}
        if row.kind == "empirical" and kinds != {"empirical"}:
            problems.append(f"{row.claim}: an empirical row counts {sorted(kinds - {'empirical'})} checks")
        if row.kind == "theorem" and "identity" not in kinds:
            problems.append(f"{row.claim}: a theorem's row without an identity")
    covered = {(c.record, c.text) for row in rows for c in row.checks}
    for name, r in records.items():
        for c in r["claims"]:
            if c["kind"] == "paper" and c["evidence"] == "empirical" and (name, c["text"]) not in covered:
                problems.append(f"notebook {r['notebook']} checks the paper's claim {c['text']!r}; "
                                "the table leaves it out")
            k = sum(p for p, d in zip(c["passes"], c["decided"]) if d)
            n = sum(c["decided"])
            by_rule = {"every": n > 0 and k == n, "majority": 2 * k > n, "count": True}.get(c["rule"])
            if by_rule is not None and by_rule != c["holds"]:
                problems.append(f"{name}: {c['text']!r} holds in {k} of {n} by rule {c['rule']!r}, "
                                f"recorded as holds={c['holds']}")
    return problems


COLUMNS = ("claim", "tested in", "evidence", "verdict", "its checks", "firm at 95 %?", "profile")


def _verdict_cell(row: Row, need: float) -> str:
    v = row.verdict(need)
    if v.startswith("depends on"):
        return v + " (" + "; ".join(f"{r}: {x}" for r, x in row.verdicts(need).items()) + ")"
    return v


def _firm_cell(row: Row) -> str:
    if row.kind == "theorem":
        return "—"
    loose = row.unfirm()
    if not loose:
        return "yes"
    return f"no: {len(loose)} of {len(row.empirical())} checks could go either way ({row.behind})"


def markdown_table(rows: Sequence[Row], need: float = 1.0) -> str:
    """The table as Markdown: claim, notebook, kind of evidence, verdict, its checks, firmness, profile."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + " --- |" * len(COLUMNS)]
    for r in rows:
        evidence = "identity and premise" if r.kind == "theorem" else "runs"
        lines.append(f"| {r.claim} ({r.source}) | {r.notebook} | {evidence} | {_verdict_cell(r, need)} | "
                     f"{r.standing(need)} | {_firm_cell(r)} | {r.profile} |")
    return "\n".join(lines)


def parse_markdown_table(text: str) -> list[tuple[str, str]]:
    """(notebook, verdict) of each row of a table :func:`markdown_table` wrote (read back from a notebook)."""
    pairs = []
    at = COLUMNS.index("verdict")
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if len(cells) == len(COLUMNS) and cells[1] != "tested in" and not cells[1].startswith("---"):
            v = cells[at].split(" (")[0]
            if v in (*VERDICTS, UNDECIDED, IDENTITY_HOLDS, IDENTITY_FAILS) or v.startswith("depends on"):
                pairs.append((cells[1], v))
    return pairs


def summary_label(v: str) -> str:
    """A verdict as the README counts it: every "depends on ..." is one kind."""
    if v.startswith("depends on"):
        return "depend on a choice of ours"
    return {IDENTITY_HOLDS: "identities hold", IDENTITY_FAILS: "identities FAIL"}.get(v, v)


def notebook_summaries(pairs: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Per notebook, how many of its claims got each verdict ("2 reproduced, 1 partly")."""
    order = (*VERDICTS, "depend on a choice of ours", UNDECIDED, "identities hold", "identities FAIL")
    out = {}
    for nb in sorted({nb for nb, _ in pairs}):
        got = [summary_label(v) for n, v in pairs if n == nb]
        out[nb] = ", ".join(f"{got.count(v)} {v}" for v in order if got.count(v))
    return out


def readme_column(pairs: Sequence[tuple[str, str]], later: Sequence[tuple[str, str]] = ()) -> dict[str, str]:
    """The README's verdict column: per notebook, its summary; notebook 08's counts later work's claims."""
    column = notebook_summaries(pairs)
    column.update({nb: f"later work: {s}" for nb, s in notebook_summaries(later).items()})
    return column


def check_lines(row: Row, shown: int = 12) -> str:
    """A row's checks, one line each (the first ``shown``): the count with its 95 % interval, the check."""
    lines = [f"[{row.verdict()}] {row.claim} ({row.source}, notebook {row.notebook})"]
    for c in row.checks[:shown]:
        label = f"{c.evidence}: " if c.evidence != "empirical" else ""
        lines.append(f"    {c.counted():30s} {label}{c.text}")
    if len(row.checks) > shown:
        lines.append(f"    ... and {len(row.checks) - shown} more (notebook {row.notebook}'s table has them all)")
    if row.note:
        lines.append(f"    note: {row.note}")
    return "\n".join(lines)


def undecidable(records: Mapping[str, dict]) -> list[tuple[str, str, int, int]]:
    """Every recorded check that some seed could not decide: (record, text, undecided, seeds)."""
    out = []
    for name, r in records.items():
        for c in r["claims"]:
            missing = len(c["decided"]) - sum(c["decided"])
            if missing:
                out.append((name, c["text"], missing, len(c["decided"])))
    return out


def recorded(records: Mapping[str, dict], record: str, pattern: str = "") -> str:
    """The claims of ``record`` whose text matches ``pattern``, one line each: in how many seeds each
    holds, the claim, and its numbers (as the notebook computed them)."""
    r = records[record]
    lines = [f"notebook {r['notebook']} ({r['profile']}, {r['unit']}):"]
    for c in r["claims"]:
        if re.search(pattern, c["text"]):
            k, n = sum(c["passes"]), len(c["passes"])
            values = ", ".join(f"{v:.3g}" for v in c["values"][:8]) + (" ..." if n > 8 else "")
            lines.append(f"  {k:3d} of {n:<3d} {c['text']}\n  {'':10s} {c['quantity']}: {values}")
    if len(lines) == 1:
        raise LookupError(f"no claim of record {record!r} matches {pattern!r}")
    return "\n".join(lines)
