"""Many deep-linear-network runs trained at once, as one ensemble of independent members.

The DLN is tiny (25 layers of 10×10 weights): a step is 75 small matrix products, each too small
to keep a processor busy, plus the Python and autograd work around them. E runs stacked into one
model take one product per layer for all members, so they cost little more than one run
(``benchmarks/dln_ensemble.py``). Members share nothing: each layer's weights are stacked
[E, out, in] and multiplied member by member (``torch.bmm``), BatchNorm keeps statistics per
member and feature, and the loss is one value per member, so each member's gradient is its own.

Data are samples first, x of shape [n, E, d], so the engine's sampler and evaluation slice them
along dim 0 as they do a single run's; between layers the activations are held as [E, d, n] in
memory (see :class:`EnsembleLinearLayer`). The products and BN's reductions are ordered
differently from a single run's, so members equal single runs up to float rounding (see
:func:`train_ensemble`), not bit for bit.

Taught in notebook 04.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields

import torch
from torch import nn

from .config import RunConfig
from .data import TensorData
from .lp_norm import LpNorm
from .models import DeepLinearNet, LayeredNet, build_model
from .probe_protocol import Probe
from .profiles import pick_device
from .runs import History, load_run, require_cached, save_run
from .train import Progress, Task, _cacheable, fit, make_task, run_record

ENSEMBLE_NORMS = ("none", "batch", "l1", "l2", "linf")


class EnsembleLinearLayer(nn.Module):
    """Layer k of every member: bias-free weights [E, out, in], then a per-member BatchNorm (or ℓp norm) or nothing.

    Input and output are [n, E, features]. The product is taken as W xᵀ, member by member
    (``torch.bmm`` on [E, features, n]): with the samples as the long, contiguous dimension it
    runs two to four times as fast on a CPU (MKL) as x Wᵀ, a single run's orientation. The output
    is a view of that [E, out, n] result, so the next layer reads it without a copy. The BatchNorm
    is a standard ``BatchNorm1d(E * out)`` on the result viewed as (1, E * out, n): statistics over
    the samples for each member and feature, and γ, β and running statistics member-major, so
    ``t.reshape(E, -1)[k]`` is member k's part.
    """

    def __init__(self, weight: torch.Tensor, norm: nn.Module):
        super().__init__()
        self.weight = nn.Parameter(weight)
        self.norm = norm

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        members, features, n = self.weight.shape[0], self.weight.shape[1], x.shape[0]
        h = torch.bmm(self.weight, x.permute(1, 2, 0).contiguous())  # [E, out, n]; no copy after a layer
        if not isinstance(self.norm, nn.Identity):
            h = self.norm(h.view(1, members * features, n)).view(members, features, n)
        return h.permute(2, 0, 1)


class DeepLinearEnsemble(LayeredNet):
    """Independent copies of :class:`~helpers.models.DeepLinearNet` trained as one model.

    Built from the members' own models, whose weights (and BN parameters and statistics) it copies,
    so member k starts exactly where ``models[k]`` does. ``members`` is E; ``layer(i)`` has a
    ``.weight`` [E, out, in] and a ``.norm``, as the probes expect.
    """

    def __init__(self, models: Sequence[DeepLinearNet]):
        super().__init__()
        if not models:
            raise ValueError("an ensemble needs at least one member")
        if len({tuple(p.shape for p in m.parameters()) for m in models}) > 1:
            raise ValueError("an ensemble's members must all have the same layers")
        self.members = len(models)
        self.layers = nn.ModuleList(
            EnsembleLinearLayer(torch.stack([m.layer(i).weight.detach() for m in models]),
                                _stacked_norm([m.layer(i).norm for m in models]))
            for i in range(1, models[0].num_layers + 1)
        )


def _stacked_norm(norms: Sequence[nn.Module]) -> nn.Module:
    """One module doing the members' normalizations side by side (their state concatenated)."""
    first = norms[0]
    if isinstance(first, nn.Identity):
        return nn.Identity()
    if type(first) is nn.BatchNorm1d:
        stacked = nn.BatchNorm1d(first.num_features * len(norms), eps=first.eps, momentum=first.momentum,
                                 affine=first.affine, track_running_stats=first.track_running_stats)
    elif type(first) is LpNorm:  # works per channel over all other dimensions, like BatchNorm1d
        stacked = LpNorm(first.num_features * len(norms), first.p, eps=first.eps, momentum=first.momentum,
                         center_first=first.center_first)
    else:
        raise ValueError(f"an ensemble supports the norms {', '.join(ENSEMBLE_NORMS)} only, "
                         f"not {type(first).__name__}")
    with torch.no_grad():
        for name, tensor in [*stacked.named_parameters(), *stacked.named_buffers()]:
            parts = [getattr(norm, name) for norm in norms]
            tensor.copy_(parts[0] if tensor.dim() == 0 else torch.cat(parts))  # num_batches_tracked is shared
    return stacked


def build_ensemble(norm: str, seeds: Sequence[int], **norm_options) -> DeepLinearEnsemble:
    """The DLN ensemble whose member k starts as ``build_model("dln", norm, seed=seeds[k])``."""
    if norm not in ENSEMBLE_NORMS:
        raise ValueError(f"an ensemble supports the norms {', '.join(ENSEMBLE_NORMS)} only, not {norm!r}; "
                         "train other norms one run at a time with train()")
    return DeepLinearEnsemble([build_model("dln", norm, seed=seed, **norm_options) for seed in seeds])


def ensemble_task(configs: Sequence[RunConfig], device: torch.device) -> Task:
    """Each member's own DLN task instance (``data_seed``), stacked samples first: x, y [n, E, d]."""
    tasks = [make_task(config, device) for config in configs]

    def stacked(split: str) -> TensorData:
        parts = [getattr(task, split) for task in tasks]
        return TensorData(torch.stack([p.x for p in parts], 1), torch.stack([p.y for p in parts], 1))

    return Task(stacked("train"), stacked("test"), regression=True)


def _check_configs(configs: Sequence[RunConfig]) -> None:
    """Raise a ValueError unless the configurations are full-batch DLN runs that differ in seeds only.

    Full batch because every member sees the same samples in the same order: mini-batches drawn
    from each member's own seed could not be stacked.
    """
    if not configs:
        raise ValueError("train_ensemble needs at least one configuration")
    first = configs[0]
    if any(c.model != "dln" for c in configs):
        raise ValueError(f"an ensemble trains DLN runs only; got models {sorted({c.model for c in configs})}")
    differing = sorted({f.name for c in configs for f in fields(RunConfig)
                        if f.name not in ("seed", "data_seed") and getattr(c, f.name) != getattr(first, f.name)})
    if differing:
        raise ValueError(f"an ensemble's configurations may differ in seed and data_seed only; "
                         f"these differ in {', '.join(differing)}")
    if first.norm not in ENSEMBLE_NORMS:
        raise ValueError(f"an ensemble supports the norms {', '.join(ENSEMBLE_NORMS)} only, not {first.norm!r}; "
                         "train other norms one run at a time with train()")
    if first.batch_size != first.train_size or first.augment:
        raise ValueError(f"an ensemble trains full-batch runs only (batch_size == train_size, no augmentation); "
                         f"got batch_size {first.batch_size}, train_size {first.train_size}")


def ensemble_record(config: RunConfig, probes: Sequence[Probe], device: torch.device) -> dict:
    """A member's cache key: its single run's key (whose engine fingerprint covers this module),
    marked batched: the results agree with the single run's to a tolerance only."""
    return {**run_record(config, probes, device), "batched": True}


def train_ensemble(configs: Sequence[RunConfig], probes: Sequence[Probe] = (), cache: bool = True,
                   force: bool = False, progress: Progress = True,
                   device: str | torch.device | None = None) -> list[History]:
    """Train DLN runs that differ only in ``seed``/``data_seed`` as one ensemble; one History per config.

    Each History is what ``train(config, probes=probes)`` returns, up to float rounding (products
    and BN statistics are summed in another order). Where training does not amplify rounding, per-step
    losses, weight norms and step lengths agree to a relative 1e-5 and gradients (probe records) to
    1e-5 of their norm, 1e-4 with BN (laptop size, 300 steps, paper LR: measured 4e-7 and 7e-6).
    Where it does, the ensemble differs as a single run does when one initial weight moves by one
    ulp: over 10,000 steps at LR 1e-3, per-step losses by up to 28 % (Standard) and 2e-4 (BN) in
    the early phase, final losses by 1e-5 and 1e-7.

    A member that diverges is cut and marked there while the others go on. ``wall_time`` is the
    whole ensemble's. Each member is cached under its own key (see :func:`ensemble_record`), so only
    the members not cached are trained.
    """
    configs = list(configs)
    _check_configs(configs)
    device = device if isinstance(device, torch.device) else pick_device(device)
    records = [ensemble_record(c, probes, device) for c in configs]
    cache = cache and all(_cacheable(r, c, probes) for r, c in zip(records, configs))
    histories: list[History | None] = [load_run(r) if cache and not force else None for r in records]
    missing = [k for k, h in enumerate(histories) if h is None]
    if missing and cache:
        require_cached(records[missing[0]])
    if missing:
        todo = [configs[k] for k in missing]
        first = todo[0]
        model = build_ensemble(first.norm, [c.seed for c in todo], **first.norm_options).to(device)
        trained = fit(model, ensemble_task(todo, device), lr=first.lr, steps=first.steps,
                      batch_size=first.batch_size, momentum=first.momentum, seed=first.seed,
                      eval_every=first.eval_every, probes=probes, progress=progress,
                      desc=f"dln {first.norm} lr={first.lr:g} ×{len(todo)}")
        for k, history in zip(missing, trained):
            history.config, history.record = configs[k], records[k]
            if cache and not history.interrupted:
                save_run(history)
            histories[k] = history
    return histories
