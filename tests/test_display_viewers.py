"""The viewers from the public API: view, compare, view3d (headless: traits in, pixels out)."""

from __future__ import annotations

import base64

import ipywidgets as widgets
import numpy as np
import pytest

import medinteract as mi
from medinteract import Scan, Window
from medinteract.data import chest_xray, phantom
from medinteract.display import DIFFERENCE_CMAP, colormap_lut, decode_png


def shown(pane_image: widgets.Image) -> np.ndarray:
    """The pixels a pane currently shows, as RGB."""
    pixels = decode_png(pane_image.value)
    return np.repeat(pixels[..., None], 3, axis=2) if pixels.ndim == 2 else pixels


def images(widget: widgets.Widget) -> list[widgets.Image]:
    """The visible mi-image elements of a viewer, in order."""
    return [pane.image for pane in widget._visible_panes()]


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
    pixels = shown(images(viewer)[0])
    assert pixels.shape == (40, 60, 3)
    assert np.all(pixels[:, :30] == 128) and np.all(pixels[:, 30:] == 0)
    viewer.window = Window(-160, 400)
    pixels = shown(images(viewer)[0])
    assert np.all(pixels[:, :30] == 255) and np.all(pixels[:, 30:] == 128)


def test_one_render_per_change(chest) -> None:
    viewer = mi.view(chest.scan, labels=chest.labels)
    slider = viewer._panes[0].slider
    count = viewer.render_count
    slider.set_state({"value": 3})  # exactly what a browser slider message does
    assert viewer.index == 3 and viewer.render_count == count + 1
    slider.value = 4
    assert viewer.render_count == count + 2
    viewer.index = 4  # no change, no render
    assert viewer.render_count == count + 2
    viewer.window_center = -500
    assert viewer.render_count == count + 3 and viewer.preset == "custom"
    viewer.window_width = 1000
    assert viewer.render_count == count + 4
    viewer.preset = "bone"  # sets centre and width: still one render
    assert viewer.render_count == count + 5 and viewer.window == Window(400, 1800)
    viewer.cmap = "viridis"
    viewer.opacity = 0.8
    viewer.labels_visible = False
    assert viewer.render_count == count + 8
    viewer.opacity = 0.3  # labels hidden: opacity changes nothing on screen
    assert viewer.render_count == count + 8


def test_linked_viewers_render_once_each(chest) -> None:
    first, second = mi.view(chest.scan), mi.view(chest.scan)
    widgets.link((first, "index"), (second, "index"))
    before = first.render_count, second.render_count
    first.index = 2
    assert second.index == 2
    assert (first.render_count, second.render_count) == (before[0] + 1, before[1] + 1)


def test_slice_index_shows_that_slice(chest) -> None:
    viewer = mi.view(chest.scan, preset="lung")
    viewer.index = 7
    expected = mi.display.render(chest.scan.array[7], Window(-600, 1500))
    assert np.array_equal(shown(images(viewer)[0]), expected)


def test_orthogonal_view_aspect_and_crosshair() -> None:
    scan = two_tissue_ct()
    viewer = mi.view(scan, orthogonal=True, display_size=300)
    axial, coronal, sagittal = viewer._panes
    assert [p.axis for p in viewer._panes] == [0, 1, 2]
    height, width = (float(v.rstrip("px")) for v in (coronal.image.layout.height,
                                                    coronal.image.layout.width))
    assert height / width == pytest.approx((10 * 2.5) / (60 * 0.5), rel=0.02)
    height, width = (float(v.rstrip("px")) for v in (sagittal.image.layout.height,
                                                    sagittal.image.layout.width))
    assert height / width == pytest.approx((10 * 2.5) / (40 * 0.5), rel=0.02)
    # the crosshair: an axial slice change moves the line in the other two views
    counts = [p.render_count for p in viewer._panes]
    axial.slider.value = 2
    assert [p.render_count for p in viewer._panes] == [c + 1 for c in counts]
    assert viewer.position == (2, 20, 30)
    # without the crosshair only the changed view re-renders
    viewer.crosshair = False
    counts = [p.render_count for p in viewer._panes]
    coronal.slider.value = 5
    assert [p.render_count for p in viewer._panes] == [counts[0], counts[1] + 1, counts[2]]


def test_axis_switch_and_physical_aspect_of_single_view() -> None:
    viewer = mi.view(two_tissue_ct(), axis=1)
    image = images(viewer)[0]
    assert shown(image).shape[:2] == (10, 60)
    assert float(image.layout.height[:-2]) / float(image.layout.width[:-2]) == \
        pytest.approx(25 / 30, rel=0.02)
    count = viewer.render_count
    viewer.axis = 0
    assert viewer.render_count == count + 1 and shown(image).shape[:2] == (40, 60)


def test_probe_and_click_move_the_crosshair(chest) -> None:
    scan = chest.scan
    viewer = mi.view(scan, orthogonal=True)
    axial = viewer._panes[0]
    height, width = (float(v[:-2]) for v in (axial.image.layout.height, axial.image.layout.width))
    x_px, y_px = (30.5 / 128) * width, (70.5 / 128) * height
    result = viewer.probe_at(x_px, y_px, pane=0)
    z = viewer.position[0]
    assert result["index"] == (z, 70, 30)
    assert result["value"] == pytest.approx(float(scan.array[z, 70, 30]))
    assert result["mm"] == pytest.approx(scan.index_to_mm((z, 70, 30)).tolist())
    assert viewer.probe_info == result and "HU" in viewer._probe.value
    viewer._on_mouse(axial, "click", x_px, y_px, width, height)  # a click, as ipyevents sends
    assert viewer.position == (z, 70, 30)


def test_saved_output_has_a_png_snapshot(chest) -> None:
    viewer = mi.view(chest.scan, orthogonal=True, labels=chest.nodules, display_size=256)
    bundle = viewer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    snapshot = decode_png(base64.b64decode(bundle["image/png"]))
    heights = [int(p.image.layout.height[:-2]) for p in viewer._panes]
    assert snapshot.shape[0] == max(heights) and snapshot.shape[2] == 3


def test_large_radiograph_is_downsampled_for_display() -> None:
    scan = chest_xray()
    assert max(scan.shape) > 1024
    viewer = mi.view(scan, max_display_pixels=768)
    pixels = shown(images(viewer)[0])
    assert max(pixels.shape[:2]) <= 768
    assert pixels.shape[:2] == tuple(-(-n // 3) for n in scan.shape)
    # the probe still reports full-resolution voxels: the bottom-right screen pixel is the
    # last voxel, not the last downsampled pixel
    image = images(viewer)[0]
    height, width = float(image.layout.height[:-2]), float(image.layout.width[:-2])
    result = viewer.probe_at(width - 0.01, height - 0.01)
    assert result["index"] == (scan.shape[0] - 1, scan.shape[1] - 1)
    assert result["value"] == scan.array[-1, -1]


def test_view_accepts_arrays_and_rejects_bad_labels() -> None:
    viewer = mi.view(np.arange(24.0).reshape(4, 6))
    assert viewer.index == 0 and shown(images(viewer)[0]).shape == (4, 6, 3)
    with pytest.raises(ValueError, match="do not match"):
        mi.view(np.zeros((4, 5, 6)), labels=np.zeros((4, 5)))
    with pytest.raises(ValueError, match="3-D volume"):
        mi.view(np.zeros((4, 5)), orthogonal=True)


def test_traits_cover_the_viewer_state(chest) -> None:
    viewer = mi.view(chest.scan)
    for name in ("axis", "index", "position", "window_center", "window_width", "preset",
                 "cmap", "opacity", "labels_visible", "render_count"):
        assert viewer.has_trait(name)
    assert "mi-viewer" in viewer._dom_classes


# -- compare ---------------------------------------------------------------------------------
def test_difference_of_identical_images_is_neutral(chest) -> None:
    view = mi.compare(chest.scan, chest.scan.array.copy(), mode="difference")
    pixels = shown(images(view)[0])
    assert np.all(pixels == colormap_lut(DIFFERENCE_CMAP)[128])
    view.after = chest.scan.array + view.difference_width / 2  # +w/2 is full red
    red, _, blue = shown(images(view)[0]).reshape(-1, 3).mean(axis=0)
    assert red > blue + 50


def test_curtain_and_blend(chest) -> None:
    before = two_tissue_ct()
    after = before.array[:, :, ::-1].copy()  # mirror image
    view = mi.compare(before, after, mode="curtain", window=(40, 400))
    view.curtain = 0.5
    pixels = shown(images(view)[0])
    expected_before = mi.display.render(before.array[5], Window(40, 400))
    expected_after = mi.display.render(after[5], Window(40, 400))
    assert np.array_equal(pixels[:, :30], expected_before[:, :30])
    assert np.array_equal(pixels[:, 30:], expected_after[:, 30:])
    view.mode = "blend"
    view.alpha = 0.0
    assert np.array_equal(shown(images(view)[0]), expected_before)
    view.alpha = 1.0
    assert np.array_equal(shown(images(view)[0]), expected_after)
    view.alpha = 0.5
    assert np.all(shown(images(view)[0]) == 64)  # halfway between 128 and 0


def test_compare_updates_cheaply(chest) -> None:
    view = mi.compare(chest.scan, chest.scan.array * 0.5)
    before_pane, after_pane = view._panes
    assert len(images(view)) == 2 and "mi-compare" in view._dom_classes
    counts = before_pane.render_count, after_pane.render_count
    view.set_after(chest.scan.array * 0.25)  # only the after pane re-renders
    assert (before_pane.render_count, after_pane.render_count) == (counts[0], counts[1] + 1)
    view.index = 3  # the linked slice: both panes
    assert (before_pane.render_count, after_pane.render_count) == (counts[0] + 1, counts[1] + 2)
    with pytest.raises(ValueError, match="same shape"):
        view.after = np.zeros((3, 3, 3))


# -- view3d ----------------------------------------------------------------------------------
def test_view3d_falls_back_to_projections_with_a_note(chest, monkeypatch) -> None:
    monkeypatch.setenv("MEDINTERACT_OFFLINE", "1")
    widget = mi.view3d(chest.scan, labels=chest.nodules)
    assert "mi-view3d" in widget._dom_classes
    assert "MEDINTERACT_OFFLINE" in widget.note
    axial_mip = decode_png(widget._panes[0].image.value)
    expected = mi.display.render(chest.scan.array.max(axis=0), chest.scan.window)
    # outside the nodule outlines the pixels are the plain projection
    outline = np.any(axial_mip.reshape(*axial_mip.shape[:2], -1) != expected, axis=-1)
    assert outline.mean() < 0.05
    assert "image/png" in widget._repr_mimebundle_()


def test_view3d_never_waits_for_a_browser(chest, monkeypatch) -> None:
    monkeypatch.delenv("MEDINTERACT_OFFLINE", raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    widget = mi.view3d(chest.scan, backend="auto")
    assert isinstance(widget, mi.display.view3d.__globals__["ProjectionView"])
    assert widget.note


# -- zoom ------------------------------------------------------------------------------------
def test_zoom_shows_the_region_around_the_crosshair_and_the_probe_follows() -> None:
    scan = mi.data.head_ct()  # 512 x 512
    viewer = mi.view(scan, window=(40, 400))
    count = viewer.render_count
    viewer.zoom = 4.0
    assert viewer.render_count == count + 1
    pixels = shown(images(viewer)[0])
    assert pixels.shape[:2] == (128, 128)  # a quarter of the width, full resolution
    expected = mi.display.render(scan.array[192:320, 192:320], Window(40, 400))
    assert np.array_equal(pixels, expected)
    result = viewer.probe_at(0.1, 0.1)  # top-left corner of the zoomed view
    assert result["index"] == (192, 192)


def test_zoom_is_linked_in_compare_and_click_recentres(chest) -> None:
    view = mi.compare(chest.scan, chest.scan.array + 1)
    before_pane, after_pane = view._panes
    view.zoom = 2.0
    assert shown(before_pane.image).shape[:2] == shown(after_pane.image).shape[:2] == (64, 64)
    height, width = view.view_sizes["before"]
    view._on_mouse(before_pane, "click", 0.0, 0.0, width, height)  # click the top-left corner
    assert view.zoom_center == pytest.approx((0.25, 0.25))
    expected = mi.display.render(chest.scan.array[view.index, :64, :64], view.window)
    assert np.array_equal(shown(before_pane.image), expected)


def test_browser_snapping_of_window_sliders_changes_nothing(chest) -> None:
    """A float slider snaps to min + k*step in the browser and sends that back."""
    viewer = mi.view(chest.scan)  # the phantom's lung window, C-600/W1500
    center = viewer.children[2].children[1]
    assert "mi-window-center" in center._dom_classes
    count = viewer.render_count
    center.set_state({"value": -600.16})  # the browser's snapped echo
    assert viewer.window_center == -600 and viewer.preset == "file"
    assert viewer.render_count == count
    center.set_state({"value": -599.0})  # a real move of one step
    assert viewer.window_center == -599 and viewer.preset == "custom"
    assert viewer.render_count == count + 1
    viewer.window_center = -600  # and back from code: the slider follows
    assert center.value == -600 and viewer.render_count == count + 2


def test_labels_can_be_replaced_live(chest) -> None:
    viewer = mi.view(chest.scan, preset="lung")
    plain = shown(images(viewer)[0])
    count = viewer.render_count
    viewer.labels = chest.nodules  # e.g. a segmentation panel updating its result
    assert viewer.render_count == count + 1
    assert any("mi-label-controls" in child._dom_classes for child in viewer.children)
    z = viewer.index
    with_labels = shown(images(viewer)[0])
    assert np.array_equal(with_labels[chest.nodules[z] == 0], plain[chest.nodules[z] == 0])
    viewer.labels = None
    assert viewer.render_count == count + 2
    assert np.array_equal(shown(images(viewer)[0]), plain)


# -- compare: replacing before, labels on after, clicks -----------------------------------------
def test_compare_replaces_before_with_one_render(chest) -> None:
    view = mi.compare(chest.scan, chest.scan.array)
    before_pane, after_pane = view._panes
    counts = before_pane.render_count, after_pane.render_count
    view.before = chest.scan.array + 100.0  # e.g. a chained panel's input changed
    assert (before_pane.render_count, after_pane.render_count) == (counts[0] + 1, counts[1])
    expected = mi.display.render(chest.scan.array[view.index] + 100.0, view.window)
    assert np.array_equal(shown(before_pane.image), expected)
    assert view.before.spacing == chest.scan.spacing  # an array keeps the geometry
    with view.batch():  # new before and after together: one render per pane
        view.before = chest.scan.array
        view.after = chest.scan.array - 100.0
    assert (before_pane.render_count, after_pane.render_count) == (counts[0] + 2, counts[1] + 1)
    view.mode = "difference"
    z = view.index
    difference = np.subtract(chest.scan.array[z] - 100.0, chest.scan.array[z], dtype=np.float32)
    expected = mi.display.render(difference, Window(0.0, view.difference_width),
                                 cmap=DIFFERENCE_CMAP)
    assert np.array_equal(shown(images(view)[0]), expected)  # after - the new before
    with pytest.raises(ValueError, match="same shape"):
        view.before = np.zeros((3, 3, 3))


def test_compare_draws_labels_over_after(chest) -> None:
    view = mi.compare(chest.scan, chest.scan.array, preset="lung")
    before_pane, after_pane = view._panes
    plain = shown(after_pane.image)
    counts = before_pane.render_count, after_pane.render_count
    mask = chest.nodules > 0
    view.after_labels = mask  # a segmentation panel's mask
    assert (before_pane.render_count, after_pane.render_count) == (counts[0], counts[1] + 1)
    z = view.index
    expected = mi.display.render(chest.scan.array[z], view.window, labels=mask[z].astype(np.uint8),
                                 opacity=view.opacity)
    assert np.array_equal(shown(after_pane.image), expected)  # the display's overlay path
    assert np.array_equal(shown(before_pane.image), plain)
    view.opacity = 1.0
    assert after_pane.render_count == counts[1] + 2 and before_pane.render_count == counts[0]
    view.mode = "curtain"
    view.curtain = 0.0  # all after: the labels show
    assert np.array_equal(shown(images(view)[0]), shown(after_pane.image))
    view.mode = "side-by-side"
    view.after_labels = None
    assert np.array_equal(shown(after_pane.image), plain)
    with pytest.raises(ValueError, match="do not match"):
        view.after_labels = np.zeros((2, 2), bool)


def test_compare_click_handlers_get_the_voxel(chest) -> None:
    view = mi.compare(chest.scan, chest.scan.array)
    assert view.image("before") is view._panes[0].image
    assert view.image("after") is view._panes[1].image
    with pytest.raises(ValueError, match="not 'middle'"):
        view.image("middle")
    clicked: list[tuple] = []
    view.on_click(lambda found: clicked.append(found["index"]))
    height, width = view.view_sizes["before"]
    rows, cols = chest.scan.shape[1:]
    x, y = (20.5 / cols) * width, (10.5 / rows) * height
    view._on_mouse(view._panes[0], "click", x, y, width, height)  # as ipyevents reports it
    assert clicked == [(view.index, 10, 20)]
    assert view.zoom_center == (0.5, 0.5)  # the click was the handler's, not the zoom's
    view._on_mouse(view._panes[0], "click", -4.0, y, width, height)  # outside: no call
    assert len(clicked) == 1
    view.zoom = 2.0  # the probe follows the zoomed region
    assert view.probe_at(0.1, 0.1)["index"] == (view.index, 32, 32)
