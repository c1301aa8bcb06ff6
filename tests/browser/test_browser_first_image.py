"""A viewer's first image in chromium: drawn from the slice that comes with the widget's state,
before any of the rest of the volume, exactly as ``apply_window`` paints it.

The notebook holds the kernel's encoder threads (which answer the browser's requests for the
rest of the volume) before it makes the viewer, so the page can only paint from the seed: the
first image needs no round trip. It shows the viewer twice; both views draw from the one copy
of the values the widget model holds (before, each view kept and decoded its own).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from labdriver import LabPage, LabServer, kernel_json, kernel_output, lab_page_on, open_and_run_all

pytestmark = pytest.mark.browser

SHAPE = (24, 96, 128)
NOTEBOOK_CELLS = [
    "import threading\nimport numpy as np\nimport medinteract as mi\n"
    "from medinteract.windowing import apply_window\n"
    "from medinteract.display import base as display_base",
    f"p = mi.data.phantom(shape={SHAPE}, n_nodules=0, seed=3)\n"
    "scan = p.scan.with_array(np.round(p.scan.array))  # whole HU: int16 on the wire\n"
    "# hold the encoder threads: the browser's requests for more slices go unanswered\n"
    "release = threading.Event()\n"
    "encoders = display_base._encoders()\n"
    "held = [encoders.submit(release.wait, 120) for _ in range(encoders._max_workers)]",
    "viewer = mi.view(scan, window=(40, 400))\nviewer.add_class('t-first')\nviewer",
    "display(viewer)",
]

# Installed before the page loads: the pixels and the slices held at each view's first draw
# (the first draw comes while the view is built, before its element is in the document or
# has the widget's CSS classes).
FIRST_DRAW_JS = """
(() => {
  window.__firstDraws = [];
  const put = CanvasRenderingContext2D.prototype.putImageData;
  CanvasRenderingContext2D.prototype.putImageData = function (...args) {
    const result = put.apply(this, args);
    const canvas = this.canvas;
    const el = canvas.closest('.mi-widget');
    if (!el || el.__firstDrawn) { return result; }  // the notebook's only viewer
    el.__firstDrawn = true;
    const rgba = this.getImageData(0, 0, canvas.width, canvas.height).data;
    let text = '';
    for (let i = 0; i < rgba.length; i += 4) {
      text += String.fromCharCode(rgba[i], rgba[i + 1], rgba[i + 2]);
    }
    const draw = { rows: canvas.height, cols: canvas.width, rgb: btoa(text) };
    // render() keeps the view on its element once built: a microtask later it is there,
    // and no data arrived in between
    queueMicrotask(() => {
      draw.held = el.__miView.store.layers.get('values').count;
      draw.index = Number(canvas.dataset.index);
      window.__firstDraws.push(draw);
    });
    return result;
  };
})();
"""


@pytest.fixture(scope="module")
def first_image_page(lab_server: LabServer, chromium_browser: Any) -> Iterator[LabPage]:
    with lab_page_on(chromium_browser, lab_server) as lab_page:
        lab_page.page.add_init_script(FIRST_DRAW_JS)
        name = lab_server.write_notebook("browser_first_image.ipynb", NOTEBOOK_CELLS)
        run = open_and_run_all(lab_page, name)
        run.assert_clean()
        lab_page.page.wait_for_function("() => window.__firstDraws.length >= 2")
        yield lab_page
        kernel_output(lab_page, "release.set()")


def test_first_image_is_the_seed_slice_windowed_exactly(first_image_page: LabPage) -> None:
    first = first_image_page.page.evaluate("() => window.__firstDraws")[0]
    assert first["held"] == 1  # the slice sent with the state, nothing fetched
    assert first["index"] == kernel_json(first_image_page, "viewer.index") == SHAPE[0] // 2
    painted = np.frombuffer(base64.b64decode(first["rgb"]), np.uint8)
    painted = painted.reshape(first["rows"], first["cols"], 3)
    expected = kernel_json(first_image_page, "apply_window(scan.array[viewer.index], "
                                             "viewer.window).tolist()")
    assert np.array_equal(painted[..., 0], np.array(expected, np.uint8))
    assert np.array_equal(painted[..., 0], painted[..., 2])  # grey


def test_views_of_one_widget_share_its_values_and_get_the_rest(
    first_image_page: LabPage,
) -> None:
    page = first_image_page.page
    shared = page.evaluate(
        "() => { const views = [...document.querySelectorAll('.t-first')]"
        ".map((el) => el.__miView).filter(Boolean);"
        " return views.length === 2 && views[0].store === views[1].store; }")
    assert shared
    kernel_output(first_image_page, "release.set()")
    page.wait_for_function(
        "() => document.querySelector('.t-first').__miView.store.layers.get('values')"
        ".complete()", timeout=60_000)
