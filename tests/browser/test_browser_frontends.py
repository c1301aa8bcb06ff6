"""The viewer in every Jupyter front end a class meets: JupyterLab 4, Notebook 7 and Voila.

In each, arrow keys on the viewer (its slice slider, or the image itself) step the slice, the
kernel follows, and the keys never reach the front end's own shortcuts (issue 14: in
Notebook 7 ArrowRight on a slider moved the cell selection to the next heading instead).
A small HTML widget echoes the kernel's ``viewer.index``, so the page itself shows what the
kernel holds (Voila has no other way to ask its kernel).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from labdriver import (LabPage, LabServer, lab_page_on, open_app_notebook, open_notebook,
                       run_all_and_wait, running_app_server, write_notebook_file)

pytestmark = pytest.mark.browser

NOTEBOOK = "keys.ipynb"
CELLS = [
    "# Keys on a viewer",
    "import ipywidgets as widgets\nimport medinteract as mi\n"
    "p = mi.data.phantom(shape=(20, 64, 80), seed=3)",
    "# The viewer",
    "viewer = mi.view(p.scan)\nviewer.add_class('t-keys')\n"
    "echo = widgets.HTML(str(viewer.index))\necho.add_class('t-echo')\n"
    "viewer.observe(lambda change: setattr(echo, 'value', str(change['new'])), 'index')\n"
    "widgets.VBox([viewer, echo])",
    "# After the viewer",
    "print('done')",
]

# Notebook 7 (7.6) raises this from its keyboard-shortcuts settings handler on every page load
# in this environment, with a one-cell ``print(1)`` notebook too (a labextension installed here,
# such as Voila's preview, announces settings of a plugin Notebook 7 does not load). Not ours.
NOTEBOOK7_PAGE_ERRORS = ("Cannot read properties of undefined (reading 'schema')",)

# Voila 0.5 logs these with a notebook holding only an ``ipywidgets.IntSlider`` too: its page
# template asks a CDN for Font Awesome (offline here), and it loads Notebook 7's labextension,
# whose module federation fails outside Notebook. Not ours.
VOILA_CONSOLE_ERRORS = (
    r"^Failed to load resource: net::ERR_NAME_NOT_RESOLVED$",
    r"RUNTIME-012[\s\S]*@jupyter-notebook/lab-extension",
    # nbgrader (the test extra, for the classroom tests) ships a JupyterLab extension that
    # Voila loads too and that needs JupyterLab's file browser, which Voila does not have.
    r"Shared module @jupyterlab/\S+ doesn't exist in shared scope[\s\S]*"
    r"labextensions/@jupyter/nbgrader/",
)

ACTIVE_CELL_JS = "() => window.jupyterapp.shell.currentWidget.content.activeCellIndex"


def press_keys_and_check(lab_page: LabPage, *, cell_selection: bool) -> None:
    """ArrowRight on the slice slider and ArrowUp on the image: each steps the slice by one in
    the page and in the kernel (the echo), and the cell selection stays where it was."""
    page = lab_page.page
    page.wait_for_function(
        "() => { const c = document.querySelector('.t-keys canvas.mi-image');"
        " return c && c.width > 0 && !c.parentElement.classList.contains('mi-loading'); }",
        timeout=60_000)
    echo = page.locator(".t-echo").first
    start = int(echo.inner_text())
    active = page.evaluate(ACTIVE_CELL_JS) if cell_selection else None
    slider = page.locator(".t-keys .mi-slice-slider input").first
    slider.scroll_into_view_if_needed()
    slider.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    frame = page.locator(".t-keys .mi-frame").first
    frame.focus()
    page.keyboard.press("ArrowUp")
    page.wait_for_function("([e, v]) => e.textContent.trim() === String(v)",
                           arg=[echo.element_handle(), start + 3], timeout=15_000)
    index = page.evaluate("() => Number(document.querySelector('.t-keys canvas.mi-image')"
                          ".dataset.index)")
    assert index == start + 3
    assert page.locator(".t-keys .mi-slice-slider .mi-readout").first.inner_text() == \
        str(start + 3)
    if cell_selection:
        assert page.evaluate(ACTIVE_CELL_JS) == active, "the keys moved the cell selection"
    benign = VOILA_CONSOLE_ERRORS if not cell_selection else ()
    assert [e for e in lab_page.console_errors if not any(re.search(b, e) for b in benign)] == []
    assert [e for e in lab_page.page_errors if e not in NOTEBOOK7_PAGE_ERRORS] == []


def test_keys_in_jupyterlab(lab_server: LabServer, chromium_browser: Any) -> None:
    write_notebook_file(lab_server.root_dir / NOTEBOOK, CELLS)
    with lab_page_on(chromium_browser, lab_server) as lab_page:
        open_notebook(lab_page, NOTEBOOK)
        run_all_and_wait(lab_page)
        lab_page.page.evaluate(
            "() => { const nb = window.jupyterapp.shell.currentWidget.content;"
            " nb.activeCellIndex = 3; nb.mode = 'command'; }")
        press_keys_and_check(lab_page, cell_selection=True)


@pytest.fixture(scope="module")
def notebook7(tmp_path_factory: pytest.TempPathFactory, lab_server: LabServer) -> Iterator[Any]:
    """A Notebook 7 server (the lab_server fixture is only asked for to share its skip)."""
    with running_app_server(tmp_path_factory.mktemp("notebook7"), "notebook",
                            notebooks={NOTEBOOK: CELLS}) as server:
        yield server


@pytest.fixture(scope="module")
def voila(tmp_path_factory: pytest.TempPathFactory, lab_server: LabServer) -> Iterator[Any]:
    with running_app_server(tmp_path_factory.mktemp("voila"), "voila", NOTEBOOK,
                            notebooks={NOTEBOOK: CELLS}) as server:
        yield server


def test_keys_in_notebook7(notebook7: Any, chromium_browser: Any) -> None:
    with lab_page_on(chromium_browser, notebook7) as lab_page:
        open_app_notebook(lab_page, f"{notebook7.url}/notebooks/{NOTEBOOK}?token={notebook7.token}")
        run_all_and_wait(lab_page)
        lab_page.page.evaluate(
            "() => { const nb = window.jupyterapp.shell.currentWidget.content;"
            " nb.activeCellIndex = 3; nb.mode = 'command'; }")
        press_keys_and_check(lab_page, cell_selection=True)
        lab_page.screenshot("notebook7_keys", whole_notebook=False)


def test_keys_in_voila(voila: Any, chromium_browser: Any) -> None:
    with lab_page_on(chromium_browser, voila) as lab_page:
        lab_page.page.goto(voila.url, wait_until="domcontentloaded", timeout=120_000)
        press_keys_and_check(lab_page, cell_selection=False)
        lab_page.screenshot("voila_keys", whole_notebook=False)
        assert Path(voila.log_path).exists()
