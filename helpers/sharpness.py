"""Sharpness: the top eigenvalue λ_max of the training loss's Hessian, and a probe that follows it.

Gradient descent with step η on a quadratic ½ xᵀAx multiplies the component of x along an
eigenvector of A by (1 − ηλ) per step, so it diverges exactly when λ_max(A) > 2/η. Neural networks
trained with full-batch GD drive λ_max up to about 2/η and then hover there ("edge of stability",
Cohen et al. 2021); the smoothness the paper measures along the gradient is one slice of the same
curvature. With BN, the loss is invariant to the scale of each normalised layer's weights, so
H(cw) = H(w)/c² there and λ_max alone says little until it is read as λ_max·‖w‖² (scale-aware).

- :class:`HessianOperator` and :func:`hvp`: Hessian-vector products H v, by double backward or by
  forward-over-reverse (``torch.func.jvp`` of ``torch.func.grad``), never forming H.
- :func:`model_loss`: a model's loss on one batch as a function of its trainable parameters,
  in the mode the model is in (training mode for the training loss), without touching its state.
- :func:`lanczos` and :func:`power_iteration`: λ_max from matrix-vector products; both return an
  :class:`EigenEstimate` (value, products used, residual, converged), and work on several
  independent operators at once (rows), which is how an ensemble gets one λ_max per member.
- :func:`top_hessian_eigenvalue`: the two put together.
- :class:`SharpnessProbe`: λ_max, its cost and ‖w‖ during training, leaving training unchanged.

**Train mode, not eval mode.** SGD descends the loss of the network in training mode: BN
normalises with the batch's own mean and variance, which depend on the weights, so they are
differentiated through. Hessian tools that call ``model.eval()`` first (PyHessian's ``hessian``
class does) measure another function, in which BN divides by the running statistics as
constants: a per-channel affine map. Nothing here switches modes. In training mode every BN forward also updates the
running statistics; all forwards here go through ``torch.func.functional_call`` with copies of the
buffers, so the model's running statistics are never changed by a measurement.

Taught in notebook 08.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from .probe_protocol import Probe, ProbeContext, Record, RNGState, _norm, loss_at, rng_state

HVP_METHODS = ("double_backward", "forward_over_reverse")
EIGEN_METHODS = ("lanczos", "power")
LossFn = Callable[[Sequence[torch.Tensor]], torch.Tensor]
MatVec = Callable[[torch.Tensor], torch.Tensor]


# --- Hessian-vector products -----------------------------------------------------------------

class HessianOperator:
    """v ↦ H v, H the Hessian of ``loss_fn`` at ``params`` (copied: the point stays fixed).

    ``loss_fn`` maps a list of tensors shaped like ``params`` to the loss; a loss with several
    values (an ensemble's, one per member) is summed, which for independent members makes H
    block-diagonal with each member's own Hessian. ``method``:

    - ``"double_backward"`` (default): one forward and backward pass builds the gradient with its
      graph (``create_graph=True``); each product is then one backward pass through that graph,
      the cheapest when many products are taken at one point (Lanczos, power iteration).
    - ``"forward_over_reverse"``: ``torch.func.jvp`` of ``torch.func.grad``; each product re-runs
      the forward and backward pass in forward mode, holding no graph between products.

    ``calls`` counts the products taken. Vectors are lists of tensors shaped like ``params``.
    """

    def __init__(self, loss_fn: LossFn, params: Sequence[torch.Tensor], method: str = "double_backward"):
        _check_choice("HVP method", method, HVP_METHODS)
        if not params:
            raise ValueError("the Hessian needs at least one parameter tensor")
        self.loss_fn, self.method, self.calls = loss_fn, method, 0
        self.params = [p.detach().clone() for p in params]
        if method == "double_backward":
            self._leaves, self._grads = self._gradient_graph()

    def _gradient_graph(self) -> tuple[list[torch.Tensor], list[torch.Tensor | None]]:
        """The gradient at the point, with the graph that a second backward pass differentiates."""
        leaves = [p.detach().requires_grad_(True) for p in self.params]
        with torch.enable_grad():
            loss = _total(self.loss_fn(leaves))
            grads = torch.autograd.grad(loss, leaves, create_graph=True, allow_unused=True)
        return leaves, [g if g is not None and g.requires_grad else None for g in grads]  # None: H's rows are 0

    def __call__(self, vectors: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        vectors = self._checked(vectors)
        self.calls += 1
        if self.method == "double_backward":
            return self._double_backward(vectors)
        return self._forward_over_reverse(vectors)

    def _double_backward(self, vectors: list[torch.Tensor]) -> list[torch.Tensor]:
        """H v = ∇(∇L · v): backpropagate v through the gradient's graph (kept for the next product)."""
        pairs = [(g, v) for g, v in zip(self._grads, vectors) if g is not None]
        if not pairs:
            return [torch.zeros_like(p) for p in self.params]
        with torch.enable_grad():
            products = torch.autograd.grad([g for g, _ in pairs], self._leaves, grad_outputs=[v for _, v in pairs],
                                           retain_graph=True, allow_unused=True)
        return [torch.zeros_like(p) if h is None else h.detach() for p, h in zip(self.params, products)]

    def _forward_over_reverse(self, vectors: list[torch.Tensor]) -> list[torch.Tensor]:
        """H v as the directional derivative of the gradient along v (forward mode over reverse mode)."""
        gradient = torch.func.grad(lambda ps: _total(self.loss_fn(list(ps))))
        _, products = torch.func.jvp(gradient, (tuple(self.params),), (tuple(vectors),))
        return [h.detach() for h in products]

    def _checked(self, vectors: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        vectors = list(vectors)
        shapes = [tuple(p.shape) for p in self.params]
        if [tuple(v.shape) for v in vectors] != shapes:
            raise ValueError(f"the vectors must be shaped like the parameters {shapes}, "
                             f"got {[tuple(v.shape) for v in vectors]}")
        return [v.to(dtype=p.dtype, device=p.device) for v, p in zip(vectors, self.params)]


def hvp(loss_fn: LossFn, params: Sequence[torch.Tensor], vectors: Sequence[torch.Tensor],
        method: str = "double_backward") -> list[torch.Tensor]:
    """One Hessian-vector product H v at ``params`` (see :class:`HessianOperator`)."""
    return HessianOperator(loss_fn, params, method)(vectors)


def _total(loss: torch.Tensor) -> torch.Tensor:
    """The loss as one number: an ensemble's per-member losses summed (their Hessian blocks stay apart)."""
    return loss if loss.dim() == 0 else loss.sum()


def model_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
               loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
               rng: RNGState | None = None) -> tuple[LossFn, list[torch.Tensor]]:
    """The loss on the batch ``x``, ``y`` as a function of ``model``'s trainable parameters, and
    their current values: ``loss, params = model_loss(...)``, then ``HessianOperator(loss, params)``.

    The model runs in the mode it is in, which is the point: in training mode (as during
    :func:`helpers.train.fit`) BN normalises with the batch's statistics and this is the training
    loss; do not call ``model.eval()`` first, that measures the inference network instead. Each
    evaluation goes through :func:`helpers.probes.loss_at`: copies of the buffers (the running
    statistics stay as they are) and the random state ``rng`` (now's by default) replayed, so a
    noisy layer draws the same noise at every evaluation and the caller's random stream is untouched.
    """
    ctx = ProbeContext(model, x, y, step=0, loss_fn=loss_fn, optimizer=None, lr=math.nan)  # loss_at needs no more
    return _trainable_loss(ctx, rng_state(x.device) if rng is None else rng)


def _trainable_loss(ctx: ProbeContext, rng: RNGState) -> tuple[LossFn, list[torch.Tensor]]:
    """``loss_at`` on the context's batch as a function of the trainable parameters; the others fixed."""
    point = {name: p.detach() for name, p in ctx.model.named_parameters()}
    trainable = [name for name, p in ctx.model.named_parameters() if p.requires_grad]

    def loss(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
        return loss_at(ctx, {**point, **dict(zip(trainable, tensors))}, rng)

    return loss, [point[name] for name in trainable]


# --- the top eigenvalue ----------------------------------------------------------------------

@dataclass(frozen=True)
class EigenEstimate:
    """An estimate of the top eigenvalue, as plain numbers (arrays with one entry per row when the
    solver ran on several independent operators at once, e.g. ensemble members).

    ``value``: the estimate; ``hvps``: matrix-vector products used (one product serves all rows);
    ``residual``: ‖H v − value·v‖ for the unit vector v behind the estimate, an error bar (some
    eigenvalue lies within it, and the estimate's own error is typically residual²/gap);
    ``converged``: residual ≤ tol·|value|; ``method``: "lanczos" or "power".
    """

    value: float | np.ndarray
    hvps: int
    residual: float | np.ndarray
    converged: bool | np.ndarray
    method: str


def lanczos(matvec: MatVec, start: torch.Tensor, iterations: int = 20, tol: float = 1e-3) -> EigenEstimate:
    """The largest (algebraic) eigenvalue of a symmetric operator, by Lanczos with full reorthogonalisation.

    ``start`` is a vector (n,), or rows (m, n) of m independent problems that ``matvec`` maps
    row by row. After k products, the largest eigenvalue of the k×k tridiagonal matrix T (the
    operator restricted to the Krylov space) estimates λ_max, far better than k power steps.
    Every new vector is orthogonalised against all earlier ones (twice: "twice is enough"), which
    costs k stored vectors but keeps rounding from producing copies of converged eigenvalues. Stops
    after ``iterations`` products or once every row's residual is ≤ tol·|estimate|; a row whose
    Krylov space closes (an invariant subspace: exact) stops early, its vector set to zero.
    """
    _check_solver(iterations, tol)
    rows, apply, single = _as_rows(matvec, start)
    m, n = rows.shape
    basis = rows.new_zeros(m, min(iterations, n), n)  # more than n vectors cannot be orthogonal
    q = _normalised(rows)
    alphas, betas = np.zeros((m, 0)), np.zeros((m, 0))
    lengths, scale = np.zeros(m, dtype=int), np.zeros(m)
    active, exact = np.ones(m, dtype=bool), np.zeros(m, dtype=bool)
    limit = 100 * torch.finfo(rows.dtype).eps  # a β this small (relative to ‖H‖) means the space closed
    for k in range(basis.shape[1]):
        basis[:, k] = q
        w = apply(q)
        alpha = (q * w).sum(-1)
        w = _orthogonalised(w, basis[:, :k + 1])
        beta = torch.linalg.vector_norm(w, dim=-1)
        alphas, betas = np.column_stack([alphas, _host(alpha)]), np.column_stack([betas, _host(beta)])
        lengths[active] = k + 1
        scale = np.fmax(scale, np.fmax(np.abs(alphas[:, -1]), betas[:, -1]))
        going = betas[:, -1] > limit * scale  # False for a NaN row (a diverged member): stopped, not exact
        exact |= active & (betas[:, -1] <= limit * scale)
        active &= going
        theta, residual = _ritz(alphas, betas, lengths)
        if np.all((residual <= tol * np.abs(theta)) | ~active):
            break
        keep = torch.as_tensor(active, device=w.device)[:, None]
        q = torch.where(keep, w / beta.clamp_min(torch.finfo(w.dtype).tiny)[:, None], 0)
    return _estimate("lanczos", theta, residual, tol, k + 1, single, exact)


def power_iteration(matvec: MatVec, start: torch.Tensor, iterations: int = 20, tol: float = 1e-3,
                    ) -> EigenEstimate:
    """The eigenvalue of largest magnitude, by power iteration: v ← H v/‖H v‖, estimate vᵀH v.

    Kept as the simple baseline for Lanczos. It converges like (λ₂/λ₁)^k, slowly when the top
    eigenvalues are close, and it finds the eigenvalue of largest |λ|, which is λ_max only when
    λ_max > |λ_min| (usual for a training loss, not guaranteed away from a minimum). ``start``,
    ``iterations`` and ``tol`` as for :func:`lanczos`.
    """
    _check_solver(iterations, tol)
    rows, apply, single = _as_rows(matvec, start)
    v, hvps = _normalised(rows), 0
    while True:
        w = apply(v)
        hvps += 1
        theta = (v * w).sum(-1)
        residual = torch.linalg.vector_norm(w - theta[:, None] * v, dim=-1)
        theta_host, residual_host = _host(theta), _host(residual)
        done = (residual_host <= tol * np.abs(theta_host)) | ~np.isfinite(theta_host)
        if hvps == iterations or np.all(done):
            break
        size = torch.linalg.vector_norm(w, dim=-1)[:, None]
        v = torch.where(size > 0, w / size.clamp_min(torch.finfo(w.dtype).tiny), v)  # H v = 0: v is an eigenvector
    return _estimate("power", theta_host, residual_host, tol, hvps, single)


SOLVERS: dict[str, Callable[..., EigenEstimate]] = {"lanczos": lanczos, "power": power_iteration}


def _orthogonalised(w: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """``w`` (m, n) minus its projection on each row's basis (m, k, n), done twice for rounding."""
    for _ in range(2):
        w = w - torch.einsum("mk,mkn->mn", torch.einsum("mkn,mn->mk", basis, w), basis)
    return w


def _ritz(alphas: np.ndarray, betas: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the largest eigenvalue θ of its tridiagonal T and that Ritz pair's residual β_k·|s_k|."""
    theta, residual = np.full(len(lengths), np.nan), np.full(len(lengths), np.nan)
    for r, k in enumerate(lengths):
        a, b = alphas[r, :k], betas[r, :k]
        if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
            continue  # a diverged member: no estimate
        values, vectors = np.linalg.eigh(np.diag(a) + np.diag(b[:-1], 1) + np.diag(b[:-1], -1))
        theta[r], residual[r] = values[-1], b[-1] * abs(vectors[-1, -1])
    return theta, residual


def _as_rows(matvec: MatVec, start: torch.Tensor) -> tuple[torch.Tensor, MatVec, bool]:
    """``start`` as rows (m, n), a ``matvec`` that takes rows, and whether the caller gave one vector."""
    if start.dim() not in (1, 2) or start.shape[-1] == 0:
        raise ValueError(f"start must be a vector (n,) or rows (m, n), got shape {tuple(start.shape)}")
    if not torch.all(torch.linalg.vector_norm(start.reshape(-1, start.shape[-1]), dim=-1) > 0):
        raise ValueError("start must be non-zero (in every row)")
    if start.dim() == 2:
        return start, matvec, False
    return start[None], lambda rows: matvec(rows[0])[None], True


def _normalised(rows: torch.Tensor) -> torch.Tensor:
    return rows / torch.linalg.vector_norm(rows, dim=-1, keepdim=True)


def _host(values: torch.Tensor) -> np.ndarray:
    return values.detach().double().cpu().numpy()


def _estimate(method: str, theta: np.ndarray, residual: np.ndarray, tol: float, hvps: int, single: bool,
              exact: np.ndarray | bool = False) -> EigenEstimate:
    """The solver's arrays as an :class:`EigenEstimate`; ``exact`` rows (Krylov space closed) have converged."""
    converged = (residual <= tol * np.abs(theta)) | exact
    if single:
        return EigenEstimate(float(theta[0]), hvps, float(residual[0]), bool(converged[0]), method)
    return EigenEstimate(theta, hvps, residual, converged, method)


def start_vector(size: int, seed: int = 0, rows: int | None = None, dtype: torch.dtype = torch.float32,
                 device: torch.device | str = "cpu") -> torch.Tensor:
    """A fixed random start (n,), or the same one in each of ``rows`` rows: drawn in float64 on the
    CPU from its own generator, so it is the same on every device and leaves the global RNG alone."""
    vector = torch.randn(size, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    vector = vector.to(dtype=dtype, device=device)
    return vector if rows is None else vector.expand(rows, size).clone()


def top_hessian_eigenvalue(loss_fn: LossFn, params: Sequence[torch.Tensor], *, method: str = "lanczos",
                           hvp: str = "double_backward", iterations: int = 20, tol: float = 1e-3, seed: int = 0,
                           members: int | None = None) -> EigenEstimate:
    """λ_max of the Hessian of ``loss_fn`` at ``params`` (see :class:`HessianOperator` and
    :func:`model_loss`), by ``method`` "lanczos" or "power", from the fixed start of ``seed``.

    ``members``: the parameters are an ensemble's (:mod:`helpers.ensemble`: member-major, so
    ``t.reshape(members, -1)[k]`` is member k's) and the loss one value per member; the Hessian
    is then block-diagonal, and one product per iteration serves every member: one λ_max per member
    (arrays), each member started from the same vector, as its single run would be.
    """
    _check_choice("eigenvalue method", method, EIGEN_METHODS)
    _check_solver(iterations, tol)
    if members is not None and any(t.numel() % members for t in params):
        raise ValueError(f"members={members} does not divide every parameter tensor's size")
    operator = HessianOperator(loss_fn, params, hvp)
    like = operator.params
    size = sum(t.numel() for t in like) // (members or 1)
    start = start_vector(size, seed, members, like[0].dtype, like[0].device)
    return SOLVERS[method](lambda flat: _flatten(operator(_unflatten(flat, like, members)), members),
                           start, iterations, tol)


def _flatten(tensors: Sequence[torch.Tensor], members: int | None) -> torch.Tensor:
    """Tensors as one vector, or as one row per ensemble member (member-major tensors)."""
    rows = torch.cat([t.reshape(members or 1, -1) for t in tensors], dim=1)
    return rows[0] if members is None else rows


def _unflatten(flat: torch.Tensor, like: Sequence[torch.Tensor], members: int | None) -> list[torch.Tensor]:
    rows = flat.reshape(members or 1, -1)
    sizes = [t.numel() // (members or 1) for t in like]
    return [part.reshape(t.shape) for part, t in zip(rows.split(sizes, dim=1), like)]


def _check_choice(what: str, value: Any, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ValueError(f"unknown {what} {value!r}; choose one of: {', '.join(choices)}")


def _check_solver(iterations: Any, tol: Any) -> None:
    if isinstance(iterations, bool) or not isinstance(iterations, (int, np.integer)) or iterations < 1:
        raise ValueError(f"iterations must be a positive integer, got {iterations!r}")
    if isinstance(tol, bool) or not isinstance(tol, (int, float, np.floating)) or not 0 <= tol < math.inf:
        raise ValueError(f"tol must be a finite number ≥ 0, got {tol!r}")


# --- the probe -------------------------------------------------------------------------------

class SharpnessProbe(Probe):
    """λ_max of the training loss's Hessian every ``every`` steps, at the step's weights on its batch.

    Records (``History.probes["sharpness"]``): ``lambda_max``, ``hvps`` (products used: the cost),
    ``residual`` and ``converged`` (see :class:`EigenEstimate`), and ``weight_norm`` ‖w‖ over all
    trainable parameters (BN's γ and β included), for the scale-aware λ_max·‖w‖². ``describe()``
    adds the run's ``lr``, so λ_max can be read against 2/η. Settings: ``iterations`` (the most
    products), ``method`` ("lanczos" or "power"), ``hvp`` (see :class:`HessianOperator`), ``tol``
    and ``seed`` (the fixed start vector).

    Measured in ``before``, on the weights w the step starts from and the step's batch, with the
    random state the training pass will use (a noisy BN draws its noise), through
    :func:`helpers.probes.loss_at`: BN in training mode, copies of the running statistics, random
    state restored, ``.grad`` untouched; training goes on exactly as without the probe. Measuring
    before the training forward pass also means a probe with forward hooks
    (:class:`~helpers.probes.ActivationProbe`) sees the training pass last.

    On an ensemble (:mod:`helpers.ensemble`) every record is per member (leading axis ``members``):
    members are independent, so one product per iteration serves all of them (``hvps`` is the
    same for all). A diverged member's records are NaN.
    """

    def __init__(self, every: int, iterations: int = 20, method: str = "lanczos", hvp: str = "double_backward",
                 tol: float = 1e-3, seed: int = 0, name: str = "sharpness"):
        super().__init__(name, every)
        _check_choice("eigenvalue method", method, EIGEN_METHODS)
        _check_choice("HVP method", hvp, HVP_METHODS)
        _check_solver(iterations, tol)
        self.iterations, self.method, self.hvp = int(iterations), method, hvp
        self.tol, self.seed = float(tol), int(seed)

    def settings(self) -> dict[str, Any]:
        return {"iterations": self.iterations, "method": self.method, "hvp": self.hvp, "tol": self.tol,
                "seed": self.seed}

    def start(self, model: nn.Module) -> None:
        self.lr: float | None = None

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "lr": self.lr}

    def before(self, ctx: ProbeContext) -> Record:
        self.lr = ctx.lr
        members = getattr(ctx.model, "members", None)
        loss, params = _trainable_loss(ctx, rng_state(ctx.x.device))
        estimate = top_hessian_eigenvalue(loss, params, method=self.method, hvp=self.hvp,
                                          iterations=self.iterations, tol=self.tol, seed=self.seed, members=members)
        return {"lambda_max": estimate.value, "hvps": np.full(np.shape(estimate.value), estimate.hvps),
                "residual": estimate.residual, "converged": np.asarray(estimate.converged),
                "weight_norm": _norm(params, members)}  # as the landscape probe records it
