"""The loss landscape along the gradient (the paper's Fig. 4): a probe and what it summarises to.

At a training step with weights w and gradient g = ∇L(w) on the step's batch, the probe looks
at the points w − ηg for step lengths η on a grid, on the same batch, and records the loss
L(w − ηg) and the gradient there. From those curves :func:`landscape_summary` gives the paper's
three quantities per probed step:

- loss variation: the band [min_η L(w − ηg), max_η L(w − ηg)];
- gradient predictiveness: the band of ‖g − ∇L(w − ηg)‖ over η;
- effective β-smoothness: max_η ‖g − ∇L(w − ηg)‖ / ‖ηg‖;

and, beside them, scale-aware versions (relative to ‖g‖ and to the loss) for the comparison at
matched loss.
"""

from __future__ import annotations

import numpy as np
import torch

from .probes import BeforeStepProbe, loss_at
from .runs import History
from .train import Probe, ProbeContext

# Step lengths as multiples of the learning rate (PAPER.md): [½, 4] × LR for VGG, [1/100, 30] × LR
# for the DLN.
STEP_RANGES = {"vgg": (0.5, 4.0), "dln": (0.01, 30.0)}
# Points per grid (PAPER.md does not say; our choice). Each costs one forward and backward pass.
# VGG: 7 points half an octave apart, so η = LR, the step training takes, is one of them; VGG
# dominates a notebook's time, so no more. The DLN is cheap and its range spans 3.5 decades:
# 13 points, about one octave apart.
DEFAULT_POINTS = {"vgg": 7, "dln": 13}


def step_multipliers(low: float, high: float, points: int) -> np.ndarray:
    """``points`` step lengths from ``low`` to ``high`` (× LR), geometrically spaced: the range spans
    a factor 8 (VGG) to 3,000 (DLN), and the quantities change with the scale of η, not its size."""
    if not (0 < low < high) or points < 2:
        raise ValueError(f"need 0 < low < high and at least 2 points, got {low}, {high}, {points}")
    return np.geomspace(low, high, points)


class LandscapeProbe(BeforeStepProbe):
    """Loss and gradient along the gradient direction, every ``every`` steps.

    ``unit_step=True`` is the scale-aware variant (not the paper's): the points are w − d·g/‖g‖ at
    distances d = multiplier × LR, the same for every network and step however large its gradient
    is; its records go under ``"landscape_unit"`` and ``eta`` = d/‖g‖ keeps the formulas below.

    Records (``History.probes["landscape"]``), per probed step: ``eta`` (the multiples of g),
    ``loss`` L(w − ηg), ``grad_diff`` ‖g − ∇L(w − ηg)‖ and ``grad_norm`` ‖∇L(w − ηg)‖ (one value
    per η), plus ``g_norm`` ‖g‖ and ``weight_norm`` ‖w‖. Norms are over all trainable
    parameters (BN's γ and β included).

    g is free: it is what the training step's backward pass left in ``.grad``. Each η costs one
    forward and backward pass, on the parameter tensors w − ηg through ``functional_call``, not
    on a copy of the model; BN stays in training mode on copies of its running statistics, and
    the random state is replayed (see :func:`helpers.probes.loss_at`), so training goes on
    exactly as without the probe. (Batching the η points with ``torch.func.vmap`` was measured
    slower on a CPU, and it cannot run BN's running-statistics update.)
    """

    def __init__(self, every: int, low: float = 0.5, high: float = 4.0, points: int = 7, unit_step: bool = False,
                 name: str | None = None):
        if every <= 0:
            raise ValueError(f"every must be positive, got {every}")
        super().__init__()
        self.every, self.unit_step = every, unit_step
        self.name = name or ("landscape_unit" if unit_step else "landscape")
        self.multipliers = step_multipliers(low, high, points)

    @classmethod
    def paper(cls, model: str, every: int, points: int | None = None, unit_step: bool = False) -> LandscapeProbe:
        """The paper's step range for ``model`` ("dln" or a VGG name), with our default point count."""
        kind = "dln" if model == "dln" else "vgg"
        return cls(every, *STEP_RANGES[kind], points=points or DEFAULT_POINTS[kind], unit_step=unit_step)

    def probe(self) -> Probe:
        params = {"multipliers": [float(m) for m in self.multipliers], "unit_step": self.unit_step}
        return Probe(self.name, self._save, every=self.every, params=params, after=self._measure)

    def _measure(self, ctx: ProbeContext) -> dict[str, np.ndarray]:
        w = self._before
        named = dict(ctx.model.named_parameters())
        g = {name: p.grad.detach() if p.grad is not None else torch.zeros_like(p) for name, p in named.items()}
        g_norm = _norm(list(g.values()))
        etas = self.multipliers * ctx.lr / (g_norm if self.unit_step and g_norm > 0 else 1.0)
        trainable = [name for name, p in named.items() if p.requires_grad]
        loss, diff, norm = [], [], []
        for eta in etas:
            point = {name: (w[name] - eta * g[name]).requires_grad_(p.requires_grad) for name, p in named.items()}
            value = loss_at(ctx, point, self._rng)
            grads = torch.autograd.grad(value, [point[n] for n in trainable], allow_unused=True)
            grads = [torch.zeros_like(point[n]) if gr is None else gr for n, gr in zip(trainable, grads)]
            loss.append(float(value.detach()))
            diff.append(_norm([g[n] - gr for n, gr in zip(trainable, grads)]))
            norm.append(_norm(grads))
        self._before = {}
        return {"eta": etas, "loss": np.array(loss), "grad_diff": np.array(diff), "grad_norm": np.array(norm),
                "g_norm": g_norm, "weight_norm": _norm(list(w.values()))}


def _norm(tensors: list[torch.Tensor]) -> float:
    """The Euclidean norm of several tensors taken as one vector."""
    return float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(t) for t in tensors])))


def landscape_summary(history: History, name: str = "landscape") -> dict[str, np.ndarray]:
    """The paper's three quantities, and scale-aware versions, per probed step of a run.

    ``loss_min``/``loss_max`` and ``pred_min``/``pred_max``: the loss and gradient-predictiveness
    bands, and ``loss_range`` the loss band's width; ``beta``: effective β-smoothness.
    Scale-aware: ``rel_pred_max`` = max ‖g − ∇L(w − ηg)‖ / ‖g‖ (how much of the gradient the step
    makes stale). Also ``train_loss`` L(w) (the step's own loss, for matched-loss comparisons),
    ``g_norm`` and ``weight_norm``.
    """
    rec = history.probes[name]
    steps = rec["step"].astype(int)
    if len(steps) == 0:
        raise ValueError(f"the run has no {name!r} records")
    diff, eta = rec["grad_diff"], rec["eta"]
    g_norm = rec["g_norm"]
    step_length = eta * g_norm[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):  # a zero gradient gives NaN, not a warning
        beta = np.max(diff / step_length, axis=1)
        rel_pred = diff.max(1) / g_norm
    loss_min, loss_max = rec["loss"].min(1), rec["loss"].max(1)
    return {
        "step": steps, "train_loss": history.train_loss[steps],
        "loss_min": loss_min, "loss_max": loss_max, "loss_range": loss_max - loss_min,
        "pred_min": diff.min(1), "pred_max": diff.max(1), "beta": beta, "rel_pred_max": rel_pred,
        "g_norm": g_norm, "weight_norm": rec["weight_norm"],
    }


QUANTITY_LABELS = {"loss_range": "loss band", "pred_max": "max ‖g−∇L‖", "beta": "eff. β",
                   "rel_pred_max": "max ‖g−∇L‖/‖g‖"}
QUANTITIES = tuple(QUANTITY_LABELS)


def _medians(summary: dict[str, np.ndarray], mask: np.ndarray, keys: tuple[str, ...]) -> dict[str, float]:
    """Median of each of ``keys`` over the probed steps in ``mask`` (NaN when there are none)."""
    return {k: float(np.nanmedian(summary[k][mask])) if mask.any() else float("nan") for k in keys}


def phase_medians(summary: dict[str, np.ndarray], early_until: float, keys: tuple[str, ...] = QUANTITIES,
                  ) -> dict[str, dict[str, float]]:
    """Medians of summary quantities over the whole run, the early phase (probed steps before
    ``early_until``) and the rest."""
    early = summary["step"] < early_until
    return {phase: _medians(summary, mask, keys)
            for phase, mask in {"all": np.ones_like(early), "early": early, "rest": ~early}.items()}


def matched_loss_medians(summaries: dict[str, dict[str, np.ndarray]], keys: tuple[str, ...] = QUANTITIES,
                         ) -> tuple[tuple[float, float], dict[str, dict[str, float]]]:
    """Medians over the probed steps whose training loss lies in the range every network visited.

    Compares networks where they stand at the same loss, not at the same step (a network that
    learns faster is otherwise compared in a later, different region). Returns the common loss
    range and, per network, the medians (NaN when a network has no probe in the range).
    """
    low = max(float(np.min(s["train_loss"])) for s in summaries.values())
    high = min(float(np.max(s["train_loss"])) for s in summaries.values())
    medians = {name: _medians(s, (s["train_loss"] >= low) & (s["train_loss"] <= high), keys)
               for name, s in summaries.items()}
    return (low, high), medians


def medians_table(summaries: dict[str, dict[str, np.ndarray]], early_until: float) -> str:
    """A printable table of :func:`phase_medians` for each network, one row per phase."""
    lines = [f"{'':10s}{'phase':7s}" + "".join(f"{QUANTITY_LABELS[k]:>17s}" for k in QUANTITIES)]
    for name, s in summaries.items():
        for phase, values in phase_medians(s, early_until).items():
            lines.append(f"{name:10s}{phase:7s}" + "".join(f"{values[k]:17.4g}" for k in QUANTITIES))
    return "\n".join(lines)
