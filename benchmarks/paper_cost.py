"""What the `paper` profile costs: time per training step and per probed step, and each notebook's runs.

    python benchmarks/paper_cost.py            # on a GPU: VGG-16 at batch 128 in every mode, the paper profile
    python benchmarks/paper_cost.py --smoke    # scaled down (automatic on a CPU): VGG-16 at width 1/8, ci profile
    python benchmarks/paper_cost.py --assume-tflops 20   # without a GPU: the paper profile at an assumed speed

1. A training step of the engine (`helpers.train.fit`: data on the device, channels-last,
   cudnn.benchmark) in each arithmetic: exact float32 (TF32 off, the default), TF32, bfloat16
   autocast, and each with torch.compile. On a CPU only the exact mode exists (the others are GPU-only).
2. The extra cost of one probed step of every probe the notebooks use, in the exact mode (probes
   never run in another), in milliseconds and in training steps.
3. Each notebook's runs in the profile (`helpers.notebook_runs`, the runs `python -m helpers.precompute`
   trains), with their estimated wall time on this device: training steps at the measured step cost,
   probed steps at the measured probe cost. A full-batch run's step is scaled from batch 128 by its
   batch size; a run shared by two notebooks is counted under the first.

Without a GPU, ``--assume-tflops`` estimates the paper profile instead: a training step's time is its
floating-point operations (counted by ``torch.utils.flop_counter`` on the CPU) over an assumed sustained
throughput, and each probe costs the training steps measured in the smoke run. An estimate, never a
measurement: the README marks it so until the benchmark has run on a GPU.

Times are the best of a few rounds; a step's cost is measured as (time of W+N steps − time of W steps)/N
so that warm-up and compilation do not count. Results are printed as Markdown tables.
"""

from __future__ import annotations

import argparse
import copy
import time

import torch

from helpers.config import RunConfig
from helpers.data import TensorData
from helpers.gpu_speed import EXACT, GpuSpeed
from helpers.models import build_model
from helpers.notebook_runs import NOTEBOOKS, notebook_runs
from helpers.precompute import estimate, plan, readable_duration, timed_steps
from helpers.profiles import PROFILES, pick_device
from helpers.train import Task, fit

MODES = ("exact", "tf32", "bf16", "exact+compile", "tf32+compile", "bf16+compile")


def synthetic_task(batch: int, device: torch.device) -> Task:
    """Random CIFAR-shaped images: timing does not depend on the pixels."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(4 * batch, 3, 32, 32, generator=generator).to(device)
    y = torch.randint(0, 10, (4 * batch,), generator=generator).to(device)
    return Task(TensorData(x, y), TensorData(x[:batch], y[:batch]))


def seconds_per_step(config: RunConfig, device: torch.device, speed: GpuSpeed = EXACT, probes=(),
                     warmup: int = 3, steps: int = 10, rounds: int = 3) -> float:
    """(time of warmup+steps steps − time of warmup steps) / steps, best of ``rounds``, fresh model each time."""
    task = synthetic_task(config.batch_size, device)

    def run(n: int) -> float:
        model = build_model(config.model, config.norm, config.width, seed=0).to(device=device,
                                                                                memory_format=torch.channels_last)
        start = time.perf_counter()
        fit(model, task, lr=1e-4, steps=n, batch_size=config.batch_size, eval_every=10**9, probes=probes,
            progress=False, speed=speed)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return time.perf_counter() - start

    run(warmup)  # the first run in a process pays one-off costs (kernels, thread pools, cuDNN's search)
    best = float("inf")
    for _ in range(rounds):
        short, long = run(warmup), run(warmup + steps)
        best = min(best, (long - short) / steps)
    return max(best, 1e-9)


def probe_table(profile_name: str, config: RunConfig, device: torch.device, step: float) -> dict[str, float]:
    """Every probe the profile's VGG runs use, probed at every step: extra milliseconds per probed step."""
    probes = {}
    for nb in NOTEBOOKS:
        for group in notebook_runs(nb, profile_name).values():
            if not group.dln:
                for probe in group.probes:
                    probes.setdefault(probe.name, probe)
    extra = {}
    for name, probe in probes.items():
        every_step = copy.copy(probe)
        every_step.every = 1
        count = 2 if name == "sharpness" else 5  # λ_max is dozens of steps: two are enough to time
        probed = seconds_per_step(config, device, probes=[every_step], warmup=1, steps=count, rounds=2)
        extra[name] = max(0.0, probed - step)
    return extra


def training_flops(config: RunConfig) -> float:
    """Floating-point operations of one training step (forward and backward) of ``config``'s VGG."""
    from torch.utils.flop_counter import FlopCounterMode

    model = build_model(config.model, config.norm, config.width, seed=0)
    x = torch.randn(2, 3, 32, 32)
    with FlopCounterMode(display=False) as counter:
        model(x).sum().backward()
    return counter.get_total_flops() / 2 * config.batch_size


def print_notebook_costs(units, title: str) -> None:
    print(f"\n| notebook | runs | training steps | {title} |\n| --- | --- | --- | --- |")
    for nb in NOTEBOOKS:
        mine = [u for u in units if u.notebook == nb and not u.shared_with]
        if not mine:
            continue
        up_to = "≤" if any(u.group.kind == "top_down" for u in mine) else ""
        runs = sum(len(u.keys) for u in mine)
        steps = sum(c.steps for u in mine for c in u.group.configs())
        print(f"| {nb} | {up_to}{runs} | {up_to}{steps:,} | {up_to}{readable_duration(sum(u.seconds for u in mine))} |")
    print(f"| all | | | {readable_duration(sum(u.seconds for u in units))} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="scaled down, exact only (the default on a CPU)")
    parser.add_argument("--profile", default=None, help="the profile whose notebooks are costed (paper; ci in smoke)")
    parser.add_argument("--assume-tflops", type=float, default=None, metavar="T",
                        help="also estimate the paper profile at T TFLOP/s sustained (for a machine without a GPU)")
    args = parser.parse_args()
    device = pick_device()
    smoke = args.smoke or device.type != "cuda"
    profile = PROFILES[args.profile or ("ci" if smoke else "paper")]
    model = RunConfig(model="vgg16", norm="batch", width=0.125 if smoke else 1.0, batch_size=128, train_size=512,
                      test_size=128, steps=10)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"device: {device} ({name}); torch {torch.__version__}; "
          f"{'smoke test, scaled down' if smoke else 'full size'}: VGG-16 at width {model.width:g}, BN, batch 128\n")

    modes = ("exact",) if device.type != "cuda" else MODES
    print("| arithmetic | ms per training step | images/s | vs exact |\n| --- | --- | --- | --- |")
    step = {}
    for mode in modes:
        step[mode] = seconds_per_step(model, device, GpuSpeed.parse(mode))
        print(f"| {mode} | {1e3 * step[mode]:.1f} | {128 / step[mode]:,.0f} | {step['exact'] / step[mode]:.2f}× |",
              flush=True)

    extra = probe_table(profile.name, model, device, step["exact"])
    print("\n| probe (exact) | extra ms per probed step | in training steps |\n| --- | --- | --- |")
    for probe, seconds in extra.items():
        print(f"| {probe} | {1e3 * seconds:.1f} | {seconds / step['exact']:.2f} |")

    units = plan(list(NOTEBOOKS), profile, device)
    measured = model.width if profile.width == model.width else None
    timer = timed_steps(device)

    def step_seconds(group, config):  # the measured VGG step, scaled by batch; anything else timed
        if group.dln or measured is None or config.width != measured or config.model != model.model:
            return timer(group, config)
        return step["exact"] * config.batch_size / model.batch_size

    for unit in units:  # every run, cached or not: the cost of the profile from scratch (shared runs once)
        unit.todo = 0 if unit.shared_with else len(unit.keys)
    estimate(units, device, step_seconds, {p: s / step["exact"] for p, s in extra.items()})
    print_notebook_costs(units, f"estimated time on this device ({profile.name} profile)")

    if args.assume_tflops:
        paper = PROFILES["paper"]
        units = plan(list(NOTEBOOKS), paper, device)
        for unit in units:
            unit.todo = 0 if unit.shared_with else len(unit.keys)
        flops: dict[tuple, float] = {}

        def assumed(group, config):
            if group.dln:
                return timer(group, config)  # a few ms on any device
            key = (config.model, config.norm, config.width, config.batch_size)
            if key not in flops:
                flops[key] = training_flops(config)
            return flops[key] / (args.assume_tflops * 1e12)

        estimate(units, device, assumed, {p: s / step["exact"] for p, s in extra.items()})
        one = training_flops(RunConfig(model="vgg16", norm="batch", width=1.0, batch_size=128))
        print(f"\nESTIMATE, not a measurement: the paper profile at an assumed {args.assume_tflops:g} TFLOP/s "
              f"sustained; a VGG-16 training step of 128 images is {one / 1e9:.0f} GFLOP, so "
              f"{1e3 * one / (args.assume_tflops * 1e12):.1f} ms; probes at the training steps measured above")
        print_notebook_costs(units, f"estimated GPU time at {args.assume_tflops:g} TFLOP/s")


if __name__ == "__main__":
    main()
