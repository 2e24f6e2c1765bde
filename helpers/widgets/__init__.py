"""Slider panels, one module per notebook (``widgets/landscape.py`` holds notebook 05's), wired to
the plain training and plotting functions; no training logic lives here. What they share is in
``widgets/panels.py`` (read its docstring before writing a panel that shows figures).

``from helpers.widgets import LandscapeExplorer`` loads that notebook's module alone (and so only
the helpers code it uses). A new notebook's panels go in a module of their own, named after the
notebook, and into :data:`WHERE`.

Taught in notebooks 00 and 01 (the first slider panels).
"""

from ..lazy_exports import lazy_exports

# Each name and the module that defines it: importing one loads that module alone.
WHERE = {
    "AffineExplorer": "batchnorm_mechanics",
    "FineLandscapeExplorer": "landscape",
    "LAYOUT": "panels",
    "LandscapeExplorer": "landscape",
    "LearningRateExplorer": "learning_rate",
    "NoiseExplorer": "covariate_shift",
    "ProjectionExplorer": "theory",
    "SharpnessExplorer": "after_the_paper",
    "VerdictExplorer": "verdict",
    "WIDE": "panels",
    "figure_output": "panels",
}

__getattr__, __dir__ = lazy_exports(__name__, WHERE)


__all__ = sorted(WHERE)
