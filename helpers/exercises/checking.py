"""What every exercise checker shares: the report a checker returns, and running a student's
function on cases, comparing with a reference and with the mistakes students make.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import torch

MOMENTUM, EPS = 0.1, 1e-5  # BN's defaults, and the ℓp layers' ε
# A case: its name, the arguments, the reference answer, and the answers of known mistakes.
Case = tuple[str, tuple, Callable[[], torch.Tensor], Callable[[], dict[str, torch.Tensor]]]


@dataclass
class CheckReport:
    """The outcome of a check: ``passed``, or the list of ``problems`` found."""

    exercise: str
    problems: list[str] = field(default_factory=list)
    not_implemented: bool = False

    @property
    def passed(self) -> bool:
        return not self.problems and not self.not_implemented

    def __str__(self) -> str:
        if self.not_implemented:  # problems here are notes, e.g. which exercise to do first
            return " ".join([f"{self.exercise}: not implemented yet.", *self.problems])
        if self.passed:
            return f"{self.exercise}: all checks passed."
        return f"{self.exercise}: {len(self.problems)} problem(s):\n" + "\n".join(f"  - {p}" for p in self.problems)

    def _repr_pretty_(self, printer, cycle) -> None:  # how Jupyter shows it
        printer.text(str(self))


def _call(fn: Callable, *args, **kwargs):
    """Run student code: ('ok', result), ('todo', None) or ('error', message)."""
    try:
        return "ok", fn(*args, **kwargs)
    except NotImplementedError:
        return "todo", None
    except Exception as err:  # anything else is a bug to report, not to crash on
        return "error", f"{type(err).__name__}: {err}"


def _max_err(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max())


def _output_problem(out, expected: torch.Tensor, reference: str,
                    wrong_outputs: Callable[..., dict[str, torch.Tensor]], *args) -> str | None:
    """None if ``out`` matches ``expected``; else what is wrong: its shape, the typical mistake whose
    output it matches (``wrong_outputs(*args)`` maps a message to what that mistake produces, and is
    computed only on a mismatch), or the largest error against ``reference``."""
    if not isinstance(out, torch.Tensor) or out.shape != expected.shape:
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        return f"wrong output shape {got}, expected {tuple(expected.shape)}"
    if not out.is_floating_point():
        return f"the output holds {out.dtype} numbers; it should hold floating-point ones"
    out = out.to(expected.dtype)  # a float32 answer is compared in float64, not rejected for its type
    if torch.allclose(out, expected, rtol=1e-6, atol=1e-8, equal_nan=True):  # NaN where NaN is expected
        return None
    named = [msg for msg, wrong in wrong_outputs(*args).items()
             if wrong.shape == out.shape and torch.allclose(out, wrong.to(out.dtype), rtol=1e-6, atol=1e-8,
                                                            equal_nan=True)]
    if named:
        return named[0]
    if not torch.equal(out.isnan(), expected.isnan()):
        return "NaN where a number is expected, or a number where NaN is"
    return f"output differs from {reference} (largest error {_max_err(out, expected):.3g})"


def _check_outputs(exercise: str, fn: Callable, cases: Iterable[Case], reference: str) -> CheckReport:
    """Call ``fn`` on each case ``(where, args, expected, wrong_outputs)`` and compare its output with
    ``expected()`` (see :func:`_output_problem`); a stub stops the check as "not implemented yet"."""
    report = CheckReport(exercise)
    for where, args, expected, wrong_outputs in cases:
        status, out = _call(fn, *args)
        if status == "todo":
            report.not_implemented = True
            return report
        if status == "error":
            report.problems.append(f"{where}: raised {out}")
            continue
        problem = _output_problem(out, expected(), reference, wrong_outputs)
        if problem is not None:
            report.problems.append(f"{where}: {problem}")
    report.problems = list(dict.fromkeys(report.problems))  # each distinct message once
    return report


def _as_tensor(fn: Callable) -> Callable:
    """``fn`` with its answer turned into a float64 tensor, so numbers, lists and arrays compare alike."""
    def wrapped(*args):
        out = fn(*args)
        return torch.as_tensor(np.asarray(out, dtype=float)) if not isinstance(out, torch.Tensor) else out.double()
    return wrapped
