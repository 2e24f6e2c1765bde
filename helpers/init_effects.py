"""BN at initialization, the other side: gradient explosion with depth, and no rank collapse.

The paper argues that BN makes the loss landscape smoother. Two known effects of BN in a deep
fully-connected network *at initialization* sit beside that claim:

- **Gradient explosion** (Yang, Pennington, Rao, Sohl-Dickstein, Schoenholz, "A Mean Field Theory of
  Batch Normalization", ICLR 2019). In a deep BN-ReLU network (BN in training mode, γ = 1, β = 0) the
  gradient with respect to each layer's pre-activations grows geometrically going backwards. Why,
  in the large-batch, wide-layer limit: BN's output z is standard normal per unit over the batch;
  the next layer's pre-activation y = Wh, h = φ(z), has batch variance σ² = n·Var(W)·Var φ(z); BN
  divides the backward pass by that σ (its Jacobian is a projection divided by σ, see
  :func:`helpers.theory.bn_unit_backward`), while Wᵀ and φ' multiply the squared gradient by
  n·Var(W)·E[φ'(z)²]. The weight scale cancels, and each layer multiplies the gradient's norm by
  √(E[φ'(z)²] / Var φ(z)), which for ReLU is √((1/2) / (1/2 − 1/(2π))) = √(π/(π−1)) ≈ 1.211:
  Yang et al.'s large-batch rate for ReLU (:func:`mean_field_growth`). Without BN, He-initialised
  ReLU layers keep the gradient's norm (2/n · n · 1/2 = 1 per layer).
- **No rank collapse** (Daneshmand, Kohler, Bach, Hofmann, Lucchi, "Batch Normalization Provably
  Avoids Rank Collapse for Randomly Initialised Deep Networks", NeurIPS 2020). Without BN, the
  representations of a batch become nearly collinear with depth (the effective rank of the batch ×
  units matrix falls towards 1, in linear and ReLU networks); with BN it stays high (for linear
  networks they prove a lower bound of order √width).

The network: ``depth`` layers y_l = h_{l−1} W_lᵀ (no bias), z_l = BN(y_l) or y_l, h_l = φ(z_l),
h_0 the inputs, all widths ``width``; weights N(0, gain/fan_in), He's gain 2 for ReLU and 1 for the
linear network (each keeps the forward variance without BN). Plain torch, nothing trained. Inputs are
Gaussian (or a batch you pass, e.g. CIFAR-10 images, flattened). The same seed gives the same weights
(the same standard normal draws) with and without BN, at every batch size and for both losses, so
comparisons between them are paired. Everything runs on the CPU: at depth 50 and width = batch = 512
one network's gradients take about 0.4 s on 2 cores, its effective ranks at every layer about 1.7 s.

- :func:`gradient_norms` (one network) and :func:`gradient_survey` (over seeds): ‖∂L/∂y_l‖ per layer;
  :func:`fit_growth`: the per-layer growth factor of a geometric fit; :func:`growth_by_batch`: the
  factor at several batch sizes (no formula: small batches differ, and we report what they measure).
- :func:`effective_rank` (Roy & Vetterli's entropy-based rank), :func:`rank_by_depth`,
  :func:`rank_survey`: the effective rank of h_l per layer.

Taught in notebook 08.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

ACTIVATIONS = ("relu", "linear")
LOSSES = ("linear", "cross_entropy")
GAINS = {"relu": 2.0, "linear": 1.0}  # He for ReLU, LeCun for the linear network: Var(W) = gain/fan_in
DEFAULT_BATCH = 512
CLASSES = 10  # the cross-entropy loss's readout: CIFAR-10's number of classes


# --- closed form ------------------------------------------------------------------------------------

def mean_field_growth(activation: str = "relu") -> float:
    """The per-layer factor by which the gradient's norm grows going backwards through a BN layer, in
    the large-batch, wide-layer mean-field limit: √(E[φ'(z)²] / Var φ(z)), z ~ N(0, 1) (module
    docstring). ReLU: √(π/(π−1)) ≈ 1.2112, Yang et al.'s large-batch rate. Linear: 1; a BN-linear
    network's gradients grow only at finite batch (what :func:`growth_by_batch` measures)."""
    _choice(activation, ACTIVATIONS, "activation")
    return math.sqrt(math.pi / (math.pi - 1)) if activation == "relu" else 1.0


# --- the network ------------------------------------------------------------------------------------

def init_weights(depth: int, width: int, in_features: int | None = None, *, activation: str = "relu",
                 seed: int = 0, dtype: torch.dtype = torch.float32) -> list[torch.Tensor]:
    """``depth`` weight matrices (out × in), N(0, gain/fan_in), drawn layer by layer from ``seed``.
    The first takes ``in_features`` inputs (default ``width``). These are the first draws of the
    seed's generator, so they do not depend on the batch, the loss or BN."""
    depth, width = _count(depth, "depth", 2), _count(width, "width", 1)
    in_features = width if in_features is None else _count(in_features, "in_features", 1)
    _choice(activation, ACTIVATIONS, "activation")
    gen = torch.Generator().manual_seed(_seed(seed))
    return _weights(depth, width, in_features, activation, gen, dtype)


def _weights(depth: int, width: int, in_features: int, activation: str, gen: torch.Generator,
             dtype: torch.dtype) -> list[torch.Tensor]:
    fans = [in_features] + [width] * (depth - 1)
    return [torch.randn(width, fan, generator=gen, dtype=dtype) * math.sqrt(GAINS[activation] / fan) for fan in fans]


def forward(x: torch.Tensor, weights: Sequence[torch.Tensor], *, batch_norm: bool, activation: str = "relu",
            eps: float = 1e-5) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """The network on a batch ``x`` (batch × features): the pre-activations [y_1, …, y_depth] (what BN
    receives, when there is BN) and the representations [h_0 = x, h_1, …, h_depth]. BN is in training
    mode (batch mean and biased variance, as ``nn.BatchNorm1d`` with γ = 1, β = 0)."""
    _choice(activation, ACTIVATIONS, "activation")
    if batch_norm and x.shape[0] < 2:
        raise ValueError(f"BN in training mode needs a batch of at least 2, got {x.shape[0]}")
    return _forward(x, weights, batch_norm, activation, eps)


def _forward(x: torch.Tensor, weights: Sequence[torch.Tensor], batch_norm: bool, activation: str, eps: float,
             track: bool = False) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """With ``track``, y_1 is made to require grad, so autograd follows every y_l but never the inputs
    or the weights: the backward pass then costs one product per layer, all the gradient needs."""
    pre, reps = [], [x]
    h = x
    for w in weights:
        y = h @ w.T
        if track and not y.requires_grad:
            y.requires_grad_(True)
        z = F.batch_norm(y, None, None, training=True, eps=eps) if batch_norm else y
        h = torch.relu(z) if activation == "relu" else z
        pre.append(y)
        reps.append(h)
    return pre, reps


# --- gradient explosion -----------------------------------------------------------------------------

def gradient_norms(depth: int = 50, width: int = 512, batch: int | None = None, *, batch_norm: bool = True,
                   activation: str = "relu", seed: int = 0, inputs: torch.Tensor | None = None,
                   loss: str = "linear", weight_grads: bool = False, eps: float = 1e-5,
                   dtype: torch.dtype = torch.float32) -> dict[str, np.ndarray]:
    """‖∂L/∂y_l‖ (Frobenius, over the batch and the units) for every layer l = 1…depth of one network
    at initialization, the per-layer ratios ‖∂L/∂y_l‖ / ‖∂L/∂y_{l+1}‖, and the fitted growth factor.

    ``inputs``: a batch (batch × anything, flattened), e.g. CIFAR-10 images; without it, ``batch``
    (default 512) standard Gaussian inputs of dimension ``width``. ``loss``:

    - ``"linear"`` (the default): L = Σ G ⊙ h_depth with G a fixed standard Gaussian matrix (batch ×
      width). Its gradient at the top is a random matrix independent of the forward pass, which is
      what the mean-field calculation assumes, and it differs from sample to sample: a gradient
      that is the same for every sample (a plain linear readout of the summed outputs) would be
      removed entirely by the top BN's backward pass, which subtracts the batch mean.
    - ``"cross_entropy"``: a random linear readout to 10 classes (N(0, 1/width)) and random labels,
      summed over the batch: a check that the rate does not depend on the loss.

    ``weight_grads`` adds ‖∂L/∂W_l‖ = ‖(∂L/∂y_l)ᵀ h_{l−1}‖ (one more product per layer).
    Returns ``layer`` (1…depth), ``grad_norm``, ``ratio`` (depth − 1), ``factor`` (:func:`fit_growth`
    over its default layers), and ``weight_grad_norm`` when asked.
    """
    depth, width = _count(depth, "depth", 2), _count(width, "width", 1)
    _choice(activation, ACTIVATIONS, "activation")
    _choice(loss, LOSSES, "loss")
    x, weights, gen = _network(depth, width, batch, inputs, batch_norm, activation, seed, dtype, need=3)
    with torch.enable_grad():
        pre, reps = _forward(x, weights, batch_norm, activation, eps, track=True)
        top = reps[-1]
        if loss == "linear":
            total = (torch.randn(top.shape, generator=gen, dtype=dtype) * top).sum()
        else:
            readout = torch.randn(width, CLASSES, generator=gen, dtype=dtype) / math.sqrt(width)
            labels = torch.randint(0, CLASSES, (top.shape[0],), generator=gen)
            total = F.cross_entropy(top @ readout, labels, reduction="sum")
        grads = torch.autograd.grad(total, pre)
    norms = np.array([float(g.norm()) for g in grads])
    _finite(norms, "gradient norms")
    out = {"layer": np.arange(1, depth + 1), "grad_norm": norms, "ratio": norms[:-1] / norms[1:],
           "factor": fit_growth(norms)}
    if weight_grads:
        out["weight_grad_norm"] = np.array([float((g.T @ h.detach()).norm()) for g, h in zip(grads, reps[:-1])])
    return out


def default_fit_layers(depth: int) -> tuple[int, int]:
    """Layers 2…depth−1 (1-based, inclusive): the first is left out because its input is the data,
    not a normalised layer's output (with Gaussian inputs and He's scale its BN divides by √2, not by
    √((π−1)/π), and its ratio to layer 2 is ≈ 0.71), the top because the loss's gradient enters there.
    The other layers show no transient worth cutting; for depth < 4 all layers are used."""
    return (2, depth - 1) if depth >= 4 else (1, depth)


def fit_growth(norms: Sequence[float] | np.ndarray, layers: tuple[int, int] | None = None) -> float:
    """The per-layer growth factor going backwards: exp(−slope) of a least-squares line through
    log ‖∂L/∂y_l‖ against l over ``layers`` (first, last; 1-based, inclusive; default
    :func:`default_fit_layers`). A geometric fit, so one noisy layer moves it little."""
    norms = np.asarray(norms, dtype=np.float64)
    if norms.ndim != 1 or norms.size < 2:
        raise ValueError(f"need one gradient norm per layer, at least 2 layers; got shape {norms.shape}")
    first, last = default_fit_layers(norms.size) if layers is None else layers
    if not (1 <= first < last <= norms.size):
        raise ValueError(f"layers must be (first, last) with 1 ≤ first < last ≤ {norms.size}, got {layers}")
    part = norms[first - 1:last]
    if not (np.isfinite(part).all() and (part > 0).all()):
        raise ValueError("the gradient norms to fit must be finite and positive")
    slope = np.polyfit(np.arange(first, last + 1, dtype=np.float64), np.log(part), 1)[0]
    return float(np.exp(-slope))


def gradient_survey(seeds: Sequence[int], depth: int = 50, width: int = 512, batch: int | None = None, *,
                    batch_norm: bool = True, activation: str = "relu", inputs: torch.Tensor | None = None,
                    loss: str = "linear", layers: tuple[int, int] | None = None, weight_grads: bool = False,
                    eps: float = 1e-5, dtype: torch.dtype = torch.float32) -> dict[str, np.ndarray | float]:
    """:func:`gradient_norms` for each seed (a loop: one network at a time keeps memory at one
    network's, and a seed's numbers do not depend on which other seeds run). Returns ``seed``,
    ``layer``, ``grad_norm`` and ``ratio`` (seeds × layers), ``factor`` (per seed, fitted over
    ``layers``), and ``mean_field`` (:func:`mean_field_growth` with BN, 1 without)."""
    seeds = _seeds(seeds)
    runs = [gradient_norms(depth, width, batch, batch_norm=batch_norm, activation=activation, seed=s, inputs=inputs,
                           loss=loss, weight_grads=weight_grads, eps=eps, dtype=dtype) for s in seeds]
    out: dict[str, np.ndarray | float] = {"seed": np.array(seeds), "layer": runs[0]["layer"]}
    for key in ("grad_norm", "ratio", "weight_grad_norm"):
        if key in runs[0]:
            out[key] = np.stack([r[key] for r in runs])
    out["factor"] = np.array([fit_growth(r["grad_norm"], layers) for r in runs])
    out["mean_field"] = mean_field_growth(activation) if batch_norm else 1.0
    return out


def growth_by_batch(batches: Sequence[int], seeds: Sequence[int], depth: int = 50, width: int = 512, *,
                    batch_norm: bool = True, activation: str = "relu", loss: str = "linear",
                    layers: tuple[int, int] | None = None, eps: float = 1e-5,
                    dtype: torch.dtype = torch.float32) -> dict[str, np.ndarray | float]:
    """The fitted growth factor at each batch size (Gaussian inputs), per seed: ``batch``, ``seed``,
    ``factor`` (batches × seeds) and ``mean_field``. The same seed has the same weights at every
    batch size. We give no formula for finite batches: read the measurement (with ReLU and BN the
    factor is larger at small batches, and at width 512 falls slightly below the large-batch value
    once the batch is comparable to the width)."""
    batches = [_count(b, "batch", 1) for b in batches]
    if not batches:
        raise ValueError("give at least one batch size")
    rows = [gradient_survey(seeds, depth, width, b, batch_norm=batch_norm, activation=activation, loss=loss,
                            layers=layers, eps=eps, dtype=dtype)["factor"] for b in batches]
    return {"batch": np.array(batches), "seed": np.array(_seeds(seeds)), "factor": np.stack(rows),
            "mean_field": mean_field_growth(activation) if batch_norm else 1.0}


# --- rank collapse ----------------------------------------------------------------------------------

def effective_rank(h: torch.Tensor, centered: bool = False) -> float:
    """Roy & Vetterli's (2007) effective rank of a batch representation h (batch × units):
    exp(H(p)), H the Shannon entropy of p = s/‖s‖₁, s the singular values. Between 1 (all samples
    on one line) and min(batch, units) (all singular values equal); unlike a thresholded rank it
    needs no tolerance, and it does not depend on h's scale.

    Uncentred by default: collapse is the samples' representations lining up along a common
    direction, which in a ReLU network without BN is mostly their shared mean; subtracting the batch
    mean would remove exactly that direction and hide most of the collapse (``centered=True`` shows
    how much is left). After BN with a linear activation the two coincide (BN's output has zero
    batch mean). Singular values in h's dtype, the entropy in float64."""
    if not isinstance(h, torch.Tensor) or h.dim() != 2 or min(h.shape) < 1:
        raise ValueError(f"h must be a 2-D tensor (batch × units), got "
                         f"{tuple(h.shape) if isinstance(h, torch.Tensor) else type(h).__name__}")
    h = h.detach()
    if centered:
        h = h - h.mean(0, keepdim=True)
    s = torch.linalg.svdvals(h).to(torch.float64)
    if not torch.isfinite(s).all():
        raise ValueError("h has non-finite values")
    total = s.sum()
    if total <= 0:
        raise ValueError("h is zero: its effective rank is undefined")
    p = s / total
    p = p[p > 0]
    return float(torch.exp(-(p * p.log()).sum()))


def rank_by_depth(depth: int = 50, width: int = 512, batch: int | None = None, *, batch_norm: bool = True,
                  activation: str = "relu", seed: int = 0, inputs: torch.Tensor | None = None,
                  centered: bool = False, layers: Sequence[int] | None = None, eps: float = 1e-5,
                  dtype: torch.dtype = torch.float32) -> dict[str, np.ndarray]:
    """The effective rank (:func:`effective_rank`) of the representations h_l at ``layers`` (default
    every layer, 0 = the inputs, …, depth) of one network at initialization. Forward only. Inputs,
    weights and seeds as in :func:`gradient_norms` (same seed, same weights and Gaussian inputs).
    One singular-value decomposition per layer is the cost (about 30 ms at 512 × 512 on a 2-core
    CPU), so ``layers`` can thin it. Returns ``layer`` and ``effective_rank``, and ``max_rank``
    (min(batch, units) of each layer's h)."""
    depth, width = _count(depth, "depth", 2), _count(width, "width", 1)
    _choice(activation, ACTIVATIONS, "activation")
    chosen = list(range(depth + 1)) if layers is None else [int(i) for i in layers]
    if not chosen or any(not 0 <= i <= depth for i in chosen):
        raise ValueError(f"layers must be between 0 (the inputs) and depth={depth}, got {layers}")
    x, weights, _ = _network(depth, width, batch, inputs, batch_norm, activation, seed, dtype, need=2)
    with torch.no_grad():
        _, reps = _forward(x, weights, batch_norm, activation, eps)
        ranks = np.array([effective_rank(reps[i], centered) for i in chosen])
    return {"layer": np.array(chosen), "effective_rank": ranks,
            "max_rank": np.array([min(reps[i].shape) for i in chosen])}


def rank_survey(seeds: Sequence[int], depth: int = 50, width: int = 512, batch: int | None = None, *,
                batch_norm: bool = True, activation: str = "relu", inputs: torch.Tensor | None = None,
                centered: bool = False, layers: Sequence[int] | None = None, eps: float = 1e-5,
                dtype: torch.dtype = torch.float32) -> dict[str, np.ndarray]:
    """:func:`rank_by_depth` for each seed: ``seed``, ``layer``, ``effective_rank`` (seeds × layers),
    ``max_rank``."""
    seeds = _seeds(seeds)
    runs = [rank_by_depth(depth, width, batch, batch_norm=batch_norm, activation=activation, seed=s, inputs=inputs,
                          centered=centered, layers=layers, eps=eps, dtype=dtype) for s in seeds]
    return {"seed": np.array(seeds), "layer": runs[0]["layer"],
            "effective_rank": np.stack([r["effective_rank"] for r in runs]), "max_rank": runs[0]["max_rank"]}


# --- checks -----------------------------------------------------------------------------------------

def _count(value: int, name: str, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
        raise ValueError(f"{name} must be an integer ≥ {least}, got {value!r}")
    return int(value)


def _seed(seed: int) -> int:
    return _count(seed, "seed", 0)


def _seeds(seeds: Sequence[int]) -> list[int]:
    seeds = [_seed(s) for s in seeds]
    if not seeds:
        raise ValueError("give at least one seed")
    return seeds


def _choice(value: str, choices: Sequence[str], name: str) -> None:
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; choose one of: {', '.join(choices)}")


def _finite(values: np.ndarray, what: str) -> None:
    if not np.isfinite(values).all():
        raise FloatingPointError(f"non-finite {what}: use dtype=torch.float64 or a smaller depth")


def _network(depth: int, width: int, batch: int | None, inputs: torch.Tensor | None, batch_norm: bool,
             activation: str, seed: int, dtype: torch.dtype, need: int,
             ) -> tuple[torch.Tensor, list[torch.Tensor], torch.Generator]:
    """The batch (flattened to batch × features), the weights and the seed's generator, which then
    draws the loss. The weights are the generator's first draws, the Gaussian inputs the next ones.
    ``need``: the smallest batch BN allows here (3 for gradients: at a batch of 2, BN's backward pass
    projects off span{1, ŷ}, which is all of R², so every gradient below the top BN is zero)."""
    gen = torch.Generator().manual_seed(_seed(seed))
    if inputs is None:
        n = DEFAULT_BATCH if batch is None else _count(batch, "batch", 1)
    else:
        if not isinstance(inputs, torch.Tensor) or inputs.dim() < 2 or inputs[0].numel() < 1:
            raise ValueError("inputs must be a tensor of shape (batch, features…), e.g. CIFAR-10 images")
        if batch is not None and batch != inputs.shape[0]:
            raise ValueError(f"inputs hold {inputs.shape[0]} samples but batch={batch}; leave batch out")
        n = inputs.shape[0]
    if batch_norm and n < need:
        why = ("BN's batch statistics need 2 samples" if need == 2 else
               "at a batch of 2 BN's backward pass projects the gradient off span{1, ŷ}, all of R², so it is zero")
        raise ValueError(f"with BN the batch must be at least {need} ({why}); got {n}")
    features = width if inputs is None else inputs[0].numel()
    weights = _weights(depth, width, features, activation, gen, dtype)
    if inputs is None:
        x = torch.randn(n, width, generator=gen, dtype=dtype)
    else:
        x = inputs.detach().reshape(n, -1).to(dtype=dtype, device="cpu")
        if not torch.isfinite(x).all():
            raise ValueError("inputs have non-finite values")
    return x, weights, gen
