"""The ℓp layer's hand-written backward pass against plain autograd, and against BatchNorm.

    python benchmarks/lp_norm.py [--rounds 5]

Times one forward and backward pass of a normalization layer (training mode) at the two shapes
the notebooks use: a `laptop` VGG's first conv output (batch 128, 16 channels, 32 × 32,
channels-last) and a layer of the 8-instance DLN ensemble ((1, 80, 1000): 8 members × 10 units,
1,000 samples). Compared, alternating round by round, best round of each:

- ``LpNorm``, the layer the notebooks train (helpers/lp_norm.py: a hand-written backward pass,
  reductions on a 2-D view of the activations);
- the naive way: the same formula in plain tensor operations, differentiated by autograd
  (``lp_norm_reference``);
- PyTorch's ``BatchNorm`` (a fused kernel), for scale.

Measured on the 2-core development CPU (AMD EPYC, torch 2.14.1, 2 threads), 5 rounds, microseconds:

| shape | p | LpNorm | autograd | speed-up | BatchNorm |
| --- | --- | --- | --- | --- | --- |
| VGG conv output (128, 16, 32, 32) | 1 | 7,622 | 23,375 | 3.07× | 4,728 |
| VGG conv output (128, 16, 32, 32) | 2 | 9,982 | 25,631 | 2.57× | 4,728 |
| VGG conv output (128, 16, 32, 32) | ∞ | 18,411 | 36,699 | 1.99× | 4,728 |
| DLN ensemble layer (1, 80, 1000) | 1 | 426 | 599 | 1.41× | 277 |
| DLN ensemble layer (1, 80, 1000) | 2 | 651 | 735 | 1.13× | 277 |
| DLN ensemble layer (1, 80, 1000) | ∞ | 707 | 900 | 1.27× | 277 |

On the conv output the hand-written pass saves whole passes over 2 million values (autograd keeps
and revisits each intermediate); ℓ∞ is slowest because its backward pass needs the position of
each channel's maximum. On the DLN's small layer both ways are bound by per-operation overhead,
and PyTorch's fused BatchNorm kernel stays ahead of either.
"""

from __future__ import annotations

import argparse
import math
import os
import time

import torch
from torch import nn

from helpers.lp_norm import LpNorm
from helpers.lp_norm_reference import lp_norm_reference

SHAPES = {"VGG conv output (128, 16, 32, 32)": (128, 16, 32, 32), "DLN ensemble layer (1, 80, 1000)": (1, 80, 1000)}


def best_time(step, calls: int, rounds: int) -> float:
    """Best over ``rounds`` of the mean time of ``calls`` calls, in microseconds."""
    for _ in range(3):
        step()
    best = math.inf
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            step()
        best = min(best, (time.perf_counter() - start) / calls)
    return best * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} cores; "
          "microseconds per forward + backward pass, best of each")
    print(f"{'shape':34s} {'p':>4s} {'LpNorm':>9s} {'autograd':>9s} {'speed-up':>9s} {'BatchNorm':>10s}")
    for label, shape in SHAPES.items():
        y = torch.randn(shape)
        if len(shape) == 4:
            y = y.contiguous(memory_format=torch.channels_last)
        y.requires_grad_()
        grad = torch.randn_like(y)
        c = shape[1]
        bn = nn.BatchNorm2d(c) if len(shape) == 4 else nn.BatchNorm1d(c)
        calls = 20 if len(shape) == 4 else 200
        bn_time = best_time(lambda bn=bn, y=y, grad=grad: torch.autograd.grad(bn(y), y, grad), calls, args.rounds)
        for p in (1.0, 2.0, math.inf):
            layer = LpNorm(c, p)
            ours = best_time(lambda layer=layer, y=y, grad=grad: torch.autograd.grad(layer(y), y, grad),
                             calls, args.rounds)
            naive = best_time(lambda layer=layer, p=p, y=y, grad=grad: torch.autograd.grad(
                lp_norm_reference(y, layer.weight, layer.bias, p), y, grad), calls, args.rounds)
            print(f"{label:34s} {p:>4g} {ours:9.0f} {naive:9.0f} {naive / ours:8.2f}× {bn_time:10.0f}")


if __name__ == "__main__":
    main()
