"""The probe protocol: what the engine calls at a probed step, and what every probe is built on.

- :class:`Probe` and :class:`ProbeContext`: what the engine calls at a probed step, and what a
  probe sees there; :class:`FunctionProbe`, a probe made of plain functions.
- :func:`loss_at` evaluates the loss at other weights on the step's batch with the training pass's
  randomness replayed; :class:`PreStepProbe` keeps the weights from before the step for that.

Keyed code (:data:`helpers.fingerprints.ENGINE_MODULES`): the engine runs it at every step, with or
without probes. The probes themselves (:mod:`helpers.probes` and others) are keyed by their own code.
Taught in notebook 00 (a probe written in a cell) and notebook 03.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from .fingerprints import code_fingerprint

Record = dict[str, Any] | None


@dataclass
class ProbeContext:
    """What a probe sees at a probed step.

    In ``before`` the model holds the weights w of this step, before its update; in ``after`` it
    holds the updated weights, and each parameter's ``.grad`` holds the step's gradient
    g = ∇L(w) on the batch ``x``, ``y``. ``step`` counts the updates done before this one.
    """

    model: nn.Module
    x: torch.Tensor
    y: torch.Tensor
    step: int
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    optimizer: torch.optim.Optimizer
    lr: float
    hooks: list[torch.utils.hooks.RemovableHandle] = field(default_factory=list)
    elsewhere: bool = False  # True while a probe evaluates the loss at other weights (loss_at)

    def add_hook(self, module: nn.Module, hook: Callable) -> None:
        """A forward hook on ``module`` for this step's training pass only: it is skipped while any
        probe evaluates the loss at other weights (:func:`loss_at`), so the order of the probes
        does not matter. The engine removes it after the step, also when the step fails or is
        interrupted."""
        def on_training_pass(*args):
            return None if self.elsewhere else hook(*args)

        self.hooks.append(module.register_forward_hook(on_training_pass))

    def remove_hooks(self) -> None:
        for handle in self.hooks:
            handle.remove()
        self.hooks.clear()


class Probe:
    """A measurement taken every ``every`` steps; pass it to ``train(config, probes=[...])``.

    At a probed step the engine calls ``before(ctx)`` ahead of the forward pass, runs the
    training step, then calls ``after(ctx)`` (see :class:`ProbeContext` for what each sees). Each
    returns a dict of numbers or arrays, or None; a step's dicts are merged into one record, and
    records are stacked over steps in ``History.probes[name]``. ``start(model)`` runs once at the
    start of each run: per-run state is reset there, so one probe object can serve many runs.

    ``settings()`` returns what changes the records (JSON values): it enters the run-cache key
    with ``every``, the name and the fingerprint of the probe's code, and it is stored with the
    records together with what ``describe()`` adds, so that they can be read without retyping.

    A probe must leave the model, its buffers, the optimizer and the random generators as it
    found them, and install hooks only through :meth:`ProbeContext.add_hook`.
    """

    def __init__(self, name: str, every: int = 1):
        if not isinstance(name, str) or not name or "/" in name:
            raise ValueError(f"a probe needs a non-empty name without '/', got {name!r}")
        if isinstance(every, bool) or not isinstance(every, (int, np.integer)) or every <= 0:
            raise ValueError(f"every must be a positive integer, got {every!r}")
        self.name, self.every = name, int(every)

    def settings(self) -> dict[str, Any]:
        return {}

    def start(self, model: nn.Module) -> None:
        """Called once at the start of a run."""

    def before(self, ctx: ProbeContext) -> Record:
        return None

    def after(self, ctx: ProbeContext) -> Record:
        return None

    def describe(self) -> dict[str, Any]:
        """What a reader of the records needs: the settings, and what the run decided."""
        return {"every": self.every, **self.settings()}

    def code(self) -> Any:
        """The code behind the probe's records (fingerprinted into the cache key)."""
        return type(self)

    def key(self) -> dict[str, Any]:
        """The probe's part of a run-cache key; ``code`` is None when its source cannot be read."""
        return {"name": self.name, "every": self.every, "settings": self.settings(),
                "code": code_fingerprint(self.code())}


class FunctionProbe(Probe):
    """A probe made of plain functions ``before(ctx)`` and/or ``after(ctx)``, for quick experiments.
    ``settings`` is whatever else changes their output."""

    def __init__(self, name: str, before: Callable[[ProbeContext], Record] | None = None,
                 after: Callable[[ProbeContext], Record] | None = None, every: int = 1,
                 settings: dict[str, Any] | None = None):
        super().__init__(name, every)
        if before is None and after is None:
            raise ValueError("a function probe needs a before or an after function")
        self._before_fn, self._after_fn, self._settings = before, after, dict(settings or {})

    def settings(self) -> dict[str, Any]:
        return self._settings

    def before(self, ctx: ProbeContext) -> Record:
        return self._before_fn(ctx) if self._before_fn else None

    def after(self, ctx: ProbeContext) -> Record:
        return self._after_fn(ctx) if self._after_fn else None

    def code(self) -> Any:
        return type(self), self._before_fn, self._after_fn


# --- looking at other points of weight space ---------------------------------------------------

RNGState = tuple[torch.Tensor, torch.Tensor | None]


def rng_state(device: torch.device) -> RNGState:
    """The CPU (and, on a GPU, CUDA) random state, to replay a training forward pass's draws."""
    return torch.get_rng_state(), torch.cuda.get_rng_state(device) if device.type == "cuda" else None


def loss_at(ctx: ProbeContext, params: dict[str, torch.Tensor], rng: RNGState) -> torch.Tensor:
    """The loss on this step's batch with the model's parameters replaced by ``params`` (for an
    ensemble, one loss per member).

    ``torch.func.functional_call`` runs the model's own modules on ``params`` (no copy of the
    model); BN, still in training mode as in training, updates copies of the running statistics;
    the random state ``rng`` is replayed and then restored, so a noisy layer draws the same noise
    as the training pass did and training afterwards draws what it would have drawn. Hooks that
    probes installed for the training pass (:meth:`ProbeContext.add_hook`) are skipped.
    """
    device = ctx.x.device
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.set_rng_state(rng[0])
        if rng[1] is not None:
            torch.cuda.set_rng_state(rng[1], device)
        copies = {name: b.clone() for name, b in ctx.model.named_buffers()}
        ctx.elsewhere = True
        try:
            out = torch.func.functional_call(ctx.model, (params, copies), (ctx.x,))
        finally:
            ctx.elsewhere = False
        return ctx.loss_fn(out, ctx.y)


class PreStepProbe(Probe):
    """Base of probes that look around the weights w from *before* a step: ``before`` keeps a copy
    of them (``self.w``) and of the random state (``self.rng``) for ``after``, which also has g."""

    def start(self, model: nn.Module) -> None:
        self.w: dict[str, torch.Tensor] = {}
        self.rng: RNGState = (torch.empty(0), None)

    def before(self, ctx: ProbeContext) -> Record:
        self.w = {name: p.detach().clone() for name, p in ctx.model.named_parameters()}
        self.rng = rng_state(ctx.x.device)
        return None


def _norm(tensors: Sequence[torch.Tensor], members: int | None = None) -> float | np.ndarray:
    """The Euclidean norm of several tensors taken as one vector; for an ensemble of ``members``,
    one norm per member, over each tensor's member rows."""
    norms = torch.stack([torch.linalg.vector_norm(_rows(t, members), dim=-1) for t in tensors], dim=-1)
    return _host(torch.linalg.vector_norm(norms, dim=-1))


def _rows(t: torch.Tensor, members: int | None) -> torch.Tensor:
    """``t`` flat, or for an ensemble one row per member: an ensemble's parameters are member-major
    (weights [E, out, in], BN's γ and β [E * features]), so ``t.reshape(E, -1)[k]`` is member k's."""
    return t.reshape(-1) if members is None else t.reshape(members, -1)


def _host(value: torch.Tensor) -> float | np.ndarray:
    """A float, or for an ensemble a float64 array with one value per member."""
    value = value.detach()
    return float(value) if value.dim() == 0 else value.double().cpu().numpy()
