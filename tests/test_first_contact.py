"""What a new user meets first: help(helpers), the set-up printout, and committed outputs."""

import json
import re
import warnings
from pathlib import Path

import numpy as np

import helpers
from helpers.environment import show_setup
from helpers.paths import REPO_ROOT, shown_path
from helpers.summaries import phase_medians

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))
MACHINE_PATH = re.compile(r"(/home/|/root/|/work/|/tmp/|/Users/|/private/|[A-Z]:\\\\)")


def test_help_starts_with_where_to_start_and_an_example():
    doc = helpers.__doc__
    assert "Where to start" in doc[:300] and "RunConfig.from_profile" in doc and "train(" in doc


def test_the_explorers_are_importable_from_helpers():
    for name in ("AffineExplorer", "FineLandscapeExplorer", "LandscapeExplorer", "LearningRateExplorer",
                 "NoiseExplorer", "ProjectionExplorer"):
        assert getattr(helpers, name).__name__ == name and name in helpers.__all__


def test_a_bare_run_config_says_loudly_it_does_not_follow_the_profile():
    assert "does not follow ``BN_PROFILE``" in helpers.RunConfig.__doc__


def test_paths_are_printed_without_this_machines_folders(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BN_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("BN_RUNS_DIR", raising=False)
    info = show_setup()
    printed = capsys.readouterr().out
    assert "$BN_DATA_DIR (set in the environment)" in printed and str(tmp_path) not in printed
    assert info["data"] == str(tmp_path)  # the returned record keeps the full path
    assert shown_path(REPO_ROOT / "data" / "runs") == "data/runs"
    assert shown_path(Path.home() / "x" / "y") == "~/x/y"


def test_committed_notebooks_show_no_machine_paths():
    for path in NOTEBOOKS:
        for cell in json.loads(path.read_text())["cells"]:
            for output in cell.get("outputs", []):
                text = "".join(output.get("text", "")) + "".join(output.get("data", {}).get("text/plain", ""))
                found = MACHINE_PATH.search(text)
                assert not found, f"{path.name}: {found.group()} in {text[:200]!r}"


def test_medians_of_a_phase_without_numbers_are_nan_without_a_warning():
    summary = {"step": np.arange(4), "beta": np.array([np.nan, np.nan, 1.0, 2.0])}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        medians = phase_medians(summary, ("beta",), early_until=2)
    assert np.isnan(medians["early"]["beta"]) and medians["rest"]["beta"] == 1.5


def test_committed_widgets_show_a_line_to_run_them_not_an_error():
    shown = 0
    for path in NOTEBOOKS:
        nb = json.loads(path.read_text())
        assert "widgets" not in nb["metadata"], path.name
        for cell in nb["cells"]:
            for output in cell.get("outputs", []):
                data = output.get("data", {})
                assert "application/vnd.jupyter.widget-view+json" not in data, path.name
                shown += "run this cell in Jupyter to use it" in "".join(data.get("text/plain", ""))
    assert shown >= 8  # the sliders of notebooks 00-03 and 05-07


def test_every_committed_slider_panel_is_followed_by_a_static_copy_of_its_figure():
    for path in NOTEBOOKS:
        cells = json.loads(path.read_text())["cells"]
        for k, cell in enumerate(cells):
            texts = ["".join(o.get("data", {}).get("text/plain", "")) for o in cell.get("outputs", [])]
            if any("run this cell in Jupyter to use it" in t for t in texts):
                after = cells[k + 1] if k + 1 < len(cells) else {}
                assert any("image/png" in o.get("data", {}) for o in after.get("outputs", [])), (path.name, k)
