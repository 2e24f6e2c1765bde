"""Plots for the notebooks. Each takes plain data (arrays, Histories) and returns the figure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from .protocol import CHANCE_LOSS
from .runs import History
from .summaries import distribution_drift, flagged

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


def plot_curves(runs: Mapping[str, History], metrics: Sequence[str] = ("train_loss", "test_acc"),
                smooth_window: int = 10, styles: Mapping[str, dict] | None = None) -> plt.Figure:
    """One panel per metric, one line per run. A diverged run ends in a red ×, an interrupted one
    in a black bar; both say so in the legend.

    ``styles`` maps a run's label to extra ``ax.plot`` keywords (colour, line style, ...).
    """
    styles = styles or {}
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.6), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        per_step = metric.startswith("train")
        for label, h in runs.items():
            x = h.steps if per_step else h.eval_steps
            y = smooth(getattr(h, metric), smooth_window) if per_step else getattr(h, metric)
            style = {"marker": None if per_step else "o", "ms": 3, **styles.get(label, {})}
            ax.plot(x, y, label=flagged(label, h), **style)
            if (h.diverged or h.interrupted) and len(h.steps):
                end = np.nanmax(y[np.isfinite(y)]) if np.isfinite(y).any() else 0
                ax.plot(h.steps[-1], end, "x" if h.diverged else "|", color="red" if h.diverged else "black",
                        ms=10, mew=2)
        ax.set_xlabel("step")
        ax.set_ylabel(METRIC_LABELS.get(metric, metric)
                      + (f" ({smooth_window}-step mean)" if per_step and smooth_window > 1 else ""))
        ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=8)
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


def plot_lr_runs(runs: Mapping[tuple[str, float], History],
                 metrics: Sequence[str] = ("train_acc", "test_acc", "train_loss"), smooth_window: int = 10,
                 ) -> plt.Figure:
    """The paper's Fig. 1 layout: one panel per metric; colour = network, line style = learning rate."""
    names = list(dict.fromkeys(name for name, _ in runs))
    lrs = sorted({lr for _, lr in runs})
    line_styles = ["-", "--", ":", "-."]
    labelled = {f"{name}, lr {lr:g}": h for (name, lr), h in runs.items()}
    styles = {f"{name}, lr {lr:g}": {"color": f"C{names.index(name)}", "ls": line_styles[lrs.index(lr) % 4],
                                     "marker": None}
              for name, lr in runs}
    return plot_curves(labelled, metrics, smooth_window, styles)


def plot_lr_sweep(sweep) -> plt.Figure:
    """Final training loss and test accuracy against learning rate; diverged runs as red × at the top,
    runs an interruption cut short or never started as black bars there."""
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.8))
    marked = set()
    for k, name in enumerate(sweep.final_loss):
        color, diverged = f"C{k}", sweep.diverged[name]
        missing = sweep.interrupted[name] if sweep.interrupted is not None else np.zeros_like(diverged)
        ax_loss.semilogx(sweep.lrs, np.where(diverged, np.nan, sweep.final_loss[name]), "o-", color=color, label=name)
        ax_acc.semilogx(sweep.lrs, sweep.final_test_acc[name], "o-", color=color, label=name)
        for mask, marker, note in ((diverged, "x", "× diverged"), (missing, "|", "| interrupted or not run")):
            if mask.any():
                for ax in (ax_loss, ax_acc):
                    ax.plot(sweep.lrs[mask], np.full(mask.sum(), 0.96), marker, color=color, ms=10, mew=2,
                            transform=ax.get_xaxis_transform(), label=None if note in marked else note)
                marked.add(note)
    ax_loss.axhline(CHANCE_LOSS, color="0.5", ls=":", lw=1, label="chance (ln 10)")
    ax_loss.set_ylabel("final training loss")
    ax_acc.set_ylabel("final test accuracy")
    for ax in (ax_loss, ax_acc):
        ax.set_xlabel("learning rate")
        ax.grid(alpha=0.3, which="both")
    ax_loss.legend(fontsize=8)
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


def plot_distributions(runs: Mapping[str, History], show: Sequence[int] | None = None, unit: int = 0,
                       probe: str = "activations") -> plt.Figure:
    """Rows = networks, columns = layers: one recorded unit's pre-activation distribution over training.

    The layers and bin edges are those the activation probe recorded (its settings); ``show``
    picks some of the layers, ``unit`` one of the recorded units.
    """
    first = next(iter(runs.values())).probes[probe].settings
    show = list(first["layers"]) if show is None else list(show)
    fig, axes = plt.subplots(len(runs), len(show), figsize=(3.3 * len(show), 2.4 * len(runs)), squeeze=False)
    for row, (name, h) in enumerate(runs.items()):
        rec = h.probes[probe]
        layers, edges = list(rec.settings["layers"]), np.asarray(rec.settings["edges"])
        for col, layer in enumerate(show):
            ax = axes[row, col]
            ridgeline(ax, rec["hist"][:, layers.index(layer), unit], rec["step"], edges, color=f"C{row}")
            ax.set_title(f"{flagged(name, h)}, layer {layer}", fontsize=9)
            if col == 0:
                ax.set_ylabel("step")
    for ax in axes[-1]:
        ax.set_xlabel("pre-activation value")
    fig.tight_layout()
    return fig


def plot_drift(runs: Mapping[str, History], probe: str = "activations") -> plt.Figure:
    """Grouped bars: the median :func:`~helpers.summaries.distribution_drift` over recorded units,
    per recorded layer and network."""
    fig, ax = plt.subplots(figsize=(7, 3.4))
    layers = next(iter(runs.values())).probes[probe].settings["layers"]
    width = 0.8 / len(runs)
    for k, (name, h) in enumerate(runs.items()):
        drift = distribution_drift(h.probes[probe])
        ax.bar(np.arange(len(layers)) + (k - (len(runs) - 1) / 2) * width, np.median(drift, axis=1), width,
               label=flagged(name, h), color=f"C{k}")
    ax.set_xticks(range(len(layers)))
    ax.set_xticklabels([f"layer {i}" for i in layers])
    ax.set_ylabel("drift between records\n(median over units, log scale)")
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return fig


def plot_ics(runs: Mapping[str, History], probe: str = "ics") -> plt.Figure:
    """The paper's Fig. 3 layout: ‖G − G′‖ (top) and cos∠(G, G′) (bottom) over training, per probed
    layer (the layers the probe recorded)."""
    layers = next(iter(runs.values())).probes[probe].settings["layers"]
    fig, axes = plt.subplots(2, len(layers), figsize=(3.6 * len(layers), 5.4), squeeze=False, sharex=True)
    for k, (name, h) in enumerate(runs.items()):
        rec = h.probes[probe]
        for col in range(len(layers)):
            axes[0, col].plot(rec["step"], rec["grad_diff"][:, col], color=f"C{k}", lw=1, label=flagged(name, h))
            axes[1, col].plot(rec["step"], rec["cosine"][:, col], color=f"C{k}", lw=1, label=flagged(name, h))
    for col, layer in enumerate(layers):
        axes[0, col].set_title(f"layer {layer}", fontsize=10)
        axes[0, col].set_yscale("log")
        axes[1, col].axhline(1.0, color="0.5", ls=":", lw=1)
        axes[1, col].set_ylim(-1.05, 1.05)
        axes[1, col].set_xlabel("step")
        for row in (0, 1):
            axes[row, col].grid(alpha=0.3)
    axes[0, 0].set_ylabel("‖G − G′‖ (log scale)")
    axes[1, 0].set_ylabel("cos∠(G, G′)")
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    return fig


LANDSCAPE_PANELS = (("loss", "loss L(w − ηg) on the batch", "linear"),
                    ("pred", "gradient predictiveness ‖g − ∇L(w − ηg)‖", "log"),
                    ("beta", "effective β-smoothness", "log"))


def plot_landscape(summaries: Mapping[str, Mapping]) -> plt.Figure:
    """The paper's Fig. 4 layout: (a) loss band, (b) gradient-predictiveness band, (c) effective β.

    ``summaries`` maps a network's name to :func:`helpers.summaries.landscape_summary` output.
    Bands are shaded between the min and max over η at each probed step. The early phase (the
    protocol's) is greyed out, and panel (c) draws 2/LR, the curvature at which a gradient step
    of the learning rate's size stops being stable on a quadratic.
    """
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
    first = next(iter(summaries.values()))
    early_until, lr = first["early_until"], first["lr"]
    for k, (name, s) in enumerate(summaries.items()):
        color, at, label = f"C{k}", s["step"], flagged(name, s)
        for ax, (key, _, _) in zip(axes, LANDSCAPE_PANELS):
            if key == "beta":
                ax.plot(at, s["beta"], color=color, lw=1.2, label=label)
            else:
                low, high = s[f"{key}_min"], s[f"{key}_max"]
                ax.fill_between(at, low, high, color=color, alpha=0.35, lw=0, label=label)
                ax.plot(at, high, color=color, lw=0.6)
                ax.plot(at, low, color=color, lw=0.6)
    for ax, (_, label, scale) in zip(axes, LANDSCAPE_PANELS):
        ax.set_yscale(scale)
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("step")
        if early_until:
            ax.axvspan(0, early_until, color="0.85", zorder=0, label="early phase")
        ax.grid(alpha=0.3)
    if lr:
        axes[2].axhline(2 / lr, color="0.3", ls="--", lw=1, label="2 / LR")
        axes[2].legend(fontsize=8)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_step_curves(curves: Mapping[str, Mapping], max_multiplier: float = np.inf) -> plt.Figure:
    """The 1-D landscape at one probed step: L(w − ηg) and ‖∇L(w − ηg)‖ against η / LR, one line
    per network, up to ``max_multiplier`` × LR. ``curves`` is :func:`helpers.summaries.step_curves`
    output (arrays ``eta``, ``loss``, ``grad_norm``, and the run's ``lr`` and the ``step``)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    for k, (name, c) in enumerate(curves.items()):
        multiple = c["eta"] / c["lr"]
        keep = multiple <= max_multiplier * (1 + 1e-9)
        for ax, key in zip(axes, ("loss", "grad_norm")):
            ax.plot(multiple[keep], c[key][keep], "o-", color=f"C{k}", ms=4, label=name)
    axes[0].set_ylabel("loss L(w − ηg)")
    axes[1].set_ylabel("gradient norm ‖∇L(w − ηg)‖")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel("step length η / learning rate")
        ax.axvline(1.0, color="0.5", ls=":", lw=1)  # the step training takes
        ax.grid(alpha=0.3)
    axes[1].set_yscale("log")
    steps = sorted({int(c["step"]) for c in curves.values()})
    axes[0].legend(fontsize=8, title=f"step {', '.join(map(str, steps))}", title_fontsize=8)
    fig.tight_layout()
    return fig
