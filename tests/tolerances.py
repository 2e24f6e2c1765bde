"""Tolerances from the computation, never from the gap one machine measured.

Each comparison of floating-point results in the tests is one of these, and says which:

- **Exact** where the computation is bit for bit by design: the same operations on the same inputs
  in one process (a seed, the run cache, a probe that must not change training, a replay of a saved
  point). Another CPU computes other bits, but computes them the same way twice.
- **float64** where the point is the same maths computed two ways (a batched ensemble and single
  runs, a hand-written backward pass and autograd, a closed form and the code). The two ways round
  differently; in float64 their gap is of order u₆₄·(amplification), far below any bug's.
- **A rounding bound** where a float32 result must be compared with exact maths: γₙ below, for a
  reduction of n terms in any order, so for any CPU, kernel and thread count.
- **A bound scaled by the run's own sensitivity** where float32 chaos is the point, measured
  inside the test (two runs whose initial weights differ by one ulp); or a comparison limited to
  the steps before the chaotic phase.

Statistical thresholds (a growth rate estimated from random networks, say) are a fifth kind: they
are set by the spread over seeds, which rounding moves by a millionth of it.
"""

from __future__ import annotations

import contextlib

import torch

# The float64 tolerance for "the same maths two ways". The computations compared in the tests take at
# most about 10⁵ roundings of u₆₄ = 1.1e-16 each, in maps whose condition numbers stay below 10² (BN
# layers, small DLNs, Lanczos at convergence): their results agree to about 1e-9 at worst and to 1e-13
# typically. A bug (a wrong mode, a missing term, the wrong point) moves them by 1e-3 or more.
FLOAT64_RTOL = 1e-9


def unit_roundoff(dtype: torch.dtype) -> float:
    """u = 2⁻ᵖ: the largest relative error of one rounding (2⁻²⁴ = 6.0e-8 for float32)."""
    return torch.finfo(dtype).eps / 2


def gamma(n: int, dtype: torch.dtype = torch.float32) -> float:
    """γₙ = n·u/(1 − n·u): a sum or inner product of n terms, summed in any order, is within
    γₙ·Σ|terms| of the exact one (Higham, *Accuracy and Stability of Numerical Algorithms*, §3.1).
    A norm ‖v‖ of n entries is then within γₙ₊₂·‖v‖ of the exact norm, relative."""
    nu = n * unit_roundoff(dtype)
    if nu >= 1:
        raise ValueError(f"γₙ is unbounded for n = {n} in {dtype}")
    return nu / (1 - nu)


@contextlib.contextmanager
def float64_by_default():
    """Build models in float64 from the start (not widened afterwards), so that what they compute at
    build time (weight normalization's g = ‖v‖, say) carries no float32 rounding."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(before)
