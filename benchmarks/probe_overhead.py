"""What a probe costs: the same training run with and without it.

    python benchmarks/probe_overhead.py [--probe activations|ics] [--steps 200] [--every 10] [--rounds 3]

Runs the profile's VGG (BN, lr 0.1) from scratch, alternating plain and probed runs, and reports
the best wall time of each, the overhead over the run, and the cost of one probed step in units
of one training step. Both probes watch the protocol's probed layers (2, 5 and 8 of VGG-11; the
activation probe 4 units each).
"""

from __future__ import annotations

import argparse

from helpers import RunConfig, active_profile, train
from helpers.probes import ActivationProbe, GradientICSProbe
from helpers.protocol import PAPER_LR, probed_layers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--every", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--norm", default="batch")
    parser.add_argument("--probe", choices=("activations", "ics"), default="activations")
    args = parser.parse_args()
    profile = active_profile()
    config = RunConfig.from_profile(norm=args.norm, lr=PAPER_LR, steps=args.steps, eval_every=args.steps)
    layers = probed_layers(config.model)
    print(f"profile {profile.name}: {config.model} width {config.width}, {args.steps} steps, {args.probe} probe "
          f"every {args.every} steps on layers {layers}")
    plain, probed = [], []
    for r in range(args.rounds):
        plain.append(train(config, cache=False, progress=False).wall_time)
        probe = (ActivationProbe(layers, units=4, every=args.every) if args.probe == "activations"
                 else GradientICSProbe(layers, every=args.every))
        probed.append(train(config, probes=[probe], cache=False, progress=False).wall_time)
        print(f"round {r + 1}: plain {plain[-1]:.2f} s, with probe {probed[-1]:.2f} s")
    step = min(plain) / args.steps
    per_probe = (min(probed) - min(plain)) / (args.steps / args.every)
    print(f"best: plain {min(plain):.2f} s, with probe {min(probed):.2f} s, "
          f"overhead {100 * (min(probed) / min(plain) - 1):.1f} %; one probed step costs "
          f"{per_probe / step:.2f} training steps extra")


if __name__ == "__main__":
    main()
