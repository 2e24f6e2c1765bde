"""What a layer of a network receives: the input passed through the layers before it.

For looking inside a model from outside (notebook 01's pre-activations, the tests of Sec. 4's
premises). Kept apart from :mod:`helpers.models`, whose code trains runs and so keys the run cache.
Taught in notebook 01.
"""

from __future__ import annotations

import torch

from .models import LayeredNet


def layer_input(model: LayeredNet, x: torch.Tensor, index: int) -> torch.Tensor:
    """What layer ``index`` (counting from 1) receives: ``x`` passed through layers 1 .. index − 1."""
    model.layer(index)  # checks the index
    for layer in model.layers[:index - 1]:
        x = layer(x)
    return x
