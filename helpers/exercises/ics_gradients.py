"""Notebook 04's checker: G′, a layer's gradient after the layers below it have moved.

Checkers never raise, so a notebook with unfinished exercises still runs from top to bottom.

Taught in notebook 04.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import torch

from .checking import CheckReport, _check_outputs


def _dln_loss(x: torch.Tensor, y: torch.Tensor) -> Callable[[Sequence[torch.Tensor]], torch.Tensor]:
    """The loss of a deep linear network with weights W_1 … W_k (applied in that order): mean squared error."""
    def loss(weights: Sequence[torch.Tensor]) -> torch.Tensor:
        out = x
        for w in weights:
            out = out @ w.T
        return (out - y).square().mean()
    return loss


def _grad_at(loss: Callable, weights: Sequence[torch.Tensor], i: int) -> torch.Tensor:
    """∇ of ``loss`` in the weight ``weights[i]``, the others held fixed."""
    ws = [w.detach().requires_grad_(k == i) for k, w in enumerate(weights)]
    return torch.autograd.grad(loss(ws), ws[i])[0]


def _g_prime_wrong_outputs(before, after, i, loss) -> dict[str, torch.Tensor]:
    return {
        "returns G, the gradient before any layer moved: G′ takes the layers *below* layer i at their new weights":
            _grad_at(loss, before, i),
        "moves every layer, layer i included: G′ is taken at layer i's old weights, only the layers below moved":
            _grad_at(loss, after, i),
        "moves layer i itself: only the layers below it (0 … i − 1) take their new weights":
            _grad_at(loss, [*after[: i + 1], *before[i + 1:]], i),
        "moves the layers above layer i too: only the layers below it take their new weights":
            _grad_at(loss, [*after[:i], before[i], *after[i + 1:]], i),
        "moves one layer too few (counted from 1?): layers 0 … i − 1 take their new weights":
            _grad_at(loss, [*after[: max(i - 1, 0)], *before[max(i - 1, 0):]], i),
    }


def check_g_prime(g_prime: Callable) -> CheckReport:
    """Check ``g_prime(before, after, i, loss)`` -> G′ for layer ``i`` (counted from 0): the gradient of
    ``loss`` in layer i's weight when the layers below it (0 … i − 1) have their weights ``after`` the
    step and layer i and those above it their weights ``before`` it. ``loss`` maps a list of weights to
    a number; here it is a 4-layer deep linear network's, and ``after`` one SGD step from ``before``."""
    gen = torch.Generator().manual_seed(7)
    x, y = (torch.randn(64, 6, generator=gen, dtype=torch.float64) for _ in range(2))
    loss = _dln_loss(x, y)
    before = [torch.eye(6, dtype=torch.float64) + 0.3 * torch.randn(6, 6, generator=gen, dtype=torch.float64)
              for _ in range(4)]
    after = [w - 0.05 * _grad_at(loss, before, k) for k, w in enumerate(before)]  # one SGD step, every layer
    cases = [(f"layer i = {i}", ([w.clone() for w in before], [w.clone() for w in after], i, loss),
              partial(_grad_at, loss, [*after[:i], *before[i:]], i),
              partial(_g_prime_wrong_outputs, before, after, i, loss)) for i in (2, 3, 1)]
    return _check_outputs("g_prime", g_prime, cases, "autograd's")
