"""What a fine curve and a plane cost at a saved point: loss-only forward passes against the probe's way.

    python benchmarks/landscape_views.py [--norm batch] [--points 50] [--resolution 15] [--rounds 3]

Trains a short run of the profile's VGG at the paper's learning rate that saves its point at step
10 (:class:`helpers.saved_points.SavePointsProbe`), loads it, and times, best of ``--rounds``:

- one training step, for scale;
- a fine curve of ``--points`` step lengths, three ways: the loss alone, one forward pass per point
  under ``torch.no_grad`` (what the explorer does for the loss); the loss and ‖∇L‖, a forward and a
  backward pass per point (the landscape probe's way, the naive cost of a curve); and the loss
  alone batched over the points with ``torch.func.vmap`` (BN's running statistics batched too);
- a plane of ``--resolution``² points, loss only.

The three curves must agree on the loss.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from helpers import RunConfig, active_profile, pick_device, train
from helpers.landscape_views import fine_curve, plane, step_multipliers_grid
from helpers.protocol import PAPER_LR
from helpers.saved_points import SavedPoint, SavePointsProbe, load_point


def best(fn, rounds: int) -> tuple[float, object]:
    """Best wall time of ``rounds`` calls (after one warm-up call), and the last result."""
    result = fn()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def vmap_curve(point: SavedPoint, multipliers: np.ndarray, g: dict) -> np.ndarray:
    """The loss along −g, all points in one ``vmap`` call over stacked weights and buffers."""
    w = point.params()
    stacked = {n: torch.stack([w[n] - m * point.lr * g[n] for m in multipliers]) for n in w}
    buffers = {n: b.unsqueeze(0).expand(len(multipliers), *b.shape).clone() for n, b in point.model.named_buffers()}

    def loss(params, bufs):
        return point.loss_fn(torch.func.functional_call(point.model, (params, bufs), (point.x,)), point.y)

    with torch.no_grad():
        return torch.func.vmap(loss)(stacked, buffers).numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--norm", default="batch")
    parser.add_argument("--points", type=int, default=50)
    parser.add_argument("--resolution", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    profile, device = active_profile(), pick_device("cpu")
    config = RunConfig.from_profile(norm=args.norm, lr=PAPER_LR, steps=20)
    history = train(config, probes=[SavePointsProbe(10)], progress=False, cache=False, device=device)
    point = load_point(history, 10)
    g = point.gradient()
    grid = step_multipliers_grid(4.0, args.points)
    step, _ = best(lambda: point.gradient(), args.rounds)  # a forward and backward pass: a training step
    loss_only, c1 = best(lambda: fine_curve(point, grid, grad_norm=False, g=g), args.rounds)
    with_grad, c2 = best(lambda: fine_curve(point, grid, grad_norm=True, g=g), args.rounds)
    batched, c3 = best(lambda: vmap_curve(point, grid, g), args.rounds)
    assert np.allclose(c1["loss"], c2["loss"]) and np.allclose(c1["loss"], c3, rtol=1e-5), "the curves disagree"
    n = args.resolution
    flat, _ = best(lambda: plane(point, np.linspace(-1, 4, n), np.linspace(-2, 2, n), g=g), max(1, args.rounds - 2))
    print(f"{profile.vgg}, width {profile.width:g}, {args.norm}, batch {config.batch_size}, "
          f"{torch.get_num_threads()} threads; one training step {step * 1e3:.1f} ms")
    print(f"fine curve, {args.points} points: loss only {loss_only:.2f} s ({loss_only / args.points / step:.2f} steps "
          f"per point); loss and ‖∇L‖ {with_grad:.2f} s ({with_grad / loss_only:.1f}× that); "
          f"loss only with vmap {batched:.2f} s ({batched / loss_only:.1f}×)")
    print(f"plane, {n} × {n} points, loss only: {flat:.2f} s")


if __name__ == "__main__":
    main()
