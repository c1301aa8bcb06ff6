"""medinteract.view and medinteract.compare in a real JupyterLab: they render, and an arrow key
on the slice slider shows the next slice.

One notebook (written at run time) shows a viewer and a compare widget on a small phantom; it
is opened and run once for this module, then each test works on the page.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from labdriver import LabPage, LabServer, NotebookRun, lab_page_on, open_and_run_all

pytestmark = pytest.mark.browser

SHAPE = (40, 128, 160)  # (z, y, x): not square, so a transposed image would show
NOTEBOOK_CELLS = [
    "import numpy as np\nimport medinteract as mi",
    f"phantom = mi.data.phantom(shape={SHAPE}, seed=1)\nscan = phantom.scan",
    "viewer = mi.view(scan)\nviewer",
    "smooth = scan.with_array(np.round(scan.array / 50) * 50)\n"
    "comparison = mi.compare(scan, smooth)\ncomparison",
]


@pytest.fixture(scope="module")
def viewer_page(
    lab_server: LabServer, chromium_browser: Any
) -> Iterator[tuple[LabPage, NotebookRun]]:
    """The viewer notebook, opened and run once for this module."""
    with lab_page_on(chromium_browser, lab_server) as lab_page:
        name = lab_server.write_notebook("browser_viewer.ipynb", NOTEBOOK_CELLS)
        run = open_and_run_all(lab_page, name)
        lab_page.screenshot("viewer_notebook")
        yield lab_page, run


def readout_number(text: str) -> float:
    """The number in a slider readout (which writes minus as U+2212)."""
    return float(text.strip().replace("\u2212", "-"))


def image_state(image: Any) -> dict[str, Any]:
    """src and natural size of an <img> element (waits until it has loaded)."""
    image.evaluate("img => img.complete ? null : img.decode()")
    return image.evaluate(
        "img => ({src: img.getAttribute('src'), width: img.naturalWidth,"
        " height: img.naturalHeight})"
    )


def press_arrow_right(lab_page: LabPage, root: Any) -> dict[str, Any]:
    """Focus the first slice-slider handle in ``root``, press ArrowRight, wait for a new image.

    Returns the image state and slider readout before and after, and the image pixels (as a
    PNG screenshot of the element) before and after.
    """
    image = root.locator("img.mi-image").first
    readout = root.locator(".mi-slice-slider .widget-readout").first
    handle = root.locator(".mi-slice-slider .noUi-handle").first
    before = image_state(image)
    readout_before = readout.inner_text()
    pixels_before = image.screenshot()
    handle.focus()
    lab_page.page.keyboard.press("ArrowRight")
    lab_page.page.wait_for_function(
        "([img, src]) => img.getAttribute('src') !== src",
        arg=[image.element_handle(), before["src"]],
        timeout=15_000,
    )
    after = image_state(image)
    return {
        "before": before,
        "after": after,
        "readout_before": readout_before,
        "readout_after": readout.inner_text(),
        "pixels_before": pixels_before,
        "pixels_after": image.screenshot(),
    }


def test_viewer_notebook_runs_clean(viewer_page: tuple[LabPage, NotebookRun]) -> None:
    _lab_page, run = viewer_page
    run.assert_clean()


def test_viewer_renders_the_slice_at_its_size(viewer_page: tuple[LabPage, NotebookRun]) -> None:
    lab_page, _run = viewer_page
    viewer = lab_page.page.locator(".mi-viewer")
    assert viewer.count() == 1
    state = image_state(viewer.locator("img.mi-image").first)
    assert state["src"].startswith(("blob:", "data:image/"))
    assert (state["width"], state["height"]) == (SHAPE[2], SHAPE[1])
    assert viewer.locator(".mi-slice-slider .widget-readout").first.inner_text() == str(
        SHAPE[0] // 2
    )


def test_arrow_key_on_viewer_slider_shows_next_slice(
    viewer_page: tuple[LabPage, NotebookRun],
) -> None:
    lab_page, _run = viewer_page
    viewer = lab_page.page.locator(".mi-viewer")
    viewer.scroll_into_view_if_needed()
    lab_page.screenshot("viewer_before_arrow_key", whole_notebook=False)
    moved = press_arrow_right(lab_page, viewer)
    lab_page.screenshot("viewer_after_arrow_key", whole_notebook=False)
    assert moved["after"]["src"] != moved["before"]["src"]
    assert moved["after"]["src"].startswith(("blob:", "data:image/"))
    assert (moved["after"]["width"], moved["after"]["height"]) == (SHAPE[2], SHAPE[1])
    assert int(moved["readout_after"]) == int(moved["readout_before"]) + 1
    assert moved["pixels_after"] != moved["pixels_before"]
    assert not lab_page.console_errors
    assert not lab_page.page_errors


def test_arrow_key_on_compare_slider_shows_next_slice(
    viewer_page: tuple[LabPage, NotebookRun],
) -> None:
    lab_page, _run = viewer_page
    comparison = lab_page.page.locator(".mi-compare")
    assert comparison.count() == 1
    comparison.scroll_into_view_if_needed()
    moved = press_arrow_right(lab_page, comparison)
    lab_page.screenshot("compare_after_arrow_key", whole_notebook=False)
    assert moved["after"]["src"] != moved["before"]["src"]
    assert int(moved["readout_after"]) == int(moved["readout_before"]) + 1
    assert moved["pixels_after"] != moved["pixels_before"]
    assert not lab_page.console_errors
    assert not lab_page.page_errors


def test_showing_the_viewer_keeps_the_scan_window(
    viewer_page: tuple[LabPage, NotebookRun],
) -> None:
    """The browser must not move the window: a FloatSlider snaps its value to min + k*step
    and sends it back, which would turn the scan's own window into "custom"."""
    lab_page, _run = viewer_page
    viewer = lab_page.page.locator(".mi-viewer")
    level = viewer.locator(".mi-window-center .widget-readout").first.inner_text()
    width = viewer.locator(".mi-window-width .widget-readout").first.inner_text()
    lung_window = (-600.0, 1500.0)  # the phantom's own window
    assert (readout_number(level), readout_number(width)) == lung_window
    assert viewer.locator(".mi-preset select").first.input_value() == "file"
