"""What recomputes what: the README's table of which edits miss which cached runs and re-stamp which
notebooks, computed from the code and the committed notebooks.

    python -m helpers.recompute_map          # rewrite the section in README.md
    python -m helpers.recompute_map --check  # exit 1 if README.md differs from it

A run's cache key covers the engine (:data:`~helpers.fingerprints.ENGINE_MODULES`), its normalization's
module and each probe's modules (:func:`~helpers.fingerprints.code_modules`); a notebook's stamp covers
the helpers modules it imported when it was executed (``metadata.bn_landscape.modules``). Both are read
here, never typed, and a test keeps the README equal to this.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

from .fingerprints import ENGINE_MODULES, VALUE_MODULES, code_modules, package_modules
from .paths import REPO_ROOT

README = REPO_ROOT / "README.md"
NOTEBOOKS = REPO_ROOT / "notebooks"
BEGIN = "<!-- what recomputes what: written by python -m helpers.recompute_map -->"
END = "<!-- end of what recomputes what -->"


def _names(modules: set[str] | list[str]) -> str:
    return ", ".join(f"`{m}`" for m in sorted(modules))


def _span(notebooks: list[str]) -> str:
    """Notebook numbers with runs of three or more written as ranges: "00, 02–09"."""
    numbers, parts = sorted(int(n) for n in notebooks), []
    for n in numbers:
        if parts and parts[-1][-1] == n - 1:
            parts[-1].append(n)
        else:
            parts.append([n])
    return ", ".join(f"{run[0]:02d}–{run[-1]:02d}" if len(run) > 2 else ", ".join(f"{k:02d}" for k in run)
                     for run in parts)


def keyed_by_norms() -> dict[str, list[str]]:
    """Module -> the normalizations whose runs its code keys (beyond the engine)."""
    from .norms import NORMS, norm_spec

    keyed = defaultdict(list)
    for name in NORMS:
        spec = norm_spec(name)
        for module in code_modules((spec.factory, spec.absorbs_bias, spec.reparametrize)) - set(ENGINE_MODULES):
            keyed[module].append(name)
    return dict(keyed)


def keyed_by_probes() -> dict[str, list[str]]:
    """Module -> the probes (by name) of the notebooks' runs whose keys its code enters (beyond the engine)."""
    from .notebook_runs import NOTEBOOKS as RUN_NOTEBOOKS
    from .notebook_runs import notebook_runs

    keyed = defaultdict(set)
    for notebook in RUN_NOTEBOOKS:
        for group in notebook_runs(notebook, "laptop").values():
            for probe in group.probes:
                for module in code_modules(probe.code()) - set(ENGINE_MODULES):
                    keyed[module].add(probe.name)
    return {module: sorted(probes) for module, probes in keyed.items()}


def notebook_stamps(folder: Path = NOTEBOOKS) -> dict[str, list[str]]:
    """Notebook number -> the helpers modules its committed stamp names."""
    stamps = {}
    for path in sorted(folder.glob("[0-9][0-9]_*.ipynb")):
        meta = json.loads(path.read_text())["metadata"].get("bn_landscape", {})
        stamps[path.name[:2]] = sorted(meta.get("modules", {}))
    return stamps


def section() -> str:
    """The README section's table and notes, from the code and the committed notebooks' stamps."""
    stamps = notebook_stamps()
    importers: dict[str, list[str]] = defaultdict(list)
    for notebook, modules in stamps.items():
        for module in modules:
            importers[module].append(notebook)
    everyone = sorted(stamps)
    norms, probes = keyed_by_norms(), keyed_by_probes()
    rows = [("the engine: " + _names(ENGINE_MODULES), "every run", _span(everyone))]
    for module, names in sorted(norms.items()):
        rows.append((f"`{module}`", "runs normalised by " + _names(names), _span(importers[module]) or "none"))
    for module, names in sorted(probes.items()):
        what = f"runs with the {_names(names)} probe" + ("s" if len(names) > 1 else "")
        rows.append((f"`{module}`", what, _span(importers[module]) or "none"))
    keyed = set(ENGINE_MODULES) | set(norms) | set(probes)
    groups: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for module in package_modules():
        if module not in keyed:
            groups[tuple(importers.get(module, []))].append(module)
    for notebooks, modules in sorted(groups.items(), key=lambda item: (-len(item[0]), item[0])):
        rows.append((_names(modules), "no run", _span(list(notebooks)) if notebooks else "none"))
    lines = ["| an edit to the code of | misses the cached runs of | re-stamps notebooks |", "| --- | --- | --- |"]
    lines += [f"| {what} | {runs} | {notebooks} |" for what, runs, notebooks in rows]
    notes = (f"Of the modules no run is keyed on, {_names(VALUE_MODULES)} are executed by every run, but what "
             "their code decides the key holds as a value: the configuration, the device, the arithmetic mode by "
             "name, where files live, and the key itself.")
    return "\n".join([BEGIN, *lines, "", notes, END])


def with_section(readme: str) -> str:
    if BEGIN not in readme or END not in readme:
        raise ValueError(f"README.md has no section between {BEGIN!r} and {END!r}")
    head, rest = readme.split(BEGIN, 1)
    return head + section() + rest.split(END, 1)[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if README.md would change")
    args = parser.parse_args()
    expected = with_section(README.read_text())
    if args.check:
        if expected != README.read_text():
            print("README.md's 'What recomputes what' differs from the code: run python -m helpers.recompute_map")
            return 1
        return 0
    README.write_text(expected)
    print(f"wrote 'What recomputes what' in {README.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
