"""view3d through real kernels, started as JupyterLab, Voila and nbclient start them.

Runs in the environment of :func:`kernel_session.jupyter_python`: the test environment (no
itkwidgets) in ``make test``, and the Binder environment (itkwidgets installed: the online path
is live) when ``.ci/run`` sets ``MEDINTERACT_JUPYTER_PYTHON``. The probe's answer is sent as
the browser sends it, a ``custom`` comm message to the probe widget.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from kernel_session import jupyter_python, kernel_session

pytestmark = pytest.mark.slow

SETUP = """
import medinteract as mi
from medinteract.display import frontends
volume = mi.data.phantom(shape=(24, 96, 96), seed=0)
"""
LAUNCHERS = {
    "jupyterlab": {"JPY_SESSION_NAME": "notebooks/02_viewing_scans.ipynb"},
    "voila": {"SERVER_SOFTWARE": "voila/0.5.13", "VOILA_BASE_URL": "/"},
    "nbclient": {},
}


def _has_itkwidgets() -> bool:
    probe = "import importlib.util as u; print(u.find_spec('itkwidgets') is not None)"
    output = subprocess.run([jupyter_python(), "-c", probe], capture_output=True, text=True,
                            check=True).stdout
    return output.strip() == "True"


ITKWIDGETS = _has_itkwidgets()


def test_the_reported_command_no_longer_raises():
    """Issue 14: with the [itk] extra, this raised ModuleNotFoundError: No module named 'itk'."""
    code = ("import medinteract as mi; p = mi.data.phantom(shape=(24, 96, 96)); "
            "v = mi.view3d(p.scan); print(type(v).__name__, '|', v.note)")
    env = {**os.environ, "JPY_SESSION_NAME": "x"}
    done = subprocess.run([jupyter_python(), "-c", code], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    kind, note = done.stdout.strip().split(" | ")
    assert kind == "VolumeView"
    expected = ("no browser to show it in: no Jupyter kernel" if ITKWIDGETS
                else "itkwidgets is not installed")
    assert note.startswith(expected)


@pytest.mark.parametrize("launcher", sorted(LAUNCHERS))
def test_kernel_knows_its_front_end(launcher):
    with kernel_session(LAUNCHERS[launcher]) as kernel:
        kernel.run(SETUP + "view = mi.view3d(volume.scan, labels=volume.nodules)")
        frontend = kernel.value("frontends.detect_frontend().kind")
        usable, why = kernel.value("frontends.itkwidgets_status()")
        shown, note = kernel.value("[type(view).__name__, "
                                   "view.note if hasattr(view, 'note') else view.state]")
    assert frontend == {"jupyterlab": "jupyter", "voila": "voila",
                        "nbclient": "headless"}[launcher]
    if ITKWIDGETS and launcher == "jupyterlab":  # the online path: the browser is asked first
        assert (usable, why, shown, note) == (True, "", "OnlineView3D", "checking")
        return
    assert not usable and (shown, note) == ("VolumeView", why)
    if not ITKWIDGETS:
        assert why.startswith("itkwidgets is not installed")
    elif launcher == "voila":  # a browser, and said so: not "headless"
        assert why.startswith("Voila does not run itkwidgets' viewer")
    else:
        assert why == ("no browser to show it in: a kernel without a browser "
                       "(nbclient, nbval, papermill)")


@pytest.mark.skipif(not ITKWIDGETS, reason="needs the [itk] extra in the kernel's environment")
def test_browser_without_the_viewer_gets_the_offline_view_and_the_cells_go_on():
    with kernel_session(LAUNCHERS["jupyterlab"]) as kernel:
        kernel.run(SETUP + "view = mi.view3d(volume.scan, labels=volume.nodules)")
        assert kernel.value("[type(view).__name__, view.state]") == ["OnlineView3D", "checking"]
        probe = kernel.value("view._probe.comm.comm_id")
        kernel.send_custom(probe, {"usable": False,
                                   "reason": "ipfs.dweb.link cannot be reached from this browser"},
                           wait=False)
        state = kernel.value("[view.state, view.reason, type(view.children[0]).__name__, "
                             "'itkwidgets' in __import__('sys').modules]")
    assert state == ["offline", "the interactive viewer (itkwidgets) cannot load: ipfs.dweb.link "
                     "cannot be reached from this browser", "VolumeView", False]


@pytest.mark.skipif(not ITKWIDGETS, reason="needs the [itk] extra in the kernel's environment")
def test_a_viewer_that_never_starts_releases_the_cells_itkwidgets_holds():
    """The browser says yes, itkwidgets starts and waits for a viewer that does not come."""
    with kernel_session(LAUNCHERS["jupyterlab"]) as kernel:
        kernel.run(SETUP + "frontends.VIEWER_START_TIMEOUT_S = 3.0\n"
                   "view = mi.view3d(volume.scan, labels=volume.nodules)")
        probe = kernel.value("view._probe.comm.comm_id")
        kernel.send_custom(probe, {"usable": True, "reason": ""}, wait=False)
        # itkwidgets now holds back this cell until its viewer is ready, or until released.
        held = kernel.execute("print(view.state, '|', view.reason)", timeout_s=60)
    assert held.error is None
    assert held.seconds > 2.0, "itkwidgets did not hold the next cell: the path was not live"
    assert held.stdout.strip() == ("offline | the interactive viewer (itkwidgets) did not start "
                                   "within 3 s")
