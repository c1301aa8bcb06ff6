"""The annotate panel in JupyterLab (headless chromium): a mouse stroke on the shared viewer
paints the kernel's labels, and the page draws exactly what the kernel holds.

The view is the shared viewer (``mi.view``): the browser turns a left-button drag into stroke
events in voxels (press, move, release), the panel paints on its home thread, and the viewer
receives the changed labels.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from labdriver import LabPage, LabServer, kernel_json, kernel_output, lab_page_on, open_and_run_all
from widgetstate import mismatches, settle

pytestmark = pytest.mark.browser

SHAPE = (96, 128)  # (y, x), not square
CELLS = [
    "import numpy as np\nimport medinteract as mi",
    f"scan = mi.data.phantom(shape={SHAPE}, n_nodules=1, seed=5).scan\n"
    "a = mi.panels.annotate(scan, display_size=512)\na",
]

# What the viewer's model in the page holds: the labels' version, and the painted canvas pixel.
CANVAS_PIXEL_JS = """
([x, y]) => {
  const canvas = document.querySelector('.mi-panel-annotate canvas.mi-image');
  const rect = canvas.getBoundingClientRect();
  const col = Math.floor((x - rect.left) / rect.width * canvas.width);
  const row = Math.floor((y - rect.top) / rect.height * canvas.height);
  return Array.from(canvas.getContext('2d').getImageData(col, row, 1, 1).data.slice(0, 3));
}
"""


@pytest.fixture(scope="module")
def annotate_page(lab_server: LabServer, chromium_browser: Any) -> Iterator[LabPage]:
    with lab_page_on(chromium_browser, lab_server) as page:
        name = lab_server.write_notebook("annotate.ipynb", CELLS)
        open_and_run_all(page, name).assert_clean()
        page.page.wait_for_function(
            "() => { const c = document.querySelector('.mi-panel-annotate canvas.mi-image');"
            " return c && c.width > 0 && !c.parentElement.classList.contains('mi-loading'); }",
            timeout=30_000)
        settle(page)
        yield page


def test_a_drag_paints_the_kernels_labels_and_the_page_shows_them(annotate_page: LabPage
                                                                    ) -> None:
    page = annotate_page.page
    frame = page.locator(".mi-panel-annotate .mi-frame").first
    frame.scroll_into_view_if_needed()
    box = frame.bounding_box()
    y = box["y"] + box["height"] * 0.5
    x0, x1 = box["x"] + box["width"] * 0.25, box["x"] + box["width"] * 0.75
    before = page.evaluate(CANVAS_PIXEL_JS, [(x0 + x1) / 2, y])
    page.mouse.move(x0, y)
    page.mouse.down()
    page.mouse.move(x1, y, steps=12)
    page.mouse.up()
    settle(annotate_page)
    assert kernel_json(annotate_page, "[a.edits, a.error]") == [1, ""]  # one stroke
    painted = np.array(kernel_json(annotate_page, "np.argwhere(a.labels == 1).tolist()"))
    row = int(0.5 * SHAPE[0])
    assert painted.size and abs(np.median(painted[:, 0]) - row) <= 1
    assert painted[:, 1].min() <= int(0.25 * SHAPE[1]) + 2
    assert painted[:, 1].max() >= int(0.75 * SHAPE[1]) - 2  # the whole drag, not only its ends
    after = page.evaluate(CANVAS_PIXEL_JS, [(x0 + x1) / 2, y])
    assert after != before and len(set(after)) > 1  # coloured by the label, not grey
    kernel_output(annotate_page, "a.undo()")
    settle(annotate_page)
    assert page.evaluate(CANVAS_PIXEL_JS, [(x0 + x1) / 2, y]) == before
    assert not mismatches(annotate_page)


def test_the_tool_controls_set_the_panel(annotate_page: LabPage) -> None:
    page = annotate_page.page
    page.locator(".mi-annotate-tool button", has_text="erase").click()
    brush = page.locator(".mi-annotate-brush .mi-slider-handle").first
    brush.focus()
    page.keyboard.press("ArrowRight")  # 2.0 -> 2.5 mm
    settle(annotate_page)
    assert kernel_json(annotate_page, "[a.tool, a.brush_mm]") == ["erase", 2.5]
    assert not mismatches(annotate_page)
