"""Where a kernel runs and what its front end can show: the check behind :func:`view3d`.

A kernel cannot see the browser, but the programs that start kernels leave traces in their
environment: JupyterLab and Notebook 7 (through jupyter_server's sessions) set
``JPY_SESSION_NAME``, Voila sets ``VOILA_BASE_URL`` and ``SERVER_SOFTWARE=voila/...``, while
nbclient, nbval and papermill set neither. :func:`detect_frontend` reads those traces.

The interactive 3-D viewer (itkwidgets) needs more than a browser: the packages of the
``[itk]`` extra (checked against medinteract's own metadata by :func:`unmet_requirements`) and,
in the browser, ImJoy and the itk-vtk-viewer, which it loads from the internet. Only the
browser knows whether those load, and while itkwidgets waits for a viewer that never comes it
holds back every later cell. So :class:`OnlineView3D` asks the browser first (a hidden probe
widget): it shows the offline view at once, starts itkwidgets only when the browser reports
that its viewer can load, and otherwise keeps the offline view with a one-line reason. A
viewer that still does not start within :data:`VIEWER_START_TIMEOUT_S` releases the cells
itkwidgets holds and falls back the same way.
"""

from __future__ import annotations

import ast
import asyncio
import importlib.util
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import numpy as np
import traitlets

from medinteract.scan import Scan

__all__ = [
    "Frontend",
    "detect_frontend",
    "unmet_requirements",
    "itkwidgets_status",
    "itkwidgets_image",
    "ItkwidgetsProbe",
    "OnlineView3D",
    "PROBE_TIMEOUT_S",
    "VIEWER_START_TIMEOUT_S",
]

#: How long the browser may take to load ImJoy and reach the viewer's host before the probe
#: reports failure.
PROBE_TIMEOUT_S = 20.0
#: How long itkwidgets may take to open its viewer once the browser said it can.
VIEWER_START_TIMEOUT_S = 60.0
#: The kernel stops waiting for the probe's answer after this long (no browser, or the probe
#: widget could not be displayed).
PROBE_ANSWER_TIMEOUT_S = PROBE_TIMEOUT_S + 10.0

_JUPYTER = "jupyter"
_VOILA = "voila"
_HEADLESS = "headless"
_PLAIN = "plain"


@dataclass(frozen=True)
class Frontend:
    """The program a kernel's output goes to.

    Attributes
    ----------
    kind : {"jupyter", "voila", "headless", "plain"}
        ``"jupyter"``: JupyterLab or Notebook 7; ``"voila"``: a Voila dashboard; ``"headless"``:
        a kernel run by a program (nbclient, nbval, papermill) with no browser; ``"plain"``:
        no Jupyter kernel at all (a script or a terminal).
    description : str
        One line for people, e.g. ``"Voila (a browser dashboard)"``.
    """

    kind: str
    description: str

    @property
    def browser(self) -> bool:
        """Whether a person looks at the output in a web browser."""
        return self.kind in (_JUPYTER, _VOILA)


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def detect_frontend(environ: Mapping[str, str] | None = None, *,
                    in_kernel: bool | None = None) -> Frontend:
    """Which front end this kernel serves, read from its environment.

    Parameters
    ----------
    environ : mapping, optional
        Environment variables (default: ``os.environ``).
    in_kernel : bool, optional
        Whether the code runs in a Jupyter kernel (default: ask IPython).

    Returns
    -------
    Frontend

    Examples
    --------
    >>> detect_frontend({"JPY_SESSION_NAME": "02.ipynb"}, in_kernel=True).kind
    'jupyter'
    >>> detect_frontend({"SERVER_SOFTWARE": "voila/0.5.13"}, in_kernel=True).browser
    True
    >>> detect_frontend({}, in_kernel=True).description
    'a kernel without a browser (nbclient, nbval, papermill)'
    """
    env = os.environ if environ is None else environ
    if not (_in_kernel() if in_kernel is None else in_kernel):
        return Frontend(_PLAIN, "no Jupyter kernel (a plain Python process)")
    # Voila starts its kernels itself, with CGI-like variables and its own (also preheated).
    if env.get("SERVER_SOFTWARE", "").startswith("voila/") or "VOILA_BASE_URL" in env:
        return Frontend(_VOILA, "Voila (a browser dashboard)")
    # jupyter_server's session manager names the notebook of every kernel it starts.
    if env.get("JPY_SESSION_NAME"):
        return Frontend(_JUPYTER, "JupyterLab or Jupyter Notebook")
    return Frontend(_HEADLESS, "a kernel without a browser (nbclient, nbval, papermill)")


def _extra_requirements(distribution: str, extra: str) -> list[Any]:
    from packaging.requirements import Requirement

    requirements = [Requirement(text) for text in metadata.requires(distribution) or ()]
    return [req for req in requirements
            if req.marker is not None and "extra" in str(req.marker)
            and req.marker.evaluate({"extra": extra})]


def unmet_requirements(extra: str, *, distribution: str = "medinteract") -> list[str]:
    """What is missing for ``pip install 'distribution[extra]'``, one phrase per problem.

    Follows the extras the requirements ask for themselves (``itkwidgets[all]``), so the check
    covers everything the extra installs.

    Parameters
    ----------
    extra : str
        The extra, e.g. ``"itk"``.
    distribution : str
        The installed distribution that declares it.

    Returns
    -------
    list of str
        Empty when everything is installed in a version the extra accepts, else phrases such as
        ``"itkwidgets is not installed"`` or ``"ngff-zarr 0.33.1 is installed, ngff-zarr<0.33
        is needed"``.

    Raises
    ------
    importlib.metadata.PackageNotFoundError
        If ``distribution`` itself is not installed.
    """
    from packaging.utils import canonicalize_name

    problems: list[str] = []
    seen: set[tuple[str, str]] = set()
    pending = _extra_requirements(distribution, extra)
    while pending:
        req = pending.pop(0)
        name = canonicalize_name(req.name)
        try:
            version = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            problems.append(f"{req.name} is not installed")
            continue
        if req.specifier and not req.specifier.contains(version, prereleases=True):
            problems.append(f"{req.name} {version} is installed, {req.name}{req.specifier} "
                            "is needed")
        for sub_extra in sorted(req.extras):
            if (name, sub_extra) not in seen:
                seen.add((name, sub_extra))
                pending += _extra_requirements(req.name, sub_extra)
    return list(dict.fromkeys(problems))


def itkwidgets_status(environ: Mapping[str, str] | None = None) -> tuple[bool, str]:
    """Whether :func:`view3d` may try itkwidgets here, and if not, why not (one line).

    Checks, in order: ``MEDINTERACT_OFFLINE``, every package of the ``[itk]`` extra, and the
    front end (JupyterLab or Notebook 7; Voila cannot show itkwidgets' viewer, a headless run
    has no browser). Whether the browser can load the viewer is asked of the browser itself,
    by :class:`OnlineView3D`.

    Parameters
    ----------
    environ : mapping, optional
        Environment variables (default: ``os.environ``).

    Returns
    -------
    usable : bool
    reason : str
        Empty when usable.
    """
    env = os.environ if environ is None else environ
    if env.get("MEDINTERACT_OFFLINE"):
        return False, "MEDINTERACT_OFFLINE is set"
    try:
        unmet = unmet_requirements("itk")
    except metadata.PackageNotFoundError:  # running from a source tree, not installed
        unmet = [] if importlib.util.find_spec("itkwidgets") else ["itkwidgets is not installed"]
    if unmet:
        return False, f"{'; '.join(unmet)} (pip install 'medinteract[itk]')"
    frontend = detect_frontend(env)
    if frontend.kind == _VOILA:
        return False, ("Voila does not run itkwidgets' viewer, whose JupyterLab extension needs "
                       "JupyterLab or Notebook")
    if frontend.kind != _JUPYTER:
        return False, f"no browser to show it in: {frontend.description}"
    return True, ""


def itkwidgets_image(array: np.ndarray, scan: Scan) -> Any:
    """An ``itkwasm.Image`` of ``array`` with the geometry of ``scan`` (LPS millimetres).

    itkwidgets takes it as it is: no ITK build (the ``itk`` package, hundreds of megabytes) is
    needed.
    """
    import itkwasm

    image = itkwasm.image_from_array(np.ascontiguousarray(array))
    image.spacing = [float(s) for s in scan.spacing[::-1]]  # ITK order is (x, y, z)
    image.origin = [float(v) for v in scan.origin]
    # ITK's direction columns are the unit vectors of the (x, y, z) index axes.
    image.direction = np.ascontiguousarray(scan.direction[::-1].T, dtype=np.float64)
    return image


def _viewer_urls() -> list[str]:
    """The web addresses itkwidgets' viewer loads from, read without importing itkwidgets.

    Importing itkwidgets hooks the kernel's cell execution, so it is put off until the
    browser has said the viewer can load. The address is the literal ``ITK_VIEWER_SRC`` of
    ``itkwidgets/viewer_config.py``.
    """
    spec = importlib.util.find_spec("itkwidgets")
    if spec is None or not spec.submodule_search_locations:
        return []
    path = Path(next(iter(spec.submodule_search_locations))) / "viewer_config.py"
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError):
        return []
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id == "ITK_VIEWER_SRC"):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                return []
            return [value] if isinstance(value, str) else []
    return []


_PROBE_ESM = r"""
function timeout(ms, what) {
  return new Promise((resolve) => setTimeout(() => resolve(what), ms));
}

async function reachable(url, ms) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ms);
  try {
    await fetch(url, { mode: "no-cors", cache: "no-store", signal: controller.signal });
    return null;
  } catch (error) {
    // Content-addressed hosts start with a long hash; name the service, not the hash.
    const host = new URL(url).host.replace(/^[a-z0-9]{30,}\./, "");
    return `${host} cannot be reached from this browser`;
  } finally {
    clearTimeout(timer);
  }
}

async function imjoyLoaded(ms) {
  const deadline = performance.now() + ms;
  while (performance.now() < deadline) {
    if (typeof window.connectPlugin === "function") { return null; }
    await timeout(200);
  }
  return "ImJoy, which runs itkwidgets' viewer, did not load in this browser";
}

export default {
  async render({ model, el }) {
    el.classList.add("mi-itkwidgets-probe");
    el.style.display = "none";
    if (model.get("answered")) { return; }
    const ms = model.get("timeout_ms");
    const checks = [...model.get("urls").map((url) => reachable(url, ms)), imjoyLoaded(ms)];
    // The first problem answers at once; no problem at all means the viewer can load.
    const failure = new Promise((resolve) => {
      checks.forEach((check) => check.then((problem) => { if (problem) resolve(problem); }));
    });
    const verdict = await Promise.race([
      failure,
      Promise.all(checks).then((problems) => problems.find(Boolean) || null),
    ]);
    model.send({ usable: verdict === null, reason: verdict || "" });
  },
};
"""


def _probe_class() -> type:
    import anywidget

    class _Probe(anywidget.AnyWidget):
        _esm = _PROBE_ESM
        urls = traitlets.List(traitlets.Unicode()).tag(sync=True)
        timeout_ms = traitlets.Int(int(PROBE_TIMEOUT_S * 1000)).tag(sync=True)
        answered = traitlets.Bool(False).tag(sync=True)

    return _Probe


def ItkwidgetsProbe(urls: list[str]) -> widgets.DOMWidget:  # noqa: N802 - a widget factory
    """A hidden widget that asks the browser whether itkwidgets' viewer can load there.

    It checks that ImJoy (loaded by itkwidgets' JupyterLab extension) is running and that the
    viewer's ``urls`` answer, then sends ``{"usable": bool, "reason": str}`` to the kernel.
    """
    return _probe_class()(urls=list(urls))


class OnlineView3D(widgets.VBox):
    """The interactive 3-D viewer when the browser can run it, else the offline view.

    Shows ``offline(note)`` at once and a hidden :func:`ItkwidgetsProbe`. When the browser
    answers that the viewer can load, itkwidgets is started in its place; when it answers that
    it cannot, or does not answer, or the viewer does not start, the offline view stays with
    a note saying why. Nothing here raises: every failure becomes the note.

    Parameters
    ----------
    start_viewer : callable
        ``start_viewer()`` creates the itkwidgets viewer (displaying into the current output)
        and returns it.
    offline : callable
        ``offline(note)`` returns the offline view with its one-line ``note``.
    urls : list of str, optional
        Addresses the viewer loads from (default: itkwidgets' own).

    Attributes
    ----------
    state : {"checking", "interactive", "offline"}
    reason : str
        Why the offline view is shown (empty while checking or interactive).
    """

    state = traitlets.Unicode("checking")
    reason = traitlets.Unicode("")

    def __init__(self, start_viewer: Callable[[], Any], offline: Callable[[str], widgets.Widget],
                 *, urls: list[str] | None = None) -> None:
        self._start_viewer = start_viewer
        self._offline = offline
        self.viewer: Any = None
        self._probe = ItkwidgetsProbe(_viewer_urls() if urls is None else urls)
        self._probe.on_msg(self._on_probe_message)
        self._output = widgets.Output()
        self._output.add_class("mi-itkwidgets-output")
        super().__init__([self._offline("checking whether this browser can run the interactive "
                                        "3-D viewer (itkwidgets)"), self._probe])
        self.add_class("mi-view3d-online")
        self._later(PROBE_ANSWER_TIMEOUT_S, self._no_answer)

    # -- the browser's answer -----------------------------------------------------------
    def _on_probe_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if self.state != "checking" or not isinstance(content, dict):
            return
        self._probe.answered = True
        if content.get("usable"):
            self._start()
        else:
            self.fall_back(f"the interactive viewer (itkwidgets) cannot load: "
                           f"{content.get('reason') or 'the browser gave no reason'}")

    def _no_answer(self) -> None:
        if self.state == "checking":
            self.fall_back("the browser did not answer whether it can run the interactive "
                           "viewer (itkwidgets)")

    def _start(self) -> None:
        # imjoy_rpc (under itkwidgets) finds out it runs in Jupyter from the name get_ipython,
        # which IPython puts in builtins only while a cell runs, not in this comm handler.
        os.environ.setdefault("IMJOY_RPC_CONNECTION", "jupyter")
        failure: Exception | None = None
        with self._output:  # (an Output would print an exception and swallow it)
            try:
                self.viewer = self._start_viewer()
            except Exception as error:  # noqa: BLE001 - any failure of the optional viewer
                failure = error
        if failure is not None:
            self.fall_back(f"itkwidgets failed ({type(failure).__name__}: {failure})")
            return
        self.state = "interactive"
        self.children = [self._output, self._probe]
        self._later(VIEWER_START_TIMEOUT_S, self._check_started)

    def _check_started(self) -> None:
        if self.state == "interactive" and not _itkwidgets_viewer_ready(self.viewer):
            _release_itkwidgets_cells(self.viewer)
            self.fall_back(f"the interactive viewer (itkwidgets) did not start within "
                           f"{VIEWER_START_TIMEOUT_S:.0f} s")

    def fall_back(self, reason: str) -> None:
        """Show the offline view with ``reason`` as its note."""
        self.state, self.reason = "offline", reason
        self.children = [self._offline(reason), self._probe]

    # -- timers on the kernel's event loop ---------------------------------------------
    @staticmethod
    def _later(delay_s: float, callback: Callable[[], None]) -> None:
        try:
            loop = asyncio.get_running_loop()  # the kernel's, in a cell or a comm handler
        except RuntimeError:  # no kernel event loop: nothing waits, so nothing to time
            return
        loop.call_later(delay_s, callback)


def _cell_watcher() -> Any:
    """itkwidgets' cell watcher (it holds back cells until its viewers are ready), or None."""
    import sys

    viewer_module = sys.modules.get("itkwidgets.viewer")
    return getattr(viewer_module, "_cell_watcher", None)


def _itkwidgets_viewer_ready(viewer: Any) -> bool:
    watcher = _cell_watcher()
    return watcher is None or viewer is None or bool(watcher.viewer_ready(viewer.name))


def _release_itkwidgets_cells(viewer: Any) -> None:
    """Let itkwidgets run the cells it holds back for a viewer that will not come."""
    watcher = _cell_watcher()
    if watcher is not None and viewer is not None:
        watcher.update_viewer_status(viewer.name, True)
