"""The viewers from the public API: view, compare, view3d (headless: traits in, pixels and
data messages out).

The browser's half is played by :class:`FrontEnd`: it reads the data the widget puts in its
state, asks for the rest with the messages ``viewer.js`` sends, and decodes what comes back,
so these tests check what the browser would hold and (through ``image(pane)``, the Python
reference of the painted pixels) what it would paint.
"""

from __future__ import annotations

import base64
import gc
import tracemalloc

import ipywidgets as widgets
import numpy as np
import pytest

import medinteract as mi
from medinteract import Scan, Window
from medinteract.data import chest_xray, phantom
from medinteract.display import DIFFERENCE_CMAP, decode_png
from medinteract.display import base as display_base
from medinteract.display.transfer import decode_values


class FrontEnd:
    """What viewer.js holds of a widget's layers, fed as the browser is fed."""

    def __init__(self, widget: mi.display.DisplayWidget) -> None:
        self.widget = widget
        self.sent: list[dict] = []
        widget.send = lambda content, buffers=None: self.sent.append(  # type: ignore[method-assign]
            {**content, "data": buffers[0] if buffers else None})
        self.slices: dict[str, dict[int, np.ndarray]] = {}
        self.planes: dict[tuple, np.ndarray] = {}
        self.read_seed()

    def read_seed(self) -> None:
        for message in self.widget._seed:
            self.take(message)

    def take(self, message: dict) -> None:
        if message["type"] == "patch":
            return
        values = decode_values(message, message["data"])
        if message["type"] == "plane":
            self.planes[(message["layer"], message["axis"], message["index"])] = values
        else:
            held = self.slices.setdefault(message["layer"], {})
            for k, z in enumerate(range(message["start"], message["stop"])):
                held[z] = values[k]

    def ask(self, content: dict) -> list[dict]:
        """Send a request as the browser does; return (and keep) the answers."""
        self.sent.clear()
        self.widget._on_front_end_message(self.widget, content, [])
        for answer in self.widget._answering:  # encoded off the kernel's thread
            answer.result(timeout=60)
        for message in list(self.sent):
            self.take(message)
        return list(self.sent)

    def fetch_all(self, layer: str) -> np.ndarray:
        shape = self.widget._layers[layer]["shape"]
        for start in range(0, shape[0], 4):
            self.ask({"type": "fetch", "layer": layer, "start": start,
                      "stop": min(start + 4, shape[0])})
        held = self.slices[layer]
        return np.stack([held[z] for z in range(shape[0])])


@pytest.fixture(scope="module")
def chest():
    return phantom(shape=(24, 128, 128), n_nodules=2, seed=2)


def two_tissue_ct() -> Scan:
    """(z, y, x) = (10, 40, 60) CT, 2.5 x 0.5 x 0.5 mm: left half 40 HU, right half -160 HU."""
    array = np.full((10, 40, 60), 40.0, np.float32)
    array[:, :, 30:] = -160.0
    return Scan(array, spacing=(2.5, 0.5, 0.5), modality="CT", window=(40, 400))


# -- view ------------------------------------------------------------------------------------
def test_view_shows_known_grey_levels_under_the_window() -> None:
    viewer = mi.view(two_tissue_ct())
    pixels = viewer.image().pixels
    assert pixels.shape == (40, 60, 3)
    assert np.all(pixels[:, :30] == 128) and np.all(pixels[:, 30:] == 0)
    viewer.window = Window(-160, 400)
    pixels = viewer.image().pixels
    assert np.all(pixels[:, :30] == 255) and np.all(pixels[:, 30:] == 128)


def test_the_browser_gets_the_shown_slice_first_then_every_value_losslessly(chest) -> None:
    integral = chest.scan.with_array(np.round(chest.scan.array))  # as CT from DICOM
    viewer = mi.view(integral, labels=chest.nodules)
    front = FrontEnd(viewer)
    z = viewer.index
    assert set(front.slices["values"]) == {z}  # in the state: no round trip for the first image
    seeds = {m["layer"]: m for m in viewer._seed}
    assert seeds["values"]["dtype"] == "int16" and seeds["labels"]["dtype"] == "uint8"
    assert np.array_equal(front.fetch_all("values"), integral.array)
    assert np.array_equal(front.fetch_all("labels"), chest.nodules)
    # fractional values travel as float32, never rounded
    exact = FrontEnd(mi.view(chest.scan))
    assert np.array_equal(exact.fetch_all("values"), chest.scan.array)


def test_planes_of_other_axes_on_demand(chest) -> None:
    viewer = mi.view(chest.scan, orthogonal=True)
    front = FrontEnd(viewer)
    z, y, x = viewer.position
    assert np.array_equal(front.planes[("values", 1, y)], chest.scan.array[:, y, :])
    assert np.array_equal(front.planes[("values", 2, x)], chest.scan.array[:, :, x])
    front.ask({"type": "plane", "layer": "values", "axis": 1, "index": 3})
    assert np.array_equal(front.planes[("values", 1, 3)], chest.scan.array[:, 3, :])


def test_navigation_sends_no_data_and_label_edits_send_only_their_slices(chest) -> None:
    viewer = mi.view(chest.scan, labels=chest.labels)
    count, sent = viewer.render_count, viewer._seed
    viewer.index = 3
    viewer.window_center = -500
    assert viewer.preset == "custom"
    viewer.preset = "bone"  # sets centre and width
    assert viewer.window == Window(400, 1800)
    viewer.cmap = "viridis"
    viewer.opacity = 0.8
    viewer.zoom = 2
    assert viewer.render_count == count and viewer._seed is sent  # drawn in the browser
    edited = chest.labels.copy()
    edited[5, 10:20, 10:20] = 7
    viewer.labels = edited  # a new array: compared with the old one, slice 5 differs
    assert viewer.render_count == count + 1
    (patch,) = viewer._seed
    assert (patch["start"], patch["stop"], patch["base"]) == (5, 6, 1)
    assert np.array_equal(decode_values(patch, patch["data"])[0], edited[5])
    edited[9, 0, 0] = 3  # edited in place: say where
    viewer.set_labels(edited, changed=9)
    assert [(m["start"], m["stop"]) for m in viewer._seed] == [(9, 10)]
    assert 7 in [entry[0] for entry in viewer._legend]


def test_linked_viewers_follow_each_other(chest) -> None:
    first, second = mi.view(chest.scan), mi.view(chest.scan)
    widgets.link((first, "index"), (second, "index"))
    widgets.link((first, "window_center"), (second, "window_center"))
    first.index = 2
    first.window_center = 10
    assert (second.index, second.position[0], second.window_center) == (2, 2, 10)


def test_slice_index_shows_that_slice(chest) -> None:
    viewer = mi.view(chest.scan, preset="lung")
    viewer.index = 7
    expected = mi.display.render(chest.scan.array[7], Window(-600, 1500))
    assert np.array_equal(viewer.image().pixels, expected)


def test_axis_change_and_back_keeps_the_slice(chest) -> None:
    viewer = mi.view(chest.scan)
    viewer.index = 7
    viewer.axis = 1
    assert viewer.index == viewer.position[1] == chest.scan.shape[1] // 2
    viewer.axis = 0
    assert viewer.index == 7 and viewer.position[0] == 7
    # as the browser sends it: axis and index together
    viewer.set_state({"axis": 2, "index": viewer.position[2]})
    viewer.set_state({"axis": 0, "index": 7})
    assert (viewer.axis, viewer.index) == (0, 7)


def test_orthogonal_view_aspect_from_spacing() -> None:
    viewer = mi.view(two_tissue_ct(), orthogonal=True, display_size=300)
    sizes = viewer.view_sizes
    assert list(sizes) == ["axial", "coronal", "sagittal"]
    height, width = sizes["coronal"]
    assert height / width == pytest.approx((10 * 2.5) / (60 * 0.5), rel=0.02)
    height, width = sizes["sagittal"]
    assert height / width == pytest.approx((10 * 2.5) / (40 * 0.5), rel=0.02)
    axes = viewer._geometry["axes"]
    assert [(a["height"], a["width"]) for a in axes] == [sizes[n] for n in sizes]
    assert viewer.image("coronal").pixels.shape[:2] == (10, 60)


def test_probe_and_clicks_in_voxels(chest) -> None:
    scan = chest.scan
    viewer = mi.view(scan, orthogonal=True)
    height, width = viewer.view_sizes["axial"]
    x_px, y_px = (30.5 / 128) * width, (70.5 / 128) * height
    result = viewer.probe_at(x_px, y_px, pane="axial")
    z = viewer.position[0]
    assert result["index"] == (z, 70, 30)
    assert result["value"] == pytest.approx(float(scan.array[z, 70, 30]))
    assert result["mm"] == pytest.approx(scan.index_to_mm((z, 70, 30)).tolist())
    clicks, strokes = [], []
    viewer.on_click(clicks.append)
    viewer.on_stroke(strokes.append)
    assert viewer._mouse == ["click", "stroke"]
    front = FrontEnd(viewer)
    front.ask({"type": "mouse", "event": "click", "pane": "axial", "button": 0,
               "index": [z, 70, 30]})
    assert clicks[0]["index"] == (z, 70, 30) and clicks[0]["unit"] == "HU"
    assert viewer.probe_info["value"] == pytest.approx(float(scan.array[z, 70, 30]))
    for phase, index in (("press", [z, 1, 1]), ("move", [z, 1, 2]), ("release", [z, 1, 2])):
        front.ask({"type": "mouse", "event": "stroke", "phase": phase, "pane": "axial",
                   "button": 0, "index": index})
    assert [(s["phase"], s["index"]) for s in strokes] == [
        ("press", (z, 1, 1)), ("move", (z, 1, 2)), ("release", (z, 1, 2))]
    front.ask({"type": "mouse", "event": "click", "pane": "axial", "index": [99, 0, 0]})
    assert len(clicks) == 1  # outside the volume: ignored


def test_saved_output_has_a_png_snapshot(chest) -> None:
    viewer = mi.view(chest.scan, orthogonal=True, labels=chest.nodules, display_size=256)
    data, _metadata = viewer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    snapshot = decode_png(base64.b64decode(data["image/png"]))
    heights = [h for h, _ in viewer.view_sizes.values()]
    assert snapshot.shape[0] == max(heights) and snapshot.shape[2] == 3


def test_large_radiograph_full_resolution_in_the_browser_small_snapshot() -> None:
    scan = chest_xray()
    assert max(scan.shape) > 1024
    viewer = mi.view(scan, max_display_pixels=768)
    assert viewer._layers["values"]["shape"] == [1, *scan.shape]  # every pixel, losslessly
    assert viewer.image().pixels.shape[:2] == scan.shape
    small = viewer._pane_pixels("slice").data
    assert small.shape[:2] == tuple(-(-n // 3) for n in scan.shape)
    height, width = viewer.view_sizes["slice"]
    result = viewer.probe_at(width - 0.01, height - 0.01)
    assert result["index"] == (scan.shape[0] - 1, scan.shape[1] - 1)
    assert result["value"] == scan.array[-1, -1]


# a viewer whose construction fails must still close cleanly when collected (no exception
# ignored in Widget.__del__)
@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
def test_view_accepts_arrays_and_rejects_bad_labels() -> None:
    viewer = mi.view(np.arange(24.0).reshape(4, 6))
    assert viewer.index == 0 and viewer.image().pixels.shape == (4, 6, 3)
    with pytest.raises(ValueError, match="do not match"):
        mi.view(np.zeros((4, 5, 6)), labels=np.zeros((4, 5)))
    with pytest.raises(ValueError, match="3-D volume"):
        mi.view(np.zeros((4, 5)), orthogonal=True)


def test_traits_cover_the_viewer_state(chest) -> None:
    viewer = mi.view(chest.scan)
    synced = viewer.keys
    for name in ("axis", "index", "position", "window_center", "window_width", "preset",
                 "cmap", "opacity", "labels_visible", "contour", "crosshair", "zoom",
                 "zoom_center"):
        assert name in synced
    assert "mi-viewer" in viewer._dom_classes
    state = viewer.get_state()
    assert state["_esm"].startswith("// medinteract viewers")


# -- memory and lifetime -----------------------------------------------------------------------
def test_opening_a_viewer_copies_no_volume() -> None:
    scan = Scan(np.round(np.random.default_rng(0).normal(0, 300, (128, 256, 256))),
                modality="CT", window=(40, 400))
    gc.collect()
    tracemalloc.start()
    try:
        viewer = mi.view(scan, orthogonal=True)
        viewer._repr_mimebundle_()
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 0.25 * scan.array.nbytes  # an int16 copy would be 0.5, a float32 one 1.0


def test_rerunning_a_cell_closes_its_old_viewers(chest, monkeypatch) -> None:
    runs = iter([("cell-a", "run-1"), ("cell-a", "run-1"), ("cell-a", "run-2"),
                 ("cell-b", "run-3")])
    monkeypatch.setattr(display_base, "_execution", lambda: next(runs))
    first, second = mi.view(chest.scan), mi.compare(chest.scan, chest.scan)
    assert not first.closed and not second.closed
    third = mi.view(chest.scan)  # the same cell, run again
    assert first.closed and second.closed and not third.closed
    assert first._sources == {} and second._sources == {}  # the data are released
    mi.view(chest.scan)  # another cell
    assert not third.closed


# -- compare ---------------------------------------------------------------------------------
def test_difference_of_identical_images_is_neutral(chest) -> None:
    view = mi.compare(chest.scan, chest.scan.array.copy(), mode="difference")
    pixels = view.image("before").pixels
    assert np.all(pixels == mi.display.colormap_lut(DIFFERENCE_CMAP)[128])
    view.after = chest.scan.array + view.difference_width / 2  # +w/2 is full red
    red, _, blue = view.image("before").pixels.reshape(-1, 3).mean(axis=0)
    assert red > blue + 50


def test_curtain_and_blend() -> None:
    before = two_tissue_ct()
    after = before.array[:, :, ::-1].copy()  # mirror image
    view = mi.compare(before, after, mode="curtain", window=(40, 400))
    view.curtain = 0.5
    pixels = view.image("before").pixels
    expected_before = mi.display.render(before.array[5], Window(40, 400))
    expected_after = mi.display.render(after[5], Window(40, 400))
    assert np.array_equal(pixels[:, :30], expected_before[:, :30])
    assert np.array_equal(pixels[:, 30:], expected_after[:, 30:])
    view.mode = "blend"
    view.alpha = 0.0
    assert np.array_equal(view.image("before").pixels, expected_before)
    view.alpha = 1.0
    assert np.array_equal(view.image("before").pixels, expected_after)
    view.alpha = 0.5
    assert np.all(view.image("before").pixels == 64)  # halfway between 128 and 0


def test_compare_sends_only_what_changed(chest) -> None:
    view = mi.compare(chest.scan, chest.scan.array * 0.5)
    count = view.render_count
    assert {m["layer"] for m in view._seed} == {"before", "after"}
    preview = view.after.array.copy()
    preview[view.index] = 0.0  # a panel's preview: one slice of a new result
    view.after = preview
    assert view.render_count == count + 1
    assert [(m["layer"], m["start"], m["stop"]) for m in view._seed] == \
        [("after", view.index, view.index + 1)]
    view.index = 3
    view.mode = "curtain"
    assert view.render_count == count + 1
    with pytest.raises(ValueError, match="same shape"):
        view.after = np.zeros((3, 3, 3))


def test_compare_batch_is_one_message(chest) -> None:
    view = mi.compare(chest.scan, chest.scan.array)
    count = view.render_count
    with view.batch():
        view.before = chest.scan.array + 100.0
        view.after = chest.scan.array - 100.0
        view.after_labels = chest.nodules > 0
    assert view.render_count == count + 1
    assert {m["layer"] for m in view._seed} == {"before", "after", "after_labels"}
    assert view.before.spacing == chest.scan.spacing  # an array keeps the geometry
    view.mode = "difference"
    z = view.index
    difference = np.subtract(chest.scan.array[z] - 100.0, chest.scan.array[z] + 100.0,
                             dtype=np.float32)
    expected = mi.display.render(difference, Window(0.0, view.difference_width),
                                 cmap=DIFFERENCE_CMAP)
    assert np.array_equal(view.image("before").pixels, expected)
    with pytest.raises(ValueError, match="same shape"):
        view.before = np.zeros((3, 3, 3))


def test_compare_draws_labels_over_after(chest) -> None:
    view = mi.compare(chest.scan, chest.scan.array, preset="lung")
    plain = view.image("after").pixels
    mask = chest.nodules > 0
    view.after_labels = mask  # a segmentation panel's mask
    z = view.index
    expected = mi.display.render(chest.scan.array[z], view.window, labels=mask[z].astype(np.uint8),
                                 opacity=view.opacity)
    assert np.array_equal(view.image("after").pixels, expected)
    assert np.array_equal(view.image("before").pixels, plain)
    view.mode = "curtain"
    view.curtain = 0.0  # all after: the labels show
    assert np.array_equal(view.image("before").pixels, expected)
    view.after_labels = None
    assert np.array_equal(view.image("after").pixels, plain)
    assert "after_labels" not in view._layers
    with pytest.raises(ValueError, match="do not match"):
        view.after_labels = np.zeros((2, 2), bool)


def test_compare_click_handlers_and_zoomed_probe(chest) -> None:
    view = mi.compare(chest.scan, chest.scan.array)
    with pytest.raises(ValueError, match="no pane 'middle'"):
        view.image("middle")
    clicked: list[tuple] = []
    view.on_click(lambda found: clicked.append(found["index"]))
    front = FrontEnd(view)
    front.ask({"type": "mouse", "event": "click", "pane": "before", "button": 0,
               "index": [view.index, 10, 20]})
    front.ask({"type": "mouse", "event": "click", "pane": "after", "button": 0,
               "index": [view.index, 10, 20]})  # handler only for before
    assert clicked == [(view.index, 10, 20)]
    view.zoom = 2.0  # the probe follows the zoomed region
    assert view.probe_at(0.1, 0.1)["index"] == (view.index, 32, 32)
    view.zoom_center = (0.5, 0.0, 0.0)  # panned to the top-left corner
    assert view.probe_at(0.1, 0.1)["index"] == (view.index, 0, 0)
    expected = mi.display.render(chest.scan.array[view.index, :64, :64], view.window)
    assert np.array_equal(view.image("before").pixels, expected)


# -- view3d ----------------------------------------------------------------------------------
def test_view3d_offline_is_a_webgl_rendering_with_a_note(chest, monkeypatch) -> None:
    monkeypatch.setenv("MEDINTERACT_OFFLINE", "1")
    widget = mi.view3d(chest.scan, labels=chest.nodules)
    assert isinstance(widget, mi.display.VolumeView)
    assert "mi-view3d" in widget._dom_classes and "MEDINTERACT_OFFLINE" in widget.note
    front = FrontEnd(widget)
    assert np.array_equal(front.fetch_all("values"), chest.scan.array)
    assert np.array_equal(front.fetch_all("labels"), chest.nodules)
    widget.render_mode = "composite"
    data, _ = widget._repr_mimebundle_()
    assert "image/png" in data


def test_view3d_never_waits_for_a_browser(chest, monkeypatch) -> None:
    monkeypatch.delenv("MEDINTERACT_OFFLINE", raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    widget = mi.view3d(chest.scan, backend="auto")
    assert isinstance(widget, mi.display.VolumeView) and widget.note


def test_large_volumes_are_strided_for_3d_not_copied() -> None:
    scan = Scan(np.zeros((20, 300, 300), np.float32))
    widget = mi.display.volume_view(scan)
    assert widget._layers["values"]["shape"] == [10, 150, 150]
    assert np.shares_memory(widget._sources["values"], scan.array)
