"""The pip and conda descriptions of the environment must list the same packages, and CI must
run the test command the README gives."""

import fnmatch
import re
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")

ROOT = Path(__file__).resolve().parent.parent
CONDA_NAMES = {"pytorch": "torch"}  # conda-forge name -> PyPI name
NOT_PACKAGES = {"python", "pip"}


def split_requirement(text: str) -> tuple[str, str]:
    match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*(.*?)\s*", text)
    name, spec = match.group(1).lower(), match.group(2).replace(" ", "")
    return CONDA_NAMES.get(name, name), spec


def pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + project["optional-dependencies"]["test"]
    return dict(split_requirement(r) for r in requirements)


def conda_requirements(text: str) -> dict[str, str]:
    """The conda (not pip) entries under ``dependencies:`` of an environment.yml."""
    entries, in_deps = {}, False
    for line in text.splitlines():
        if re.match(r"^\S", line):
            in_deps = line.startswith("dependencies:")
            continue
        item = re.match(r"^  - (?!pip:)([^#]+?)\s*(#.*)?$", line)  # two-space items only: not the pip: list
        if in_deps and item:
            name, spec = split_requirement(item.group(1))
            if name not in NOT_PACKAGES:
                entries[name] = spec
    return entries


def test_environment_yml_lists_the_same_packages_as_pyproject():
    conda = conda_requirements((ROOT / "environment.yml").read_text())
    pip = pyproject_requirements()
    assert set(conda) == set(pip), f"only in environment.yml: {set(conda) - set(pip)}; only in pyproject: " \
                                   f"{set(pip) - set(conda)}"
    assert conda == pip, "version bounds differ"
    assert "conda-forge" in (ROOT / "environment.yml").read_text()


def test_drift_would_be_caught():
    yml = (ROOT / "environment.yml").read_text().replace("  - tqdm>=4.66\n", "")
    assert set(conda_requirements(yml)) != set(pyproject_requirements())


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    command = 'pip install -e ".[test]" && pytest'
    assert command in readme
    assert command in (ROOT / ".ci" / "run").read_text()


def test_the_package_installs_with_every_subfolder_of_helpers():
    """setuptools installs the packages whose dotted names match ``include`` (as fnmatch patterns)."""
    include = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    folders = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "helpers").rglob("__init__.py")}
    assert folders >= {"helpers", "helpers.exercises", "helpers.plots", "helpers.widgets"}
    assert all(any(fnmatch.fnmatchcase(folder, pattern) for pattern in include) for folder in folders)
