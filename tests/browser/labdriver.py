"""Drive a real JupyterLab in headless chromium (Playwright, sync API): the browser harness.

Used by the browser tests (through the fixtures in ``conftest.py``) and by the browser
benchmark in ``benchmarks/``, so both measure and check the same thing the same way.

One JupyterLab server is started per test session, from this virtual environment, on
127.0.0.1 with a random token and throw-away config, runtime, settings and workspace folders.
Test notebooks are copied into a temporary root folder (never run in place), opened in
chromium, run with "Run All Cells", and checked for what a user would see go wrong: widgets that
fail to render, kernel errors, tracebacks and browser console errors.

Without ``/usr/bin/chromium`` (or the browser named by ``MEDINTERACT_CHROMIUM``) the browser
tests are skipped, unless the environment variable ``MEDINTERACT_REQUIRE_BROWSER=1`` is set
(CI sets it); then they fail.

Screenshots go to ``$MEDINTERACT_ARTIFACTS`` if set, else ``artifacts/screenshots/`` at the
repository root (git-ignored).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
# Debian's chromium; MEDINTERACT_CHROMIUM points elsewhere (never a Playwright-downloaded browser).
CHROMIUM = Path(os.environ.get("MEDINTERACT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
KERNEL_NAME = "python3"
SERVER_START_TIMEOUT_S = 60.0
KERNEL_READY_TIMEOUT_S = 90.0
RUN_ALL_TIMEOUT_S = 300.0
WIDGET_SETTLE_TIMEOUT_S = 30.0

# JupyterLab user settings for the test server: no news pop-up, no update check, and every
# cell attached to the DOM (windowing "none"), so widgets below the fold render and are checked.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}

# Console and page errors that are not the notebook's fault: (regex, why it is harmless). A
# clean JupyterLab with ipywidgets logs no errors. itkwidgets' JupyterLab extension (the [itk]
# extra: installed in the Binder environment, where .ci/run also runs the notebooks) loads ImJoy
# and Vue from a CDN on every page load, and view3d's probe asks the 3-D viewer's host; offline
# those requests fail. Exactly these hosts are accepted, nothing else: view3d then shows the
# offline view with the reason, which the notebook tests check.
CDN_HOSTS = r"(cdn\.jsdelivr\.net|lib\.imjoy\.io|imjoy\.io|imjoy-team\.github\.io" \
            r"|[a-z0-9]+\.ipfs\.dweb\.link)"
BENIGN_CONSOLE_ERRORS: tuple[tuple[str, str], ...] = (
    (rf"^Failed to load resource: net::ERR_[A-Z_]+ \(https://{CDN_HOSTS}/",
     "itkwidgets' scripts and viewer host, offline"),
    (rf"^Error loading script: https://{CDN_HOSTS}/",
     "imjoy's script loader reporting the same offline CDN"),
    (rf"^https://{CDN_HOSTS}/\S*$", "the uncaught rejection imjoy's loader leaves for it"),
)


def jupyter_python() -> str:
    """The Python whose JupyterLab (and so kernels) the tests drive.

    ``$MEDINTERACT_JUPYTER_PYTHON`` (``.ci/run`` points it at the Binder environment it
    builds), else this interpreter.
    """
    return os.environ.get("MEDINTERACT_JUPYTER_PYTHON") or sys.executable


def browser_required() -> bool:
    """Return True when browser tests must run (CI), so a missing browser is a failure."""
    return os.environ.get("MEDINTERACT_REQUIRE_BROWSER", "") == "1"


def artifacts_dir() -> Path:
    """Return the folder for screenshots, creating it."""
    configured = os.environ.get("MEDINTERACT_ARTIFACTS")
    folder = Path(configured) if configured else REPO_ROOT / "artifacts" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------------------------
# JupyterLab server
# --------------------------------------------------------------------------------------------


@dataclass
class LabServer:
    """A running JupyterLab server started for the tests."""

    url: str
    token: str
    root_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes]

    def notebook_url(self, name: str) -> str:
        """Return the URL that opens notebook ``name`` (relative to the root) in a clean lab."""
        return f"{self.url}/lab/tree/{name}?token={self.token}&reset"

    def add_notebook(self, source: Path, *, name: str | None = None) -> str:
        """Copy a notebook into the server root; return its name relative to the root."""
        target = self.root_dir / (name or source.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        return target.relative_to(self.root_dir).as_posix()

    def write_notebook(self, name: str, cells: list[str]) -> str:
        """Write a notebook of code ``cells`` (kernel python3) into the root; return its name."""
        import nbformat

        notebook = nbformat.v4.new_notebook()
        notebook.metadata["kernelspec"] = {
            "name": KERNEL_NAME,
            "display_name": "Python 3 (ipykernel)",
            "language": "python",
        }
        notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
        target = self.root_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, target)
        return target.relative_to(self.root_dir).as_posix()

    def log_tail(self, n_chars: int = 4000) -> str:
        """Return the end of the server log (for failure messages)."""
        try:
            return self.log_path.read_text(errors="replace")[-n_chars:]
        except OSError:
            return ""


def lab_environment(base: Path) -> dict[str, str]:
    """Return the environment for a clean, offline JupyterLab rooted in folder ``base``."""
    env = dict(os.environ)
    folders = {
        "JUPYTER_CONFIG_DIR": base / "config",
        "JUPYTER_RUNTIME_DIR": base / "runtime",
        "JUPYTERLAB_SETTINGS_DIR": base / "settings",
        "JUPYTERLAB_WORKSPACES_DIR": base / "workspaces",
        "IPYTHONDIR": base / "ipython",
        "MPLCONFIGDIR": base / "matplotlib",
    }
    for variable, folder in folders.items():
        folder.mkdir(parents=True, exist_ok=True)
        env[variable] = str(folder)
    for settings_file, settings in LAB_SETTINGS.items():
        path = folders["JUPYTERLAB_SETTINGS_DIR"] / settings_file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings))
    # The kernel is the server's python: kernelspec "python3" runs `python`, which
    # jupyter_client resolves to the server's sys.executable; its bin also comes first on PATH.
    env["PATH"] = f"{Path(jupyter_python()).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"  # silence the debugger's frozen-modules warning
    env.pop("JUPYTER_PATH", None)
    env.pop("JUPYTER_DATA_DIR", None)
    return env


def start_lab_server(base: Path) -> LabServer:
    """Start JupyterLab from this venv on 127.0.0.1 with a fresh token; wait until it answers."""
    root_dir = base / "root"
    root_dir.mkdir(parents=True, exist_ok=True)
    log_path = base / "jupyterlab.log"
    env = lab_environment(base)
    token = secrets.token_hex(16)
    last_error = ""
    for _attempt in range(3):  # a free port can be taken between probing and binding
        port = free_port()
        command = [
            jupyter_python(), "-m", "jupyter", "lab",
            "--no-browser",
            "--allow-root",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root_dir}",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.expose_app_in_browser=True",
            "--ServerApp.open_browser=False",
        ]  # fmt: skip
        log = log_path.open("ab")
        process = subprocess.Popen(
            command, cwd=root_dir, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        server = LabServer(f"http://127.0.0.1:{port}", token, root_dir, log_path, process)
        if wait_for_server(server, SERVER_START_TIMEOUT_S):
            return server
        last_error = server.log_tail()
        stop_lab_server(server)
    raise RuntimeError(f"JupyterLab did not start; log tail:\n{last_error}")


def wait_for_server(server: LabServer, timeout_s: float) -> bool:
    """Poll ``/api/status`` until it answers 200; False if the process died or time ran out."""
    deadline = time.monotonic() + timeout_s
    status_url = f"{server.url}/api/status?token={server.token}"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(status_url, timeout=2) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    return False


def stop_lab_server(server: LabServer) -> None:
    """Stop the server process (and so its kernels) by its PID."""
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=5)


# --------------------------------------------------------------------------------------------
# Browser page with console capture
# --------------------------------------------------------------------------------------------


@dataclass
class LabPage:
    """A Playwright page on the test JupyterLab, with everything the console said."""

    page: Any  # playwright.sync_api.Page
    server: LabServer
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def attach_listeners(self) -> None:
        """Record console ``error`` messages and uncaught page errors."""
        self.page.on("console", self._on_console)
        self.page.on("pageerror", self._on_page_error)

    def _on_console(self, message: Any) -> None:
        if message.type != "error":
            return
        text = message.text
        url = (message.location or {}).get("url", "")
        if text.startswith("Failed to load resource") and url:
            text = f"{text} ({url})"  # which resource: the message alone does not say
        if not is_benign_console_error(text):
            self.console_errors.append(text)

    def _on_page_error(self, error: Any) -> None:
        if not is_benign_console_error(str(error)):
            self.page_errors.append(str(error))

    def screenshot(self, name: str, *, whole_notebook: bool = True) -> Path:
        """Save a PNG screenshot named ``name``; the whole notebook, not only the viewport."""
        path = artifacts_dir() / f"{safe_file_name(name)}.png"
        if not whole_notebook:
            self.page.screenshot(path=str(path))
            return path
        viewport = self.page.viewport_size
        height = self.page.evaluate(NOTEBOOK_HEIGHT_JS)
        if viewport and height and height > viewport["height"]:
            self.page.set_viewport_size({"width": viewport["width"], "height": min(height, 12000)})
            self.page.evaluate(SCROLL_TO_TOP_JS)
            self.page.wait_for_timeout(300)
            try:
                self.page.screenshot(path=str(path))
            finally:
                self.page.set_viewport_size(viewport)
        else:
            self.page.screenshot(path=str(path))
        return path


NOTEBOOK_HEIGHT_JS = """
() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  if (!panel) { return 0; }
  // JupyterLab 4 scrolls inside .jp-WindowedPanel-outer; older versions in .jp-Notebook.
  const scroller = panel.querySelector('.jp-WindowedPanel-outer')
    || panel.querySelector('.jp-Notebook');
  const chrome = window.innerHeight - scroller.clientHeight;
  return Math.ceil(scroller.scrollHeight + chrome + 40);
}
"""


SCROLL_TO_TOP_JS = """
() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  const scroller = panel && (panel.querySelector('.jp-WindowedPanel-outer')
    || panel.querySelector('.jp-Notebook'));
  if (scroller) { scroller.scrollTop = 0; }
}
"""


def is_benign_console_error(text: str) -> bool:
    """Return True for console errors known to be harmless (see BENIGN_CONSOLE_ERRORS)."""
    return any(re.search(pattern, text) for pattern, _why in BENIGN_CONSOLE_ERRORS)


def safe_file_name(name: str) -> str:
    """Return ``name`` with anything but letters, digits, ``.-_`` replaced by ``_``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "screenshot"


# --------------------------------------------------------------------------------------------
# Open a notebook, wait for the kernel, run all, collect problems
# --------------------------------------------------------------------------------------------


@dataclass
class NotebookRun:
    """What happened when a notebook was opened and run in JupyterLab."""

    notebook: str
    kernel: dict[str, Any]
    run_all_ok: bool
    code_cells: int
    unexecuted_cells: list[int]
    busy_prompts: int
    error_outputs: list[str]
    widget_errors: list[str]
    tracebacks: list[str]
    loading_widgets: int
    console_errors: list[str]
    page_errors: list[str]
    seconds: float

    def problems(self, *, known_console_errors: tuple[str, ...] = ()) -> list[str]:
        """Return one line per problem a user would see; empty when the run was clean.

        ``known_console_errors``: regular expressions of console errors to leave out (each use
        says why it is not ours).
        """
        found: list[str] = []
        if not self.run_all_ok:
            found.append("Run All Cells reported a failure")
        if self.unexecuted_cells:
            found.append(f"code cells never executed: {self.unexecuted_cells}")
        if self.busy_prompts:
            found.append(f"{self.busy_prompts} cell(s) still show [*]")
        found += [f"kernel error output: {text}" for text in self.error_outputs]
        found += [f"widget error: {text}" for text in self.widget_errors]
        found += [f"traceback in output: {text}" for text in self.tracebacks]
        if self.loading_widgets:
            found.append(f"{self.loading_widgets} widget(s) stuck at 'Loading widget...'")
        found += [f"console error: {text}" for text in self.console_errors
                  if not any(re.search(known, text) for known in known_console_errors)]
        found += [f"page error: {text}" for text in self.page_errors]
        return found

    def assert_clean(self, *, known_console_errors: tuple[str, ...] = ()) -> None:
        """Fail with every problem listed when the run was not clean."""
        problems = self.problems(known_console_errors=known_console_errors)
        assert not problems, f"{self.notebook}:\n  " + "\n  ".join(problems)


WAIT_FOR_KERNEL_JS = """
async () => {
  const app = window.jupyterapp;
  const panel = app.shell.currentWidget;
  await panel.context.ready;
  await panel.sessionContext.ready;
  const kernel = panel.sessionContext.session.kernel;
  const info = await kernel.info;
  const future = kernel.requestExecute({
    code: '', silent: true, store_history: false,
    user_expressions: {
      prefix: "__import__('sys').prefix",
      executable: "__import__('sys').executable",
    },
  });
  const reply = await future.done;
  const expr = reply.content.user_expressions;
  // text/plain is the repr of a str: strip its quotes.
  const text = (key) => (expr[key] && expr[key].data)
    ? expr[key].data['text/plain'].slice(1, -1) : null;
  return {
    name: kernel.name,
    implementation: info.implementation,
    status: kernel.status,
    prefix: text('prefix'),
    executable: text('executable'),
  };
}
"""

NOTEBOOK_OPEN_JS = """
() => {
  const app = window.jupyterapp;
  if (!app || !app.shell) { return false; }
  const panel = app.shell.currentWidget;
  return !!(panel && panel.sessionContext && panel.content && panel.content.widgets);
}
"""

START_RUN_ALL_JS = """
() => {
  window.__miRunAll = undefined;
  window.jupyterapp.commands.execute('notebook:run-all-cells').then(
    (ok) => { window.__miRunAll = {done: true, ok: ok !== false}; },
    (err) => { window.__miRunAll = {done: true, ok: false, error: String(err)}; },
  );
}
"""

COLLECT_JS = """
() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const cells = panel.content.widgets;
  const codeCells = cells.filter((cell) => cell.model.type === 'code');
  const unexecuted = [];
  const errorOutputs = [];
  codeCells.forEach((cell) => {
    const index = cells.indexOf(cell);
    const source = cell.model.sharedModel.getSource();
    if (source.trim() && cell.model.executionCount === null) { unexecuted.push(index); }
    for (const output of cell.model.outputs.toJSON()) {
      if (output.output_type === 'error') {
        errorOutputs.push(`cell ${index}: ${output.ename}: ${output.evalue}`);
      }
    }
  });
  const root = panel.node;
  const busy = [...root.querySelectorAll('.jp-InputPrompt')]
    .filter((node) => node.textContent.includes('[*]')).length;
  const outputs = [...root.querySelectorAll('.jp-OutputArea-output')];
  // ipywidgets shows "Error displaying widget" for a missing model and an error view
  // (.jupyter-widgets-error-widget, "Click to show javascript error.") when a view fails.
  const widgetErrors = outputs.filter((n) => n.textContent.includes('Error displaying widget')
      || n.querySelector('.jupyter-widgets-error-widget'))
    .map((n) => n.textContent.replace(/\\s+/g, ' ').trim().slice(0, 300));
  const tracebacks = outputs.filter((n) => n.textContent.includes('Traceback'))
    .map((n) => n.textContent.trim().slice(0, 300));
  const loading = outputs.filter((n) => n.textContent.includes('Loading widget')).length;
  return {
    codeCells: codeCells.length, unexecuted, errorOutputs, busy,
    widgetErrors, tracebacks, loading,
  };
}
"""

LOADING_WIDGETS_JS = """
() => [...document.querySelectorAll('.jp-NotebookPanel .jp-OutputArea-output')]
  .filter((n) => n.textContent.includes('Loading widget')).length === 0
"""


def open_notebook(lab_page: LabPage, notebook: str) -> dict[str, Any]:
    """Open ``notebook`` in a clean JupyterLab and wait until its kernel really answers.

    Returns facts about the kernel (name, implementation, ``sys.prefix``, executable), asked of
    the kernel itself with a silent ``user_expressions`` request.
    """
    page = lab_page.page
    page.goto(lab_page.server.notebook_url(notebook), wait_until="domcontentloaded")
    page.wait_for_function(NOTEBOOK_OPEN_JS, timeout=KERNEL_READY_TIMEOUT_S * 1000)
    page.evaluate("() => window.jupyterapp.shell.collapseLeft()")  # more notebook on screen
    # The status bar says "<display name> | Idle" once the kernel has started and replied; a
    # notebook without a usable kernelspec shows the kernel picker instead: accept its default.
    state = page.wait_for_function(KERNEL_IDLE_OR_DIALOG_JS, timeout=KERNEL_READY_TIMEOUT_S * 1000)
    if state.json_value() == "dialog":
        page.locator(".jp-Dialog .jp-mod-accept").first.click()
        page.wait_for_function(KERNEL_IDLE_JS, timeout=KERNEL_READY_TIMEOUT_S * 1000)
    return page.evaluate(WAIT_FOR_KERNEL_JS)


KERNEL_IDLE_JS = """
() => [...document.querySelectorAll('.jp-StatusBar-Widget')]
  .some((node) => /\\| Idle/.test(node.textContent))
"""

KERNEL_IDLE_OR_DIALOG_JS = """
() => {
  if (document.querySelector('.jp-Dialog')) { return 'dialog'; }
  const idle = [...document.querySelectorAll('.jp-StatusBar-Widget')]
    .some((node) => /\\| Idle/.test(node.textContent));
  return idle ? 'idle' : false;
}
"""


def open_and_run_all(
    lab_page: LabPage, notebook: str, *, timeout_s: float = RUN_ALL_TIMEOUT_S
) -> NotebookRun:
    """Open ``notebook`` (relative to the server root), run all cells, collect what went wrong.

    Waits for the kernel for real (status bar ``| Idle`` and a kernel reply), runs "Run All
    Cells", waits for its promise to settle (all cells done, no ``[*]``), lets widgets render,
    then gathers error outputs, "Error displaying widget", "Traceback" text, widgets stuck at
    "Loading widget...", console errors and uncaught page errors.
    """
    page = lab_page.page
    started = time.monotonic()
    kernel = open_notebook(lab_page, notebook)
    page.evaluate(START_RUN_ALL_JS)
    try:
        page.wait_for_function(
            "() => window.__miRunAll && window.__miRunAll.done", timeout=timeout_s * 1000
        )
        page.wait_for_function(
            "() => ![...document.querySelectorAll('.jp-NotebookPanel .jp-InputPrompt')]"
            ".some((n) => n.textContent.includes('[*]'))",
            timeout=timeout_s * 1000,
        )
    except Exception as timeout:  # playwright TimeoutError: say where the notebook hung
        state = page.evaluate(COLLECT_JS)
        raise TimeoutError(
            f"{notebook}: Run All did not finish within {timeout_s:.0f} s; "
            f"{state['busy']} cell(s) still [*], never executed: {state['unexecuted']}, "
            f"errors: {state['errorOutputs']}; console errors: {lab_page.console_errors}"
        ) from timeout
    run_all = page.evaluate("() => window.__miRunAll")
    try:
        page.wait_for_function(LOADING_WIDGETS_JS, timeout=WIDGET_SETTLE_TIMEOUT_S * 1000)
    except Exception:  # noqa: BLE001 - reported below as loading_widgets
        pass
    page.wait_for_timeout(500)  # late console errors from widget views
    collected = page.evaluate(COLLECT_JS)
    return NotebookRun(
        notebook=notebook,
        kernel=kernel,
        run_all_ok=bool(run_all.get("ok")),
        code_cells=collected["codeCells"],
        unexecuted_cells=collected["unexecuted"],
        busy_prompts=collected["busy"],
        error_outputs=collected["errorOutputs"],
        widget_errors=collected["widgetErrors"],
        tracebacks=collected["tracebacks"],
        loading_widgets=collected["loading"],
        console_errors=list(lab_page.console_errors),
        page_errors=list(lab_page.page_errors),
        seconds=time.monotonic() - started,
    )


def shutdown_kernels(lab_page: LabPage) -> None:
    """Shut down the kernels this page started, so the next test gets the CPU."""
    try:
        lab_page.page.evaluate(
            "async () => { const app = window.jupyterapp;"
            " if (app) { await app.serviceManager.sessions.shutdownAll(); } }"
        )
    except Exception:  # noqa: BLE001 - the page may already be gone
        pass


@contextmanager
def chromium() -> Iterator[Any]:
    """Launch headless Debian chromium through Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=list(CHROMIUM_ARGS)
        )
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def lab_page_on(browser: Any, server: LabServer) -> Iterator[LabPage]:
    """Open a fresh context and page on ``server``; shut its kernels down afterwards."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    lab_page = LabPage(page=context.new_page(), server=server)
    lab_page.attach_listeners()
    try:
        yield lab_page
    finally:
        shutdown_kernels(lab_page)
        context.close()


@contextmanager
def running_lab_server(base: Path) -> Iterator[LabServer]:
    """Start a JupyterLab server in folder ``base`` for the duration of the block."""
    server = start_lab_server(base)
    try:
        yield server
    finally:
        stop_lab_server(server)


# --------------------------------------------------------------------------------------------
# Asking the notebook's own kernel (what the page shows vs what the kernel holds)
# --------------------------------------------------------------------------------------------

KERNEL_EXECUTE_JS = """
async (code) => {
  const app = window.jupyterapp;
  const kernel = app.shell.currentWidget.sessionContext.session.kernel;
  const future = kernel.requestExecute({ code, silent: false, store_history: false });
  let out = '';
  future.onIOPub = (msg) => {
    if (msg.header.msg_type === 'stream') { out += msg.content.text; }
    if (msg.header.msg_type === 'error') {
      out += `KERNEL ERROR ${msg.content.ename}: ${msg.content.evalue}`;
    }
  };
  await future.done;
  return out;
}
"""


def kernel_output(lab_page: LabPage, code: str) -> str:
    """Run ``code`` in the kernel of the notebook shown (JupyterLab or Notebook 7) and return
    what it printed; raise when it failed."""
    out = lab_page.page.evaluate(KERNEL_EXECUTE_JS, code)
    if "KERNEL ERROR" in out:
        raise RuntimeError(out)
    return out


def kernel_json(lab_page: LabPage, expression: str) -> Any:
    """The value of a Python expression in the notebook's kernel, through JSON."""
    return json.loads(kernel_output(lab_page, f"import json as _j; print(_j.dumps({expression}))"))


# --------------------------------------------------------------------------------------------
# Notebook 7 and Voila: the other front ends
# --------------------------------------------------------------------------------------------


@dataclass
class AppServer:
    """A Jupyter Notebook 7 or Voila server started for the tests."""

    url: str
    token: str
    root_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes]

    def log_tail(self, n_chars: int = 4000) -> str:
        """Return the end of the server log (for failure messages)."""
        try:
            return self.log_path.read_text(errors="replace")[-n_chars:]
        except OSError:
            return ""


def start_app_server(base: Path, app: str, notebook: str | None = None) -> AppServer:
    """Start ``jupyter notebook`` (Notebook 7) or ``voila NOTEBOOK`` from this venv in folder
    ``base`` (its ``root`` subfolder holds the notebooks) on 127.0.0.1; wait until it answers."""
    root_dir = base / "root"
    root_dir.mkdir(parents=True, exist_ok=True)
    log_path = base / f"{app}.log"
    env = lab_environment(base)
    # JupyterLab's settings overrides name plugins Notebook 7 lacks ("reading 'schema'" errors)
    shutil.rmtree(env["JUPYTERLAB_SETTINGS_DIR"], ignore_errors=True)
    Path(env["JUPYTERLAB_SETTINGS_DIR"]).mkdir(parents=True)
    token = secrets.token_hex(16)
    port = free_port()
    if app == "notebook":
        command = [
            sys.executable, "-m", "jupyter", "notebook", "--no-browser", "--allow-root",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root_dir}", "--JupyterNotebookApp.expose_app_in_browser=True",
        ]  # fmt: skip
    elif app == "voila":
        token = ""
        command = [
            sys.executable, "-m", "voila", "--no-browser", f"--port={port}",
            "--Voila.ip=127.0.0.1", str(root_dir / (notebook or "")),
        ]  # fmt: skip
    else:
        raise ValueError(f"unknown app {app!r}")
    log = log_path.open("ab")
    process = subprocess.Popen(command, cwd=root_dir, env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    log.close()
    server = AppServer(f"http://127.0.0.1:{port}", token, root_dir, log_path, process)
    deadline = time.monotonic() + 2 * SERVER_START_TIMEOUT_S  # Voila starts slowly when busy
    probe = f"{server.url}/api/status?token={token}" if app == "notebook" else server.url
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(probe, timeout=2) as response:
                if response.status == 200:
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    stop_lab_server(server)  # type: ignore[arg-type]
    raise RuntimeError(f"{app} did not start; log tail:\n{server.log_tail()}")


@contextmanager
def running_app_server(base: Path, app: str, notebook: str | None = None,
                       notebooks: dict[str, list[str]] | None = None) -> Iterator[AppServer]:
    """Write ``notebooks`` ({name: code cells}) into the root, start the server, stop it."""
    root = base / "root"
    root.mkdir(parents=True, exist_ok=True)
    for name, cells in (notebooks or {}).items():
        write_notebook_file(root / name, cells)
    server = start_app_server(base, app, notebook)
    try:
        yield server
    finally:
        stop_lab_server(server)  # type: ignore[arg-type]


def write_notebook_file(path: Path, cells: list[str]) -> None:
    """Write a notebook to ``path`` (kernel python3): each cell is code, or markdown when it
    starts with ``"#"`` followed by a space (a heading)."""
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": KERNEL_NAME, "display_name": "Python 3 (ipykernel)", "language": "python",
    }
    notebook.cells = [nbformat.v4.new_markdown_cell(source) if source.startswith("# ")
                      else nbformat.v4.new_code_cell(source) for source in cells]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)


def open_app_notebook(lab_page: LabPage, url: str) -> None:
    """Open a notebook in Notebook 7 (``/notebooks/...``; ``window.jupyterapp`` exposed) and
    wait until its kernel answers."""
    page = lab_page.page
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_function(NOTEBOOK_OPEN_JS, timeout=KERNEL_READY_TIMEOUT_S * 1000)
    page.evaluate(WAIT_FOR_KERNEL_JS)


def run_all_and_wait(lab_page: LabPage, timeout_s: float = RUN_ALL_TIMEOUT_S) -> None:
    """Run All Cells in the open notebook (JupyterLab or Notebook 7) and wait until done."""
    page = lab_page.page
    page.evaluate(START_RUN_ALL_JS)
    page.wait_for_function("() => window.__miRunAll && window.__miRunAll.done",
                           timeout=timeout_s * 1000)
    page.wait_for_function(
        "() => !window.jupyterapp.shell.currentWidget.content.widgets"
        ".some((c) => c.model.type === 'code' && c.promptNode"
        " && c.promptNode.textContent.includes('[*]'))", timeout=timeout_s * 1000)
