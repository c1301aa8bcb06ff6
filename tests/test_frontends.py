"""The environment check behind view3d: front ends, the [itk] packages, the browser's answer.

Headless: the functions on given environments, and :class:`OnlineView3D` receiving the probe's
answer through the widget's own comm-message entry point, as the browser sends it. Through a
real kernel (one per module): what a kernel started as JupyterLab, Voila or nbclient start
theirs sees. ``tests/test_binder_environment.py`` repeats the kernel checks in the Binder
environment, where itkwidgets is installed.
"""

from __future__ import annotations

import importlib.util
import sys
from importlib import metadata

import numpy as np
import pytest

import medinteract as mi
from medinteract.display import frontends
from medinteract.display.frontends import OnlineView3D, detect_frontend, itkwidgets_status
from medinteract.display.volume import VolumeView

HAVE_ITKWIDGETS = importlib.util.find_spec("itkwidgets") is not None


@pytest.fixture(scope="module")
def small_volume():
    return mi.data.phantom(shape=(24, 96, 96), seed=0)


# -- which front end ---------------------------------------------------------------------
@pytest.mark.parametrize(("environ", "kind", "browser"), [
    ({"JPY_SESSION_NAME": "notebooks/02_viewing_scans.ipynb"}, "jupyter", True),
    ({"SERVER_SOFTWARE": "voila/0.5.13", "SCRIPT_NAME": "/voila/render/02.ipynb"}, "voila", True),
    ({"VOILA_BASE_URL": "/", "VOILA_PREHEAT": "True"}, "voila", True),  # a preheated kernel
    ({"JPY_SESSION_NAME": "x", "VOILA_BASE_URL": "/"}, "voila", True),
    ({}, "headless", False),
    ({"JPY_SESSION_NAME": ""}, "headless", False),
    ({"SERVER_SOFTWARE": "nginx/1.25"}, "headless", False),
], ids=["jupyterlab", "voila", "voila-preheated", "voila-wins", "nbclient", "empty-session",
        "other-server"])
def test_detect_frontend_in_a_kernel(environ, kind, browser):
    frontend = detect_frontend(environ, in_kernel=True)
    assert (frontend.kind, frontend.browser) == (kind, browser)
    assert frontend.description


def test_outside_a_kernel_there_is_no_front_end():
    frontend = detect_frontend({"JPY_SESSION_NAME": "x"})  # pytest is no kernel
    assert frontend.kind == "plain" and not frontend.browser
    assert "no Jupyter kernel" in frontend.description


# -- every package of the extra -------------------------------------------------------------
def test_unmet_requirements_of_an_installed_extra_is_empty():
    assert frontends.unmet_requirements("decoders") == []  # the test extras install them


@pytest.mark.skipif(HAVE_ITKWIDGETS, reason="checks an environment without the [itk] extra")
def test_unmet_requirements_names_each_missing_package():
    unmet = frontends.unmet_requirements("itk")
    assert "itkwidgets is not installed" in unmet
    assert len(unmet) == len(set(unmet))
    for installed in ("urllib3",):  # present here through requests
        assert not any(text.startswith(installed) for text in unmet)


def test_unmet_requirements_reads_the_installed_metadata():
    declared = {text.split(";")[0].strip() for text in metadata.requires("medinteract") or ()
                if 'extra == "itk"' in text}
    assert any(text.startswith("itkwidgets") for text in declared)
    assert any(text.startswith("anywidget") for text in declared)
    with pytest.raises(metadata.PackageNotFoundError):
        frontends.unmet_requirements("itk", distribution="no-such-distribution")


# -- the status line ------------------------------------------------------------------------
def test_status_offline_switch_comes_first():
    assert itkwidgets_status({"MEDINTERACT_OFFLINE": "1", "JPY_SESSION_NAME": "x"}) == (
        False, "MEDINTERACT_OFFLINE is set")


@pytest.mark.skipif(HAVE_ITKWIDGETS, reason="checks an environment without the [itk] extra")
def test_status_without_itkwidgets_says_what_to_install():
    usable, why = itkwidgets_status({"JPY_SESSION_NAME": "x"})
    assert not usable
    assert "itkwidgets is not installed" in why and "pip install 'medinteract[itk]'" in why
    assert "\n" not in why


def test_view3d_falls_back_with_the_reason(small_volume, monkeypatch):
    monkeypatch.setenv("JPY_SESSION_NAME", "02_viewing_scans.ipynb")
    view = mi.view3d(small_volume.scan, labels=small_volume.nodules)
    assert isinstance(view, VolumeView)
    assert view.note == itkwidgets_status()[1] and view.note
    mip = mi.view3d(small_volume.scan, backend="mip")
    assert mip.note == "requested with backend='mip'"


@pytest.mark.skipif(HAVE_ITKWIDGETS, reason="checks an environment without the [itk] extra")
def test_insisting_on_itk_without_it_is_a_clear_error(small_volume):
    with pytest.raises(ImportError, match=r"pip install 'medinteract\[itk\]'"):
        mi.view3d(small_volume.scan, backend="itk")


# -- the browser's answer ---------------------------------------------------------------
def _answer(view: OnlineView3D, content: dict) -> None:
    """Deliver ``content`` to the probe as the browser's ``model.send`` does (a comm message)."""
    view._probe._handle_msg({"content": {"data": {"method": "custom", "content": content}},
                             "buffers": []})


def _online(scan, start_viewer):
    offline = lambda note: VolumeView(scan, note=note)  # noqa: E731
    return OnlineView3D(start_viewer, offline, urls=["https://viewer.invalid/"])


def test_online_view_shows_the_offline_view_while_the_browser_checks(small_volume):
    view = _online(small_volume.scan, start_viewer=lambda: pytest.fail("not asked yet"))
    assert view.state == "checking" and view.reason == ""
    first, probe = view.children
    assert isinstance(first, VolumeView) and "checking whether this browser" in first.note
    assert probe.urls == ["https://viewer.invalid/"] and not probe.answered


def test_browser_says_the_viewer_cannot_load(small_volume):
    view = _online(small_volume.scan, start_viewer=lambda: pytest.fail("must not start"))
    _answer(view, {"usable": False, "reason": "ipfs.dweb.link cannot be reached from this browser"})
    assert view.state == "offline"
    assert view.reason == ("the interactive viewer (itkwidgets) cannot load: ipfs.dweb.link "
                           "cannot be reached from this browser")
    shown = view.children[0]
    assert isinstance(shown, VolumeView) and shown.note == view.reason
    assert view._probe.answered  # a second browser view of the widget does not ask again
    _answer(view, {"usable": True})  # later answers change nothing
    assert view.state == "offline"


def test_browser_says_yes_and_the_viewer_starts_in_the_output(small_volume):
    started = []

    def start_viewer():
        print("viewer output")  # what itkwidgets displays goes to the widget's Output
        started.append(True)
        return "viewer"

    view = _online(small_volume.scan, start_viewer)
    _answer(view, {"usable": True, "reason": ""})
    assert started == [True] and view.state == "interactive" and view.viewer == "viewer"
    assert view.children[0] is view._output and view.reason == ""
    view._check_started()  # itkwidgets never imported here: nothing holds cells back
    assert view.state == "interactive"


def test_a_failing_viewer_falls_back_instead_of_raising(small_volume):
    def start_viewer():
        raise ModuleNotFoundError("No module named 'itk'")

    view = _online(small_volume.scan, start_viewer)
    _answer(view, {"usable": True})
    assert view.state == "offline"
    assert view.reason == "itkwidgets failed (ModuleNotFoundError: No module named 'itk')"


def test_no_answer_from_the_browser_falls_back(small_volume):
    view = _online(small_volume.scan, start_viewer=lambda: pytest.fail("must not start"))
    view._no_answer()
    assert view.state == "offline" and "did not answer" in view.reason


def test_itkwidgets_image_keeps_the_geometry(small_volume):
    pytest.importorskip("itkwasm")
    scan = small_volume.scan
    image = frontends.itkwidgets_image(scan.array, scan)
    assert list(image.size) == list(scan.shape[::-1])
    assert image.spacing == [float(s) for s in scan.spacing[::-1]]
    assert image.origin == [float(v) for v in scan.origin]
    np.testing.assert_array_equal(image.data, scan.array)


def test_viewer_urls_are_read_without_importing_itkwidgets():
    urls = frontends._viewer_urls()
    assert "itkwidgets" not in sys.modules
    if HAVE_ITKWIDGETS:
        assert urls and all(url.startswith("https://") for url in urls)
    else:
        assert urls == []
