"""The training engine: plain SGD on data held on the device, with probes and a run cache.

:func:`train` takes a :class:`RunConfig`, builds the model and data, and returns a
:class:`~helpers.runs.History` (from the run cache when the same configuration ran before).
:func:`fit` is the loop itself, for a model you built yourself.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .data import BatchSampler, TensorData, cifar10_tensors, dln_data
from .models import MODEL_NAMES, build_model
from .norms import norm_spec
from .profiles import Profile, active_profile, pick_device
from .runs import History, load_run, save_run

# Bump when a change to the engine, models or data changes results, so that runs cached by an
# older version are not reused.
ENGINE_VERSION = 2  # 2: the DLN loss is averaged over samples (was summed)
SYNC_EVERY = 10  # steps between reading the losses back from the device (and checking for NaN)


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines a training run (and so its cache key)."""

    model: str = "vgg11"  # a VGG configuration or "dln"
    norm: str = "none"  # a name from helpers.norms.NORMS
    lr: float = 0.1
    steps: int = 1000
    batch_size: int = 128
    width: float = 1.0  # VGG channel multiplier (ignored by the DLN, whose width is 10)
    momentum: float = 0.0  # the paper uses plain SGD
    seed: int = 0  # initial weights, batch order, augmentation and any noise layers
    train_size: int = 50_000  # training examples (CIFAR-10 subset, or DLN samples)
    test_size: int = 10_000
    augment: bool = False  # the paper trains without augmentation
    eval_every: int = 100  # steps between test-set evaluations
    data_seed: int = 0  # which CIFAR-10 subset / which DLN data set; fixed across runs by default
    norm_options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        if self.model not in MODEL_NAMES:
            raise ValueError(f"unknown model {self.model!r}; choose one of: {', '.join(MODEL_NAMES)}")
        norm_spec(self.norm)
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"learning rate must be a positive number, got {self.lr!r}")
        for name in ("steps", "batch_size", "train_size", "test_size", "eval_every"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.batch_size > self.train_size:
            raise ValueError(f"batch size {self.batch_size} is larger than the training set ({self.train_size})")
        if self.width <= 0 or self.momentum < 0:
            raise ValueError(f"width must be positive and momentum non-negative, got {self.width}, {self.momentum}")

    @classmethod
    def from_profile(cls, profile: Profile | str | None = None, **overrides: Any) -> RunConfig:
        """The profile's standard run (VGG, or the DLN with ``model="dln"``), with ``overrides``."""
        p = profile if isinstance(profile, Profile) else active_profile(profile)
        if overrides.get("model") == "dln":
            # Full-batch gradient descent at the paper's learning rate (PAPER.md).
            base = dict(steps=p.dln_steps, batch_size=p.dln_samples, train_size=p.dln_samples,
                        test_size=p.dln_samples, lr=1e-6, eval_every=max(1, p.dln_steps // 20))
        else:
            base = dict(model=p.vgg, width=p.width, steps=p.steps, batch_size=p.batch_size,
                        train_size=p.train_size, test_size=p.test_size, eval_every=p.eval_every)
        return cls(**{**base, **overrides})

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Task:
    """Data plus how a model is scored: cross-entropy and accuracy, or squared error (DLN)."""

    train: TensorData
    test: TensorData
    regression: bool = False

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.regression:
            # ‖W x − A x‖² (PAPER.md's DLN loss) averaged over the samples: the usual empirical risk,
            # whose gradient, unlike the sum's, does not grow with the (unstated) sample count.
            return (output - target).pow(2).sum(1).mean()
        return F.cross_entropy(output, target)

    def accuracy(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.regression:
            return output.new_tensor(float("nan"))
        return (output.argmax(1) == target).float().mean()


def make_task(config: RunConfig, device: torch.device) -> Task:
    """The data a configuration trains on, on ``device`` (cached in memory across runs)."""
    if config.model == "dln":
        train_data, test_data, _ = dln_data(config.train_size, seed=config.data_seed, device=device)
        return Task(train_data, TensorData(test_data.x[:config.test_size], test_data.y[:config.test_size]),
                    regression=True)
    return Task(cifar10_tensors("train", config.train_size, device=device, seed=config.data_seed),
                cifar10_tensors("test", config.test_size, device=device, seed=config.data_seed))


@dataclass
class ProbeContext:
    """What a probe sees: the model *before* this step's update, and this step's batch."""

    model: nn.Module
    x: torch.Tensor
    y: torch.Tensor
    step: int  # updates done so far
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    optimizer: torch.optim.Optimizer
    lr: float


@dataclass(frozen=True)
class Probe:
    """A measurement taken every ``every`` steps.

    ``fn(ctx)`` runs before the step's forward pass; ``after(ctx)``, if given, runs after the
    step's update (e.g. to collect what hooks that ``fn`` set up saw during the training forward
    pass). Each returns a dict of numbers/arrays or None; a step's dicts are merged into one
    record. A probe must leave the model, its buffers, the optimizer and the random number
    generators as it found them. ``params`` enters the run-cache key: put there whatever changes
    the probe's output.
    """

    name: str
    fn: Callable[[ProbeContext], dict[str, Any] | None]
    every: int = 1
    params: dict[str, Any] = field(default_factory=dict)
    after: Callable[[ProbeContext], dict[str, Any] | None] | None = None

    def key(self) -> dict[str, Any]:
        return {"name": self.name, "every": self.every, "params": self.params,
                "fn": _qualname(self.fn), "after": _qualname(self.after) if self.after else None}


def _qualname(fn: Callable) -> str:
    return f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', repr(fn))}"


@torch.no_grad()
def evaluate(model: nn.Module, task: Task, data: TensorData | None = None, chunk: int = 1000,
             ) -> tuple[float, float]:
    """Loss and accuracy on ``data`` (the test set by default) in evaluation mode."""
    data = task.test if data is None else data
    was_training = model.training
    model.eval()
    loss_sum, correct = 0.0, 0.0
    for i in range(0, len(data), chunk):
        out, y = model(data.x[i:i + chunk]), data.y[i:i + chunk]
        loss_sum += float(task.loss(out, y)) * len(y)  # both losses are means over the chunk
        correct += float(task.accuracy(out, y)) * len(y)
    model.train(was_training)
    return loss_sum / len(data), correct / len(data)


def fit(model: nn.Module, task: Task, *, lr: float, steps: int, batch_size: int, momentum: float = 0.0,
        seed: int = 0, eval_every: int = 100, augment: bool = False, probes: Sequence[Probe] = (),
        progress: bool = True, desc: str | None = None) -> History:
    """Train ``model`` in place with plain SGD and return its :class:`History`.

    A NaN/inf training loss stops the run and marks it diverged; Ctrl-C stops it and returns
    what was recorded so far (``interrupted``). Runs are seeded: the same seed gives the same
    history, bit for bit, on the CPU.
    """
    if not (math.isfinite(lr) and lr > 0) or steps <= 0 or eval_every <= 0:
        raise ValueError(f"need a positive learning rate, steps and eval_every; got {lr}, {steps}, {eval_every}")
    device = task.train.x.device
    sampler = BatchSampler(task.train, batch_size, seed=seed, augment=augment)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    losses = torch.full((steps,), float("nan"), device=device)
    accs = torch.full((steps,), float("nan"), device=device)
    evals = [(0, *evaluate(model, task))]
    records: dict[str, list[tuple[int, dict]]] = {p.name: [] for p in probes}
    done = checked = 0
    diverged = interrupted = False
    bar = tqdm(total=steps, desc=desc, disable=not progress, unit="step", mininterval=0.5)
    start = time.perf_counter()
    cuda = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):  # seeds any layer that draws noise, leaves yours alone
        torch.manual_seed(seed)
        model.train()
        try:
            for t in range(steps):
                x, y = next(sampler)
                due = [p for p in probes if t % p.every == 0]
                if due:
                    ctx = ProbeContext(model, x, y, t, task.loss, optimizer, lr)
                    pending = {p.name: p.fn(ctx) or {} for p in due}
                output = model(x)
                loss = task.loss(output, y)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                for probe in due:
                    record = {**pending[probe.name], **((probe.after(ctx) or {}) if probe.after else {})}
                    if record:
                        records[probe.name].append((t, record))
                losses[t] = loss.detach()
                accs[t] = task.accuracy(output.detach(), y)
                done = t + 1
                due_eval = done % eval_every == 0 or done == steps
                if done % SYNC_EVERY and not due_eval:
                    continue
                recent = losses[checked:done].cpu()  # one device sync per SYNC_EVERY steps
                bad = torch.nonzero(~torch.isfinite(recent))
                if len(bad):
                    done, diverged = checked + int(bad[0]) + 1, True
                    break
                bar.update(done - checked)
                bar.set_postfix(loss=f"{float(recent[-1]):.3f}", refresh=False)
                checked = done
                if due_eval:
                    evals.append((done, *evaluate(model, task)))
        except KeyboardInterrupt:
            interrupted = True
        finally:
            bar.close()
    wall_time = time.perf_counter() - start
    return History(
        config={},
        steps=np.arange(1, done + 1),
        train_loss=losses[:done].cpu().numpy().astype(np.float64),
        train_acc=accs[:done].cpu().numpy().astype(np.float64),
        eval_steps=np.array([e[0] for e in evals]),
        test_loss=np.array([e[1] for e in evals]),
        test_acc=np.array([e[2] for e in evals]),  # NaN for regression: Task.accuracy says so
        wall_time=wall_time, diverged=diverged, interrupted=interrupted,
        probes={name: _stack(recs, done) for name, recs in records.items()},
    )


def _stack(records: list[tuple[int, dict]], done: int) -> dict[str, np.ndarray]:
    """A probe's records, up to the last step taken, as one array per key."""
    records = [(t, r) for t, r in records if t < done]
    if not records:
        return {"step": np.zeros(0, dtype=np.int64)}
    stacked = {"step": np.array([t for t, _ in records])}
    for key in records[0][1]:
        stacked[key] = np.stack([np.asarray(_to_numpy(r[key])) for _, r in records])
    return stacked


def _to_numpy(value: Any) -> Any:
    return value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else value


def train(config: RunConfig, *, probes: Sequence[Probe] = (), cache: bool = True, force: bool = False,
          progress: bool = True, device: str | torch.device | None = None) -> History:
    """Train the configured model from scratch, or return the cached run of the same configuration.

    ``cache=False`` neither reads nor writes the run cache; ``force=True`` recomputes and
    overwrites. Interrupted runs are returned but never cached; diverged runs are results
    and are cached.
    """
    device = device if isinstance(device, torch.device) else pick_device(device)
    record = {"run": config.as_dict(), "device": device.type, "engine": ENGINE_VERSION,
              "probes": [p.key() for p in probes]}
    if cache and not force and (hit := load_run(record)) is not None:
        return hit
    model = build_model(config.model, config.norm, config.width, seed=config.seed, **config.norm_options)
    model = model.to(device=device, memory_format=torch.channels_last)
    task = make_task(config, device)
    history = fit(model, task, lr=config.lr, steps=config.steps, batch_size=config.batch_size,
                  momentum=config.momentum, seed=config.seed, eval_every=config.eval_every,
                  augment=config.augment, probes=probes, progress=progress,
                  desc=f"{config.model} {config.norm} lr={config.lr:g}")
    history.config = record
    if cache and not history.interrupted:
        save_run(history)
    return history
