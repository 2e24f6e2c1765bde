"""Saved points of a trajectory: what it takes to look again, later, at one step of a run.

:class:`SavePointsProbe` keeps, every ``every`` steps, the weights from before the step (the
parameters and the floating-point buffers, float32, as they are) and the random state the step's
forward pass drew from (noisy layers). The step's batch is not stored: the batch sampler is
seeded, so :func:`load_point` draws it again, and checks it by recomputing the loss that training
recorded at that step. The records go into the run's cache file like any probe's, with the
arithmetic environment that trained the run (:func:`helpers.environment.arithmetic_environment`).

:func:`load_point` rebuilds the network at a saved step as a :class:`SavedPoint`, and
:func:`replay` runs any probe there exactly as training ran it: the same numbers, bit for bit on
a CPU of the same model with the same number of threads (``SavedPoint.bit_for_bit``), the same up
to float32 rounding elsewhere. What to compute at a point (fine curves along −g, planes) is in
:mod:`helpers.landscape_views`.

Taught in notebook 05.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from .arithmetic import exact_arithmetic
from .data import BatchSampler
from .environment import arithmetic_environment
from .models import build_model
from .probe_protocol import Probe, ProbeContext, Record, RNGState, loss_at, rng_state
from .runs import History
from .train import make_task

PROBE_NAME = "points"


def _float_buffers(model: nn.Module) -> list[tuple[str, torch.Tensor]]:
    return [(name, b) for name, b in model.named_buffers() if b.is_floating_point()]


class SavePointsProbe(Probe):
    """Save the point of the trajectory every ``every`` steps (see the module docstring): for one
    network (not an ensemble) trained with plain SGD."""

    def __init__(self, every: int):
        super().__init__(PROBE_NAME, every)

    def start(self, model: nn.Module) -> None:
        if getattr(model, "members", None) is not None:
            raise ValueError("SavePointsProbe saves one network's points, not an ensemble's")
        self.arithmetic = arithmetic_environment(next(model.parameters()).device)

    def describe(self) -> dict:
        return {**super().describe(), "arithmetic": self.arithmetic}  # where replays are bit for bit

    def code(self) -> Any:
        return type(self), arithmetic_environment  # what it records comes from both modules

    def before(self, ctx: ProbeContext) -> Record:
        if any(group.get("momentum", 0) for group in ctx.optimizer.param_groups):
            raise ValueError("saved points replay plain SGD; this run uses momentum, whose state is not saved")
        weights = torch.cat([p.detach().reshape(-1).float() for p in ctx.model.parameters()])
        buffers = [b.detach().reshape(-1).float() for _, b in _float_buffers(ctx.model)]
        cpu_rng, cuda_rng = rng_state(ctx.x.device)
        record = {"weights": weights.cpu().numpy(),
                  "buffers": torch.cat(buffers).cpu().numpy() if buffers else np.zeros(0, np.float32),
                  "rng": cpu_rng.numpy()}
        if cuda_rng is not None:  # a GPU run's noise layers draw from the GPU's generator
            record["cuda_rng"] = cuda_rng.numpy()
        return record


def saved_steps(history: History) -> list[int]:
    """The steps of ``history`` whose points were saved (empty when none were)."""
    records = history.probes.get(PROBE_NAME)
    return [] if records is None else [int(s) for s in records["step"]]


def smoothed_loss(history: History, step: int, window: int = 11) -> float:
    """The training loss around ``step``, a mean over ``window`` steps: one batch's loss is noisy."""
    lo = max(0, step - window // 2)
    return float(np.mean(history.train_loss[lo:lo + window]))


def nearest_loss_step(history: History, loss: float, window: int = 11) -> int:
    """The saved step of ``history`` whose training loss (smoothed over ``window`` steps) is nearest
    ``loss``: to compare networks at matched loss rather than at the same step."""
    steps = saved_steps(history)
    if not steps:
        raise ValueError("this run saved no points (train it with SavePointsProbe)")
    return min(steps, key=lambda s: abs(smoothed_loss(history, s, window) - loss))


@dataclass
class SavedPoint:
    """One step of a run, rebuilt: ``model`` holds the weights w from before the step (training
    mode, channels-last as in training), ``x``, ``y`` the step's batch, ``rng`` the random state its
    forward pass drew from. ``train_loss`` is the loss training recorded there."""

    model: nn.Module
    x: torch.Tensor
    y: torch.Tensor
    step: int
    lr: float
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    rng: RNGState
    train_loss: float = float("nan")
    label: str = ""
    bit_for_bit: bool = False  # this process computes as training did: replays repeat its records exactly

    def context(self, model: nn.Module | None = None) -> ProbeContext:
        """A probe's view of this step, on ``model`` (this point's own by default)."""
        model = self.model if model is None else model
        return ProbeContext(model, self.x, self.y, self.step, self.loss_fn,
                            torch.optim.SGD(model.parameters(), lr=self.lr), self.lr)

    def params(self) -> dict[str, torch.Tensor]:
        """The weights w, detached copies by name."""
        return {name: p.detach().clone() for name, p in self.model.named_parameters()}

    def loss_at(self, params: dict[str, torch.Tensor]) -> torch.Tensor:
        """The loss on this step's batch at other weights, BN with batch statistics and the step's
        random state replayed, as the landscape probe evaluates it (:func:`helpers.probes.loss_at`)."""
        return loss_at(self.context(), params, self.rng)

    def gradient(self) -> dict[str, torch.Tensor]:
        """g = ∇L(w), the gradient training stepped along, computed as training computed it."""
        model = copy.deepcopy(self.model)
        ctx = self.context(model)
        _training_step(ctx, self.rng, step=False)
        return {name: (p.grad if p.grad is not None else torch.zeros_like(p)).detach()
                for name, p in model.named_parameters()}


def _training_step(ctx: ProbeContext, rng: RNGState, step: bool = True,
                   probes: Sequence[Probe] = ()) -> dict[str, Record]:
    """One step as :func:`helpers.train.fit` takes it, with ``probes`` around it; returns their records."""
    devices = [ctx.x.device] if ctx.x.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices), exact_arithmetic():
        torch.set_rng_state(rng[0])
        if rng[1] is not None:
            torch.cuda.set_rng_state(rng[1], ctx.x.device)
        try:
            pending = {p.name: p.before(ctx) or {} for p in probes}
            loss = ctx.loss_fn(ctx.model(ctx.x), ctx.y)
            ctx.optimizer.zero_grad(set_to_none=True)
            loss.sum().backward()
            if step:
                ctx.optimizer.step()
            return {p.name: {**pending[p.name], **(p.after(ctx) or {})} for p in probes}
        finally:
            ctx.remove_hooks()


def load_point(history: History, step: int, device: str | torch.device | None = None) -> SavedPoint:
    """The network of ``history`` at a saved ``step``, with its batch drawn again and checked.

    On the device the run trained on (a GPU run on the GPU when there is one), else on the CPU. The
    loss recomputed there must match training's: exactly where this process computes as training did
    (a CPU of the same model, the same vector instructions and thread count: ``bit_for_bit``), else to
    1e-4 relative. Another CPU, thread count or device, or cuDNN's choice of algorithm, sums in
    another order: about 1e-6 relative for one forward pass, while another batch or changed code
    moves the loss by far more."""
    steps = saved_steps(history)
    if step not in steps:
        shown = ", ".join(map(str, steps)) if steps else "none (train it with SavePointsProbe)"
        raise ValueError(f"step {step} was not saved in this run; saved steps: {shown}")
    config = history.config
    if config is None:
        raise ValueError("this run has no configuration (trained with fit, not train): cannot rebuild it")
    trained_on = history.record.get("device", "cpu")
    if device is None:
        device = "cuda" if trained_on == "cuda" and torch.cuda.is_available() else "cpu"
    device = torch.device(device)
    records, k = history.probes[PROBE_NAME], steps.index(step)
    model = build_model(config.model, config.norm, config.width, seed=config.seed, **config.norm_options)
    model = model.to(device=device, memory_format=torch.channels_last).train()
    with torch.no_grad():
        _unflatten([p for p in model.parameters()], records["weights"][k], device)
        _unflatten([b for _, b in _float_buffers(model)], records["buffers"][k], device)
    task = make_task(config, device)
    sampler = BatchSampler(task.train, config.batch_size, seed=config.seed, augment=config.augment)
    for _ in range(step + 1):
        x, y = next(sampler)
    rng = (torch.from_numpy(np.ascontiguousarray(records["rng"][k])), None)
    if device.type == "cuda":
        if "cuda_rng" not in records:
            raise ValueError("this run was trained on the CPU, so its points hold the CPU random state only: "
                             "load them on the CPU")
        rng = (rng[0], torch.from_numpy(np.ascontiguousarray(records["cuda_rng"][k])))
    same = device.type == "cpu" and records.settings.get("arithmetic") == arithmetic_environment(device)
    point = SavedPoint(model, x, y, step, config.lr, task.loss, rng, float(history.train_loss[step]),
                       label=config.norm, bit_for_bit=same)
    with torch.no_grad():
        again = float(point.loss_at(point.params()))
    if not (again == point.train_loss if same else np.isclose(again, point.train_loss, rtol=1e-4, atol=1e-7)):
        raise RuntimeError(f"step {step}: the loss recomputed from the saved point, {again:.7g}, is not the "
                           f"{point.train_loss:.7g} training recorded: the data or the code has changed")
    return point


def _unflatten(tensors: Sequence[torch.Tensor], flat: np.ndarray, device: torch.device) -> None:
    values = torch.from_numpy(np.ascontiguousarray(flat)).to(device)
    if values.numel() != sum(t.numel() for t in tensors):
        raise ValueError("the saved point does not fit this network: it was saved from another architecture")
    offset = 0
    for t in tensors:
        t.copy_(values[offset:offset + t.numel()].view_as(t).to(t.dtype))
        offset += t.numel()


def replay(point: SavedPoint, probes: Sequence[Probe]) -> dict[str, Record]:
    """Run ``probes`` at a saved point as training ran them there: their records, as training
    recorded them (bit for bit where ``point.bit_for_bit``, else to float32 rounding). The point
    itself is left unchanged."""
    model = copy.deepcopy(point.model)
    for probe in probes:
        probe.start(model)
    return _training_step(point.context(model), point.rng, probes=probes)
