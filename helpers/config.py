""":class:`RunConfig`: everything that determines a training run, checked and normalised.

Normalised so that equal runs have equal configurations (``lr=1`` and ``lr=1.0`` are the same
run, and so the same run-cache entry), and checked so that a mistake fails here, with a message
that names it, rather than deep inside training.

Taught in notebook 00.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from .models import MODEL_NAMES
from .norms import make_norm, norm_spec
from .profiles import Profile, active_profile
from .protocol import DLN_LR

_FLOATS = ("lr", "width", "momentum")
_COUNTS = ("steps", "batch_size", "train_size", "test_size", "eval_every")
_SEEDS = ("seed", "data_seed")


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines a training run (and so, with the code, its cache key).

    **A bare ``RunConfig()`` does not follow ``BN_PROFILE``.** Its defaults are fixed values
    (VGG-11 at full width on all 50,000 images, 1,000 steps): use ``RunConfig.from_profile(...)``
    for a run sized by the active profile, as the notebooks do.
    """

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
    data_seed: int = 0  # which CIFAR-10 subset / which DLN task instance (its A and inputs)
    norm_options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        if self.model not in MODEL_NAMES:
            raise ValueError(f"unknown model {self.model!r}; choose one of: {', '.join(MODEL_NAMES)}")
        norm_spec(self.norm)
        for name in _FLOATS:
            value = getattr(self, name)
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) \
                    or not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value!r}")
            self._set(name, float(value))
        if self.lr <= 0:
            raise ValueError(f"learning rate must be a positive number, got {self.lr!r}")
        if self.width <= 0 or self.momentum < 0:
            raise ValueError(f"width must be positive and momentum non-negative, got {self.width}, {self.momentum}")
        for name in _COUNTS + _SEEDS:
            value = getattr(self, name)
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
                raise ValueError(f"{name} must be an integer, got {value!r}")
            self._set(name, int(value))
            if name in _COUNTS and value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
            if name in _SEEDS and value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
        if not isinstance(self.augment, (bool, np.bool_)):
            raise ValueError(f"augment must be True or False, got {self.augment!r}")
        self._set("augment", bool(self.augment))
        if self.batch_size > self.train_size:
            raise ValueError(f"batch size {self.batch_size} is larger than the training set ({self.train_size})")
        self._set("norm_options", _plain_options(self.norm_options))
        make_norm(self.norm, 4, dim=1 if self.model == "dln" else 2, **self.norm_options)  # bad options fail now

    def _set(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)  # normalising a frozen dataclass, once, at creation

    @classmethod
    def from_profile(cls, profile: Profile | str | None = None, **overrides: Any) -> RunConfig:
        """The profile's standard run (VGG, or the DLN with ``model="dln"``), with ``overrides``."""
        p = profile if isinstance(profile, Profile) else active_profile(profile)
        if overrides.get("model") == "dln":
            # Full-batch gradient descent at the paper's learning rate.
            base = dict(steps=p.dln_steps, batch_size=p.dln_samples, train_size=p.dln_samples,
                        test_size=p.dln_samples, lr=DLN_LR, eval_every=max(1, p.dln_steps // 20))
        else:
            base = dict(model=p.vgg, width=p.width, steps=p.steps, batch_size=p.batch_size,
                        train_size=p.train_size, test_size=p.test_size, eval_every=p.eval_every)
        return cls(**{**base, **overrides})

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RunConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


def _plain_options(options: Any) -> dict[str, Any]:
    """``norm_options`` as plain Python values (numpy numbers become numbers), so they key a run."""
    if not isinstance(options, dict) or not all(isinstance(k, str) for k in options):
        raise ValueError(f"norm_options must be a dict with string keys, got {options!r}")
    plain = {}
    for key, value in options.items():
        if isinstance(value, np.generic):
            value = value.item()
        if not isinstance(value, (type(None), bool, int, float, str)):
            raise ValueError(f"norm option {key}={value!r} must be a number, string, bool or None")
        plain[key] = value
    return plain
