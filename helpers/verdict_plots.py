"""Pictures of the verdicts: the paper's argument with each claim coloured by what the runs found,
and one claim's checks seed by seed. They take :class:`~helpers.verdicts.Row` lists and draw.

Taught in notebook 09.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

from .verdicts import ARGUMENT, IDENTITY_FAILS, IDENTITY_HOLDS, UNDECIDED, VERDICTS, Row

VERDICT_COLORS = {"reproduced": "#b8e0b8", "mostly": "#dcebb0", "partly": "#f6e3a1", "not reproduced": "#f2c0c0",
                  "depends on a choice of ours": "#c9d9f2", UNDECIDED: "#e0e0e0",
                  IDENTITY_HOLDS: "#e6dcf2", IDENTITY_FAILS: "#d070d0"}  # identities: their own colour, never green


def verdict_color(v: str) -> str:
    """The colour of a verdict (every "depends on ..." alike)."""
    return VERDICT_COLORS["depends on a choice of ours" if v.startswith("depends on") else v]


def _box(ax, x: float, y: float, text: str, color: str, width: float = 0.28, height: float = 0.055,
         weight: str = "normal") -> None:
    ax.add_patch(plt.Rectangle((x - width / 2, y - height / 2), width, height, facecolor=color,
                               edgecolor="0.35", linewidth=0.8))
    ax.text(x, y, text, ha="center", va="center", fontsize=8 if "\n" not in text else 6.5, weight=weight)


def plot_argument(rows: Sequence[Row], later: Sequence[Row] = (), need: float = 1.0) -> plt.Figure:
    """The paper's argument as three columns of claims (BN helps; ICS is not the mechanism; a smoother
    landscape is) leading to its conclusion, and later work beside it; every box coloured by its verdict."""
    fig, ax = plt.subplots(figsize=(11, 6.2))
    ax.set(xlim=(0, 1.32), ylim=(0, 1), xticks=[], yticks=[])
    ax.axis("off")
    xs = dict(zip(ARGUMENT, (0.17, 0.49, 0.81)))
    for part, x in xs.items():
        column = [r for r in rows if r.argument == part]
        ax.text(x, 0.97, part, ha="center", weight="bold", fontsize=10)
        for i, r in enumerate(column):
            y = 0.9 - i * 0.068
            _box(ax, x, y, f"{r.short} ({r.notebook})", verdict_color(r.verdict(need)))
        ax.annotate("", xy=(0.49, 0.11), xytext=(x, 0.9 - len(column) * 0.068 + 0.02),
                    arrowprops=dict(arrowstyle="->", color="0.4"))
    _box(ax, 0.49, 0.07, "BN helps optimization by smoothing the landscape, not by reducing ICS", "white",
         width=0.62, weight="bold")
    ax.text(1.15, 0.97, "later work (08)", ha="center", weight="bold", fontsize=10)
    for i, r in enumerate(later):  # who says it, and the start of what we checked
        text = r.claim.removeprefix("... ")
        _box(ax, 1.15, 0.9 - i * 0.068, f"{r.source.split(':')[0]}\n{text[:34]}…", verdict_color(r.verdict(need)),
             width=0.3, height=0.06)
    shown = (*VERDICTS, "depends on a choice of ours", IDENTITY_HOLDS)
    handles = [plt.Rectangle((0, 0), 1, 1, facecolor=VERDICT_COLORS[v], edgecolor="0.35") for v in shown]
    ax.legend(handles, [*shown[:-1], "identity (maths, not evidence)"], loc="lower right", fontsize=7,
              frameon=False)
    profile = rows[0].profile if rows else "?"
    ax.set_title(f"the paper's argument, each claim coloured by our verdict (profile '{profile}')", fontsize=10)
    return fig


def plot_checks(row: Row, need: float = 1.0) -> plt.Figure:
    """One claim's checks (rows) over seeds (columns): green where the check holds, red where not,
    with the recorded number in each cell."""
    width = max(len(c.passes) for c in row.checks)
    shown = min(width, 12)  # theory claims have hundreds of cases: show the first dozen
    grid = np.full((len(row.checks), shown), np.nan)
    for i, c in enumerate(row.checks):
        passes = np.where(c.decided, c.passes, np.nan)[:shown]  # an undecided seed stays blank
        grid[i, :len(passes)] = passes
    fig, ax = plt.subplots(figsize=(1.4 + 0.75 * shown, 0.9 + 0.45 * len(row.checks)))
    ax.imshow(grid, cmap=plt.matplotlib.colors.ListedColormap(["#f2c0c0", "#b8e0b8"]), vmin=0, vmax=1, aspect="auto")
    for i, c in enumerate(row.checks):
        for j, v in enumerate(c.values[:shown]):
            ax.text(j, i, f"{v:.2g}", ha="center", va="center", fontsize=7)
    ax.set_yticks(range(len(row.checks)),
                  [f"{c.text[:60]}  ({c.counted()})" for c in row.checks], fontsize=7)
    unit = row.checks[0].unit
    ax.set_xticks(range(shown), [str(j) for j in range(shown)], fontsize=7)
    ax.set_xlabel(f"{unit} (first {shown} of {width})" if width > shown else unit)
    rule = "every seed" if need >= 1 else f"at least {need:.0%} of the seeds"
    ax.set_title(f"{row.claim} ({row.source})\nverdict when a check must hold in {rule}: {row.verdict(need)}",
                 fontsize=9)
    return fig
