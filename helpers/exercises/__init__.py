"""Checkers for the notebooks' exercises, one module per notebook (``exercises/landscape.py`` holds
notebook 05's), and what they share (``exercises/checking.py``).

A checker runs a student's code on random inputs and says, in plain words, what is wrong; it never
raises, so a notebook with unfinished exercises still runs from top to bottom.
``from helpers.exercises import check_g_prime`` loads that notebook's module alone. A new notebook's
checkers go in a module of their own, named after the notebook, and into :data:`WHERE`.

Taught in notebook 01 (its first checked exercise).
"""

from ..lazy_exports import lazy_exports

# Each name and the module that defines it: importing one loads that module alone.
WHERE = {
    "Case": "batchnorm_mechanics",
    "CheckReport": "checking",
    "VERDICT_CASES": "verdict",
    "check_batchnorm_backward": "batchnorm_mechanics",
    "check_batchnorm_forward": "batchnorm_mechanics",
    "check_bn_unit_backward": "theory",
    "check_counterexample": "theory",
    "check_distribution_drift": "covariate_shift",
    "check_effective_beta": "landscape",
    "check_g_prime": "ics_gradients",
    "check_gradient_at_scale": "theory",
    "check_largest_trainable_lr": "learning_rate",
    "check_lp_norm_forward": "lp_normalizations",
    "check_power_iteration": "after_the_paper",
    "check_verdict": "verdict",
}

__getattr__, __dir__ = lazy_exports(__name__, WHERE)


__all__ = sorted(WHERE)
