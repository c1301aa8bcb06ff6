"""A processing panel in a real JupyterLab: moving a parameter slider updates the after-image.

Skipped while ``medinteract.panels`` has no :func:`panel` (the panels may land after the
display core).
"""

from __future__ import annotations

import importlib

import pytest

from labdriver import LabPage

pytestmark = pytest.mark.browser

SHAPE = (128, 160)  # one axial slice (y, x)
NOTEBOOK_CELLS = [
    "import medinteract as mi",
    f"scan = mi.data.phantom(shape={SHAPE}, seed=2).scan",
    "smoothing = mi.panels.panel(scan, 'gaussian', sigma=1.0)\nsmoothing",
]


def has_panels() -> bool:
    """True when ``medinteract.panels.panel`` exists."""
    try:
        return callable(getattr(importlib.import_module("medinteract.panels"), "panel", None))
    except ImportError:
        return False


def test_parameter_slider_updates_after_image(lab_page: LabPage, open_and_run_all) -> None:
    if not has_panels():
        pytest.skip("medinteract.panels.panel does not exist yet")
    name = lab_page.server.write_notebook("browser_panel.ipynb", NOTEBOOK_CELLS)
    run = open_and_run_all(name)
    run.assert_clean()
    page = lab_page.page
    panel = page.locator(".mi-panel-gaussian")
    assert panel.count() == 1
    after = panel.locator("canvas.mi-image-after").first
    handle = panel.locator(".mi-param-sigma .mi-slider-handle").first
    readout = panel.locator(".mi-param-sigma .mi-slider-readout").first
    # the after image is a canvas drawn by the viewer front end: wait for its first drawing
    page.wait_for_function(
        "(c) => c.width > 0 && !c.parentElement.classList.contains('mi-loading')",
        arg=after.element_handle())
    draws_before = page.evaluate("(c) => c.closest('.mi-widget').__miView.draws",
                                 after.element_handle())
    readout_before = readout.input_value()
    pixels_before = after.screenshot()
    panel.scroll_into_view_if_needed()
    lab_page.screenshot("panel_before_arrow_key", whole_notebook=False)
    handle.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "([c, n]) => c.closest('.mi-widget').__miView.draws > n",
        arg=[after.element_handle(), draws_before],
        timeout=30_000,
    )
    page.wait_for_timeout(500)  # a preview may be followed by the full result
    lab_page.screenshot("panel_after_arrow_key", whole_notebook=False)
    assert float(readout.input_value()) > float(readout_before)
    assert after.screenshot() != pixels_before
    assert not lab_page.console_errors
    assert not lab_page.page_errors
