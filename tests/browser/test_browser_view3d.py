"""view3d in JupyterLab in chromium: never a hang, never an error, and the page says why.

In the test environment (no itkwidgets) the offline view says that itkwidgets is not installed.
In the Binder environment (``.ci/run`` points ``MEDINTERACT_JUPYTER_PYTHON`` at it) the online
path is live: itkwidgets' JupyterLab extension is loaded, view3d asks the browser, the browser
(offline here) cannot reach the viewer's host, and the offline view shows that reason, while
the cells after it run. The note on the page must be the reason the kernel holds.
"""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CELLS = [
    "import medinteract as mi\n"
    "volume = mi.data.phantom(shape=(24, 96, 96), seed=0)\n"
    "view = mi.view3d(volume.scan, labels=volume.nodules, preset='bone')\n"
    "view",
    "print('the next cell ran')",
]
NOTE_JS = """
() => [...document.querySelectorAll('.mi-view3d-note')].map((n) => n.textContent.trim())
"""
KERNEL_REASON = ("print(getattr(view, 'reason', None) or view.note, '|', "
                 "getattr(view, 'state', 'offline'))")


def _kernel_says(lab_page, code: str) -> str:
    """Run ``code`` silently in the notebook's own kernel and return what it printed."""
    return lab_page.page.evaluate(
        """async (code) => {
          const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
          let text = '';
          const future = kernel.requestExecute({code, silent: false, store_history: false});
          future.onIOPub = (msg) => {
            if (msg.header.msg_type === 'stream') { text += msg.content.text; }
          };
          await future.done;
          return text;
        }""", code)


def test_view3d_shows_the_reason_it_falls_back_and_the_notebook_goes_on(
        lab_server, lab_page, open_and_run_all):
    notebook = lab_server.write_notebook("view3d.ipynb", CELLS)
    run = open_and_run_all(notebook, timeout_s=180)
    run.assert_clean()
    page = lab_page.page
    # The browser's answer (online path) may come after Run All: wait for the final note.
    page.wait_for_function(
        "() => [...document.querySelectorAll('.mi-view3d-note')]"
        ".some((n) => n.textContent.includes('3-D view') && !n.textContent.includes('checking'))",
        timeout=60_000)
    notes = page.evaluate(NOTE_JS)
    lab_page.screenshot("view3d_fallback")
    reason, state = (part.strip() for part in _kernel_says(lab_page, KERNEL_REASON).split("|"))
    assert state == "offline"
    assert notes == [f"3-D view (WebGL, offline); {reason}."]
    assert ("itkwidgets is not installed" in reason
            or reason.startswith("the interactive viewer (itkwidgets) cannot load: "))
    text = page.evaluate("() => document.querySelector('.jp-Notebook').innerText")
    assert "the next cell ran" in text
    assert page.locator(".mi-view3d canvas.mi-volume-canvas").count() == 1  # the WebGL view
