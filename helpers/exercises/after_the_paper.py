"""Notebook 08's checker: λ_max by power iteration.

Checkers never raise, so a notebook with unfinished exercises still runs from top to bottom.

Taught in notebook 08.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np
import torch

from .checking import CheckReport, _as_tensor, _check_outputs


def _power(matvec: Callable, v0: torch.Tensor, iterations: int, quotient: bool = True, extra: int = 0,
           ) -> torch.Tensor:
    """v ← H v/‖H v‖ from v0/‖v0‖, and the Rayleigh quotient vᵀ H v of the last product; the other
    arguments give the mistakes' versions."""
    v = v0 / torch.linalg.vector_norm(v0)
    for _ in range(iterations + extra):
        w = matvec(v)
        estimate = v @ w if quotient else torch.linalg.vector_norm(w)
        v = w / torch.linalg.vector_norm(w)
    return estimate


def _power_wrong_outputs(matvec, v0, iterations) -> dict[str, torch.Tensor]:
    return {
        "returns ‖H v‖, which is |λ| at best and loses the sign: return the Rayleigh quotient vᵀ H v":
            _power(matvec, v0, iterations, quotient=False),
        "takes one product too many: exactly `iterations` products, the estimate from the last":
            _power(matvec, v0, iterations, extra=1),
        "takes one product too few: exactly `iterations` products, the estimate from the last":
            _power(matvec, v0, iterations, extra=-1),
    }


def check_power_iteration(power_iteration: Callable) -> CheckReport:
    """Check ``power_iteration(matvec, v0, iterations)`` -> the estimate vᵀ H v after ``iterations``
    products H v (v ← H v/‖H v‖, from v0/‖v0‖), on symmetric matrices with known spectra: one whose
    top eigenvalue is close to the next (slow convergence: the count of products shows), and one
    whose eigenvalue of largest magnitude is negative (power iteration finds that one, not λ_max)."""
    gen = torch.Generator().manual_seed(11)
    q, _ = torch.linalg.qr(torch.randn(12, 12, generator=gen, dtype=torch.float64))
    cases = []
    spectra = (("eigenvalues 10, 9, 1, ..., 0.1", [10.0, 9.0, *np.linspace(1, 0.1, 10)]),
               ("eigenvalues −6, 5, ... (largest magnitude negative)", [-6.0, 5.0, *np.linspace(2, -1, 10)]))
    for name, spectrum in spectra:
        h = q @ torch.diag(torch.tensor(spectrum, dtype=torch.float64)) @ q.T
        matvec = lambda v, h=h: h @ v  # noqa: E731
        v0 = torch.randn(12, generator=gen, dtype=torch.float64) * 3
        for iterations in (3, 8):
            cases.append((f"{name}, {iterations} products", (matvec, v0.clone(), iterations),
                          partial(_power, matvec, v0, iterations),
                          partial(_power_wrong_outputs, matvec, v0, iterations)))
    return _check_outputs("power_iteration", _as_tensor(power_iteration), cases, "power iteration's")
