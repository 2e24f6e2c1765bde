"""What one λ_max estimate costs, in training steps: SharpnessProbe on the laptop-size VGG.

    python benchmarks/sharpness.py [--iterations 20] [--steps 20] [--every 10] [--rounds 3] [--norms none batch]

The `laptop` profile's VGG (VGG-11, width 1/8, batch 128, paper LR) is trained for ``--steps``
steps without a probe, and with a SharpnessProbe every ``--every`` steps, for each eigenvalue
method and HVP method. Each estimate runs exactly ``--iterations`` products (tol = 0, so none
stops early). The probe times its own estimates (for double backward, that includes building the
gradient's graph once per estimate); a plain step is a plain run's wall time over
its steps (a test set of one batch, so evaluation barely counts). Plain and probed runs take
turns in each round; a first, untimed round absorbs one-off start-up costs. Reports medians.
"""

from __future__ import annotations

import argparse
import statistics
import time

from helpers import RunConfig, train
from helpers.probes import ProbeContext, Record
from helpers.profiles import PROFILES
from helpers.protocol import PAPER_LR
from helpers.sharpness import SharpnessProbe

SETTINGS = (("lanczos", "double_backward"), ("lanczos", "forward_over_reverse"), ("power", "double_backward"))


class TimedSharpnessProbe(SharpnessProbe):
    """SharpnessProbe that keeps the wall time of each estimate."""

    def start(self, model) -> None:
        super().start(model)
        self.seconds: list[float] = []

    def before(self, ctx: ProbeContext) -> Record:
        start = time.perf_counter()
        record = super().before(ctx)
        self.seconds.append(time.perf_counter() - start)
        return record


def timings(config: RunConfig, probes: list[TimedSharpnessProbe], rounds: int) -> tuple[float, list[float]]:
    """Median seconds of one plain step, and of one estimate per probe. Plain and probed runs take
    turns within each round, so a load that comes and goes on a shared machine hits all alike."""
    steps: list[float] = []
    estimates: list[list[float]] = [[] for _ in probes]
    for r in range(rounds + 1):  # round 0 warms up and is not kept
        wall = train(config, cache=False, progress=False).wall_time
        steps += [wall / config.steps] if r else []
        for probe, kept in zip(probes, estimates):
            train(config, probes=[probe], cache=False, progress=False)
            kept += probe.seconds if r else []
    return statistics.median(steps), [statistics.median(kept) for kept in estimates]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--every", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--norms", nargs="+", default=["none", "batch"])
    args = parser.parse_args()
    profile = PROFILES["laptop"]
    print(f"laptop profile: {profile.vgg} width {profile.width}, batch {profile.batch_size}; "
          f"{args.iterations} products per estimate, medians of {args.rounds} rounds")
    print(f"{'norm':<6} {'method':<8} {'HVP':<21} {'step (ms)':>10} {'estimate (s)':>13} {'in steps':>9} "
          f"{'per HVP':>8}")
    for norm in args.norms:
        config = RunConfig.from_profile(profile, norm=norm, lr=PAPER_LR, steps=args.steps, eval_every=args.steps,
                                        test_size=profile.batch_size)
        probes = [TimedSharpnessProbe(args.every, iterations=args.iterations, method=method, hvp=hvp, tol=0)
                  for method, hvp in SETTINGS]
        step, estimates = timings(config, probes, args.rounds)
        for (method, hvp), seconds in zip(SETTINGS, estimates):
            print(f"{norm:<6} {method:<8} {hvp:<21} {1000 * step:>10.1f} {seconds:>13.2f} {seconds / step:>9.1f} "
                  f"{seconds / step / args.iterations:>8.2f}")


if __name__ == "__main__":
    main()
