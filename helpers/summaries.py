"""What probe records add up to: distribution drift and its resampling floor, the paper's landscape
quantities, medians.

Plain functions of a run's records (:class:`helpers.runs.History`), returning arrays and
numbers; the probes that make the records are in :mod:`helpers.probes`.

Taught in notebooks 03, 04, 05, 06 and 08.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .protocol import PLATEAU_DROP, PLATEAU_WINDOW
from .runs import History


def distribution_drift(records: Mapping[str, np.ndarray], pooled: bool = False, relative: bool = True) -> np.ndarray:
    """How much each recorded unit's distribution moves between consecutive records, (layers, units).

    For each unit: the average over consecutive records of |Δ mean| + |Δ standard deviation|,
    divided by the unit's average standard deviation over the run. Moments rather than a
    histogram distance, because they say what moved (location or spread); divided by the unit's
    own spread, so that networks whose activations live on different scales (without BN they
    are small, with BN about 1) compare on equal terms. 0 means a perfectly stable distribution.

    ``pooled``: the drift of the units' whole channels instead (the activation probe's contrast,
    pinned by construction under BN in training mode). ``relative=False``: not divided by the
    spread, in the activations' own units, which is the shift a histogram on fixed axes shows.
    """
    prefix = "pool_" if pooled else ""
    mean, std = records[prefix + "mean"], np.sqrt(records[prefix + "var"])
    if len(mean) < 2:
        raise ValueError("need at least two records to measure drift")
    change = np.abs(np.diff(mean, axis=0)) + np.abs(np.diff(std, axis=0))
    return change.mean(0) / std.mean(0) if relative else change.mean(0)


def resampling_floor(records: Mapping[str, np.ndarray], draws: int = 64, seed: int = 0,
                     relative: bool = True) -> np.ndarray:
    """The drift :func:`distribution_drift` would report if no distribution moved, (layers, units).

    Consecutive records come from different batches, so even a still distribution drifts: by about
    √(2/π)·(√(2/B) + √(1/B)) ≈ 0.17 of its spread for a Gaussian unit and batches of B = 128. This is
    that floor for each unit's own distributions: each record's batch is resampled with replacement
    twice (a bootstrap) and the two samples' |Δ mean| + |Δ standard deviation| averaged over records
    and ``draws`` repetitions, then, when ``relative``, divided by the unit's average recorded
    standard deviation, as the drift is. Drift near its floor is batch noise, not a moving distribution.

    The batches are the records' histograms (``hist`` on ``settings["edges"]``, the activation
    probe's), each value at its bin's centre, not Gaussians of the recorded mean and variance: the
    standard deviation's share of the floor grows with the tails (a batch sd's variance goes as
    kurtosis − 1), and on the repository's runs a Gaussian put some units' floors 20 % too low (batch
    noise counted as drift) and others 15 % too high. The bins' width (0.03 near 0, wider outwards;
    the outermost, at ±20, also hold the values beyond) moved no floor there by more than about 2 %.
    """
    hist, edges = records["hist"], np.asarray(getattr(records, "settings", {}).get("edges", ()), dtype=float)
    if len(edges) != hist.shape[-1] + 1:
        raise ValueError("need the activation probe's records: histograms, and their bin edges in settings['edges']")
    counts = hist.sum(-1)
    if not counts.size or (counts != counts.flat[0]).any():
        raise ValueError("need records whose histograms each count one batch, all of the same size")
    size, centres = int(counts.flat[0]), (edges[1:] + edges[:-1]) / 2
    batches = np.repeat(np.broadcast_to(centres, hist.shape).ravel(), hist.ravel()).reshape(*hist.shape[:-1], size)
    rng, change = np.random.default_rng(seed), np.zeros(hist.shape[:-1])
    for _ in range(draws):  # one repetition at a time: memory for two samples per record, not 2 × draws
        pair = np.take_along_axis(batches[None], rng.integers(0, size, (2, *batches.shape)), axis=-1)
        mean, std = pair.mean(-1), pair.std(-1)
        change += np.abs(mean[0] - mean[1]) + np.abs(std[0] - std[1])
    floor = change.mean(0) / draws
    return floor / np.sqrt(records["var"]).mean(0) if relative else floor


def plateau_end(history: History, drop: float = PLATEAU_DROP, window: int = PLATEAU_WINDOW) -> int:
    """The step at which a run's training loss leaves its initial plateau: the first at which its
    ``window``-step running mean is a fraction ``drop`` below the mean of its first ``window``
    steps (the protocol's early phase ends there). A run that never leaves it: its last step."""
    loss = np.asarray(history.train_loss, dtype=float)
    if len(loss) < window:
        return len(loss)
    running = np.convolve(loss, np.ones(window) / window, mode="valid")  # running[k]: steps k+1 .. k+window
    below = np.flatnonzero(running < (1 - drop) * running[0])
    return int(below[0] + window) if len(below) else len(loss)


def ics_summary(history: History, name: str = "ics") -> dict[str, np.ndarray]:
    """Gradient ICS records per probed step and layer: ``grad_diff`` ‖G − G′‖, ``relative``
    ‖G − G′‖/‖G‖ (scale-free: BN makes a layer's gradient scale with 1/‖W‖), and ``cosine``."""
    rec = history.probes[name]
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = rec["grad_diff"] / rec["g_norm"]
    return {"step": rec["step"], "grad_diff": rec["grad_diff"], "relative": relative, "cosine": rec["cosine"]}


def landscape_summary(history: History, name: str = "landscape") -> dict:
    """The paper's three quantities, and scale-aware versions, per probed step of a run.

    ``loss_min``/``loss_max`` and ``pred_min``/``pred_max``: the loss and gradient-predictiveness
    bands, and ``loss_range`` the loss band's width; ``beta``: effective β-smoothness.
    Scale-aware: ``rel_pred_max`` = max ‖g − ∇L(w − ηg)‖ / ‖g‖ (how much of the gradient the step
    makes stale). Also ``train_loss`` L(w) (the step's own loss, for matched-loss comparisons),
    ``g_norm`` and ``weight_norm``. And what reading them needs: ``lr`` (None if unknown),
    ``early_until`` (the end of this run's early phase, :func:`plateau_end`) and the run's
    ``diverged`` and ``interrupted`` flags.
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
        "lr": rec.settings.get("lr"), "early_until": plateau_end(history),
        "diverged": history.diverged, "interrupted": history.interrupted,
    }


QUANTITY_LABELS = {"loss_range": "loss band", "pred_max": "max ‖g−∇L‖", "beta": "eff. β",
                   "rel_pred_max": "max ‖g−∇L‖/‖g‖"}
QUANTITIES = tuple(QUANTITY_LABELS)


def _medians(summary: Mapping[str, np.ndarray], mask: np.ndarray, keys: tuple[str, ...]) -> dict[str, float]:
    """Median of each of ``keys`` over the probed steps in ``mask`` (NaN when there are none)."""
    picked = {k: np.asarray(summary[k][mask], dtype=float) for k in keys}
    return {k: float(np.nanmedian(v)) if (~np.isnan(v)).any() else float("nan") for k, v in picked.items()}


def phase_medians(summary: Mapping, keys: tuple[str, ...] = QUANTITIES, early_until: float | None = None,
                  min_probes: int = 1) -> dict[str, dict[str, float]]:
    """Medians of summary quantities over the whole run, the early phase and the rest.

    The early phase is the run's own (``summary["early_until"]``, :func:`plateau_end`) unless
    ``early_until`` is given. A phase with fewer than ``min_probes`` probed steps gets NaN medians
    (undecided), as one with none always does.
    """
    until = summary["early_until"] if early_until is None else early_until
    early = summary["step"] < until
    masks = {"all": np.ones_like(early), "early": early, "rest": ~early}
    return {phase: _medians(summary, mask & (mask.sum() >= min_probes), keys) for phase, mask in masks.items()}


MIN_MATCHED = 5  # ours: fewer probed steps than this in the common loss range and we do not compare


def matched_loss_medians(summaries: Mapping[str, Mapping], keys: tuple[str, ...] = QUANTITIES,
                         min_probes: int = MIN_MATCHED) -> dict:
    """Medians over the probed steps whose training loss lies in the range every network visited.

    Compares networks where they stand at the same loss, not at the same step (a network that
    learns faster is otherwise compared in a later, different region). Returns ``range`` (the
    common loss range), ``counts`` (probed steps each network has in it) and ``medians`` per
    network; with fewer than ``min_probes`` steps for some network the comparison is refused:
    ``refused`` is True and every median is NaN.
    """
    low = max(float(np.min(s["train_loss"])) for s in summaries.values())
    high = min(float(np.max(s["train_loss"])) for s in summaries.values())
    masks = {name: (s["train_loss"] >= low) & (s["train_loss"] <= high) for name, s in summaries.items()}
    counts = {name: int(m.sum()) for name, m in masks.items()}
    refused = min(counts.values()) < min_probes
    medians = {name: _medians(s, masks[name] & (not refused), keys) for name, s in summaries.items()}
    return {"range": (low, high), "counts": counts, "refused": refused, "medians": medians}


def split_sweep(summaries: Mapping[str, Mapping], key: str, splits: np.ndarray, numerator: str = "BN",
                denominator: str = "Standard") -> dict:
    """How an early/rest comparison moves with where the split is put: for each split step, the ratio
    ``numerator`` / ``denominator`` of two networks' medians of ``key`` before it (``early``) and
    after it (``rest``). The result names its orientation (``numerator``, ``denominator``, ``key``),
    so that :func:`helpers.plots.plot_split_sweep` labels it by what was computed."""
    if missing := [name for name in (numerator, denominator) if name not in summaries]:
        raise ValueError(f"no summary for {', '.join(missing)}; the networks are: {', '.join(summaries)}")
    medians = {name: [phase_medians(summaries[name], (key,), split) for split in splits]
               for name in (numerator, denominator)}
    ratio = {phase: np.array([a[phase][key] / b[phase][key] for a, b in zip(medians[numerator], medians[denominator])])
             for phase in ("early", "rest")}
    return {"splits": np.asarray(splits), **ratio, "numerator": numerator, "denominator": denominator, "key": key}


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
