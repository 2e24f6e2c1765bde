"""The notebooks' sliders in a real browser: JupyterLab in Chromium, driven by Playwright.

The unit tests call the panels' callbacks in Python, and nbval only runs the cells; neither sees
what a reader sees. Here each notebook that shows a panel of helpers/widgets/ is opened in
JupyterLab, run with Run All in the ci profile, and every control of every panel is used (arrow
keys on slider handles, menus, toggles, Train buttons): each must redraw the panel's figure, and
no traceback or "Error displaying widget" may appear. How it drives and waits: tests/browser_support.py.

Needs Python Playwright (the test extra) and Debian's Chromium (``apt-get install chromium``);
never ``playwright install``. Without them it skips, except under CI=true, where it fails.
Screenshots of a failure go to $BN_BROWSER_SCREENSHOTS, or a temporary folder the failure names.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from . import browser_support as bs

NOTEBOOKS = bs.ROOT / "notebooks"
WIDGETS = bs.notebooks_with_widgets(NOTEBOOKS)

# The order to use a panel's controls in, by label, where page order would leave a control with
# nothing to redraw: FineLandscapeExplorer redraws only for the controls its view (1-D or 2-D) uses.
CONTROL_ORDER: dict[str, tuple[str, ...]] = {
    "FineLandscapeExplorer": ("step", "networks at", "η grid", "max η (× LR)", "gradient norm too (slower)",
                              "view", "2-D resolution", "2-D second direction"),
}


def require_browser() -> None:
    """Skip where Chromium or Playwright is missing, but fail under CI=true: CI must never skip this silently."""
    missing = bs.browser_missing()
    if missing and os.environ.get("CI") == "true":
        pytest.fail(f"CI=true, and the browser test cannot run: {missing}")
    if missing:
        pytest.skip(missing)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium under Playwright (Debian's Chromium: Playwright never downloads a browser here)."""
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(bs.CHROMIUM))
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def lab(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[bs.JupyterLab]:
    """JupyterLab on 127.0.0.1 serving a temporary copy of notebooks/, in the ci profile, with the
    test session's data and run cache (runs computed here are reused by the nbval tests and back).
    It asks for ``browser`` first, so that a missing browser skips before a server starts."""
    home = tmp_path_factory.mktemp("jupyterlab")
    root = home / "root"
    bs.copy_notebooks(NOTEBOOKS, root)
    with bs.running_lab(root, bs.lab_environment(os.environ, home), home / "jupyterlab.log") as server:
        yield server


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where failures' screenshots go (each failure names it): $BN_BROWSER_SCREENSHOTS or a temporary folder."""
    folder = os.environ.get("BN_BROWSER_SCREENSHOTS")
    return Path(folder) if folder else tmp_path_factory.mktemp("browser-screenshots")


def report_failures(failures: list[bs.Failure], lab: bs.JupyterLab, screenshots: Path) -> str:
    return (f"{len(failures)} failure(s); screenshots in {screenshots}; JupyterLab's log: {lab.log}\n"
            + "\n".join(str(f) for f in failures))


def test_notebooks_with_widgets_are_found():
    """The browser test finds its notebooks by scanning for the panels' classes: an empty scan would
    make it pass while checking nothing."""
    assert WIDGETS, f"no notebook in {NOTEBOOKS} builds a panel of helpers/widgets/ ({bs.widget_classes()})"
    assert "AffineExplorer" in bs.widget_classes()
    assert all(cls in bs.widget_classes() for cls in CONTROL_ORDER)


def test_a_missing_browser_skips_locally_but_fails_in_ci(monkeypatch: pytest.MonkeyPatch):
    """A developer without Chromium gets a skip that says why; CI, which sets CI=true, gets a failure."""
    monkeypatch.setattr(bs, "CHROMIUM", Path("/nonexistent/chromium"))
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="not installed"):
        require_browser()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        require_browser()


@pytest.mark.parametrize("notebook", sorted(WIDGETS), ids=lambda name: name.removesuffix(".ipynb"))
def test_every_control_of_every_panel_redraws_its_figure_without_errors(notebook: str, browser: Any,
                                                                        lab: bs.JupyterLab, screenshots: Path):
    """Run All, then every slider, menu, toggle and button of the notebook's panels, in Chromium."""
    widgets = bs.widget_cells(lab.root / "notebooks" / notebook, bs.widget_classes())  # the copy being served
    assert widgets, f"{notebook} no longer builds a panel"
    failures, report = bs.check_notebook(browser, lab, f"notebooks/{notebook}", widgets, screenshots,
                                         order=lambda cls: CONTROL_ORDER.get(cls, ()))
    print(f"{notebook}: {json.dumps(report, indent=1, ensure_ascii=False)}")
    assert not failures, report_failures(failures, lab, screenshots)
    assert all(report["actions"].values()), f"a panel had no control to use: {report['actions']}"


BROKEN_NOTEBOOK = [
    "import numpy as np\nfrom helpers.widgets import AffineExplorer\nx = np.random.default_rng(0).standard_normal(500)",
    "frozen = AffineExplorer(x)\nfrozen.redraw = lambda: None  # the sliders move, the figure stays\nfrozen.widget",
    "raising = AffineExplorer(x)\nraising.redraw = lambda: 1 / 0  # every slider move raises\nraising.widget",
]


def test_a_panel_that_does_not_redraw_or_raises_is_reported(browser: Any, lab: bs.JupyterLab, tmp_path: Path):
    """The check can fail: a panel whose figure stays put, and one whose callback raises (a
    traceback JupyterLab shows only in its log console), are each reported with a screenshot."""
    import nbformat

    folder = lab.root / "broken"
    folder.mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in BROKEN_NOTEBOOK])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, folder / "broken.ipynb")
    widgets = bs.notebooks_with_widgets(folder)["broken.ipynb"]
    assert [w.cls for w in widgets] == ["AffineExplorer", "AffineExplorer"]

    failures, _ = bs.check_notebook(browser, lab, "broken/broken.ipynb", widgets, tmp_path)

    assert [f.where for f in failures] == ["AffineExplorer (cell 1)", "AffineExplorer (cell 2)"], failures
    frozen, raising = failures
    assert "γ (scale)" in frozen.action and "figure did not change" in frozen.problem
    assert "γ (scale)" in raising.action and "ZeroDivisionError" in raising.problem
    assert all(shot.is_file() for f in failures for shot in f.screenshots) and frozen.screenshots
