"""The series' verdict on the paper: each claim it tests, from the claims the notebooks recorded.

A row of :data:`PAPER_CLAIMS` is one claim of the paper in our words, the notebook that tests it,
and *which of that notebook's checks* speak to it (patterns matched against the claims the notebook
recorded, :mod:`helpers.claim_records`). Nothing here states a result: each verdict is computed from
the recorded numbers, seed by seed, by :func:`verdict`:

- **reproduced**: every check holds in every seed (or instance, or random case);
- **not reproduced**: no check holds in more than half of them;
- **depends on the setting**: some check holds in every seed and another in at most half
  (a layer, a phase of training, a measure, a network);
- **partly**: anything in between (for instance a check that holds in 2 of 3 seeds).

Claims of later work (notebook 08) get the same verdicts in a table of their own.

Taught in notebook 09.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .claim_records import execute_notebook, load_record, staleness

VERDICTS = ("reproduced", "partly", "depends on the setting", "not reproduced")


def verdict(counts: Sequence[tuple[int, int]], need: float = 1.0) -> str:
    """The verdict on a claim from its checks' ``(holds in, out of)`` counts. ``need``: the fraction of
    seeds a check must hold in to count as holding throughout (1.0: every seed, the series' rule)."""
    if not counts:
        raise ValueError("a verdict needs at least one check")
    if any(n <= 0 or not 0 <= k <= n for k, n in counts):
        raise ValueError(f"each check is (holds in, out of) with 0 ≤ holds ≤ out of > 0; got {list(counts)}")
    throughout = [k >= need * n for k, n in counts]
    mostly_not = [2 * k <= n for k, n in counts]
    if all(throughout):
        return "reproduced"
    if all(mostly_not):
        return "not reproduced"
    if any(throughout) and any(mostly_not):
        return "depends on the setting"
    return "partly"


@dataclass(frozen=True)
class PaperClaim:
    """A claim of the paper (``claim``, in our words; ``source``: where the paper makes it), the part of
    the argument it belongs to, and the checks that test it: (record, regular expression) pairs, each
    matching one or more claims a notebook recorded (``record``: "05-vgg", notebook and part)."""

    claim: str
    source: str
    notebook: str
    argument: str
    short: str  # a few words, for the diagram
    checks: tuple[tuple[str, str], ...]


BN_HELPS, NOT_ICS, SMOOTHER = "BN helps training", "ICS is not the mechanism", "a smoother landscape is"
ARGUMENT = (BN_HELPS, NOT_ICS, SMOOTHER)

PAPER_CLAIMS: tuple[PaperClaim, ...] = (
    PaperClaim("BN trains faster and reaches a higher test accuracy", "Fig. 1a–b", "02", BN_HELPS,
               "faster, better", (("02", r"^lr [\d.]+: BN ends with a (lower training loss|higher test accuracy)"),)),
    PaperClaim("BN allows larger learning rates", "Fig. 1", "02", BN_HELPS, "larger learning rates",
               (("02", r"^BN still trains at a larger learning rate"),)),
    PaperClaim("on the deep linear network too, BN trains better", "Fig. 3", "04", BN_HELPS, "DLN trains better",
               (("04-dln", r"^DLN: BN ends with a lower training loss"),)),
    PaperClaim("activation distributions with and without BN are not very different", "Fig. 1c", "03", NOT_ICS,
               "similar distributions", (("03", r"^BN's activations drift within a factor 2"),)),
    PaperClaim("noisy BN trains far better than Standard, and close to BN", "Fig. 2", "03", NOT_ICS,
               "noisy BN still trains", (("03", r"^noisy BN ends with a lower training loss"),
                                         ("03", r"^noisy BN recovers at least half"))),
    PaperClaim("the same noise stops the network without BN from training", "Fig. 2, text", "03", NOT_ICS,
               "noise stops Standard", (("03", r"^Standard \+ noise ends with a higher training loss"),)),
    PaperClaim("noisy BN's activations are less stable than Standard's", "Fig. 2", "03", NOT_ICS,
               "noisy BN less stable", (("03", r"^noisy BN's activations drift more than Standard's"),
                                        ("03", r"^\.\.\. in the lowest probed layer"))),
    PaperClaim("BN does not reduce ICS measured through gradients (VGG): as much or more with BN", "Fig. 3", "04",
               NOT_ICS, "as much gradient ICS", (("04-vgg", r"^VGG: BN's (relative ICS|absolute)"),)),
    PaperClaim("deep linear network without BN: G and G′ almost identical", "Fig. 3", "04", NOT_ICS,
               "DLN: G ≈ G′ without BN", (("04-dln", r"^DLN: Standard's cosine above 0.99"),)),
    PaperClaim("deep linear network with BN: G and G′ nearly uncorrelated", "Fig. 3", "04", NOT_ICS,
               "DLN: G, G′ apart with BN", (("04-dln", r"^DLN: BN's G and G′ far apart"),)),
    PaperClaim("ℓp normalizations shift their distributions more than Standard", "Sec. 3.3", "06", NOT_ICS,
               "ℓp shift more", (("06-vgg", r"activations drift at least as much as Standard's"),)),
    PaperClaim("ℓp normalizations train about as well as BN", "Sec. 3.3", "06", NOT_ICS, "ℓp train like BN",
               (("06-vgg", r"recovers at least half of BN's lead"),)),
    PaperClaim("ℓ1 even beats BN on the deep linear network", "Sec. 3.3", "06", NOT_ICS, "ℓ1 beats BN (DLN)",
               (("06-dln", r"^DLN: ℓ1 ends with a lower training loss than BN"),)),
    PaperClaim("with BN the loss changes less along the gradient", "Fig. 4a", "05", SMOOTHER, "loss varies less",
               (("05-vgg", r"^VGG, (whole run|early): BN's loss_range smaller"),
                ("05-vgg", r"^VGG, rest: BN's loss band narrower"), ("05-dln", r"^DLN, whole run: BN's loss_range"))),
    PaperClaim("with BN the gradient is more predictive", "Fig. 4b", "05", SMOOTHER, "gradients predictive",
               (("05-vgg", r"^VGG, once both are learning: BN's gradient predictiveness"),
                ("05-vgg", r"^VGG, (whole run|early): BN's pred_max smaller"),
                ("05-dln", r"^DLN, whole run: BN's pred_max"))),
    PaperClaim("with BN the effective β-smoothness is smaller", "Fig. 4c", "05", SMOOTHER, "smaller effective β",
               (("05-vgg", r"^VGG, once both are learning: BN's effective β"),
                ("05-vgg", r"^VGG, (whole run|early): BN's beta smaller"), ("05-dln", r"^DLN, whole run: BN's beta"))),
    PaperClaim("ℓp normalizations smooth the landscape as BN does", "Sec. 3.3", "06", SMOOTHER, "ℓp smooth too",
               (("06-vgg", r"^after the split: ℓ"),)),
    PaperClaim("Theorem 4.1: BN lowers the gradient's size (Lipschitzness)", "Thm 4.1", "07", SMOOTHER, "Thm 4.1",
               (("07-cases", r"^Thm 4.1 with 1/m: "),)),
    PaperClaim("Theorem 4.2: BN lowers the curvature along the gradient", "Thm 4.2", "07", SMOOTHER, "Thm 4.2",
               (("07-cases", r"^Thm 4.2 under its conditions"), ("07-cases", r"^\.\.\. and the second term reduces"))),
    PaperClaim("Observation 4.3: BN is a reparametrization, no minimum is lost", "Obs. 4.3", "07", SMOOTHER,
               "Obs. 4.3", (("07-vgg", r"^Obs\. 4\.3"),)),
    PaperClaim("Lemma 4.5: with BN an optimum lies closer to the initialization", "Lemma 4.5", "07", SMOOTHER,
               "Lemma 4.5", (("07-cases", r"^Lemma 4.5: "),)),
)

RECORDS: dict[str, tuple[str, ...]] = {  # each notebook's recorded parts (Claims(..., notebook=, part=))
    "02": ("02",), "03": ("03",), "04": ("04-vgg", "04-dln"), "05": ("05-vgg", "05-dln"),
    "06": ("06-vgg", "06-dln"), "07": ("07-cases", "07-vgg"), "08": ("08",),
}


@dataclass
class Check:
    """One recorded claim as it bears on a row: its text, numbers, and in how many seeds it holds."""

    record: str
    text: str
    kind: str
    quantity: str
    values: list[float]
    passes: list[bool]
    unit: str
    asserted_holds: bool | None  # what the notebook asserted: True/False, or None where it asserted nothing

    @property
    def count(self) -> tuple[int, int]:
        return sum(self.passes), len(self.passes)


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

    def verdict(self, need: float = 1.0) -> str:
        return verdict([c.count for c in self.checks], need)

    @property
    def behind(self) -> str:
        """What the verdict rests on: "3 seeds", "3 seeds, 8 instances", "531 cases"."""
        sizes: dict[str, int] = {}
        for c in self.checks:
            sizes[c.unit] = max(sizes.get(c.unit, 0), len(c.passes))
        return ", ".join(f"{n} {unit}" for unit, n in sizes.items())


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


def _checks(records: Mapping[str, dict], record: str, pattern: str) -> list[Check]:
    if record not in records:
        raise KeyError(f"no record {record!r}; recorded: {', '.join(records)}")
    r = records[record]
    found = [c for c in r["claims"] if re.search(pattern, c["text"])]
    if not found:
        raise LookupError(f"no claim of record {record!r} matches {pattern!r}: the verdict table and notebook "
                          f"{r['notebook']} disagree on what it tests. Its claims: "
                          + "; ".join(c["text"] for c in r["claims"]))
    return [Check(record, c["text"], c["kind"], c["quantity"], c["values"], c["passes"], r["unit"],
                  c["holds"] if r["asserted"] and c["kind"] != "observation" else None) for c in found]


def paper_rows(records: Mapping[str, dict]) -> list[Row]:
    """The verdict table of the paper's claims, from the notebooks' records."""
    rows = []
    for pc in PAPER_CLAIMS:
        checks = [c for record, pattern in pc.checks for c in _checks(records, record, pattern)]
        profile = records[pc.checks[0][0]]["profile"]
        rows.append(Row(pc.claim, pc.source, pc.notebook, pc.argument, pc.short, profile, checks))
    return rows


def later_work_rows(records: Mapping[str, dict]) -> list[Row]:
    """One row per claim of later work that notebook 08 tests (who says it is in ``source``)."""
    r = records["08"]
    return [Row(c["text"], c["paper"], "08", "later work", c["text"][:24], r["profile"],
                [Check("08", c["text"], c["kind"], c["quantity"], c["values"], c["passes"], r["unit"],
                       c["holds"] if r["asserted"] else None)])
            for c in r["claims"] if c["kind"] == "cited"]


def disagreements(rows: Sequence[Row], records: Mapping[str, dict]) -> list[str]:
    """Where the table and the notebooks disagree; empty when they agree. A claim a notebook asserted
    as holding must not be called "not reproduced", nor one it found failing "reproduced"; every claim
    of the paper a notebook checks must be in the table; a check must hold by its rule exactly when
    the notebook said it does."""
    problems = []
    for row in rows:
        v = row.verdict()
        for c in row.checks:
            if c.asserted_holds is True and v == "not reproduced":
                problems.append(f"{row.claim}: notebook {row.notebook} asserted {c.text!r}, the table says {v}")
            if c.asserted_holds is False and v == "reproduced":
                problems.append(f"{row.claim}: notebook {row.notebook} found {c.text!r} failing, the table says {v}")
    covered = {(c.record, c.text) for row in rows for c in row.checks}
    for name, r in records.items():
        for c in r["claims"]:
            if c["kind"] == "paper" and (name, c["text"]) not in covered:
                problems.append(f"notebook {r['notebook']} checks the paper's claim {c['text']!r}; "
                                "the table leaves it out")
            k, n = sum(c["passes"]), len(c["passes"])
            by_rule = {"every": k == n, "majority": 2 * k > n, "count": True}.get(c["rule"])
            if by_rule is not None and by_rule != c["holds"]:
                problems.append(f"{name}: {c['text']!r} holds in {k} of {n} by rule {c['rule']!r}, "
                                f"recorded as holds={c['holds']}")
    return problems


COLUMNS = ("claim", "tested in", "verdict", "behind it", "profile")


def markdown_table(rows: Sequence[Row], need: float = 1.0) -> str:
    """The table as Markdown: claim (and where the paper makes it), notebook, verdict, seeds, profile."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + " --- |" * len(COLUMNS)]
    for r in rows:
        counts = ", ".join(f"{k}/{n}" for k, n in (c.count for c in r.checks))
        lines.append(f"| {r.claim} ({r.source}) | {r.notebook} | {r.verdict(need)} | {r.behind} (checks: {counts}) "
                     f"| {r.profile} |")
    return "\n".join(lines)


def parse_markdown_table(text: str) -> list[tuple[str, str]]:
    """(notebook, verdict) of each row of a table :func:`markdown_table` wrote (read back from a notebook)."""
    pairs = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == len(COLUMNS) and cells[2] in VERDICTS:
            pairs.append((cells[1], cells[2]))
    return pairs


def notebook_summaries(pairs: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Per notebook, how many of its claims got each verdict ("2 reproduced, 1 partly")."""
    out = {}
    for nb in sorted({nb for nb, _ in pairs}):
        got = [v for n, v in pairs if n == nb]
        out[nb] = ", ".join(f"{got.count(v)} {v}" for v in VERDICTS if got.count(v))
    return out


def readme_column(pairs: Sequence[tuple[str, str]], later: Sequence[tuple[str, str]] = ()) -> dict[str, str]:
    """The README's verdict column: per notebook, its summary; notebook 08's counts later work's claims."""
    column = notebook_summaries(pairs)
    column.update({nb: f"later work: {s}" for nb, s in notebook_summaries(later).items()})
    return column


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
