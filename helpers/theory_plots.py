"""Figures for notebook 07 (the theory). Each takes the plain data of :mod:`helpers.theory` or
:mod:`helpers.scale_invariance` and returns the figure.

Taught in notebook 07.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from .plots import network_colors
from .theory import nearest_on_ray, ray_losses

KIND_COLORS = {"quadratic": "C0", "logistic": "C2", "indefinite": "C3"}


def plot_projection(terms: Mapping[str, float]) -> plt.Figure:
    """Thm 4.1 as bars, in units of ‖g‖²: g's parts along 1, along ŷ and the rest; what the
    projection keeps, ‖∂L̂/∂y‖²·σ²/γ²; and ‖∂L̂/∂y‖² itself, that times γ²/σ²."""
    m, unit = terms["m"], terms["g_sq"]
    terms = {k: (v / unit if k in ("g_sq", "along_1", "along_y_hat", "lhs", "rhs_1/√m") else v)
             for k, v in terms.items()}
    rest = terms["g_sq"] - terms["along_1"] - terms["along_y_hat"]
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    parts = (("along 1: ⟨1, g⟩²/m", terms["along_1"], "C7"), ("along ŷ: ⟨g, ŷ⟩²/m", terms["along_y_hat"], "C3"),
             ("the rest", rest, "C0"))
    left = 0.0
    for label, value, color in parts:
        ax.barh(2, value, left=left, color=color, label=label)
        left += value
    ax.barh(1, terms["lhs"] / terms["scale"], color="C0", hatch="//", edgecolor="white",
            label="kept: ‖∂L̂/∂y‖² · σ²/γ² (autograd)")
    ax.barh(0, terms["lhs"], color="C1", label="‖∂L̂/∂y‖² itself: the kept part × γ²/σ²")
    ax.axvline(terms["rhs_1/√m"] / terms["scale"], color="k", ls=":",
               label=f"the 1/√m version's bound (m = {m}), × σ²/γ²")
    ax.set_yticks([0, 1, 2], ["reaching y", "kept by the\nprojection", "upstream\ng = ∂ℓ/∂z"])
    ax.set_xlabel("squared norm, in units of ‖g‖²")
    ax.set_xlim(min(0.0, terms["rhs_1/√m"] / terms["scale"]) - 0.05,
                max(terms["g_sq"], terms["lhs"]) * 1.05)
    ax.set_title(f"BN removes g's parts along 1 and ŷ, then scales by γ²/σ² = {terms['scale']:.3g}", fontsize=10)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def plot_smoothness_survey(survey: Mapping[str, np.ndarray]) -> plt.Figure:
    """Thm 4.2 over random cases: (a) how much the theorem's second term changes the curvature with
    BN, against the cosine of g and ŷ; (b) the curvature along the gradient with and without BN, per
    unit ‖gradient‖² (symmetric-log axis: with BN it can be negative)."""
    fig, axes = plt.subplots(1, 2, figsize=(11.5, 4))
    change = (survey["lhs"] - survey["first"]) / np.abs(survey["first"])
    for kind, color in KIND_COLORS.items():
        at = survey["kind"] == kind
        if not at.any():
            continue
        marker = "x" if kind == "indefinite" else "o"
        axes[0].scatter(survey["cos_g_y_hat"][at], change[at], s=10, color=color, marker=marker, label=kind)
        if kind != "indefinite":  # "smoother" means something only for a convex loss
            axes[1].scatter(survey["curvature_standard"][at], survey["curvature_bn"][at], s=10, color=color,
                            marker=marker, label=kind)
    axes[0].axvline(0, color="k", lw=0.6)
    axes[0].axhline(0, color="k", lw=0.6)
    axes[0].set_yscale("symlog", linthresh=1e-2)
    axes[0].set(xlabel="cos(g, ŷ) (the theorem asks > 0)", ylabel="(vᵀ∇²L̂v − first term) / |first term|")
    axes[0].set_title("(a) the second term: a reduction exactly when ⟨g, ŷ⟩ > 0", fontsize=10)
    convex = survey["kind"] != "indefinite"
    values = np.abs(np.r_[survey["curvature_standard"][convex], survey["curvature_bn"][convex]])
    if values.size:
        lo, hi = np.nanmin(values[values > 0]), np.nanmax(values)
        axes[1].plot([lo, hi], [lo, hi], color="k", lw=0.6, ls=":")
    axes[1].set_xscale("log")
    axes[1].set_yscale("symlog", linthresh=1e-4)
    axes[1].set(xlabel="curvature without BN: gᵀ∇²L g/‖g‖² at y", ylabel="with BN: vᵀ∇²L̂ v/‖v‖²")
    axes[1].set_title("(b) convex losses, per unit step along each one's gradient", fontsize=10)
    handles = [h for ax in axes for h in ax.get_legend_handles_labels()[0]]
    labels = [label for ax in axes for label in ax.get_legend_handles_labels()[1]]
    unique = dict(zip(labels, handles))
    fig.legend(unique.values(), unique.keys(), loc="upper left", bbox_to_anchor=(1.0, 0.9), frameon=False)
    fig.tight_layout()
    return fig


def plot_lemma45(problem: Mapping, w0: torch.Tensor, extent: float = 3.0, points: int = 121) -> plt.Figure:
    """Lemma 4.5 in two dimensions: the losses without and with BN over the weight plane, the
    standard optimum w*, BN's optimal ray {c·w*} and the nearest point of it to the initialization w0."""
    grid = torch.linspace(-extent, extent, points, dtype=torch.float64)
    W = torch.stack(torch.meshgrid(grid, grid, indexing="xy"), -1)
    standard, bn = ray_losses(problem, W)
    w_star, w_hat = problem["w_star"], nearest_on_ray(w0, problem["w_star"])
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.8), sharey=True)
    for ax, loss, title in ((axes[0], standard, "without BN: L(w)"), (axes[1], bn, "with BN: L̂(w), γ, β fixed")):
        levels = np.quantile(loss.numpy(), np.linspace(0.02, 0.9, 12))
        ax.contour(grid, grid, loss.numpy(), levels=np.unique(levels), cmap="viridis", linewidths=0.8)
        ray = w_star / w_star.norm() * extent * 1.5
        ax.plot([0, ray[0]], [0, ray[1]], color="C1", lw=2.5, alpha=0.6, label="BN's optima: c·w*, c > 0")
        ax.plot(*w_star, "k*", ms=13, label="w*: optimum without BN")
        ax.plot(*w0, "o", color="C3", label="w0: initialization")
        ax.plot([w0[0], w_star[0]], [w0[1], w_star[1]], color="C3", ls=":")
        ax.plot([w0[0], w_hat[0]], [w0[1], w_hat[1]], color="C1", ls="--")
        ax.plot(*w_hat, "s", color="C1", label="ŵ*: BN's optimum nearest w0")
        ax.set(xlim=(-extent, extent), ylim=(-extent, extent), aspect="equal", xlabel="w₁", title=title)
    axes[0].set_ylabel("w₂")
    axes[1].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=9)
    fig.tight_layout()
    return fig


def plot_scale_sweeps(sweeps: Mapping[str, Mapping[str, np.ndarray]]) -> plt.Figure:
    """Loss, c·‖∇L(cW)‖ and cos(∇L, W) against the weight scale c, one line per setting (e.g. ε):
    flat, flat and zero where the loss is scale-invariant."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for k, (label, sweep) in enumerate(sweeps.items()):
        style = dict(marker="o", ms=3, color=f"C{k}", label=label)
        axes[0].plot(sweep["scale"], sweep["loss"], **style)
        axes[1].plot(sweep["scale"], sweep["scale"] * sweep["grad_norm"], **style)
        axes[2].plot(sweep["scale"], np.abs(sweep["cos"]), **style)
    axes[0].set(ylabel="loss L(cW)", yscale="log")
    axes[1].set(ylabel="c · ‖∇L(cW)‖ (flat if ∝ 1/c)", yscale="log")
    axes[2].set_yscale("symlog", linthresh=1e-12)
    axes[2].set(ylabel="|cos(∇L(cW), W)|", ylim=(0, 1))
    for ax in axes:
        ax.set(xscale="log", xlabel="weight scale c")
    axes[2].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.tight_layout()
    return fig


def plot_weight_norms(summaries: Mapping[str, Sequence[Mapping]], layers: Sequence[int]) -> plt.Figure:
    """Per network (colour) and seed (one line each), for the chosen layers (numbered from 1):
    the weight norm ‖W‖, the effective learning rate lr/‖W‖², and |cos(W, g)|, over training."""
    fig, axes = plt.subplots(len(layers), 3, figsize=(13, 2.6 * len(layers)), sharex=True, squeeze=False)
    colors = network_colors(summaries)
    for name, runs in summaries.items():
        color = colors[name]
        for k, s in enumerate(runs):
            for row, layer in enumerate(layers):
                label = f"{name} ({len(runs)} seeds)" if k == 0 and row == 0 else None
                for ax, values in zip(axes[row], (s["norm"], s["eff_lr"], np.abs(s["cos"]))):
                    ax.plot(s["step"], values[:, layer - 1], color=color, lw=1, alpha=0.8, label=label)
    for row, layer in enumerate(layers):
        axes[row, 0].set_ylabel(f"layer {layer}\n‖W‖")
        axes[row, 1].set(ylabel="lr / ‖W‖²", yscale="log")
        axes[row, 2].set(ylabel="|cos(W, g)|")
        axes[row, 2].set_yscale("symlog", linthresh=1e-7)  # float32 round-off, ~1e-6, stays visible
        axes[row, 2].set_ylim(0, 1)
    for ax in axes[-1]:
        ax.set_xlabel("step")
    axes[0, 2].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.tight_layout()
    return fig
