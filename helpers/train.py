"""The training engine: plain SGD on data held on the device, with probes and a run cache.

:func:`train` takes a :class:`~helpers.config.RunConfig`, builds the model and data, and
returns a :class:`~helpers.runs.History` (from the run cache when the same configuration ran
before with the same code). :func:`fit` is the loop itself, for a model you built yourself. It
also trains an ensemble (a model with ``members``, :mod:`helpers.ensemble`): then the loss is
one value per member and each member gets its own History.

Taught in notebook 00 (the SGD loop written out, then `fit`).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .arithmetic import autocast, exact_arithmetic, gpu_arithmetic
from .config import RunConfig
from .data import BatchSampler, TensorData, cifar10_tensors, dln_data
from .fingerprints import code_fingerprint, engine_fingerprint, unreadable
from .gpu_speed import EXACT, GpuSpeed
from .models import build_model
from .norms import norm_spec
from .probe_protocol import Probe, ProbeContext
from .profiles import pick_device
from .runs import History, ProbeRecords, load_run, require_cached, save_run

SYNC_EVERY = 10  # steps between reading the losses back from the device (and checking for NaN)
Progress = bool | Callable[[int, int], None]  # a tqdm bar (True), none (False), or a callback (done, total)


@dataclass
class Task:
    """Data plus how a model is scored: cross-entropy and accuracy, or squared error (DLN)."""

    train: TensorData
    test: TensorData
    regression: bool = False

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The mean loss over the samples (dim 0); for an ensemble's [n, E, d] outputs, one per member."""
        if self.regression:
            # ‖W x − A x‖² (the paper's DLN loss) averaged over the samples: the usual empirical
            # risk, whose gradient, unlike the sum's, does not grow with the (unstated) sample count.
            return (output - target).pow(2).sum(-1).mean(0)
        return F.cross_entropy(output, target)

    def accuracy(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.regression:
            return output.new_full(output.shape[1:-1], float("nan"))  # one per member for an ensemble
        return (output.argmax(1) == target).float().mean()


def make_task(config: RunConfig, device: torch.device) -> Task:
    """The data a configuration trains on, on ``device`` (cached in memory across runs)."""
    if config.model == "dln":
        train_data, test_data, _ = dln_data(config.train_size, seed=config.data_seed, device=device)
        return Task(train_data, TensorData(test_data.x[:config.test_size], test_data.y[:config.test_size]),
                    regression=True)
    return Task(cifar10_tensors("train", config.train_size, device=device, seed=config.data_seed),
                cifar10_tensors("test", config.test_size, device=device, seed=config.data_seed))


Metric = float | np.ndarray  # one value, or one per ensemble member


@torch.no_grad()
def evaluate(model: nn.Module, task: Task, data: TensorData | None = None, chunk: int = 1000,
             ) -> tuple[Metric, Metric]:
    """Loss and accuracy on ``data`` (the test set by default) in evaluation mode; arrays of one
    value per member for an ensemble."""
    data = task.test if data is None else data
    was_training = model.training
    model.eval()
    loss_sum, correct = 0.0, 0.0
    for i in range(0, len(data), chunk):
        out, y = model(data.x[i:i + chunk]), data.y[i:i + chunk]
        loss_sum = loss_sum + _host(task.loss(out, y)) * len(y)  # both losses are means over the chunk
        correct = correct + _host(task.accuracy(out, y)) * len(y)
    model.train(was_training)
    return loss_sum / len(data), correct / len(data)


def _host(value: torch.Tensor) -> Metric:
    """A float, or for an ensemble a float64 array with one value per member."""
    return float(value) if value.dim() == 0 else value.double().cpu().numpy()


def fit(model: nn.Module, task: Task, *, lr: float, steps: int, batch_size: int, momentum: float = 0.0,
        seed: int = 0, eval_every: int = 100, augment: bool = False, probes: Sequence[Probe] = (),
        progress: Progress = True, desc: str | None = None, speed: GpuSpeed = EXACT) -> History | list[History]:
    """Train ``model`` in place with plain SGD and return its :class:`History`.

    A NaN/inf training loss stops the run and marks it diverged; Ctrl-C stops it and returns
    what was recorded so far (``interrupted``). Runs are seeded: the same seed gives the same
    history, bit for bit, on the CPU. ``progress``: a progress bar, none, or a function called
    with (steps done, steps) every few steps (e.g. to move a slider's progress bar).

    An ensemble (a model with ``members`` = E, whose loss is one value per member) trains on the
    sum of its members' losses, which gives each member its own gradient, and returns one History
    per member. Divergence is per member: a member is cut at its first non-finite loss and the
    others go on; the run stops when all have diverged. Probe records must then have a leading
    member axis, which the split removes.

    ``speed``: exact float32 by default; a faster GPU mode (:mod:`helpers.gpu_speed`) only for a run
    without probes, which measure in full float32 whatever the run.
    """
    device = task.train.x.device
    _check_arguments(lr, steps, eval_every, probes, speed, device)
    forward = torch.compile(model) if speed.compile else model
    sampler = iter(BatchSampler(task.train, batch_size, seed=seed, augment=augment))
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    members = getattr(model, "members", None)
    shape = (steps,) if members is None else (steps, members)
    # Losses in the parameters' precision: a float64 run keeps float64 losses (the tests compare
    # two float64 computations of the same run); accuracies are fractions and stay float32.
    losses = torch.full(shape, float("nan"), device=device, dtype=next(model.parameters()).dtype)
    accs = torch.full(shape, float("nan"), device=device)
    evals = [(0, *evaluate(model, task))]
    records: dict[str, list[tuple[int, dict]]] = {p.name: [] for p in probes}
    for probe in probes:
        probe.start(model)
    done = checked = 0
    interrupted = False
    ended: list[int | None] = [None] * (members or 1)  # per member: the steps taken when it diverged
    report = progress if callable(progress) else None
    bar = tqdm(total=steps, desc=desc, disable=not progress or report is not None, unit="step", mininterval=0.5)
    start = time.perf_counter()
    cuda = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda), gpu_arithmetic(speed, device):  # seeds noise layers, leaves yours alone
        torch.manual_seed(seed)
        model.train()
        try:
            for t in range(steps):
                x, y = next(sampler)
                ctx = ProbeContext(model, x, y, t, task.loss, optimizer, lr)
                output, loss = _probed_step(ctx, [p for p in probes if t % p.every == 0], forward, records,
                                            speed, members)
                losses[t] = loss.detach()
                accs[t] = task.accuracy(output.detach(), y)
                done = t + 1
                due_eval = done % eval_every == 0 or done == steps
                if done % SYNC_EVERY and not due_eval:
                    continue
                recent = losses[checked:done].cpu()  # one device sync per SYNC_EVERY steps
                if _all_diverged(recent, checked, ended):
                    done = max(ended)
                    break
                bar.update(done - checked)
                bar.set_postfix(loss=f"{float(recent[-1].nanmedian()):.3f}", refresh=False)
                if report:
                    report(done, steps)
                checked = done
                if due_eval:
                    evals.append((done, *evaluate(model, task)))
        except KeyboardInterrupt:
            interrupted = True
        finally:
            bar.close()
    run = dict(wall_time=time.perf_counter() - start, interrupted=interrupted, planned_steps=steps)
    histories = _histories(losses[:done], accs[:done], evals, records, probes, ended, done, members, run)
    return histories[0] if members is None else histories


def _check_arguments(lr: float, steps: int, eval_every: int, probes: Sequence[Probe], speed: GpuSpeed,
                     device: torch.device) -> None:
    if not (math.isfinite(lr) and lr > 0) or steps <= 0 or eval_every <= 0:
        raise ValueError(f"need a positive learning rate, steps and eval_every; got {lr}, {steps}, {eval_every}")
    names = [p.name for p in probes]
    if len(set(names)) < len(names):
        raise ValueError(f"two probes share a name: {names}; give each its own")
    speed.check(device)
    if probes and not speed.exact:
        raise ValueError(f"probes measure differences that {speed.name} cannot resolve (about 1e-3 relative): "
                         "train runs with probes in the exact mode (unset BN_FAST)")


def _probed_step(ctx: ProbeContext, due: Sequence[Probe], forward: Callable, records: dict[str, list],
                 speed: GpuSpeed, members: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    """One SGD step on the batch ``ctx.x``, ``ctx.y``, with the probes ``due`` at it (before and
    after the update, in full float32); returns the output and the loss (one per member)."""
    device = ctx.x.device
    try:
        with exact_arithmetic():
            pending = {p.name: p.before(ctx) or {} for p in due}
        with autocast(speed, device):
            output = forward(ctx.x)
            loss = ctx.loss_fn(output, ctx.y)
        ctx.optimizer.zero_grad(set_to_none=True)
        loss.sum().backward()  # an ensemble's members are independent: each gets its own gradient
        ctx.optimizer.step()
        for probe in due:
            with exact_arithmetic():
                record = {**pending[probe.name], **(probe.after(ctx) or {})}
            if record:
                if members:
                    _check_member_axis(probe.name, record, members)
                records[probe.name].append((ctx.step, record))
    finally:
        ctx.remove_hooks()  # also when the step failed or Ctrl-C landed in it
    return output, loss


def _all_diverged(recent: torch.Tensor, checked: int, ended: list[int | None]) -> bool:
    """Mark in ``ended`` each member whose loss in ``recent`` (steps ``checked`` + 1, ...) is first
    non-finite, at the steps it took; True when every member has diverged."""
    bad = ~torch.isfinite(recent.reshape(len(recent), -1))  # [steps, members]
    for m in torch.nonzero(bad.any(0)).flatten().tolist():
        if ended[m] is None:
            ended[m] = checked + int(torch.nonzero(bad[:, m])[0]) + 1
    return all(end is not None for end in ended)


def _histories(losses: torch.Tensor, accs: torch.Tensor, evals: list[tuple], records: dict[str, list],
               probes: Sequence[Probe], ended: list[int | None], done: int, members: int | None,
               run: dict[str, Any]) -> list[History]:
    """One History per member (one for a single model), each cut where that member diverged."""
    train_loss = losses.cpu().numpy().astype(np.float64)
    train_acc = accs.cpu().numpy().astype(np.float64)
    eval_steps = np.array([e[0] for e in evals])
    test_loss = np.array([e[1] for e in evals])
    test_acc = np.array([e[2] for e in evals])  # NaN for regression: Task.accuracy says so
    histories = []
    for m in range(members or 1):
        end = done if ended[m] is None else ended[m]
        diverged = ended[m] is not None
        evaluated = eval_steps < end if diverged else eval_steps <= end  # a run stops before evaluating
        column = np.s_[:] if members is None else np.s_[:, m]  # this member's part of an array over steps
        histories.append(History(
            config=None, steps=np.arange(1, end + 1), train_loss=train_loss[column][:end],
            train_acc=train_acc[column][:end], eval_steps=eval_steps[evaluated],
            test_loss=test_loss[column][evaluated], test_acc=test_acc[column][evaluated], diverged=diverged,
            probes={p.name: ProbeRecords(_stack(records[p.name], end, column), p.describe()) for p in probes},
            **run))
    return histories


def _stack(records: list[tuple[int, dict]], done: int, column: Any = np.s_[:]) -> dict[str, np.ndarray]:
    """A probe's records, up to the last step taken, as one array per key (``column`` picks an
    ensemble member's part: its records carry a member axis after the record axis)."""
    records = [(t, r) for t, r in records if t < done]
    if not records:
        return {"step": np.zeros(0, dtype=np.int64)}
    stacked = {"step": np.array([t for t, _ in records])}
    for key in records[0][1]:
        stacked[key] = np.stack([np.asarray(_to_numpy(r[key])) for _, r in records])[column]
    return stacked


def _check_member_axis(probe: str, record: dict, members: int) -> None:
    """On an ensemble every record value needs a leading member axis, to be split among the members."""
    for key, value in record.items():
        shape = tuple(value.shape) if isinstance(value, torch.Tensor) else np.shape(value)
        if not shape or shape[0] != members:
            raise ValueError(f"probe {probe!r} recorded {key!r} with shape {shape} on an ensemble of {members}; "
                             f"on an ensemble every value needs a leading member axis ({members}, ...)")


def _to_numpy(value: Any) -> Any:
    return value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else value


def run_record(config: RunConfig, probes: Sequence[Probe], device: torch.device,
               speed: GpuSpeed = EXACT) -> dict[str, Any]:
    """What a run's cache entry is keyed on: the configuration, the device, its arithmetic (exact or
    a faster GPU mode), the torch version, and the fingerprints of the engine, of the normalization
    and of each probe."""
    spec = norm_spec(config.norm)
    return {"run": config.as_dict(), "device": device.type, "arithmetic": speed.name, "torch": torch.__version__,
            "code": {"engine": engine_fingerprint(),
                     "norm": code_fingerprint((spec.factory, spec.absorbs_bias, spec.reparametrize))},
            "probes": [p.key() for p in probes]}


_warned_unreadable: set[str] = set()


def _cacheable(record: dict[str, Any], config: RunConfig, probes: Sequence[Probe]) -> bool:
    """Can the cache tell this run's code apart from other code? Not when some source is unreadable."""
    if record["code"]["norm"] is not None and all(p["code"] is not None for p in record["probes"]):
        return True
    names = unreadable(norm_spec(config.norm).factory) + [n for p in probes for n in unreadable(p.code())]
    new = [n for n in names if n not in _warned_unreadable]
    if new:
        _warned_unreadable.update(new)
        warnings.warn(f"cannot read the source of {', '.join(new)}, so the run cache cannot tell whether it "
                      "changed: runs with it are computed afresh and not cached", stacklevel=3)
    return False


def train(config: RunConfig, *, probes: Sequence[Probe] = (), cache: bool = True, force: bool = False,
          progress: Progress = True, device: str | torch.device | None = None, speed: GpuSpeed | None = None,
          ) -> History:
    """Train the configured model from scratch, or return the cached run of the same configuration
    made by the same code (see :func:`run_record`).

    ``cache=False`` neither reads nor writes the run cache; ``force=True`` recomputes and
    overwrites. Interrupted runs are returned but never cached; diverged runs are results
    and are cached. ``speed``: exact float32 (the default) or a faster GPU mode, for a run without
    probes (:mod:`helpers.gpu_speed`). With ``BN_CACHED_ONLY=1`` a run not in the cache raises
    :class:`~helpers.runs.RunNotCachedError` instead of training.
    """
    device = device if isinstance(device, torch.device) else pick_device(device)
    speed = EXACT if speed is None else speed
    speed.check(device)
    record = run_record(config, probes, device, speed)
    cache = cache and _cacheable(record, config, probes)
    if cache and not force and (hit := load_run(record)) is not None:
        return hit
    if cache:
        require_cached(record)
    model = build_model(config.model, config.norm, config.width, seed=config.seed, **config.norm_options)
    model = model.to(device=device, memory_format=torch.channels_last)
    task = make_task(config, device)
    history = fit(model, task, lr=config.lr, steps=config.steps, batch_size=config.batch_size,
                  momentum=config.momentum, seed=config.seed, eval_every=config.eval_every,
                  augment=config.augment, probes=probes, progress=progress,
                  desc=f"{config.model} {config.norm} lr={config.lr:g}", speed=speed)
    history.config, history.record = config, record
    if cache and not history.interrupted:
        save_run(history)
    return history
