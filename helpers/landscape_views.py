"""Looking at the landscape around a saved point: fine curves along −g, and planes through w.

At a :class:`~helpers.saved_points.SavedPoint` with weights w, gradient g and learning rate LR:

- :func:`fine_curve`: L(w − ηg), and optionally ‖∇L(w − ηg)‖, on a fine grid of η. The loss alone
  needs forward passes only; the gradient norm costs a backward pass per point too.
- :func:`plane`: the loss on a plane through w spanned by −g and a second direction: a random
  direction normalised per filter (Li et al., 2018), or the gradient after the step. Both axes are
  in units of the training step's length LR·‖g‖, so the picture is not stretched: a = 1 is the
  step training took.

Every loss is on the step's own batch, with BN in training mode (batch statistics) and the step's
random state replayed, as the paper's probe measures it. A slice shows the loss along two chosen
directions only, and its look depends on how the directions are scaled.

Taught in notebook 05.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from .probes import _norm  # the probes' own norm, so a fine curve repeats their records bit for bit
from .saved_points import SavedPoint

DIRECTIONS = ("random", "next_gradient")


def step_multipliers_grid(high: float = 4.0, points: int = 50, spacing: str = "linear",
                          low: float | None = None) -> np.ndarray:
    """``points`` step lengths in multiples of LR up to ``high``: linear from 0 (or ``low``), or
    geometric from ``low`` (default high/100)."""
    if spacing not in ("linear", "log"):
        raise ValueError(f"spacing must be 'linear' or 'log', got {spacing!r}")
    if not high > 0 or points < 2:
        raise ValueError(f"need high > 0 and at least 2 points, got {high}, {points}")
    if spacing == "linear":
        return np.linspace(0.0 if low is None else low, high, points)
    low = high / 100 if low is None else low
    if not 0 < low < high:
        raise ValueError(f"a log grid needs 0 < low < high, got {low}, {high}")
    return np.geomspace(low, high, points)


def fine_curve(point: SavedPoint, multipliers: np.ndarray, grad_norm: bool = True,
               g: dict[str, torch.Tensor] | None = None) -> dict[str, np.ndarray | float]:
    """L(w − ηg) (``loss``) and, if ``grad_norm``, ‖∇L(w − ηg)‖ (``grad_norm``), for η = multiplier ×
    LR; with ``multiplier``, ``eta``, ``lr``, ``step``, ``g_norm`` and the seconds it took (``seconds``)."""
    start = time.perf_counter()
    w = point.params()
    g = point.gradient() if g is None else g
    trainable = [n for n, p in point.model.named_parameters() if p.requires_grad]
    losses, norms = [], []
    for eta in np.asarray(multipliers, dtype=float) * point.lr:
        params = {n: (w[n] - eta * g[n]).requires_grad_(grad_norm and n in trainable) for n in w}
        with torch.set_grad_enabled(grad_norm):
            loss = point.loss_at(params)
            if grad_norm:
                norms.append(_norm(torch.autograd.grad(loss, [params[n] for n in trainable], allow_unused=True,
                                                       materialize_grads=True)))
        losses.append(float(loss.detach()))
    curve = {"multiplier": np.asarray(multipliers, dtype=float), "eta": np.asarray(multipliers) * point.lr,
             "loss": np.array(losses), "lr": point.lr, "step": point.step, "g_norm": _norm(g.values()),
             "label": point.label}
    if grad_norm:
        curve["grad_norm"] = np.array(norms)
    curve["seconds"] = time.perf_counter() - start
    return curve


def filter_normalized_direction(point: SavedPoint, seed: int = 0) -> dict[str, torch.Tensor]:
    """A Gaussian direction with each filter (each output unit of a weight of two or more axes)
    rescaled to the norm of that filter in w, as Li et al. (2018) do, so that a step along it changes
    every filter in proportion to its own size. Biases and BN's γ and β (one-axis tensors) get none."""
    gen = torch.Generator().manual_seed(seed)
    direction = {}
    for name, w in point.params().items():
        if w.dim() < 2:
            direction[name] = torch.zeros_like(w)
            continue
        d = torch.randn(w.shape, generator=gen, dtype=w.dtype).to(w.device)
        rows, d_rows = w.reshape(len(w), -1), d.reshape(len(d), -1)
        scale = rows.norm(dim=1, keepdim=True) / d_rows.norm(dim=1, keepdim=True).clamp_min(1e-30)
        direction[name] = (d_rows * scale).view_as(w).contiguous(memory_format=_format(w))
    return direction


def _format(t: torch.Tensor) -> torch.memory_format:
    return torch.channels_last if t.dim() == 4 and t.is_contiguous(memory_format=torch.channels_last) \
        else torch.contiguous_format


def plane(point: SavedPoint, a: np.ndarray, b: np.ndarray, direction: str = "random", seed: int = 0,
          g: dict[str, torch.Tensor] | None = None) -> dict[str, np.ndarray | float | str]:
    """The loss at w + s·(a·u + b·v) for every a in ``a`` and b in ``b``: u = −g/‖g‖, v the second
    ``direction`` made orthogonal to u and of unit norm, s = LR·‖g‖ the length of the training step
    (so a = 1, b = 0 is where training went). Returns ``a``, ``b``, ``loss`` (len(b) × len(a)),
    ``unit`` = s, and what was chosen."""
    if direction not in DIRECTIONS:
        raise ValueError(f"unknown direction {direction!r}; choose one of: {', '.join(DIRECTIONS)}")
    start = time.perf_counter()
    w = point.params()
    g = point.gradient() if g is None else g
    g_norm = _norm(g.values())
    if g_norm == 0:
        raise ValueError(f"step {point.step}: the gradient is zero, so −g gives no direction")
    u = {n: -t / g_norm for n, t in g.items()}
    if direction == "random":
        v = filter_normalized_direction(point, seed)
    else:  # minus the gradient after the training step, on the same batch
        stepped = {n: (w[n] - point.lr * g[n]).requires_grad_(True) for n in w}
        grads = torch.autograd.grad(point.loss_at(stepped), list(stepped.values()), allow_unused=True,
                                    materialize_grads=True)
        v = {n: -t for n, t in zip(stepped, grads)}
    along = sum(float((v[n] * u[n]).sum()) for n in w)
    v = {n: v[n] - along * u[n] for n in w}
    v_norm = _norm(v.values())
    v = {n: t / v_norm for n, t in v.items()}
    s = point.lr * g_norm
    losses = np.empty((len(b), len(a)))
    with torch.no_grad():
        for i, bi in enumerate(b):
            for j, aj in enumerate(a):
                losses[i, j] = float(point.loss_at({n: w[n] + s * (aj * u[n] + bi * v[n]) for n in w}))
    return {"a": np.asarray(a, dtype=float), "b": np.asarray(b, dtype=float), "loss": losses, "unit": s,
            "direction": direction, "step": point.step, "lr": point.lr, "label": point.label,
            "seconds": time.perf_counter() - start}

