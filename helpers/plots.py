"""Plots for the notebooks. Each takes plain data (arrays, Histories) and returns the figure."""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Iterable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from .protocol import CHANCE_LOSS, TRAINS_MARGIN
from .runs import History
from .summaries import distribution_drift, flagged, ics_summary

METRIC_LABELS = {"train_loss": "training loss", "train_acc": "training accuracy",
                 "test_loss": "test loss", "test_acc": "test accuracy"}


def show_images(images: np.ndarray, labels: np.ndarray, classes: Sequence[str], per_class: int = 8,
                seed: int = 0) -> plt.Figure:
    """A grid with one row per class: ``per_class`` random images (N,32,32,3 uint8) of each."""
    rng = np.random.default_rng(seed)
    fig, axes = plt.subplots(len(classes), per_class, figsize=(per_class * 0.9, len(classes) * 0.95))
    for row, name in enumerate(classes):
        picks = rng.choice(np.flatnonzero(labels == row), per_class, replace=False)
        for col, i in enumerate(picks):
            ax = axes[row, col]
            ax.imshow(images[i], interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
        axes[row, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
    fig.subplots_adjust(wspace=0.05, hspace=0.05)
    return fig


def smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average over ``window`` steps (shorter at the start), for noisy per-batch curves."""
    values = np.asarray(values, dtype=float)
    if window <= 1 or len(values) == 0:
        return values
    cumsum = np.concatenate([[0.0], np.cumsum(values)])
    end = np.arange(1, len(values) + 1)
    start = np.maximum(end - window, 0)
    return (cumsum[end] - cumsum[start]) / (end - start)


RunsBySeed = Mapping[str, "History | Sequence[History]"]  # a label's run, or its runs over seeds


def seeds_of(runs: History | Sequence[History]) -> list[History]:
    """A label's runs as a list over seeds (a single History is one seed)."""
    return [runs] if isinstance(runs, History) else list(runs)


def seeds_label(label: str, runs: Sequence[History]) -> str:
    """``label`` with its seed count, and marked if any of its runs diverged or was interrupted."""
    n = len(runs)
    marks = sorted({flagged("", h).strip() for h in runs} - {""})
    return f"{label}" + (f" ({n} seeds)" if n > 1 else "") + (f" {' '.join(marks)}" if marks else "")


def _median_curve(xs: Sequence[np.ndarray], ys: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The median over seeds at each x that every seed reached (runs cut short end earlier)."""
    n = min(len(x) for x in xs)
    return xs[0][:n], np.median(np.stack([y[:n] for y in ys]), axis=0)


# One colour per network in every figure of the series, and one line style per learning rate.
NETWORK_COLORS = {"Standard": "C0", "BN": "C1", "noisy BN": "C2", "Standard + noise": "C3", "ℓ1": "C4", "ℓ2": "C5",
                  "ℓ∞": "C6", "LayerNorm": "#393b79", "GroupNorm": "#8c6d31", "weight norm": "#ad494a",
                  "mean-only BN": "#fdae6b", "variance-only BN": "#a63603"}  # the last five: notebook 08
SPARE_COLORS = ("C7", "C8", "C9", "#7b4173", "#637939", "#843c39")  # for labels that are no network of the series
LR_STYLES = {0.1: "-", 0.5: "--", 0.02: ":", 0.01: (0, (1, 1)), 0.05: "-.", 0.2: (0, (5, 1)), 1.0: (0, (3, 1, 1, 1)),
             2.0: (0, (1, 3))}


def network_colors(labels: Iterable[str]) -> dict[str, str]:
    """A colour per label: its network's (``NETWORK_COLORS``; "BN, lr 0.5" is BN's), else the next spare one."""
    spare = itertools.cycle(SPARE_COLORS)
    return {label: NETWORK_COLORS.get(label.split(", lr ")[0]) or next(spare) for label in labels}


def lr_style(lr: float) -> str | tuple:
    """The line style of a learning rate (``LR_STYLES``; dash-dot for one not in the table)."""
    return LR_STYLES.get(round(float(lr), 10), "-.")


def _label_lr_style(label: str) -> str | tuple:
    """"BN, lr 0.5" is drawn in 0.5's line style; a label without a learning rate, solid."""
    try:
        return lr_style(float(label.split(", lr ")[1].split()[0])) if ", lr " in label else "-"
    except ValueError:
        return "-"


def legend_outside(ax: plt.Axes, **kwargs) -> None:
    """The legend to the right of ``ax``, off the curves."""
    ax.legend(**{"loc": "upper left", "bbox_to_anchor": (1.02, 1.0), "fontsize": 8, "frameon": False, **kwargs})


def plot_curves(runs: RunsBySeed, metrics: Sequence[str] = ("train_loss", "test_acc"),
                smooth_window: int = 10, styles: Mapping[str, dict] | None = None) -> plt.Figure:
    """One panel per metric; per label, every seed as a thin line and their median as a thick one.
    A diverged run ends in a red ×, an interrupted one in a black bar; the legend says so.

    ``styles`` maps a label to extra ``ax.plot`` keywords (colour, line style, ...).
    """
    styles, colors = styles or {}, network_colors(runs)
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.6), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        per_step = metric.startswith("train")
        for label, value in runs.items():
            hs = seeds_of(value)
            style = {"color": colors[label], "ls": _label_lr_style(label), **styles.get(label, {})}
            xs = [h.steps if per_step else h.eval_steps for h in hs]
            ys = [smooth(getattr(h, metric), smooth_window) if per_step else getattr(h, metric) for h in hs]
            for h, x, y in zip(hs, xs, ys):
                ax.plot(x, y, lw=0.7, alpha=0.4 if len(hs) > 1 else 1.0, **style)
                if (h.diverged or h.interrupted) and len(h.steps):
                    end = np.nanmax(y[np.isfinite(y)]) if np.isfinite(y).any() else 0
                    ax.plot(x[-1], end, "x" if h.diverged else "|", color="red" if h.diverged else "black",
                            ms=10, mew=2)
            if len(hs) > 1:
                ax.plot(*_median_curve(xs, ys), lw=1.8, **style, label=seeds_label(label, hs) + ", median")
            else:
                ax.plot([], [], lw=1.8, **style, label=seeds_label(label, hs))
        ax.set_xlabel("step")
        ax.set_ylabel(METRIC_LABELS.get(metric, metric)
                      + (f" ({smooth_window}-step mean)" if per_step and smooth_window > 1 else ""))
        ax.grid(alpha=0.3)
    legend_outside(axes[0, -1])
    fig.tight_layout()
    return fig


def plot_histograms(panels: Mapping[str, np.ndarray], labels: Sequence[str], bins: int = 60,
                    xlabel: str = "value") -> plt.Figure:
    """Side-by-side panels; each overlays the histograms of the columns of an (N, k) array."""
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.4), squeeze=False)
    for ax, (title, values) in zip(axes[0], panels.items()):
        for k, label in enumerate(labels):
            ax.hist(values[:, k], bins=bins, alpha=0.55, density=True, label=label)
        ax.set_title(title)
        ax.set_xlabel(xlabel)
    axes[0, 0].set_ylabel("density")
    axes[0, -1].legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_normalized_channels(panels: Mapping[str, np.ndarray], bins: int = 60) -> plt.Figure:
    """One panel per normalization: the histograms of a few channels' normalized values (``panels``
    maps a name to an (m, channels) array), each with its variance, over a standard normal curve.
    Every panel shares the x-axis, so a layer that does not give unit variance shows it."""
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 3.2), sharex=True, squeeze=False)
    values = np.concatenate([np.asarray(v).ravel() for v in panels.values()])
    edges = np.linspace(*np.percentile(values, [0.5, 99.5]), bins + 1)
    grid = np.linspace(edges[0], edges[-1], 200)
    for ax, (title, channels) in zip(axes[0], panels.items()):
        for k in range(channels.shape[1]):
            ax.hist(channels[:, k], bins=edges, density=True, histtype="step", lw=1.2, color=f"C{k}",
                    label=f"channel {k}: var {channels[:, k].var():.2f}")
        ax.plot(grid, np.exp(-grid**2 / 2) / np.sqrt(2 * np.pi), color="0.3", ls="--", lw=1, label="N(0, 1)")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("normalized value")
        ax.legend(fontsize=7, loc="upper right")
    axes[0, 0].set_ylabel("density")
    fig.tight_layout()
    return fig


def plot_affine(x_hat: np.ndarray, gamma: float, beta: float, xlim: tuple[float, float] = (-8, 8)) -> plt.Figure:
    """The histogram of γ·x̂ + β on fixed axes, so moving γ and β visibly stretches and shifts it."""
    fig, ax = plt.subplots(figsize=(7, 3))
    bins = np.linspace(*xlim, 81)
    ax.hist(x_hat, bins=bins, density=True, color="0.8", label="x̂ (normalised)")
    ax.hist(gamma * x_hat + beta, bins=bins, density=True, alpha=0.7, label=f"{gamma:.2f}·x̂ + {beta:.2f}")
    ax.axvline(beta, color="C1", lw=1, ls="--")
    ax.set_xlim(*xlim)
    ax.set_ylim(0, 0.9)
    ax.set_xlabel("value")
    ax.legend(loc="upper left")
    fig.tight_layout()
    return fig


def plot_batch_statistics_spread(spread: Mapping[str, np.ndarray]) -> plt.Figure:
    """Scatter of the batch mean and variance against batch size, log-log, with a 1/√m guide."""
    m = spread["batch_size"]
    fig, ax = plt.subplots(figsize=(6, 3.8))
    ax.loglog(m, spread["mean_sd"], "o-", label="sd of the batch mean")
    ax.loglog(m, spread["var_sd"], "s-", label="sd of the batch variance")
    ax.loglog(m, spread["mean_sd"][0] * np.sqrt(m[0] / m), "k--", lw=1, label="∝ 1/√m")
    ax.set_xlabel("batch size m")
    ax.set_ylabel("spread over random batches")
    ax.legend()
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return fig


def plot_lr_runs(runs: Mapping[tuple[str, float], History | Sequence[History]],
                 metrics: Sequence[str] = ("train_acc", "test_acc", "train_loss"), smooth_window: int = 10,
                 ) -> plt.Figure:
    """The paper's Fig. 1 layout: one panel per metric; colour = network, line style = learning rate."""
    labelled = {f"{name}, lr {lr:g}": h for (name, lr), h in runs.items()}
    return plot_curves(labelled, metrics, smooth_window)


def plot_lr_sweep(sweep) -> plt.Figure:
    """Final training loss and test accuracy against learning rate: every seed as a dot, the median
    over seeds as a line; diverged runs as red × at the top, runs an interruption cut short or
    never started as black bars there."""
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.8))
    marked = set()
    n_seeds = len(sweep.seeds)
    colors = network_colors(sweep.final_loss)
    for name in sweep.final_loss:
        color, diverged = colors[name], sweep.diverged[name]
        missing = sweep.interrupted[name] if sweep.interrupted is not None else np.zeros_like(diverged)
        loss = np.where(diverged, np.nan, sweep.final_loss[name])
        for ax, values in ((ax_loss, loss), (ax_acc, sweep.final_test_acc[name])):
            for j in range(n_seeds):
                ax.semilogx(sweep.lrs * (1 + 0.04 * (j - (n_seeds - 1) / 2)), values[:, j], ".", color=color,
                            alpha=0.6, ms=6)
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # an lr where every seed diverged: no median
                ax.semilogx(sweep.lrs, np.nanmedian(values, axis=1), "-", color=color,
                            label=f"{name} (median of {n_seeds} seeds, dots: each seed)")
        for mask, marker, note in ((diverged, "x", "× diverged"), (missing, "|", "| interrupted or not run")):
            if mask.any():
                lrs = np.repeat(sweep.lrs[:, None], n_seeds, axis=1)[mask]
                for ax in (ax_loss, ax_acc):
                    ax.plot(lrs, np.full(len(lrs), 0.96), marker, color=color, ms=10, mew=2,
                            transform=ax.get_xaxis_transform(), label=None if note in marked else note)
                marked.add(note)
    ax_loss.axhline(CHANCE_LOSS, color="0.5", ls=":", lw=1, label="chance (ln 10)")
    ax_loss.axhline(CHANCE_LOSS - TRAINS_MARGIN, color="0.5", ls="--", lw=1, label="\"trains\" below this")
    ax_loss.set_ylabel("final training loss")
    ax_acc.set_ylabel("final test accuracy")
    for ax in (ax_loss, ax_acc):
        ax.set_xlabel("learning rate")
        ax.grid(alpha=0.3, which="both")
    legend_outside(ax_acc, handles=ax_loss.get_legend_handles_labels()[0])
    fig.tight_layout()
    return fig


def ridgeline(ax: plt.Axes, hist: np.ndarray, steps: np.ndarray, edges: np.ndarray, color: str = "C0",
              max_lines: int = 10, display_bins: int = 40) -> None:
    """One unit's distribution over training on ``ax``: a density curve per record, later ones higher.

    ``hist`` is (records, bins) counts on ``edges``. The x-range covers 99% of the values
    recorded; within it, neighbouring bins are merged into about ``display_bins`` so that few
    values (a deep layer's small maps) still give a readable curve. Each curve is scaled to its
    own height: the plot compares shapes and positions.
    """
    pick = np.unique(np.linspace(0, len(hist) - 1, min(len(hist), max_lines)).round().astype(int))
    counts = hist[pick].astype(float)
    total = np.cumsum(counts.sum(0)) / max(counts.sum(), 1)
    first = min(np.searchsorted(total, 0.005), len(total) - 1)
    last = max(min(np.searchsorted(total, 0.995), len(total) - 1), first)
    group = max(1, (last - first + 1) // display_bins)
    starts = np.arange(first, last + 1, group)
    stops = np.minimum(starts + group, last + 1)
    merged = np.stack([counts[:, a:b].sum(1) for a, b in zip(starts, stops)], axis=1)
    left, right = edges[starts], edges[stops]
    x = (left + right) / 2
    density = merged / (right - left)
    for j in range(len(pick) - 1, -1, -1):  # back to front, so earlier records are drawn on top
        y = j + 0.9 * density[j] / max(density[j].max(), 1e-12)
        ax.fill_between(x, j, y, color=color, alpha=0.35, lw=0, zorder=len(pick) - j)
        ax.plot(x, y, color=color, lw=0.8, zorder=len(pick) - j)
    ax.set_yticks(range(len(pick)))
    ax.set_yticklabels([str(s) for s in steps[pick]], fontsize=7)
    ax.set_xlim(left[0], right[-1])


def plot_distributions(runs: RunsBySeed, layer: int | None = None, unit: int = 0, max_seeds: int = 3,
                       probe: str = "activations") -> plt.Figure:
    """Rows = networks, columns = seeds: one recorded unit's pre-activation distribution over
    training, for one ``layer`` (the first recorded by default). The layer, the unit's position
    and the bin edges are read from the probe's settings; ``max_seeds`` columns at most."""
    first = seeds_of(next(iter(runs.values())))[0].probes[probe].settings
    layer = first["layers"][0] if layer is None else layer
    cols = min(max_seeds, max(len(seeds_of(v)) for v in runs.values()))
    fig, axes = plt.subplots(len(runs), cols, figsize=(3.3 * cols, 2.4 * len(runs)), squeeze=False)
    colors = network_colors(runs)
    for row, (name, value) in enumerate(runs.items()):
        for col, h in enumerate(seeds_of(value)[:cols]):
            rec, ax = h.probes[probe], axes[row, col]
            layers = list(rec.settings["layers"])
            where = rec.settings["positions"][layers.index(layer)][unit]
            ridgeline(ax, rec["hist"][:, layers.index(layer), unit], rec["step"],
                      np.asarray(rec.settings["edges"]), color=colors[name])
            ax.set_title(f"{flagged(name, h)}, seed {h.config.seed if h.config else col}\n"
                         f"layer {layer}, unit (c, y, x) = {tuple(where)}", fontsize=8)
            if col == 0:
                ax.set_ylabel("step")
    for ax in axes[-1]:
        ax.set_xlabel("pre-activation value")
    fig.tight_layout()
    return fig


def plot_drift(runs: RunsBySeed, probe: str = "activations", pooled: bool = False, relative: bool = True,
               ) -> plt.Figure:
    """Grouped bars: per recorded layer and network, the median over seeds of the median
    :func:`~helpers.summaries.distribution_drift` over units; each seed as a dot. ``pooled``: the
    drift of the units' whole channels (the contrast) instead of the single activations;
    ``relative=False``: in the activations' own units rather than relative to their spread."""
    fig, ax = plt.subplots(figsize=(7.5, 3.4))
    layers = seeds_of(next(iter(runs.values())))[0].probes[probe].settings["layers"]
    width, colors = 0.8 / len(runs), network_colors(runs)
    for k, (name, value) in enumerate(runs.items()):
        hs = seeds_of(value)
        per_seed = np.stack([np.median(distribution_drift(h.probes[probe], pooled, relative), axis=1) for h in hs])
        x = np.arange(len(layers)) + (k - (len(runs) - 1) / 2) * width
        ax.bar(x, np.median(per_seed, axis=0), width, label=seeds_label(name, hs), color=colors[name], alpha=0.8)
        for row in per_seed:
            ax.plot(x, row, "k.", ms=4)
    ax.set_xticks(range(len(layers)))
    ax.set_xticklabels([f"layer {i}" for i in layers])
    what = ("whole channels" if pooled else "single activations") + ("" if relative else ", own units")
    ax.set_ylabel(f"drift between records, {what}\n(median over units; log scale)", fontsize=9)
    ax.set_yscale("log")
    legend_outside(ax, fontsize=7, title="bars: median over seeds;\ndots: each seed", title_fontsize=7)
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return fig


ICS_PANELS = (("grad_diff", "‖G − G′‖ (log scale)", "log"), ("relative", "‖G − G′‖ / ‖G‖ (log scale)", "log"),
              ("cosine", "cos∠(G, G′)", "linear"))


def plot_ics(runs: RunsBySeed, probe: str = "ics") -> plt.Figure:
    """The paper's Fig. 3 layout, one column per probed layer: ‖G − G′‖, the scale-free
    ‖G − G′‖/‖G‖ and cos∠(G, G′) over training; every seed a thin line."""
    layers = seeds_of(next(iter(runs.values())))[0].probes[probe].settings["layers"]
    fig, axes = plt.subplots(3, len(layers), figsize=(3.6 * len(layers), 7.6), squeeze=False, sharex=True)
    colors = network_colors(runs)
    for name, value in runs.items():
        hs = seeds_of(value)
        for j, h in enumerate(hs):
            ics = ics_summary(h, probe)
            for row, (key, _, _) in enumerate(ICS_PANELS):
                for col in range(len(layers)):
                    axes[row, col].plot(ics["step"], ics[key][:, col], color=colors[name], lw=0.8,
                                        alpha=0.5 if len(hs) > 1 else 1.0,
                                        label=seeds_label(name, hs) if j == 0 else None)
    for col, layer in enumerate(layers):
        axes[0, col].set_title(f"layer {layer}", fontsize=10)
        axes[2, col].axhline(1.0, color="0.5", ls=":", lw=1)
        axes[2, col].set_ylim(-1.05, 1.05)
        axes[2, col].set_xlabel("step")
        for row, (_, label, scale) in enumerate(ICS_PANELS):
            axes[row, col].set_yscale(scale)
            axes[row, col].set_ylabel(label, fontsize=8)
            axes[row, col].grid(alpha=0.3)
    legend_outside(axes[0, -1])
    fig.tight_layout()
    return fig


LANDSCAPE_PANELS = (("loss", "(a) loss variation", "loss L(w − ηg) on the batch", "linear"),
                    ("pred", "(b) gradient predictiveness", "‖g − ∇L(w − ηg)‖ (log scale)", "log"),
                    ("beta", "(c) effective β-smoothness", "max ‖g − ∇L(w − ηg)‖ / ‖ηg‖ (log)", "log"))


def plot_landscape(summaries: Mapping[str, Mapping | Sequence[Mapping]]) -> plt.Figure:
    """The paper's Fig. 4 layout: (a) loss band, (b) gradient-predictiveness band, (c) effective β.

    ``summaries`` maps a network's name to :func:`helpers.summaries.landscape_summary` output, or a
    list of them over seeds: every seed is drawn. Bands are shaded between the min and max over η
    at each probed step. A dotted line of the network's colour marks where each run left its
    initial plateau (the end of its early phase); panel (c) draws 2/LR, the curvature at which
    a gradient step of the learning rate's size stops being stable on a quadratic.
    """
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.9))
    lr, colors = None, network_colors(summaries)
    for name, value in summaries.items():
        seeds = [value] if isinstance(value, Mapping) else list(value)
        alpha = 0.35 if len(seeds) == 1 else 0.15
        for j, s in enumerate(seeds):
            color, at, lr = colors[name], s["step"], s["lr"] or lr
            label = (flagged(name, s) + (f" ({len(seeds)} seeds)" if len(seeds) > 1 else "")) if j == 0 else None
            for ax, (key, *_) in zip(axes, LANDSCAPE_PANELS):
                if key == "beta":
                    ax.plot(at, s["beta"], color=color, lw=1, label=label)
                else:
                    ax.fill_between(at, s[f"{key}_min"], s[f"{key}_max"], color=color, alpha=alpha, lw=0,
                                    label=label)
                ax.axvline(s["early_until"], color=color, ls=":", lw=0.8)
    for ax, (_, title, ylabel, scale) in zip(axes, LANDSCAPE_PANELS):
        ax.set_yscale(scale)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(ylabel, fontsize=8)
        ax.set_xlabel("step (dotted: end of each run's plateau)", fontsize=8)
        ax.grid(alpha=0.3)
    if lr:
        axes[2].axhline(2 / lr, color="0.3", ls="--", lw=1, label="2 / LR")
    legend_outside(axes[2])  # the networks (their bands and lines) and 2/LR
    fig.tight_layout()
    return fig


def plot_split_sweep(sweeps: Mapping[str, Mapping[str, np.ndarray]], title: str = "") -> plt.Figure:
    """How an early/rest comparison moves with the split: per quantity, the ratio BN / Standard of
    the medians before (early) and after (rest) each split step; one line per seed."""
    fig, axes = plt.subplots(1, len(sweeps), figsize=(4.6 * len(sweeps), 3.4), squeeze=False)
    for ax, (key, per_seed) in zip(axes[0], sweeps.items()):
        for j, sw in enumerate(per_seed):
            for phase, color in (("early", "C3"), ("rest", "C2")):
                ax.plot(sw["splits"], sw[phase], color=color, lw=1, alpha=0.7,
                        label=f"{phase}" if j == 0 else None)
        ax.axhline(1.0, color="0.4", lw=1)
        ax.set_yscale("log")
        ax.set_xlabel("split step")
        ax.set_ylabel(f"BN / Standard, median {key}", fontsize=8)
        ax.grid(alpha=0.3, which="both")
    legend_outside(axes[0, -1], title=title or None, title_fontsize=8)
    fig.tight_layout()
    return fig


def plot_step_curves(curves: Mapping[str, Mapping], max_multiplier: float = np.inf) -> plt.Figure:
    """The 1-D landscape at one probed step: L(w − ηg) and ‖∇L(w − ηg)‖ against η / LR, one line
    per network, up to ``max_multiplier`` × LR. ``curves`` is :func:`helpers.summaries.step_curves`
    output (arrays ``eta``, ``loss``, ``grad_norm``, and the run's ``lr`` and the ``step``)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    colors = network_colors(curves)
    for name, c in curves.items():
        multiple = c["eta"] / c["lr"]
        keep = multiple <= max_multiplier * (1 + 1e-9)
        for ax, key in zip(axes, ("loss", "grad_norm")):
            ax.plot(multiple[keep], c[key][keep], "o-", color=colors[name], ms=4, label=name)
    axes[0].set_ylabel("loss L(w − ηg)")
    axes[1].set_ylabel("gradient norm ‖∇L(w − ηg)‖")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel("step length η / learning rate")
        ax.axvline(1.0, color="0.5", ls=":", lw=1)  # the step training takes
        ax.grid(alpha=0.3)
    axes[1].set_yscale("log")
    steps = sorted({int(c["step"]) for c in curves.values()})
    legend_outside(axes[1], title=f"step {', '.join(map(str, steps))}", title_fontsize=8)
    fig.tight_layout()
    return fig


def plot_fine_curves(curves: Mapping[str, Mapping], paper_range: tuple[float, float] = (0.5, 4.0),
                     log: bool = False) -> plt.Figure:
    """Fine curves at saved points (:func:`helpers.landscape_views.fine_curve`), one line per network:
    L(w − ηg) and, where computed, ‖∇L(w − ηg)‖ against η / LR. Shaded: the paper's range of η;
    dotted: η = LR, the step training took."""
    panels = 2 if all("grad_norm" in c for c in curves.values()) else 1
    fig, axes = plt.subplots(1, panels, figsize=(5.2 * panels + 1.8, 3.6), squeeze=False)
    colors = network_colors(curves)
    for name, c in curves.items():
        label = f"{name}, step {c['step']}"
        for ax, key in zip(axes[0], ("loss", "grad_norm")):
            ax.plot(c["multiplier"], c[key], "-", color=colors[name], lw=1.5, label=label)
    axes[0, 0].set_ylabel("loss L(w − ηg)")
    if panels == 2:
        axes[0, 1].set_ylabel("gradient norm ‖∇L(w − ηg)‖")
    for ax in axes[0]:
        ax.axvspan(*paper_range, color="0.9", zorder=0, label="the paper's range of η")
        ax.axvline(1.0, color="0.4", ls=":", lw=1, label="η = LR, the step taken")
        ax.set(xscale="log" if log else "linear", xlabel="step length η / learning rate")
        ax.grid(alpha=0.3)
    legend_outside(axes[0, -1])
    fig.tight_layout()
    return fig


def plot_planes(planes: Mapping[str, Mapping], levels: int = 14) -> plt.Figure:
    """Loss on planes through w (:func:`helpers.landscape_views.plane`), one panel per network, each
    with its own colour scale (compare shapes, not colours, across panels). Axes in units of the
    training step's length: the cross is w, the dot (1, 0) where training went."""
    fig, axes = plt.subplots(1, len(planes), figsize=(5.0 * len(planes) + 1.0, 4.2), squeeze=False)
    for ax, (name, p) in zip(axes[0], planes.items()):
        filled = ax.contourf(p["a"], p["b"], p["loss"], levels=levels, cmap="viridis")
        ax.contour(p["a"], p["b"], p["loss"], levels=filled.levels, colors="k", linewidths=0.3)
        fig.colorbar(filled, ax=ax, label="loss")
        ax.plot(0, 0, "w+", ms=12, mew=2)
        ax.plot(1, 0, "wo", ms=6, mec="k")
        second = ("random, filter-normalised" if p["direction"] == "random"
                  else "−∇L(w − LR·g), same batch, orthogonal to g")
        ax.set(xlabel="a: along −g (1 = the step taken)", ylabel=f"b: {second}", aspect="equal")
        ax.set_title(f"{name}, step {p['step']}, unit LR·‖g‖ = {p['unit']:.3g}", fontsize=10)
    fig.tight_layout()
    return fig
