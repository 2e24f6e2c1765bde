"""What one landscape-probe step costs, in training steps: ours against the naive way.

    python benchmarks/landscape_probe.py [--model vgg|dln] [--norm batch] [--rounds 5]

On the profile's VGG (or the DLN) at the paper's learning rate, times one training step, one
probed step of :class:`helpers.probes.LandscapeProbe` (the paper's step range, our default
number of points), and the naive probe that deep-copies the model for every η and runs it there.
Reports the best of ``--rounds`` for each and checks that the two probes agree.
"""

from __future__ import annotations

import argparse
import copy
import time

import numpy as np
import torch

from helpers import RunConfig, active_profile, build_model, make_task, pick_device
from helpers.probes import LandscapeProbe, ProbeContext
from helpers.protocol import PAPER_LR


def naive_probe(model: torch.nn.Module, ctx: ProbeContext, w: dict, g: dict, etas: np.ndarray) -> np.ndarray:
    """Loss and ‖g − ∇L(w − ηg)‖ per η, by deep-copying the model (its buffers too) at each point."""
    out = []
    for eta in etas:
        clone = copy.deepcopy(model)
        with torch.no_grad():
            for name, p in clone.named_parameters():
                p.copy_(w[name] - eta * g[name])
        loss = ctx.loss_fn(clone(ctx.x), ctx.y)
        loss.backward()
        diff = torch.sqrt(sum(((g[n] - p.grad) ** 2).sum() for n, p in clone.named_parameters()))
        out.append((float(loss.detach()), float(diff)))
    return np.array(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=("vgg", "dln"), default="vgg")
    parser.add_argument("--norm", default="batch")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    profile, device = active_profile(), pick_device()
    config = (RunConfig.from_profile(model="dln", norm=args.norm) if args.model == "dln"
              else RunConfig.from_profile(norm=args.norm, lr=PAPER_LR))
    model = build_model(config.model, config.norm, config.width, seed=0).to(device, memory_format=torch.channels_last)
    task = make_task(config, device)
    x, y = task.train.x[:config.batch_size], task.train.y[:config.batch_size]
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr)
    probe = LandscapeProbe.paper(config.model, every=1)
    probe.start(model)
    print(f"profile {profile.name} on {device.type}: {config.model} {config.norm}, batch {len(x)}, "
          f"{len(probe.multipliers)} step lengths in [{probe.multipliers[0]:g}, {probe.multipliers[-1]:g}] × LR")

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    def step() -> ProbeContext:
        ctx = ProbeContext(model, x, y, 0, task.loss, optimizer, config.lr)
        probe.before(ctx)
        loss = task.loss(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return ctx

    times: dict[str, list[float]] = {"training step": [], "our probe": [], "naive probe": []}
    for _ in range(args.rounds + 1):  # the first round warms up and is dropped
        sync()
        start = time.perf_counter()
        ctx = step()
        sync()
        times["training step"].append(time.perf_counter() - start)
        w = {name: t.clone() for name, t in probe.w.items()}
        g = {name: p.grad.detach().clone() for name, p in model.named_parameters()}
        start = time.perf_counter()
        ours = probe.after(ctx)
        sync()
        times["our probe"].append(time.perf_counter() - start)
        start = time.perf_counter()
        naive = naive_probe(model, ctx, w, g, ours["eta"])
        sync()
        times["naive probe"].append(time.perf_counter() - start)
    best = {name: min(t[1:]) for name, t in times.items()}
    unit = best["training step"]
    for name, t in best.items():
        print(f"{name:14s} {1e3 * t:8.1f} ms = {t / unit:5.2f} training steps")
    print(f"per point: ours {best['our probe'] / unit / len(ours['eta']):.2f}, "
          f"naive {best['naive probe'] / unit / len(ours['eta']):.2f} training steps")
    # BN updates the naive copies' running statistics, not the model's, so both see the same points
    np.testing.assert_allclose(naive[:, 0], ours["loss"], rtol=1e-4)
    np.testing.assert_allclose(naive[:, 1], ours["grad_diff"], rtol=1e-3, atol=1e-6)
    print("the two probes agree")


if __name__ == "__main__":
    main()
