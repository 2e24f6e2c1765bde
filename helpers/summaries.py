"""What probe records add up to: distribution drift, the paper's landscape quantities, medians.

Plain functions of a run's records (:class:`helpers.runs.History`), returning arrays and
numbers; the probes that make the records are in :mod:`helpers.probes`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .protocol import early_until
from .runs import History


def distribution_drift(records: Mapping[str, np.ndarray]) -> np.ndarray:
    """How much each recorded unit's distribution moves between consecutive records, (layers, units).

    For each unit: the average over consecutive records of |Δ mean| + |Δ standard deviation|,
    divided by the unit's average standard deviation over the run. Moments rather than a
    histogram distance, because they say what moved (location or spread); divided by the unit's
    own spread, so that networks whose activations live on different scales (without BN they
    are small, with BN about 1) compare on equal terms. 0 means a perfectly stable distribution.
    """
    mean, std = records["mean"], np.sqrt(records["var"])
    if len(mean) < 2:
        raise ValueError("need at least two records to measure drift")
    change = np.abs(np.diff(mean, axis=0)) + np.abs(np.diff(std, axis=0))
    return change.mean(0) / std.mean(0)


def landscape_summary(history: History, name: str = "landscape") -> dict:
    """The paper's three quantities, and scale-aware versions, per probed step of a run.

    ``loss_min``/``loss_max`` and ``pred_min``/``pred_max``: the loss and gradient-predictiveness
    bands, and ``loss_range`` the loss band's width; ``beta``: effective β-smoothness.
    Scale-aware: ``rel_pred_max`` = max ‖g − ∇L(w − ηg)‖ / ‖g‖ (how much of the gradient the step
    makes stale). Also ``train_loss`` L(w) (the step's own loss, for matched-loss comparisons),
    ``g_norm`` and ``weight_norm``. And what reading them needs: ``lr`` (None if unknown),
    ``early_until`` (the protocol's early phase of this run) and the run's ``diverged`` and
    ``interrupted`` flags.
    """
    if name not in history.probes:
        raise ValueError(f"the run has no {name!r} probe; it has: {', '.join(history.probes) or 'none'}")
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
        "lr": rec.settings.get("lr"), "early_until": early_until(history.planned_steps),
        "diverged": history.diverged, "interrupted": history.interrupted,
    }


QUANTITY_LABELS = {"loss_range": "loss band", "pred_max": "max ‖g−∇L‖", "beta": "eff. β",
                   "rel_pred_max": "max ‖g−∇L‖/‖g‖"}
QUANTITIES = tuple(QUANTITY_LABELS)


def _medians(summary: Mapping[str, np.ndarray], mask: np.ndarray, keys: tuple[str, ...]) -> dict[str, float]:
    """Median of each of ``keys`` over the probed steps in ``mask`` (NaN when there are none)."""
    return {k: float(np.nanmedian(summary[k][mask])) if mask.any() else float("nan") for k in keys}


def phase_medians(summary: Mapping, keys: tuple[str, ...] = QUANTITIES, early_until: float | None = None,
                  ) -> dict[str, dict[str, float]]:
    """Medians of summary quantities over the whole run, the early phase and the rest.

    The early phase is the protocol's (``summary["early_until"]``) unless ``early_until`` is given.
    """
    until = summary["early_until"] if early_until is None else early_until
    early = summary["step"] < until
    return {phase: _medians(summary, mask, keys)
            for phase, mask in {"all": np.ones_like(early), "early": early, "rest": ~early}.items()}


def matched_loss_medians(summaries: Mapping[str, Mapping], keys: tuple[str, ...] = QUANTITIES,
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


def step_curves(runs: Mapping[str, History], step: int, probe: str = "landscape") -> dict[str, dict[str, np.ndarray]]:
    """Each run's 1-D landscape at one probed ``step``: ``eta``, ``loss`` and ``grad_norm`` over η,
    with the run's ``lr`` and the ``step`` (what :func:`helpers.plots.plot_step_curves` draws)."""
    curves = {}
    for name, h in runs.items():
        rec = h.probes[probe]
        at = np.flatnonzero(rec["step"] == step)
        if not len(at):
            raise ValueError(f"{name} has no {probe!r} record at step {step}")
        curves[name] = {**{key: rec[key][at[0]] for key in ("eta", "loss", "grad_norm")},
                        "lr": rec.settings["lr"], "step": step}
    return curves


def flagged(name: str, run: History | Mapping) -> str:
    """``name``, marked when its run diverged or was interrupted (a cut-short run must never pass
    for a finished one in a table or a figure)."""
    get = (lambda key: getattr(run, key)) if isinstance(run, History) else (lambda key: run.get(key, False))
    return name + (" (interrupted)" if get("interrupted") else "") + (" (diverged)" if get("diverged") else "")


def medians_table(summaries: Mapping[str, Mapping]) -> str:
    """A printable table of :func:`phase_medians` for each network, one row per phase."""
    names = {name: flagged(name, s) for name, s in summaries.items()}
    width = max(10, *(len(n) + 1 for n in names.values()))
    lines = [f"{'':{width}s}{'phase':7s}" + "".join(f"{QUANTITY_LABELS[k]:>17s}" for k in QUANTITIES)]
    for name, s in summaries.items():
        for phase, values in phase_medians(s).items():
            lines.append(f"{names[name]:{width}s}{phase:7s}" + "".join(f"{values[k]:17.4g}" for k in QUANTITIES))
    return "\n".join(lines)
