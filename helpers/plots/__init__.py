"""Figures, one module per notebook that introduces them (``plots/landscape.py`` holds notebook 05's,
which notebooks 06 and 08 draw too), and the style every figure shares (``plots/style.py``: a
network's colour and a learning rate's line style are the same in every figure of the series).
Figures take plain data (Histories, summaries) and return a matplotlib figure.

``from helpers.plots import plot_landscape`` loads that module alone, so an edit to a figure
re-stamps only the notebooks that draw it. A new notebook's figures go in a module of their own,
named after the notebook, and into :data:`WHERE`; notebooks 07-09's are in ``theory_plots.py``,
``init_plots.py``, ``sharpness_plots.py`` and ``verdict_plots.py``.

Taught in notebooks 00 and 01 (the first figures).
"""

from ..lazy_exports import lazy_exports

# Each name and the module that defines it: importing one loads that module alone.
WHERE = {
    "ICS_PANELS": "ics_gradients",
    "LANDSCAPE_PANELS": "landscape",
    "LR_STYLES": "style",
    "METRIC_LABELS": "style",
    "NETWORK_COLORS": "style",
    "RunsBySeed": "style",
    "SPARE_COLORS": "style",
    "legend_outside": "style",
    "lr_style": "style",
    "network_colors": "style",
    "plot_affine": "batchnorm_mechanics",
    "plot_batch_statistics_spread": "batchnorm_mechanics",
    "plot_curves": "curves",
    "plot_distributions": "covariate_shift",
    "plot_drift": "covariate_shift",
    "plot_fine_curves": "landscape",
    "plot_histograms": "batchnorm_mechanics",
    "plot_ics": "ics_gradients",
    "plot_landscape": "landscape",
    "plot_lr_runs": "learning_rate",
    "plot_lr_sweep": "learning_rate",
    "plot_normalized_channels": "lp_normalizations",
    "plot_planes": "landscape",
    "plot_split_sweep": "landscape",
    "plot_step_curves": "landscape",
    "ridgeline": "covariate_shift",
    "seeds_label": "style",
    "seeds_of": "style",
    "show_images": "curves",
    "smooth": "style",
}

__getattr__, __dir__ = lazy_exports(__name__, WHERE)


__all__ = sorted(WHERE)
