"""JupyterLab driven through Chromium, for tests/test_browser.py.

A JupyterLab server on 127.0.0.1 serves a temporary copy of the notebooks. Playwright opens a
notebook in Debian's Chromium, runs all its cells with JupyterLab's own "Run All", and works every
control of each panel of ``helpers/widgets/`` as a reader would: arrow keys on a slider's handle,
the next entry of a menu, the other toggle button, a click on a checkbox or a button. After each
action the panel's figure must have been redrawn, and nothing may have raised.

Nothing here sleeps for a fixed time. A control's change reaches the kernel as a ``comm_msg``; the
page watches JupyterLab's own connection to the kernel and an action is over when the kernel has
gone idle on every message the page sent since it began (and the server's ``/api/kernels`` says
idle). Tracebacks are caught where they travel: every ``error`` message and every traceback on
stderr the kernel publishes, whether from a cell or from a widget callback (which JupyterLab shows
in its log console, not in the notebook), and any "Error displaying widget" in the page.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ipykernel.kernelspec

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")

# Bounds on waits that normally end much sooner; each is a failure, never a pause.
SERVER_START_S = 90
KERNEL_START_MS = 120_000
RUN_ALL_MS = 900_000  # a whole notebook in the ci profile: under a minute each on 2 cores
SHOW_MS = 60_000  # a widget's view appearing after its cell ran
SEND_MS = 15_000  # the page sending the comm message for an action (immediate when the action took)
PROCESS_MS = 300_000  # the kernel handling it: a redraw, or a short ci training run
REDRAW_MS = 10_000  # the browser drawing the new figure once the kernel is idle

CONTROLS = ".widget-slider, .widget-dropdown, .widget-toggle-buttons, .widget-checkbox, button.widget-button"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def widget_classes(source: Path = ROOT / "helpers" / "widgets") -> list[str]:
    """The public classes of helpers/widgets/: each builds a panel that a notebook shows."""
    return sorted(node.name for path in source.glob("*.py") for node in ast.parse(path.read_text()).body
                  if isinstance(node, ast.ClassDef) and not node.name.startswith("_"))


@dataclass(frozen=True)
class WidgetCell:
    """A panel built in a notebook cell and shown in that cell's output (the notebooks' convention)."""

    cell: int  # index among all the notebook's cells
    cls: str
    nth: int = 0  # the panels one cell shows, in the order they are built

    @property
    def name(self) -> str:
        return f"{self.cls} (cell {self.cell})"


def widget_cells(notebook: Path, classes: Sequence[str]) -> list[WidgetCell]:
    """The panels a notebook builds: code cells that call one of ``classes`` (imports do not count)."""
    call = re.compile(rf"\b({'|'.join(map(re.escape, classes))})\s*\(")
    found = []
    for index, cell in enumerate(json.loads(notebook.read_text())["cells"]):
        if cell["cell_type"] == "code":
            source = "".join(cell["source"])
            found += [WidgetCell(index, m.group(1), k) for k, m in enumerate(call.finditer(source))]
    return found


def notebooks_with_widgets(folder: Path, classes: Sequence[str] | None = None) -> dict[str, list[WidgetCell]]:
    """Every notebook in ``folder`` that builds a panel, by file name, with its panels."""
    classes = widget_classes() if classes is None else classes
    found = {path.name: widget_cells(path, classes) for path in sorted(folder.glob("*.ipynb"))}
    return {name: cells for name, cells in found.items() if cells}


def browser_missing() -> str | None:
    """Why the browser test cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return 'Python Playwright is not installed (pip install -e ".[test]")'
    if not CHROMIUM.exists():
        return f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    return None


def copy_notebooks(source: Path, root: Path) -> Path:
    """A copy of the notebooks (and docs/, which they link to) under ``root``; returns its notebooks folder."""
    target = root / "notebooks"
    target.mkdir(parents=True)
    for path in source.glob("*.ipynb"):
        shutil.copy2(path, target / path.name)
    if (source.parent / "docs").is_dir():
        shutil.copytree(source.parent / "docs", root / "docs")
    return target


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _write_json(path: Path, value: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value))


def lab_environment(base: Mapping[str, str], home: Path) -> dict[str, str]:
    """The server's (and so its kernels') environment: the ci profile, this checkout's ``helpers``
    first on the path (the code the other tests import, whatever an editable install points at),
    its kernels in this interpreter (a "python3" kernel spec for ``sys.executable``, found before any
    user-level one), and JupyterLab settings of its own (every cell kept in the page, no news pop-up)
    under ``home``. BN_DATA_DIR, BN_NO_DOWNLOAD and BN_RUNS_DIR pass through unchanged."""
    env = dict(base)
    env.pop("MPLBACKEND", None)  # a reader's kernel draws inline, as JupyterLab sets it up
    env["BN_PROFILE"] = "ci"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), base.get("PYTHONPATH", "")) if p)
    settings = home / "settings"
    # every cell's output stays in the page (a check of all outputs sees them), drawn only when in
    # view: "none" draws them all, about 20 % slower over the series on 2 cores
    _write_json(settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings",
                {"windowingMode": "contentVisibility"})
    _write_json(settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings",
                {"fetchNews": "false", "checkForUpdates": False})
    env.update(JUPYTERLAB_SETTINGS_DIR=str(settings), JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
               JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_RUNTIME_DIR=str(home / "runtime"))
    ipykernel.kernelspec.write_kernel_spec(str(home / "share" / "kernels" / "python3"))  # sys.executable's
    env["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(home / "share"), base.get("JUPYTER_PATH", "")) if p)
    return env


@dataclass
class JupyterLab:
    """A running server: where it is, how to ask it about kernels, and its log."""

    url: str
    token: str
    root: Path
    log: Path
    process: subprocess.Popen

    def api(self, path: str, method: str = "GET") -> Any:
        request = urllib.request.Request(f"{self.url}/api/{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with _no_proxy().open(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def page_url(self, path: str) -> str:
        """A notebook opened in a fresh workspace (``reset``: no earlier tabs come back)."""
        return f"{self.url}/lab/tree/{path}?reset&token={self.token}"

    def kernel_state(self, kernel_id: str) -> str:
        return self.api(f"kernels/{kernel_id}")["execution_state"]

    def wait_kernel_idle(self, kernel_id: str, timeout_s: float = PROCESS_MS / 1000) -> None:
        """Poll the server's record of the kernel until it says idle."""
        deadline = time.monotonic() + timeout_s
        while (state := self.kernel_state(kernel_id)) != "idle":
            if state == "dead" or time.monotonic() > deadline:
                raise AssertionError(f"kernel {kernel_id} is {state}, not idle")
            time.sleep(0.1)  # a polling interval, not a wait for work to finish

    def shut_down_kernels(self) -> None:
        for session in self.api("sessions"):
            self.api(f"sessions/{session['id']}", method="DELETE")

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def _no_proxy() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


@contextlib.contextmanager
def running_lab(root: Path, env: Mapping[str, str], log: Path) -> Iterator[JupyterLab]:
    """JupyterLab on 127.0.0.1 (a free port, a random token) serving ``root``; stopped on exit with its kernels."""
    port, token = _free_port(), secrets.token_hex(16)
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
               "--ServerApp.port_retries=0", f"--ServerApp.token={token}", f"--ServerApp.root_dir={root}",
               "--LabApp.expose_app_in_browser=True",  # window.jupyterapp: run all, the kernel's messages
               "--allow-root"]  # CI runs as root
    with open(log, "w") as out:
        process = subprocess.Popen(command, env=dict(env), stdout=out, stderr=subprocess.STDOUT, cwd=root,
                                   start_new_session=True)
    lab = JupyterLab(f"http://127.0.0.1:{port}", token, root, log, process)
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {process.returncode}:\n{lab.log_tail()}")
            with contextlib.suppress(OSError, urllib.error.URLError):
                lab.api("status")
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"JupyterLab did not answer within {SERVER_START_S} s:\n{lab.log_tail()}")
            time.sleep(0.2)  # polling interval while the server starts
        yield lab
    finally:
        with contextlib.suppress(Exception):
            lab.shut_down_kernels()
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)  # a kernel left behind by the server we started


# --- in the page -------------------------------------------------------------------------------

# Watch JupyterLab's connection to the notebook's kernel: which comm messages the page sent, which
# messages the kernel has finished (idle), and every traceback it published.
WATCH_KERNEL = """() => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const bn = window.__bn = {sent: [], done: new Set(), errors: [], status: kernel.status};
  kernel.statusChanged.connect((_, status) => { bn.status = status; });
  kernel.anyMessage.connect((_, args) => {
    if (args.direction === 'send' && args.msg.header.msg_type === 'comm_msg') bn.sent.push(args.msg.header.msg_id);
  });
  kernel.iopubMessage.connect((_, msg) => {
    const type = msg.header.msg_type, content = msg.content;
    if (type === 'status' && content.execution_state === 'idle') bn.done.add(msg.parent_header.msg_id);
    if (type === 'error') bn.errors.push(content.traceback.join('\\n') || content.ename + ': ' + content.evalue);
    if (type === 'stream' && content.name === 'stderr' && /Traceback|Exception in /.test(content.text))
      bn.errors.push(content.text);
  });
  return kernel.id;
}"""

KERNEL_READY = """() => {
  const panel = window.jupyterapp?.shell.currentWidget;
  const kernel = panel?.sessionContext?.session?.kernel;
  return Boolean(panel?.content?.widgets?.length && panel.sessionContext.isReady && kernel?.status === 'idle');
}"""

RUN_ALL = """() => {
  window.__bnRun = {done: false};
  window.jupyterapp.commands.execute('notebook:run-all-cells').then(
    ok => { window.__bnRun = {done: true, ok}; },
    err => { window.__bnRun = {done: true, ok: false, err: String(err)}; });
}"""

# Everything the kernel was sent since the action began is handled, or it raised, or it died.
SETTLED = """(errorsSeen) => {
  const bn = window.__bn;
  return bn.errors.length > errorsSeen || bn.status === 'dead' || bn.sent.every(id => bn.done.has(id));
}"""

# Find the n-th panel shown in a cell's own output (not inside another widget) and mark it.
MARK_WIDGET = """([cell, nth, mark]) => {
  const area = window.jupyterapp.shell.currentWidget.content.widgets[cell].node.querySelector('.jp-Cell-outputArea');
  const root = area?.querySelectorAll(':scope > .jp-OutputArea-child > .jp-OutputArea-output > .jupyter-widgets')[nth];
  if (!root || !root.querySelector('input, select, button, .noUi-handle')) return false;
  root.setAttribute('data-bn-widget', mark);
  return true;
}"""

# The panel's figure as one string: a hash of its images' PNG data (null while one is still decoding).
FIGURE = """(root) => {
  const images = [...root.querySelectorAll('.widget-output img')];
  if (!images.every(i => i.complete && i.naturalWidth > 0)) return null;
  let h = 0x811c9dc5;
  for (const image of images)
    for (let k = 0; k < image.src.length; k++) h = Math.imul(h ^ image.src.charCodeAt(k), 16777619);
  return images.length ? images.length + ':' + (h >>> 0).toString(16) : '';
}"""
FIGURE_CHANGED = """([root, before]) => {
  const now = (FIGURE)(root);
  return now !== null && now !== '' && now !== before;
}""".replace("FIGURE", FIGURE)
FIGURE_SHOWN = "(root) => Boolean((FIGURE)(root))".replace("FIGURE", FIGURE)

# Widget views that failed ("Error displaying widget") anywhere in the page's outputs.
BROKEN_VIEWS = """() => [...document.querySelectorAll('.jp-OutputArea-output')]
  .map(o => o.textContent).filter(t => t.includes('Error displaying widget')).map(t => t.slice(0, 300))"""

# The interactive elements of a panel that are part of no control this driver knows.
UNKNOWN_CONTROLS = """([root, known]) =>
  [...root.querySelectorAll('input, select, textarea, button, [contenteditable="true"]')]
    .filter(e => !e.closest(known)).map(e => e.outerHTML.slice(0, 120))"""

DESCRIBE = """(control) => {
  const has = c => control.classList.contains(c);
  const kind = has('widget-slider') ? 'slider' : has('widget-dropdown') ? 'dropdown'
    : has('widget-toggle-buttons') ? 'toggle' : has('widget-checkbox') ? 'checkbox' : 'button';
  // an empty label holds a zero-width space
  const text = node => node.textContent.replace(/\\u200b/g, '').trim();
  const labels = [...control.querySelectorAll('.widget-label, .widget-label-basic')].map(text);
  const label = kind === 'button' ? text(control) : labels.find(l => l) || '';
  return [kind, label || '(no label)'];
}"""


@dataclass
class Failure:
    """One thing that went wrong, with where and what the page looked like."""

    notebook: str
    where: str  # the panel, or "run all cells"
    action: str
    problem: str
    screenshots: list[Path] = field(default_factory=list)

    def __str__(self) -> str:
        shots = ", ".join(str(p) for p in self.screenshots) or "none"
        return f"{self.notebook}: {self.where}: {self.action}: {self.problem}\n    screenshots: {shots}"


class ActionLost(Exception):
    """The page sent nothing to the kernel: the key press or click did not land."""


class Broken(Exception):
    """The panel or the notebook misbehaved; the message says how."""


@dataclass
class Control:
    kind: str
    label: str
    locator: Any  # playwright Locator

    def act(self) -> str:
        """Change the control once, as a reader would; returns what was done."""
        loc = self.locator
        if self.kind == "slider":
            handle, readout = loc.locator(".noUi-handle").first, loc.locator(".widget-readout")
            at_end = float(handle.get_attribute("aria-valuenow")) >= float(handle.get_attribute("aria-valuemax"))
            key = "ArrowLeft" if at_end else "ArrowRight"
            before = readout.inner_text().strip()
            handle.press(key)
            return f"{key} on the slider (from {before})"
        if self.kind == "dropdown":
            select = loc.locator("select")
            index, count = select.evaluate("s => [s.selectedIndex, s.options.length]")
            option = select.locator("option").nth((index + 1) % count).inner_text().strip()
            select.select_option(index=(index + 1) % count)
            return f"chose {option!r}"
        if self.kind == "toggle":
            button = loc.locator("button:not(.mod-active)").first
            text = button.inner_text().strip()
            button.click()
            return f"toggled to {text!r}"
        if self.kind == "checkbox":
            box = loc.locator("input[type=checkbox]")
            checked = box.is_checked()
            box.click()
            return f"{'un' if checked else ''}ticked"
        loc.click()
        return "clicked"


class NotebookPage:
    """One notebook open in JupyterLab in its own browser context, with its kernel watched."""

    def __init__(self, browser: Any, lab: JupyterLab, path: str, screenshots: Path):
        self.lab, self.path, self.screenshots = lab, path, screenshots
        self.context = browser.new_context(viewport={"width": 1500, "height": 1000})
        self.page = self.context.new_page()
        self.page_errors: list[str] = []
        self.page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        self.kernel_id = ""
        self.errors_seen = 0
        self.action = "open the notebook"  # what is being done, for a failure's report
        self.root: Any = None  # the panel being exercised
        self.retries: list[str] = []

    @property
    def name(self) -> str:
        return Path(self.path).name

    def close(self) -> None:
        self.context.close()
        self.lab.shut_down_kernels()

    def open(self) -> None:
        """Load JupyterLab on the notebook and wait for its kernel to be idle; start watching it."""
        self.page.goto(self.lab.page_url(self.path))
        self.page.wait_for_function(KERNEL_READY, timeout=KERNEL_START_MS)
        self.kernel_id = self.page.evaluate(WATCH_KERNEL)

    def run_all(self) -> None:
        """JupyterLab's Run All, until it reports every cell done; Broken if a cell raised."""
        self.page.evaluate(RUN_ALL)
        self.page.wait_for_function("() => window.__bnRun.done || window.__bn.status === 'dead'",
                                    timeout=RUN_ALL_MS, polling=250)
        if self.page.evaluate("() => window.__bn.status") == "dead":
            raise Broken("the kernel died")
        self.lab.wait_kernel_idle(self.kernel_id)
        self.check_errors()
        result = self.page.evaluate("() => window.__bnRun")
        if not result["ok"]:
            raise Broken(f"Run All did not finish every cell {result.get('err', '')}")

    def check_errors(self) -> None:
        """Broken if the kernel published a traceback since the last check, or a widget view failed."""
        errors = self.page.evaluate("(n) => window.__bn.errors.slice(n)", self.errors_seen)
        self.errors_seen += len(errors)
        views = self.page.evaluate(BROKEN_VIEWS)
        if errors or views:
            text = "\n".join(ANSI.sub("", e) for e in errors + views)
            raise Broken(f"{'a traceback' if errors else 'Error displaying widget'}:\n{text[-3000:]}")

    def panel(self, widget: WidgetCell) -> Any:
        """The panel's root element, once its view is in the cell's output."""
        mark = f"{widget.cell}-{widget.nth}"
        try:
            self.page.wait_for_function(MARK_WIDGET, arg=[widget.cell, widget.nth, mark], timeout=SHOW_MS)
        except Exception as err:
            raise Broken(f"no view of {widget.cls} in the output of cell {widget.cell}, where it is built") from err
        return self.page.locator(f'[data-bn-widget="{mark}"]')

    def controls(self, root: Any, order: Sequence[str] = ()) -> list[Control]:
        """The panel's controls in page order, or first those named in ``order`` (by label) in that order."""
        unknown = self.page.evaluate(UNKNOWN_CONTROLS, [root.element_handle(), CONTROLS])
        if unknown:
            raise Broken(f"controls the browser test does not know how to use: {unknown}")
        found = []
        for k in range(root.locator(CONTROLS).count()):
            locator = root.locator(CONTROLS).nth(k)
            kind, label = locator.evaluate(DESCRIBE)
            found.append(Control(kind, label, locator))
        labels = [c.label for c in found]
        missing = [label for label in order if label not in labels]
        if missing:
            raise Broken(f"the test's order names controls the panel does not have: {missing}; it has {labels}")
        return sorted(found, key=lambda c: order.index(c.label) if c.label in order else len(order))

    def perform(self, control: Control) -> None:
        """Act on a control and wait until the kernel has handled what the page sent (one retry if
        the page sent nothing); Broken on a traceback or a dead kernel."""
        for attempt in (1, 2):
            sent = self.page.evaluate("() => window.__bn.sent.length")
            self.action = f"{control.label!r}: {control.act()}"
            try:
                self.page.wait_for_function("(n) => window.__bn.sent.length > n", arg=sent, timeout=SEND_MS)
                break
            except Exception as err:
                if attempt == 2:
                    raise ActionLost("the page sent the kernel nothing, twice") from err
                self.retries.append(f"{self.name}: {self.action}: nothing sent; retried once")
        self.page.wait_for_function(SETTLED, arg=self.errors_seen, timeout=PROCESS_MS, polling=100)
        if self.page.evaluate("() => window.__bn.status") == "dead":
            raise Broken("the kernel died")
        self.lab.wait_kernel_idle(self.kernel_id)
        self.check_errors()

    def exercise(self, widget: WidgetCell, done: list[str], order: Sequence[str] = ()) -> None:
        """Use every control of one panel, checking that its figure is redrawn; appends each step to ``done``.

        A panel with a button (Train) applies its other controls when the button is clicked: the
        button is clicked once alone, then after each other control's change, and each click must
        redraw. Without a button, every control's change must redraw by itself."""
        self.action, self.root = "show the panel", None
        self.root = root = self.panel(widget)
        controls = self.controls(root, order)
        buttons = [c for c in controls if c.kind == "button"]
        if not buttons:
            self.action = "draw the first figure"
            self.page.wait_for_function(FIGURE_SHOWN, arg=root.element_handle(), timeout=REDRAW_MS)
        steps = [[b] for b in buttons] + [[c, *buttons[:1]] for c in controls if c.kind != "button"]
        for step in steps:
            before = root.evaluate(FIGURE) or ""
            actions = []
            for control in step:
                self.perform(control)
                actions.append(self.action)
            self.action = "; then ".join(actions)
            try:
                self.page.wait_for_function(FIGURE_CHANGED, arg=[root.element_handle(), before], timeout=REDRAW_MS)
            except Exception as err:
                raise Broken("the figure did not change (the kernel had finished and was idle)") from err
            done.append(self.action)

    def screenshot(self, label: str) -> list[Path]:
        """The page, and the current panel if there is one, as PNGs in the screenshot folder."""
        self.screenshots.mkdir(parents=True, exist_ok=True)
        stem = re.sub(r"[^\w.-]+", "_", f"{Path(self.path).stem}-{label}")[:120]
        shots = []
        with contextlib.suppress(Exception):
            if self.root is not None:
                self.root.scroll_into_view_if_needed(timeout=5000)
                self.root.screenshot(path=self.screenshots / f"{stem}-panel.png", timeout=10_000)
                shots.append(self.screenshots / f"{stem}-panel.png")
        with contextlib.suppress(Exception):
            self.page.screenshot(path=self.screenshots / f"{stem}-page.png", timeout=10_000)
            shots.append(self.screenshots / f"{stem}-page.png")
        return shots


def check_notebook(browser: Any, lab: JupyterLab, path: str, widgets: Sequence[WidgetCell], screenshots: Path,
                   order: Callable[[str], Sequence[str]] = lambda cls: ()) -> tuple[list[Failure], dict[str, Any]]:
    """Open a notebook, run all its cells, and exercise each panel; a panel's failure does not stop
    the next one. Returns the failures and a report: seconds taken, the actions done, any retries."""
    notebook = NotebookPage(browser, lab, path, screenshots)
    failures: list[Failure] = []
    report: dict[str, Any] = {"actions": {}, "retries": notebook.retries}
    start = time.perf_counter()
    try:
        try:
            notebook.open()
            notebook.run_all()
        except Exception as err:
            shots = notebook.screenshot("run-all")
            return [Failure(notebook.name, "run all cells", "Run All", _message(err), shots)], report
        report["run_all_s"] = round(time.perf_counter() - start, 1)
        for widget in widgets:
            done = report["actions"][widget.name] = []
            try:
                notebook.exercise(widget, done, order(widget.cls))
            except Exception as err:
                shots = notebook.screenshot(f"cell{widget.cell}-{widget.cls}")
                failures.append(Failure(notebook.name, widget.name, notebook.action, _message(err), shots))
        if notebook.page_errors:
            report["page_errors"] = notebook.page_errors
    finally:
        report["total_s"] = round(time.perf_counter() - start, 1)
        notebook.close()
    return failures, report


def _message(err: Exception) -> str:
    text = str(err)
    if type(err).__name__ == "TimeoutError":  # playwright's: the first line says what it waited for
        text = "timed out: " + text.splitlines()[0]
    return ANSI.sub("", text)
