"""Notebook 09's checker: the verdict on a claim from its checks.

Checkers never raise, so a notebook with unfinished exercises still runs from top to bottom.

Taught in notebook 09.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .checking import CheckReport, _call

VERDICT_CASES = (  # (holds in, out of) per check
    [(3, 3)], [(3, 3), (8, 8)], [(2, 3)], [(0, 3)], [(1, 3)], [(0, 3), (0, 8)], [(3, 3), (0, 3)],
    [(3, 3), (1, 3), (0, 8)], [(3, 3), (2, 3)], [(2, 3), (0, 3)], [(6, 8)], [(4, 8)], [(5, 8), (3, 3)],
    [(300, 300), (531, 531)], [(309, 531)], [(8, 8), (4, 8)], [(1, 2)], [(2, 2), (1, 2)], [(3, 3), (3, 3), (0, 3)],
    [(0, 3), (0, 3), (2, 3), (0, 8)],
)


def _label(share: float, mostly_from_half: bool = False) -> str:
    mostly = share >= 0.5 if mostly_from_half else share > 0.5
    return "reproduced" if share == 1 else "mostly" if mostly else "partly" if share > 0 else "not reproduced"


def _verdict_mistakes(counts: Sequence[tuple[int, int]]) -> dict[str, str]:
    """What typical mistakes give on ``counts``."""
    def by(score, mostly_from_half: bool = False) -> str:
        return _label(sum(score(k, n) for k, n in counts) / len(counts), mostly_from_half)

    pooled = (sum(k for k, _ in counts), sum(n for _, n in counts))
    standing = lambda k, n: 1.0 if k == n else 0.0 if 2 * k <= n else 0.5  # noqa: E731
    return {
        "counts a check that holds in most seeds as holding; it must hold in every seed":
            by(lambda k, n: 1.0 if 2 * k > n else 0.0),
        "averages the per-seed pass rates; each check is first classified as holding, mixed or failing":
            by(lambda k, n: k / n),
        "counts a check that holds in exactly half of the seeds as mixed; half is not more than half":
            by(lambda k, n: 1.0 if k == n else 0.0 if 2 * k < n else 0.5),
        "counts a mixed check as failing; it counts as half":
            by(lambda k, n: 1.0 if k == n else 0.0),
        "pools the checks' seeds into one count; a verdict looks at each check on its own":
            _label(standing(*pooled)),
        "calls a share of exactly one half 'mostly'; mostly is more than half": by(standing, mostly_from_half=True),
    }


def check_verdict(verdict_fn: Callable) -> CheckReport:
    """Check ``verdict(counts)`` -> "reproduced", "mostly", "partly" or "not reproduced", where ``counts``
    lists each check's (holds in, out of), against the series' rule."""
    from ..verdicts import verdict

    report = CheckReport("verdict")
    answers = {}
    for counts in VERDICT_CASES:
        status, out = _call(verdict_fn, list(counts))
        if status == "todo":
            report.not_implemented = True
            return report
        if status == "error":
            report.problems.append(f"counts {list(counts)}: raised {out}")
            continue
        answers[tuple(counts)] = out
    wrong = [c for c, out in answers.items() if out != verdict(list(c))]
    if wrong:  # name a typical mistake when it gives exactly these answers, case for case
        named = [message for message in _verdict_mistakes(list(VERDICT_CASES[0]))
                 if all(_verdict_mistakes(list(c))[message] == out for c, out in answers.items())]
        c = wrong[0]
        report.problems.append(named[0] + f" (counts {list(c)}: you said {answers[c]!r})" if named else
                               f"counts {list(c)}: you said {answers[c]!r}, the rule gives {verdict(list(c))!r}"
                               + (f" ({len(wrong)} cases wrong in all)" if len(wrong) > 1 else ""))
    return report
