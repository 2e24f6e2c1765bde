"""The paper's theory (its Sec. 4), checked in code on one BN unit after a linear layer.

The setup of the paper's Fig. 5: a batch of m inputs X (m × d), one unit's weights w, its
pre-activations y = Xw ∈ Rᵐ, and BN's output z = γŷ + β with ŷ = (y − μ)/σ (batch mean, biased
standard deviation, so ‖ŷ‖² = m when ε = 0). A downstream loss ℓ takes z; the network without BN
feeds it y. γ and β are held fixed, as the theorems hold them. Everything is float64 and small
enough to differentiate exactly with ``torch.func``; each function returns plain numbers.

- Thm 4.1 (:func:`lipschitz_terms`), Thm 4.2 (:func:`smoothness_terms`, :func:`smoothness_survey`),
  Thm 4.4 (:func:`weight_gradients`, :func:`worst_case_over_inputs`), Obs 4.3
  (:func:`reparametrize_network`), Lemma 4.5 (:func:`lemma45_terms`, :func:`ray_problem`).

Taught in notebook 07.
"""

from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

Loss = Callable[[torch.Tensor], torch.Tensor]
DTYPE = torch.float64


def _vector(y: torch.Tensor, name: str = "y") -> torch.Tensor:
    if not isinstance(y, torch.Tensor) or y.dim() != 1 or y.numel() < 2:
        raise ValueError(f"{name} must be a 1-D tensor of at least 2 batch values, got "
                         f"{tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__}")
    return y


def standardize(y: torch.Tensor, eps: float = 0.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """ŷ = (y − μ)/σ with σ = √(var(y) + ε), the biased variance as BN takes it; returns (ŷ, μ, σ)."""
    mu = y.mean()
    sigma = torch.sqrt(((y - mu) ** 2).mean() + eps)
    return (y - mu) / sigma, mu, sigma


def bn_unit(y: torch.Tensor, gamma: float, beta: float, eps: float = 0.0) -> torch.Tensor:
    """One BN unit in training mode: z = γŷ + β over the batch ``y``."""
    return gamma * standardize(y, eps)[0] + beta


def bn_unit_backward(y: torch.Tensor, grad_z: torch.Tensor, gamma: float, eps: float = 0.0) -> torch.Tensor:
    """∂L̂/∂y from g = ∂ℓ/∂z: γ/σ · (g − mean(g) − ŷ·⟨g, ŷ⟩/m).

    The Jacobian of ŷ is (I − 11ᵀ/m − ŷŷᵀ/m)/σ, exactly, for any ε. With ε = 0, ‖ŷ‖² = m and ŷ ⟂ 1,
    so the bracket is the orthogonal projection of g off span{1, ŷ}: BN's backward pass rescales
    the gradient by γ/σ and removes its components along 1 and ŷ.
    """
    _vector(y)
    y_hat, _, sigma = standardize(y, eps)
    return gamma / sigma * (grad_z - grad_z.mean() - y_hat * (grad_z @ y_hat) / y.numel())


def projection_off(y_hat: torch.Tensor) -> torch.Tensor:
    """P = I − 11ᵀ/m − ŷŷᵀ/m, the projection off span{1, ŷ} when ŷ is standardized (ε = 0)."""
    m = y_hat.numel()
    return torch.eye(m, dtype=y_hat.dtype) - torch.ones(m, m, dtype=y_hat.dtype) / m - torch.outer(y_hat, y_hat) / m


# --- Theorem 4.1: Lipschitzness -------------------------------------------------------------------

def lipschitz_terms(y: torch.Tensor, grad_z: torch.Tensor, gamma: float, eps: float = 0.0) -> dict[str, float]:
    """Both sides of Thm 4.1 for one unit, the left one by autograd through the BN unit.

    ``lhs`` = ‖∂L̂/∂y‖² (Jacobian by ``torch.func.jacrev``); ``rhs_1/m`` and ``rhs_1/√m`` =
    γ²/σ² (‖g‖² − ⟨1, g⟩²/m − c⟨g, ŷ⟩²) with the two published factors c on the last term.
    Also the pieces: ‖g‖², the parts of it along 1 and along ŷ, and γ²/σ².
    """
    _vector(y)
    if grad_z.shape != y.shape:
        raise ValueError(f"grad_z must have the shape of y {tuple(y.shape)}, got {tuple(grad_z.shape)}")
    m = y.numel()
    jacobian = torch.func.jacrev(lambda v: bn_unit(v, gamma, 0.0, eps))(y)
    lhs = float((jacobian.T @ grad_z).square().sum())
    y_hat, _, sigma = standardize(y, eps)
    scale = float(gamma ** 2 / sigma ** 2)
    total, along_1, along_y_hat = float(grad_z @ grad_z), float(grad_z.sum() ** 2), float((grad_z @ y_hat) ** 2)
    return {"lhs": lhs, "rhs_1/m": scale * (total - along_1 / m - along_y_hat / m),
            "rhs_1/√m": scale * (total - along_1 / m - along_y_hat / math.sqrt(m)),
            "g_sq": total, "along_1": along_1 / m, "along_y_hat": along_y_hat / m, "scale": scale, "m": m}


def channel_lipschitz_terms(model: nn.Module, layer: int, x: torch.Tensor, target: torch.Tensor,
                            loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> dict[str, np.ndarray]:
    """Thm 4.1 per channel of a real network's BN layer (``model.layer(layer).norm``, training mode):
    ``lhs`` = ‖∂L/∂y‖² by autograd through the whole network, where y is what the BN layer receives
    (over the m = batch × positions values of a channel), and the right-hand sides with 1/m and 1/√m
    from g = ∂L/∂z at its output, with the layer's own γ and ε (σ = √(var + ε), so ‖ŷ‖² < m)."""
    norm = model.layer(layer).norm
    if not isinstance(norm, nn.modules.batchnorm._BatchNorm):
        raise ValueError(f"layer {layer} has no BatchNorm (it has {type(norm).__name__})")
    kept: dict[str, torch.Tensor] = {}

    def keep(module, inputs, output):
        kept["y"], kept["z"] = inputs[0], output
        inputs[0].retain_grad()
        output.retain_grad()

    handle = norm.register_forward_hook(keep)
    try:
        loss_fn(model(x), target).backward()
    finally:
        handle.remove()
    y, g = (t.detach().transpose(0, 1).flatten(1) for t in (kept["y"], kept["z"].grad))  # (channels, m)
    m = y.shape[1]
    lhs = kept["y"].grad.detach().transpose(0, 1).flatten(1).square().sum(1)
    y_hat = (y - y.mean(1, keepdim=True)) / torch.sqrt(y.var(1, unbiased=False, keepdim=True) + norm.eps)
    scale = norm.weight.detach() ** 2 / (y.var(1, unbiased=False) + norm.eps)
    base = g.square().sum(1) - g.sum(1) ** 2 / m
    along = (g * y_hat).sum(1) ** 2
    return {"lhs": lhs.numpy(), "rhs_1/m": (scale * (base - along / m)).numpy(),
            "rhs_1/√m": (scale * (base - along / math.sqrt(m))).numpy(), "scale": scale.numpy(), "m": m}


def gradient_case(m: int, alignment: float, mean_share: float, sigma: float = 1.0, seed: int = 0,
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch y (mean 1, standard deviation exactly ``sigma``) and an upstream gradient g of unit norm with a chosen
    make-up: the fraction ``mean_share`` of ‖g‖² along 1, the fraction ``alignment`` along ŷ (its sign
    sets the sign of ⟨g, ŷ⟩), the rest orthogonal to both. For sliders and exercises."""
    if not (0 <= mean_share and 0 <= abs(alignment) and mean_share + abs(alignment) <= 1):
        raise ValueError(f"need mean_share ≥ 0 and mean_share + |alignment| ≤ 1, got {mean_share}, {alignment}")
    gen = torch.Generator().manual_seed(seed)
    y_hat = standardize(torch.randn(m, generator=gen, dtype=DTYPE))[0]
    y = sigma * y_hat + 1.0
    rest = projection_off(y_hat) @ torch.randn(m, generator=gen, dtype=DTYPE)
    parts = (torch.ones(m, dtype=DTYPE), y_hat, rest)
    shares = (mean_share, abs(alignment), 1 - mean_share - abs(alignment))
    signs = (1.0, math.copysign(1.0, alignment), 1.0)
    g = sum(s * math.sqrt(w) * p / p.norm() for s, w, p in zip(signs, shares, parts))
    return y, g


# --- Theorem 4.2: smoothness along the gradient ---------------------------------------------------

def hessian(f: Loss, x: torch.Tensor) -> torch.Tensor:
    """The exact Hessian of a scalar function of a vector (``torch.func.hessian``). Its first use
    loads forward-mode rules that make torch itself warn about ``torch.jit.script``: not ours, so
    silenced here."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*torch.jit.script.*", category=FutureWarning)
        return torch.func.hessian(f)(x)


def smoothness_terms(y: torch.Tensor, gamma: float, beta: float, loss: Loss, eps: float = 0.0) -> dict[str, float]:
    """Thm 4.2's quantities for one unit and a downstream loss ℓ (exact Hessians by ``torch.func``).

    With v = ∂L̂/∂y, g = ∇ℓ(z) and H = ∇²ℓ(z) at BN's output z:
    ``lhs`` = vᵀ ∇²L̂ v, the curvature of the BN loss along its gradient;
    ``bound`` = γ²/σ² vᵀHv − γ/(mσ²) ⟨g, ŷ⟩ ‖v‖², the theorem's right-hand side;
    ``first`` = γ²/σ² vᵀHv, its first term alone (what BN would give without the second);
    ``rewritten`` = γ²/σ² (gᵀHg − ⟨g, ŷ⟩‖v‖²/(mγ)), the form that needs H to preserve relative norms;
    ``alignment`` = ⟨g, ŷ⟩ (and ``cos_g_y_hat``, its cosine) and ``min_eig_H`` (the theorem's
    conditions: ⟨g, ŷ⟩ > 0, H ⪰ 0);
    ``curvature_bn`` = lhs/‖v‖² and ``curvature_standard`` = the same for the network without BN
    (ℓ(y) along its own gradient at y), comparable across the two.
    """
    _vector(y)
    m = y.numel()
    bn_loss = lambda v: loss(bn_unit(v, gamma, beta, eps))  # noqa: E731
    v = torch.func.grad(bn_loss)(y)
    lhs = v @ hessian(bn_loss, y) @ v
    z = bn_unit(y, gamma, beta, eps)
    g, H = torch.func.grad(loss)(z), hessian(loss, z)
    y_hat, _, sigma = standardize(y, eps)
    first = gamma ** 2 / sigma ** 2 * (v @ H @ v)
    second = gamma / (m * sigma ** 2) * (g @ y_hat) * (v @ v)
    g_std = torch.func.grad(loss)(y)
    curvature_standard = g_std @ hessian(loss, y) @ g_std / (g_std @ g_std)
    return {"lhs": float(lhs), "bound": float(first - second), "first": float(first),
            "rewritten": float(gamma ** 2 / sigma ** 2 * (g @ H @ g - (g @ y_hat) * (v @ v) / (m * gamma))),
            "alignment": float(g @ y_hat), "cos_g_y_hat": float(g @ y_hat / (g.norm() * y_hat.norm())),
            "min_eig_H": float(torch.linalg.eigvalsh(H)[0]),
            "curvature_bn": float(lhs / (v @ v)), "curvature_standard": float(curvature_standard)}


LOSS_KINDS = ("quadratic", "logistic", "indefinite")


def random_loss(kind: str, m: int, gen: torch.Generator) -> Loss:
    """A downstream loss on m outputs: ``quadratic`` ½(z − t)ᵀA(z − t) with A ⪰ 0 of random rank,
    ``logistic`` mean softplus(−s·z) with labels s = ±1 (convex, not quadratic), or ``indefinite``
    (a quadratic whose A has negative eigenvalues: the theorem's H ⪰ 0 dropped)."""
    if kind not in LOSS_KINDS:
        raise ValueError(f"unknown loss kind {kind!r}; choose one of: {', '.join(LOSS_KINDS)}")
    t = torch.randn(m, generator=gen, dtype=DTYPE)
    if kind == "logistic":
        s = torch.randint(0, 2, (m,), generator=gen).to(DTYPE) * 2 - 1
        return lambda z: F.softplus(-s * z).mean()
    rank = int(torch.randint(1, m + 1, (1,), generator=gen))
    B = torch.randn(m, rank, generator=gen, dtype=DTYPE)
    A = B @ B.T / rank
    if kind == "indefinite":
        low, high = (float(e) for e in torch.linalg.eigvalsh(A)[[0, -1]])  # shift into the spectrum's middle
        shift = low + (high - low) * (0.1 + 0.8 * float(torch.rand(1, generator=gen, dtype=DTYPE)))
        A = A - shift * torch.eye(m, dtype=DTYPE)
    return lambda z: 0.5 * (z - t) @ A @ (z - t)


def random_unit(seed: int, m: int = 16) -> tuple[torch.Tensor, float, float, torch.Generator]:
    """A random case: a batch y of m pre-activations with a random mean and scale, γ > 0 and β."""
    gen = torch.Generator().manual_seed(seed)
    scale = float(torch.exp(torch.randn(1, generator=gen, dtype=DTYPE)))
    y = scale * torch.randn(m, generator=gen, dtype=DTYPE) + 2 * torch.randn(1, generator=gen, dtype=DTYPE)
    gamma = float(torch.exp(0.5 * torch.randn(1, generator=gen, dtype=DTYPE)))
    beta = float(torch.randn(1, generator=gen, dtype=DTYPE))
    return y, gamma, beta, gen


def smoothness_survey(seeds: Sequence[int], kinds: Sequence[str] = LOSS_KINDS, m: int = 16,
                      ) -> dict[str, np.ndarray]:
    """:func:`smoothness_terms` over random cases: each seed draws a unit and one loss of each kind.
    Returns one array per quantity (cases in order seed by seed), plus ``kind`` and ``seed``."""
    rows = []
    for seed in seeds:
        y, gamma, beta, gen = random_unit(seed, m)
        for kind in kinds:
            rows.append({"kind": kind, "seed": seed, **smoothness_terms(y, gamma, beta, random_loss(kind, m, gen))})
    return {key: np.array([row[key] for row in rows]) for key in rows[0]}


# --- Theorem 4.4: the worst case over inputs, in weight space ---------------------------------------

def weight_gradients(X: torch.Tensor, w: torch.Tensor, gamma: float, beta: float, loss: Loss,
                     eps: float = 0.0) -> dict[str, torch.Tensor]:
    """∇_w of the loss with BN (ℓ(γŷ(Xw) + β)) and without (ℓ(Xw)), and ∂L̂/∂y and ∂L/∂y."""
    bn_loss = lambda w_: loss(bn_unit(X @ w_, gamma, beta, eps))  # noqa: E731
    y = X @ w
    return {"bn": torch.func.grad(bn_loss)(w), "standard": torch.func.grad(lambda w_: loss(X @ w_))(w),
            "bn_y": torch.func.grad(lambda v: loss(bn_unit(v, gamma, beta, eps)))(y),
            "standard_y": torch.func.grad(loss)(y)}


def worst_case_over_inputs(grad_y: torch.Tensor, d: int, lam: float, samples: int = 2000, seed: int = 0,
                           ) -> dict[str, float]:
    """max over inputs X (m × d, spectral norm ≤ λ) of ‖Xᵀu‖², the weight gradient for a fixed
    gradient u = ∂L/∂y: λ²‖u‖² in closed form, the rank-one X = λ·(u/‖u‖)eᵀ that attains it, and the
    largest value found among ``samples`` random X scaled to spectral norm λ (never above)."""
    m = grad_y.numel()
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(samples, m, d, generator=gen, dtype=DTYPE)
    X = X * (lam / torch.linalg.matrix_norm(X, ord=2)).view(-1, 1, 1)
    found = float((X.transpose(1, 2) @ grad_y).square().sum(-1).max())
    e = torch.zeros(d, dtype=DTYPE)
    e[0] = 1.0
    attained = float((lam * torch.outer(grad_y / grad_y.norm(), e)).T.matmul(grad_y).square().sum())
    return {"closed_form": lam ** 2 * float(grad_y @ grad_y), "rank_one": attained, "random_max": found}


# --- Observation 4.3: BN is a reparametrization ------------------------------------------------------

@torch.no_grad()
def reparametrize_network(standard: nn.Module, bn: nn.Module, x: torch.Tensor) -> nn.Module:
    """Give the BN network ``bn`` the standard network's weights and set each BN layer's γ to the
    batch standard deviation √(σ² + ε) and β to the batch mean (plus the standard conv's bias) of
    what it receives on ``x``: then ``bn(x)`` equals ``standard(x)`` on that batch (both are
    :class:`helpers.models.LayeredNet`, same configuration, BN after every layer but the last)."""
    if len(standard.layers) != len(bn.layers):
        raise ValueError("the two networks must have the same layers")
    h = x
    for s_layer, b_layer in zip(standard.layers, bn.layers):
        s_lin = getattr(s_layer, "conv", None) or s_layer.linear
        b_lin = getattr(b_layer, "conv", None) or b_layer.linear
        b_lin.weight.copy_(s_lin.weight)
        if isinstance(b_layer.norm, nn.modules.batchnorm._BatchNorm):
            y = b_lin(h)  # what the BN layer receives (the conv has no bias there)
            dims = (0, 2, 3) if y.dim() == 4 else (0,)
            bias = s_lin.bias if s_lin.bias is not None else torch.zeros_like(b_layer.norm.bias)
            b_layer.norm.weight.copy_(torch.sqrt(y.var(dims, unbiased=False) + b_layer.norm.eps))
            b_layer.norm.bias.copy_(y.mean(dims) + bias)
        elif b_lin.bias is not None:
            b_lin.bias.copy_(s_lin.bias)
        h = s_layer(h)
    return bn


# --- Lemma 4.5: initialization ---------------------------------------------------------------------

def nearest_on_ray(w0: torch.Tensor, w_star: torch.Tensor) -> torch.Tensor:
    """The point of the ray {c·w*, c > 0} nearest to w0 (needs ⟨w0, w*⟩ > 0)."""
    inner = float(w0 @ w_star)
    if inner <= 0:
        raise ValueError(f"the lemma needs ⟨w0, w*⟩ > 0, got {inner:.3g}")
    return inner / float(w_star @ w_star) * w_star


def lemma45_terms(w0: torch.Tensor, w_star: torch.Tensor) -> dict[str, float]:
    """Lemma 4.5's two sides: ``lhs`` = ‖w0 − ŵ*‖² (ŵ* the nearest point of BN's optimal ray) and
    ``rhs`` = ‖w0 − w*‖² − (‖w*‖² − ⟨w*, w0⟩)²/‖w*‖²; ``rhs_no_square``: the last term unsquared."""
    w_hat = nearest_on_ray(w0, w_star)
    gap = float(w_star @ w_star - w_star @ w0)
    base = float((w0 - w_star).square().sum())
    return {"lhs": float((w0 - w_hat).square().sum()), "rhs": base - gap ** 2 / float(w_star @ w_star),
            "rhs_no_square": base - gap / float(w_star @ w_star), "standard": base}


def ray_problem(seed: int = 0, m: int = 64) -> dict[str, torch.Tensor | float]:
    """A two-weight least-squares unit whose BN version's optima are exactly the ray {c·w*, c > 0}.

    Inputs X (m × 2) are centred, so every y = Xw has mean 0; targets t. The network without BN has
    L(w) = mean (Xw − t)², minimised at w*; with BN, L̂(w) = mean (γŷ(Xw) + β − t)² with γ = σ(Xw*)
    and β = 0 (Obs. 4.3's choice), which equals L(w*) on the whole ray and nowhere does better.
    """
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(m, 2, generator=gen, dtype=DTYPE) @ torch.tensor([[1.0, 0.6], [0.0, 0.5]], dtype=DTYPE)
    X = X - X.mean(0)
    t = X @ torch.tensor([1.5, 1.0], dtype=DTYPE) + 0.5 * torch.randn(m, generator=gen, dtype=DTYPE)
    w_star = torch.linalg.lstsq(X, t.unsqueeze(1)).solution.squeeze(1)
    return {"X": X, "t": t, "w_star": w_star, "gamma": float(standardize(X @ w_star)[2]), "beta": 0.0}


def ray_losses(problem: dict, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """L and L̂ of :func:`ray_problem` at weights ``w`` (..., 2), batched over leading axes."""
    X, t = problem["X"], problem["t"]
    y = w @ X.T  # (..., m)
    y_hat = (y - y.mean(-1, keepdim=True)) / y.std(-1, unbiased=False, keepdim=True)
    standard = (y - t).square().mean(-1)
    return standard, (problem["gamma"] * y_hat + problem["beta"] - t).square().mean(-1)


def bn_gains(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    """γ²/σ² of every BN channel of ``model`` on the batch ``x`` (training mode: the batch's σ), the factor
    by which Thm 4.1 scales the gradient through BN (> 1: up). The running statistics are left as found."""
    gains, hooks = [], []

    def keep(module, inputs, output):
        dims = [d for d in range(inputs[0].dim()) if d != 1]
        var = inputs[0].detach().double().var(dim=dims, unbiased=False)
        gains.append((module.weight.detach().double() ** 2 / (var + module.eps)).cpu().numpy())

    saved = copy.deepcopy(model.state_dict())
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            hooks.append(module.register_forward_hook(keep))
    try:
        with torch.no_grad():
            model.train()(x)
    finally:
        for h in hooks:
            h.remove()
        model.load_state_dict(saved)
    return np.concatenate(gains)
