"""The paper's protocol, and our choices where it is silent, as names the notebooks use.

Each value says whether it is the paper's or ours; ``docs/protocol.md`` gives the reasons.
Notebooks and helpers import these rather than retype the numbers.

Taught in notebook 00 (every notebook names the values it uses).
"""

from __future__ import annotations

import math

# --- learning rates -----------------------------------------------------------------------------
PAPER_LR = 0.1  # the paper's VGG learning rate (Figs. 1-4)
PAPER_LRS = (0.1, 0.5)  # the two learning rates of the paper's Fig. 1
DLN_LR = 1e-6  # the paper's deep-linear-network learning rate (full-batch gradient descent)
LR_GRID = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0)  # ours: a 1-2-5 grid holding the paper's two

# --- networks -----------------------------------------------------------------------------------
# Display name -> normalization (a name in helpers.norms.NORMS): the paper's Standard and +BN
# networks, its Fig. 2 noisy BN and the control it describes, and its Sec. 3.3 ℓp normalizations.
NETWORKS = {"Standard": "none", "BN": "batch", "noisy BN": "noisy_batch", "Standard + noise": "noise",
            "ℓ1": "l1", "ℓ2": "l2", "ℓ∞": "linf"}
LP_NETWORKS = ("Standard", "BN", "ℓ1", "ℓ2", "ℓ∞")  # notebook 06's five


def networks(*labels: str) -> dict[str, str]:
    """A subset of :data:`NETWORKS` by label, in the order given (Standard and BN by default)."""
    labels = labels or ("Standard", "BN")
    unknown = [label for label in labels if label not in NETWORKS]
    if unknown:
        raise ValueError(f"unknown network {unknown[0]!r}; choose from: {', '.join(NETWORKS)}")
    return {label: NETWORKS[label] for label in labels}


def network_label(norm: str) -> str:
    """The display name of the network with normalization ``norm`` (the norm's name if it has none)."""
    return next((label for label, n in NETWORKS.items() if n == norm), norm)


# --- what "trains" means -----------------------------------------------------------------------
CHANCE_LOSS = math.log(10)  # cross-entropy of a uniform guess over CIFAR-10's 10 classes
TRAINS_MARGIN = 0.2  # ours: a run "trains" when its final loss ends this far below chance

# --- where probes look -------------------------------------------------------------------------
# Ours (the paper's figures show a lower and a deeper layer; we do not pin which): VGG-16 2, 9 and
# 13; other VGGs: the second, a middle and the deepest conv layer. DLN (the paper does not say
# which layers its Fig. 3 shows): three layers spread over the 25.
PROBED_LAYERS = {"vgg16": (2, 9, 13), "vgg11": (2, 5, 8), "dln": (5, 13, 21)}


def probed_layers(model: str) -> list[int]:
    """The layers the notebooks' probes watch in ``model`` ("dln" or a VGG configuration)."""
    if model in PROBED_LAYERS:
        return list(PROBED_LAYERS[model])
    from .models import VGG_CONFIGS  # only for VGG variants the notebooks do not use by default

    if model not in VGG_CONFIGS:
        raise ValueError(f"unknown model {model!r}; choose one of: dln, {', '.join(VGG_CONFIGS)}")
    convs = sum(1 for item in VGG_CONFIGS[model] if item != "M")
    return [2, convs // 2 + 1, convs]


# Ours (the paper only says "early in training"): a run's early phase lasts until its training
# loss leaves its initial plateau, the first step at which the loss (a running mean over
# PLATEAU_WINDOW steps) is PLATEAU_DROP below where it started, relative, so that it means the
# same for VGG's cross-entropy and the DLN's squared error. Read from each run's own data.
PLATEAU_DROP = 0.05
PLATEAU_WINDOW = 10


# The paper's step lengths along the gradient (Fig. 4), as multiples of the learning rate.
STEP_RANGES = {"vgg": (0.5, 4.0), "dln": (0.01, 30.0)}
# Ours (the paper does not say): points per range, geometrically spaced. VGG: 7, half an octave
# apart, so that η = LR (the step training takes) is one of them; VGG dominates a notebook's
# time, so no more. The DLN is cheap and its range spans 3.5 decades: 13, about an octave apart.
STEP_POINTS = {"vgg": 7, "dln": 13}


def model_kind(model: str) -> str:
    """"dln" or "vgg"."""
    return "dln" if model == "dln" else "vgg"
