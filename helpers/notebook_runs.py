"""The training runs of every notebook, defined once.

Each notebook trains its runs from here (``notebook_runs("05")["vgg"].train()``), and
``python -m helpers.precompute`` lists and computes the very same groups, so a pre-computed cache
is exactly what the notebooks read. A notebook's definition is a function of the profile: the
sizes come from it, the seeds from :func:`~helpers.profiles.profile_seeds` (``BN_FIRST_SEED``).
Runs that two notebooks share (notebook 04's DLN runs are notebook 05's; notebook 05's VGG runs are
notebook 08's) are the same group object, so they are one set of cache entries.

Notebook 01 trains nothing (it works on single layers); notebook 07's theory cells compute on
small tensors, and only its weight-norm runs are listed here.

Taught in notebook 00 (every notebook prints its part, `planned`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from . import edge_of_stability as eos
from .config import RunConfig
from .experiments import activation_probe, ics_probe, landscape_probes, point_saving_probe, shared_probes
from .probes import LandscapeProbe
from .profiles import Profile, active_profile, profile_seeds
from .protocol import DLN_LR, LP_NETWORKS, PAPER_LR, PAPER_LRS, networks
from .run_groups import RunGroup
from .scale_invariance import WeightNormProbe


class NotebookRuns(Mapping[str, RunGroup]):
    """A notebook's run groups by name, in the order the notebook trains them; prints as a table."""

    def __init__(self, notebook: str, profile: Profile, groups: list[RunGroup]):
        self.notebook, self.profile = notebook, profile
        self._groups = {g.name: g for g in groups}

    def __getitem__(self, name: str) -> RunGroup:
        if name not in self._groups:
            raise KeyError(f"notebook {self.notebook} has no run group {name!r}; it has: {', '.join(self._groups)}")
        return self._groups[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._groups)

    def __len__(self) -> int:
        return len(self._groups)

    def __repr__(self) -> str:
        if not self._groups:
            return f"notebook {self.notebook} trains no runs"
        count = sum(len(g.configs()) for g in self.values())
        lines = [f"notebook {self.notebook}, profile '{self.profile.name}': {count} runs "
                 f"(python -m helpers.precompute --notebooks {self.notebook} trains the same)"]
        for name, group in self.items():
            lines.append(f"  {name:18s} {len(group.configs()):3d} runs  {group.describe()}")
            lines += [f"      probe {probe.name:15s} every {probe.every} steps: {_settings_text(probe.settings())}"
                      for probe in group.probes]
        return "\n".join(lines)


def _settings_text(settings: Mapping) -> str:
    """A probe's settings in one line: long lists of numbers as their count and range."""
    def text(value) -> str:
        if isinstance(value, float):
            return f"{value:.3g}"
        if isinstance(value, (list, tuple)) and len(value) > 8 and all(isinstance(v, (int, float)) for v in value):
            return f"{len(value)} values from {value[0]:.3g} to {value[-1]:.3g}"
        if isinstance(value, (list, tuple)):
            return ", ".join(text(v) for v in value)
        return str(value)
    return "; ".join(f"{key} {text(value)}" for key, value in settings.items()) or "no settings"


def _vgg_runs(p: Profile) -> RunGroup:
    """Notebooks 03 and 04: Standard and BN at the paper's learning rate, with both notebooks' probes."""
    return RunGroup("vgg", RunConfig.from_profile(p, lr=PAPER_LR), networks(), tuple(profile_seeds("vgg", p)),
                    tuple(shared_probes(p.vgg, p)), about="activations (03) and gradient ICS (04)")


def _dln_runs(p: Profile, lr: float, name: str, labels: tuple[str, ...] = ("Standard", "BN")) -> RunGroup:
    """Notebooks 04 and 05: the DLN at ``lr`` with gradient ICS and the landscape probes."""
    return RunGroup(name, RunConfig.from_profile(p, model="dln", lr=lr), networks(*labels),
                    tuple(profile_seeds("dln", p)), tuple(shared_probes("dln", p)),
                    about="gradient ICS (04) and the landscape (05)")


def _landscape_runs(p: Profile, name: str = "vgg") -> RunGroup:
    """Notebooks 05, 07 and 08: Standard and BN at the paper's learning rate, landscape probes, saved points."""
    return RunGroup(name, RunConfig.from_profile(p, lr=PAPER_LR), networks(), tuple(profile_seeds("landscape", p)),
                    (*landscape_probes(p.vgg, p), point_saving_probe(p.vgg, p)),
                    about="the landscape along −g (05); γ²/σ² (07) and λ_max (08) at the saved points")


def _notebook_00(p: Profile) -> list[RunGroup]:
    return [RunGroup("curves", RunConfig.from_profile(p, lr=PAPER_LR), networks(), (0,), curves_only=True,
                     about="first training curves, one seed")]


def _notebook_02(p: Profile) -> list[RunGroup]:
    base, seeds = RunConfig.from_profile(p), tuple(profile_seeds("vgg", p))
    return [RunGroup("curves", base, networks(), seeds, lrs=PAPER_LRS, kind="grid", curves_only=True,
                     about="Fig. 1's training curves at two learning rates"),
            RunGroup("sweep", base, networks(), seeds, lrs=p.sweep_lrs, kind="sweep", curves_only=True,
                     about="the largest learning rate that still trains")]


def _notebook_03(p: Profile) -> list[RunGroup]:
    seeds, probe = tuple(profile_seeds("vgg", p)), (activation_probe(p.vgg),)
    per_layer = RunConfig.from_profile(p, lr=PAPER_LR, norm="noisy_batch", norm_options={"draw": "layer"})
    return [_vgg_runs(p),
            RunGroup("noise", RunConfig.from_profile(p, lr=PAPER_LR), networks("noisy BN", "Standard + noise"),
                     seeds, probe, about="BN with noise injected, and Standard with the same noise"),
            RunGroup("per-layer noise", per_layer, {"noisy BN, per-layer draws": "noisy_batch"}, seeds, probe,
                     about="noisy BN drawing its noise once per layer")]


def _notebook_04(p: Profile) -> list[RunGroup]:
    n = RunConfig.from_profile(p, model="dln").train_size
    return [_vgg_runs(p),
            RunGroup("vgg, lr 0.02", RunConfig.from_profile(p, lr=0.02), networks(), tuple(profile_seeds("vgg", p)),
                     (ics_probe(p.vgg, p),), about="gradient ICS at a smaller learning rate"),
            _dln_runs(p, DLN_LR, "dln"),
            _dln_runs(p, DLN_LR * n, "dln, summed loss")]


def _notebook_05(p: Profile) -> list[RunGroup]:
    n = RunConfig.from_profile(p, model="dln").train_size
    return [_landscape_runs(p), _dln_runs(p, DLN_LR, "dln"), _dln_runs(p, DLN_LR * n, "dln, fast")]


def _notebook_06(p: Profile) -> list[RunGroup]:
    seeds, nets = tuple(profile_seeds("vgg", p)), networks(*LP_NETWORKS)
    base = RunConfig.from_profile(p, steps=p.lp_steps, eval_every=p.lp_steps, lr=PAPER_LR)
    landscape_every = max(1, 2 * p.lp_steps // p.landscape_probes)  # half notebook 05's count per run
    activation_every = min(10, max(1, p.lp_steps // 5))  # notebook 03's every 10 steps; more often in `ci`
    probes = (activation_probe(p.vgg, activation_every), LandscapeProbe.paper(p.vgg, every=landscape_every))
    dln = RunConfig.from_profile(p, model="dln", steps=p.lp_dln_steps, eval_every=max(1, p.lp_dln_steps // 10))
    return [RunGroup("vgg", base, nets, seeds, probes, about="ℓp networks: activations and the landscape"),
            RunGroup("vgg, large lr", RunConfig.from_profile(p, steps=p.lp_steps, eval_every=p.lp_steps,
                                                             lr=PAPER_LRS[-1]),
                     nets, seeds, curves_only=True, about="ℓp networks at the larger learning rate"),
            RunGroup("dln", dln, nets, tuple(profile_seeds("dln", p)), about="ℓp normalizations in the DLN")]


def _notebook_07(p: Profile) -> list[RunGroup]:
    return [RunGroup("vgg", RunConfig.from_profile(p, lr=PAPER_LR), networks(), tuple(profile_seeds("vgg", p)),
                     (WeightNormProbe(every=1),), about="weight norms and effective step lengths"),
            _landscape_runs(p, "vgg, saved points (05)")]


OTHER_NORMS = {"Standard": "none", "BN": "batch", "LayerNorm": "layer", "GroupNorm": "group",
               "weight norm": "weight", "mean-only BN": "mean_only", "variance-only BN": "variance_only"}


def full_batch_lrs(p: Profile) -> tuple[float, ...]:
    """Notebook 08's full-batch learning rates: both, or in ``ci`` the larger alone, for its seconds."""
    return eos.FULL_BATCH_LRS if p.name != "ci" else eos.FULL_BATCH_LRS[1:]


def _notebook_08(p: Profile) -> list[RunGroup]:
    seeds = tuple(profile_seeds("vgg", p))
    full_batch = []
    for lr in full_batch_lrs(p):
        base = eos.full_batch_config(p, lr=lr)
        full_batch.append(RunGroup(f"full batch, lr {lr:g}", base, networks(), seeds,
                                   (eos.sharpness_probe(base.steps, p),), lrs=(lr,), kind="grid",
                                   about="λ_max along full-batch gradient descent"))
    fast = DLN_LR * RunConfig.from_profile(p, model="dln").train_size
    dln = RunConfig.from_profile(p, model="dln", lr=fast, steps=p.lp_dln_steps, eval_every=p.lp_dln_steps)
    small = RunConfig.from_profile(p, width=p.small_width, steps=p.lp_steps, eval_every=p.lp_steps)
    return [*full_batch, _landscape_runs(p),
            RunGroup("dln", dln, networks(), tuple(profile_seeds("dln", p)), (eos.sharpness_probe(dln.steps, p),),
                     about="λ_max of the DLN at notebook 05's fast learning rate"),
            RunGroup("other norms", small, OTHER_NORMS, seeds, lrs=p.sweep_lrs, kind="top_down", curves_only=True,
                     about="the largest learning rate that trains, found top-down")]


DEFINITIONS: dict[str, Callable[[Profile], list[RunGroup]]] = {
    "00": _notebook_00, "01": lambda p: [], "02": _notebook_02, "03": _notebook_03, "04": _notebook_04,
    "05": _notebook_05, "06": _notebook_06, "07": _notebook_07, "08": _notebook_08,
}
NOTEBOOKS = tuple(DEFINITIONS)


def notebook_runs(notebook: str, profile: Profile | str | None = None) -> NotebookRuns:
    """The run groups notebook ``notebook`` ("05", or 5) trains in ``profile`` (the active one by default)."""
    key = str(notebook).strip().zfill(2)
    if key not in DEFINITIONS:
        raise ValueError(f"unknown notebook {notebook!r}; notebooks: {', '.join(NOTEBOOKS)}")
    p = profile if isinstance(profile, Profile) else active_profile(profile)
    return NotebookRuns(key, p, DEFINITIONS[key](p))
