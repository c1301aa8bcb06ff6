"""The viewers in a real JupyterLab in chromium: what the page paints and shows equals what the
kernel holds.

One notebook (written at run time) shows a single viewer with labels (integer CT: int16 on
the wire), an orthogonal viewer (fractional values: float32; outlines, another colormap,
flipped coronal/sagittal rows), a comparison and the offline 3-D view. It is run once for
this module; each test then works on the page and asks the notebook's own kernel for the
truth (``labdriver.kernel_output``).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from labdriver import (LabPage, LabServer, NotebookRun, kernel_json, kernel_output, lab_page_on,
                       open_and_run_all)

pytestmark = pytest.mark.browser

SHAPE = (40, 128, 160)  # (z, y, x): not square, so a transposed image would show
NOTEBOOK_CELLS = [
    "import base64\nimport numpy as np\nimport medinteract as mi",
    f"p = mi.data.phantom(shape={SHAPE}, n_nodules=3, seed=1)\n"
    "scan = p.scan.with_array(np.round(p.scan.array))  # whole HU, as CT read from DICOM",
    "viewer = mi.view(scan, labels=p.nodules)\nviewer.add_class('t-single')\nviewer",
    "ortho = mi.view(p.scan, labels=p.nodules, orthogonal=True, contour=True, cmap='bone')\n"
    "ortho.add_class('t-ortho')\northo",
    "comparison = mi.compare(scan, np.round(scan.array / 50) * 50, mode='blend')\n"
    "comparison.after_labels = p.nodules > 0\ncomparison.add_class('t-compare')\ncomparison",
    "volume = mi.view3d(scan, labels=p.nodules)\nvolume.add_class('t-volume')\nvolume",
    "def reference(widget, pane):\n"
    "    pixels = np.ascontiguousarray(widget.image(pane).pixels)\n"
    "    print(pixels.shape[0], pixels.shape[1], base64.b64encode(pixels.tobytes()).decode())",
]

# The pixels a pane's canvas shows (RGB), its slice and whether it waits for data.
CANVAS_JS = """
([selector, pane]) => {
  const root = document.querySelector(selector);
  const canvas = root.querySelector(`canvas.mi-image-${pane}`);
  const frame = canvas.parentElement;
  const rgba = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  const rgb = new Uint8Array(canvas.width * canvas.height * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4) {
    rgb[j++] = rgba[i]; rgb[j++] = rgba[i + 1]; rgb[j++] = rgba[i + 2];
  }
  let text = '';
  for (let i = 0; i < rgb.length; i += 32768) {
    text += String.fromCharCode.apply(null, rgb.subarray(i, i + 32768));
  }
  return { rows: canvas.height, cols: canvas.width, index: Number(canvas.dataset.index),
           loading: frame.classList.contains('mi-loading'), rgb: btoa(text) };
}
"""

# The view's model state (what the page shows) for the given traits.
STATE_JS = """
([selector, names]) => {
  const model = document.querySelector(selector).__miView.model;
  return Object.fromEntries(names.map((n) => [n, model.get(n)]));
}
"""


@pytest.fixture(scope="module")
def viewer_page(
    lab_server: LabServer, chromium_browser: Any
) -> Iterator[tuple[LabPage, NotebookRun]]:
    """The viewer notebook, opened and run once for this module."""
    with lab_page_on(chromium_browser, lab_server) as lab_page:
        name = lab_server.write_notebook("browser_viewer.ipynb", NOTEBOOK_CELLS)
        run = open_and_run_all(lab_page, name)
        lab_page.page.wait_for_function(
            "() => document.querySelectorAll('.mi-widget canvas.mi-image').length >= 5")
        lab_page.screenshot("viewer_notebook")
        yield lab_page, run


def painted(lab_page: LabPage, selector: str, pane: str) -> tuple[np.ndarray, int]:
    """The RGB pixels a pane's canvas holds once its data arrived, and its slice index."""
    lab_page.page.wait_for_function(
        "([s, p]) => { const c = document.querySelector(s + ' canvas.mi-image-' + p);"
        " return c && c.width > 0 && !c.parentElement.classList.contains('mi-loading'); }",
        arg=[selector, pane], timeout=30_000)
    lab_page.page.wait_for_timeout(100)
    found = lab_page.page.evaluate(CANVAS_JS, [selector, pane])
    rgb = np.frombuffer(base64.b64decode(found["rgb"]), np.uint8)
    return rgb.reshape(found["rows"], found["cols"], 3), found["index"]


def reference(lab_page: LabPage, widget: str, pane: str) -> np.ndarray:
    """What the Python reference renderer paints for the pane, asked of the kernel."""
    rows, cols, data = kernel_output(lab_page, f"reference({widget}, {pane!r})").split()
    return np.frombuffer(base64.b64decode(data), np.uint8).reshape(int(rows), int(cols), 3)


def settle(lab_page: LabPage) -> None:
    """Wait until the debounced syncs and the kernel's echoes are through."""
    lab_page.page.wait_for_timeout(600)
    kernel_output(lab_page, "pass")
    lab_page.page.wait_for_timeout(300)


def shown_state(lab_page: LabPage, selector: str, names: list[str]) -> dict:
    return lab_page.page.evaluate(STATE_JS, [selector, names])


def test_viewer_notebook_runs_clean(viewer_page: tuple[LabPage, NotebookRun]) -> None:
    _lab_page, run = viewer_page
    run.assert_clean()


@pytest.mark.parametrize(("selector", "widget", "pane"), [
    (".t-single", "viewer", "slice"),
    (".t-ortho", "ortho", "axial"),
    (".t-ortho", "ortho", "coronal"),
    (".t-ortho", "ortho", "sagittal"),
    (".t-compare", "comparison", "before"),
])
def test_painted_pixels_equal_the_reference(
    viewer_page: tuple[LabPage, NotebookRun], selector: str, widget: str, pane: str,
) -> None:
    lab_page, _run = viewer_page
    pixels, index = painted(lab_page, selector, pane)
    expected = reference(lab_page, widget, pane)
    assert pixels.shape == expected.shape
    assert np.array_equal(pixels, expected), f"{np.count_nonzero(pixels != expected)} differ"


def test_modes_window_and_colormap_from_code_paint_exactly(
    viewer_page: tuple[LabPage, NotebookRun],
) -> None:
    lab_page, _run = viewer_page
    for code in ("comparison.mode = 'difference'",
                 "comparison.mode = 'curtain'; comparison.curtain = 0.37",
                 "comparison.mode = 'side-by-side'; comparison.window = (35.5, 123.25); "
                 "comparison.cmap = 'magma'"):
        kernel_output(lab_page, code)
        settle(lab_page)
        for pane in ("before", "after") if "side" in code else ("before",):
            pixels, _ = painted(lab_page, ".t-compare", pane)
            assert np.array_equal(pixels, reference(lab_page, "comparison", pane)), code


def test_keys_step_slices_in_the_browser_and_the_kernel_follows(
    viewer_page: tuple[LabPage, NotebookRun],
) -> None:
    lab_page, _run = viewer_page
    page = lab_page.page
    start = kernel_json(lab_page, "viewer.index")
    frame = page.locator(".t-single .mi-frame").first
    frame.scroll_into_view_if_needed()
    # the new slice is drawn before the key handler's task ends: no kernel round trip
    drawn = page.evaluate(
        "async (frame) => { frame.focus();"
        " frame.dispatchEvent(new KeyboardEvent('keydown', {key: 'ArrowUp', bubbles: true}));"
        " await Promise.resolve(); await Promise.resolve();"
        " return Number(frame.querySelector('canvas').dataset.index); }",
        frame.element_handle())
    assert drawn == start + 1
    frame.focus()
    for _ in range(4):
        page.keyboard.press("ArrowUp")
    settle(lab_page)
    assert kernel_json(lab_page, "[viewer.index, viewer.position[0]]") == [start + 5, start + 5]
    pixels, index = painted(lab_page, ".t-single", "slice")
    assert index == start + 5
    assert np.array_equal(pixels, reference(lab_page, "viewer", "slice"))
    readout = page.locator(".t-single .mi-slice-slider .mi-readout").first.inner_text()
    assert int(readout) == start + 5


def test_axial_coronal_axial_returns_to_the_same_slice(
    viewer_page: tuple[LabPage, NotebookRun],
) -> None:
    """Issue 9: in the browser the axial slice jumped (7 -> 47) after a round trip."""
    lab_page, _run = viewer_page
    page = lab_page.page
    kernel_output(lab_page, "viewer.axis = 0; viewer.index = 7")
    settle(lab_page)
    buttons = page.locator(".t-single .mi-axis button")
    buttons.nth(1).click()  # coronal
    page.wait_for_timeout(200)
    buttons.nth(0).click()  # axial
    settle(lab_page)
    _pixels, index = painted(lab_page, ".t-single", "slice")
    assert index == 7
    assert kernel_json(lab_page, "[viewer.axis, viewer.index]") == [0, 7]
    assert page.locator(".t-single .mi-slice-slider .mi-readout").first.inner_text() == "7"


def test_bursts_from_code_and_user_end_equal(viewer_page: tuple[LabPage, NotebookRun]) -> None:
    lab_page, _run = viewer_page
    page = lab_page.page
    frame = page.locator(".t-single .mi-frame").first
    for round_ in range(3):
        kernel_output(lab_page, "for i in range(12):\n    viewer.index = i\n"
                                "    viewer.window_center = -600 + 10 * i")
        frame.focus()
        for _ in range(3):
            page.keyboard.press("ArrowUp")
        # a right-drag on the image: window/level from the user
        box = frame.bounding_box()
        page.mouse.move(box["x"] + 50, box["y"] + 50)
        page.mouse.down(button="right")
        page.mouse.move(box["x"] + 70 + round_, box["y"] + 40, steps=4)
        page.mouse.up(button="right")
        kernel_output(lab_page, "viewer.preset = 'lung'" if round_ == 1 else "pass")
    settle(lab_page)
    names = ["index", "position", "window_center", "window_width", "preset", "axis"]
    kernel = kernel_json(lab_page, f"{{n: getattr(viewer, n) for n in {names!r}}}")
    shown = shown_state(lab_page, ".t-single", names)
    assert shown == {**kernel, "position": list(kernel["position"])}
    _pixels, index = painted(lab_page, ".t-single", "slice")
    assert index == kernel["index"]
    level = page.locator(".t-single .mi-window-center .mi-readout").first.inner_text()
    assert float(level) == pytest.approx(kernel["window_center"], rel=1e-5)


def test_probe_shows_the_scans_value(viewer_page: tuple[LabPage, NotebookRun]) -> None:
    lab_page, _run = viewer_page
    page = lab_page.page
    frame = page.locator(".t-ortho .mi-pane-axial .mi-frame").first
    frame.scroll_into_view_if_needed()
    box = frame.bounding_box()
    page.mouse.move(box["x"] + 5, box["y"] + 5)
    page.mouse.move(box["x"] + box["width"] * 0.41, box["y"] + box["height"] * 0.57, steps=3)
    probe = page.locator(".t-ortho .mi-probe").first
    page.wait_for_function("(p) => p.dataset.value && p.dataset.value !== '…'",
                           arg=probe.element_handle())
    text = probe.inner_text()
    index = [int(i) for i in probe.get_attribute("data-index").split(",")]
    expected = kernel_json(lab_page, f"float(p.scan.array[{index[0]}, {index[1]}, {index[2]}])")
    assert probe.get_attribute("data-value") == f"{expected:g}"  # as Python prints it
    assert "HU" in text and "mm" in text


def test_click_in_orthogonal_view_moves_the_crosshair_everywhere(
    viewer_page: tuple[LabPage, NotebookRun],
) -> None:
    lab_page, _run = viewer_page
    page = lab_page.page
    frame = page.locator(".t-ortho .mi-pane-axial .mi-frame").first
    box = frame.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.75)
    settle(lab_page)
    position = kernel_json(lab_page, "list(ortho.position)")
    assert position[1] == int(0.75 * SHAPE[1]) and position[2] == int(0.25 * SHAPE[2])
    _pixels, index = painted(lab_page, ".t-ortho", "coronal")
    assert index == position[1]
    assert kernel_json(lab_page, "ortho.probe_info['index']") == position


def test_view3d_offline_renders_with_webgl(viewer_page: tuple[LabPage, NotebookRun]) -> None:
    lab_page, _run = viewer_page
    page = lab_page.page
    canvas = page.locator(".t-volume canvas.mi-volume-canvas").first
    canvas.scroll_into_view_if_needed()
    page.wait_for_function("(c) => Number(c.dataset.draws || 0) > 0", arg=canvas.element_handle(),
                           timeout=60_000)
    lit = page.evaluate(
        "(c) => { const gl = c.getContext('webgl2');"
        " const px = new Uint8Array(c.width * c.height * 4);"
        " gl.readPixels(0, 0, c.width, c.height, gl.RGBA, gl.UNSIGNED_BYTE, px);"
        " let n = 0; for (let i = 0; i < px.length; i += 4) { if (px[i] > 40) n++; } return n; }",
        canvas.element_handle())
    assert lit > 1000  # the body, not a black canvas
    yaw = kernel_json(lab_page, "volume.yaw")
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + 100, box["y"] + 100)
    page.mouse.down()
    page.mouse.move(box["x"] + 160, box["y"] + 100, steps=5)
    page.mouse.up()
    settle(lab_page)
    assert kernel_json(lab_page, "volume.yaw") == pytest.approx(yaw + 0.6, abs=0.05)
    lab_page.screenshot("view3d_rotated", whole_notebook=False)
    assert not lab_page.console_errors and not lab_page.page_errors


def test_over_budget_volumes_fetch_slabs_on_demand(
    viewer_page: tuple[LabPage, NotebookRun],
) -> None:
    """Past the browser memory budget the viewer keeps the slabs near the shown slice and
    fetches the others when the user goes there; the pixels stay exact."""
    lab_page, _run = viewer_page
    slice_bytes = SHAPE[1] * SHAPE[2] * 2
    kernel_output(lab_page, f"viewer._budget = {8 * slice_bytes}; viewer.index = 2")
    settle(lab_page)
    for index in (37, 20):
        kernel_output(lab_page, f"viewer.index = {index}")
        settle(lab_page)
        pixels, shown = painted(lab_page, ".t-single", "slice")
        assert shown == index
        assert np.array_equal(pixels, reference(lab_page, "viewer", "slice"))
        held = lab_page.page.evaluate(
            "() => document.querySelector('.t-single').__miView.store.layers.get('values')"
            ".slices.map((s, z) => s ? z : -1).filter((z) => z >= 0)")
        assert index in held and len(held) <= 8 + 4  # the budget, plus a slab in flight
    kernel_output(lab_page, f"viewer._budget = {512 * 2**20}")
