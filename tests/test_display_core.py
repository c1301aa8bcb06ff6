"""Display core: windowing, colormaps, overlays, lossless encoding, downsampling, the probe."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from medinteract import Scan, Window
from medinteract.data import ct_small, phantom
from medinteract.display import (
    DIFFERENCE_CMAP,
    PRESETS,
    ViewState,
    apply_window,
    colormap_lut,
    compose,
    decode_png,
    display_factor,
    downsample,
    encode_png,
    probe,
    render,
    render_png,
    resolve_window,
    slice_geometry,
    take_slice,
)
from medinteract.display.color import CROSSHAIR_COLOR, label_lut, overlay_labels
from medinteract.display.geometry import display_hw


# -- window ----------------------------------------------------------------------------------
def test_known_hu_maps_to_expected_grey_level() -> None:
    hu = np.array([-1000.0, -160.0, 40.0, 240.0, 3000.0])
    assert apply_window(hu, Window(40, 400)).tolist() == [0, 0, 128, 255, 255]


def test_brain_preset_on_real_ct() -> None:
    scan = ct_small()
    grey = render(scan.array, PRESETS["brain"])[..., 0]
    # brain window is 0..80 HU: everything below 0 HU is black, above 80 HU white
    assert np.all(grey[scan.array <= 0] == 0)
    assert np.all(grey[scan.array >= 80] == 255)
    inside = (scan.array > 0) & (scan.array < 80)
    expected = np.floor(scan.array[inside] / 80 * 255 + 0.5)
    assert np.abs(grey[inside] - expected).max() <= 1


def test_window_is_fixed_across_slices() -> None:
    """The same HU gets the same grey level on every slice (no per-slice auto contrast)."""
    volume = np.zeros((3, 4, 4), np.float32)
    volume[0] += 40
    volume[1, 0, 0] = 40
    volume[1, 1, 1] = 2000  # a bright spot must not change slice 1's contrast
    grey = [render(volume[k], Window(40, 400))[..., 0] for k in range(3)]
    assert grey[0][0, 0] == grey[1][0, 0] == 128


def test_presets_have_radiology_values() -> None:
    assert PRESETS["brain"] == Window(40, 80)
    assert PRESETS["lung"] == Window(-600, 1500)
    assert PRESETS["bone"] == Window(400, 1800)
    assert PRESETS["mediastinum"] == Window(50, 350)
    scan = Scan(np.zeros((4, 4)), modality="CT", window=(30, 300))
    assert resolve_window(scan) == Window(30, 300)
    assert resolve_window(scan, preset="file") == Window(30, 300)
    assert resolve_window(scan, preset="stroke") == Window(40, 40)
    assert resolve_window(scan, window=(1, 2), preset="lung") == Window(1, 2)
    with pytest.raises(ValueError, match="unknown window preset"):
        resolve_window(scan, preset="liver-ish")


def test_nan_shows_black_and_width_must_be_positive() -> None:
    assert apply_window(np.array([np.nan, 1.0]), Window(0, 2)).tolist() == [0, 255]
    with pytest.raises(ValueError, match="positive"):
        apply_window(np.zeros(3), Window(0, 0))


# -- colour ----------------------------------------------------------------------------------
def test_colormap_palette_and_gray_identity() -> None:
    assert np.array_equal(colormap_lut("gray")[:, 0], np.arange(256))
    viridis = colormap_lut("viridis")
    assert viridis.shape == (256, 3) and viridis.dtype == np.uint8
    with pytest.raises(ValueError, match="unknown colormap"):
        colormap_lut("no-such-map")


def test_difference_colormap_is_neutral_in_the_middle() -> None:
    middle = colormap_lut(DIFFERENCE_CMAP)[128].astype(int)
    assert middle.min() > 230 and middle.max() - middle.min() <= 3


def test_filled_overlay_and_contour() -> None:
    image = np.zeros((7, 7))
    labels = np.zeros((7, 7), np.uint8)
    labels[2:5, 2:5] = 1
    colour = label_lut()[1].astype(float)
    filled = render(image, Window(0.5, 1), labels=labels, opacity=0.5)
    assert np.array_equal(filled[3, 3], np.round(0.5 * colour).astype(np.uint8))
    assert np.array_equal(filled[0, 0], [0, 0, 0])
    outline = render(image, Window(0.5, 1), labels=labels, contour=True)
    assert np.array_equal(outline[2, 3], colour.astype(np.uint8))  # edge pixel coloured
    assert np.array_equal(outline[3, 3], [0, 0, 0])  # interior untouched
    with pytest.raises(ValueError, match="do not match"):
        overlay_labels(filled, labels[:3])


# -- encoding --------------------------------------------------------------------------------
@pytest.mark.parametrize("cmap, labels", [("gray", False), ("viridis", False), ("gray", True)])
def test_png_decodes_back_to_the_rendered_pixels(cmap: str, labels: bool) -> None:
    p = phantom(shape=(8, 96, 96), n_nodules=1, nodule_radius_mm=3.0, seed=3)
    slice_2d = p.scan.array[4]
    lab = p.labels[4] if labels else None
    rendered = render(slice_2d, PRESETS["lung"], cmap=cmap, labels=lab)
    decoded = decode_png(render_png(slice_2d, PRESETS["lung"], cmap=cmap, labels=lab))
    if decoded.ndim == 2:  # grey PNG: one channel
        decoded = np.repeat(decoded[..., None], 3, axis=2)
    assert np.array_equal(decoded, rendered)


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(np.uint8, hnp.array_shapes(min_dims=2, max_dims=2, max_side=40)
                  | st.tuples(st.integers(1, 30), st.integers(1, 30), st.sampled_from([3, 4]))))
def test_encoder_is_lossless(pixels: np.ndarray) -> None:
    assert np.array_equal(decode_png(encode_png(pixels)), pixels)


def test_encoder_rejects_bad_input() -> None:
    with pytest.raises(TypeError, match="uint8"):
        encode_png(np.zeros((4, 4), np.float32))
    with pytest.raises(ValueError, match="shape"):
        encode_png(np.zeros((4, 4, 2), np.uint8))


# -- downsampling ----------------------------------------------------------------------------
def test_2048_radiograph_is_downsampled_to_display_resolution() -> None:
    image = np.arange(2048 * 2048, dtype=np.float32).reshape(2048, 2048)
    factor = display_factor(image.shape, 768)
    small = downsample(image, factor)
    assert factor == 3 and small.shape == (683, 683)
    assert max(small.shape) <= 768
    assert small[0, 0] == pytest.approx(image[:3, :3].mean())
    assert small[-1, -1] == pytest.approx(image[-2:, -2:].mean())  # partial last block
    assert display_factor((512, 512), 1024) == 1
    assert downsample(image, 1) is image


def test_area_downsampling_preserves_the_mean_and_labels_stay_integers() -> None:
    rng = np.random.default_rng(0)
    image = rng.normal(size=(90, 60)).astype(np.float32)
    assert downsample(image, 3).mean() == pytest.approx(image.mean(), abs=1e-5)
    labels = rng.integers(0, 3, size=(90, 61)).astype(np.uint8)
    small = downsample(labels, 4, method="nearest")
    assert small.dtype == np.uint8 and small.shape == (23, 16)


# -- geometry and probe ----------------------------------------------------------------------
def anisotropic_ct() -> Scan:
    """A (z, y, x) = (20, 100, 80) CT volume with 2.5 x 0.5 x 0.5 mm voxels; HU = z*100+y+x/100."""
    z, y, x = np.meshgrid(np.arange(20), np.arange(100), np.arange(80), indexing="ij")
    return Scan(z * 100.0 + y + x / 100.0, spacing=(2.5, 0.5, 0.5), origin=(-20.0, -25.0, 10.0),
                modality="CT")


def test_coronal_view_has_the_physical_aspect_ratio() -> None:
    scan = anisotropic_ct()
    coronal = slice_geometry(scan, 1)
    pixels = take_slice(scan.array, coronal, 50)
    assert pixels.shape == (20, 80)  # z rows, x columns
    height, width = display_hw(coronal, pixels.shape, px_per_mm=4.0)
    assert height / width == pytest.approx((20 * 2.5) / (80 * 0.5), rel=0.01)
    # superior (last z) at the top
    assert np.array_equal(pixels[0], scan.array[19, 50])


def test_phantom_coronal_aspect() -> None:
    p = phantom(shape=(16, 96, 96), n_nodules=1, nodule_radius_mm=3.0, seed=1)
    geometry = slice_geometry(p.scan, 1)
    height, width = display_hw(geometry, (16, 96), px_per_mm=2.0)
    assert height / width == pytest.approx(16 * 2.5 / (96 * 0.75), rel=0.02)


def test_probe_reports_hu_voxel_and_mm() -> None:
    scan = anisotropic_ct()
    # axial slice 7 shown at 400 x 320 CSS px: 4 px per voxel
    state = ViewState(axis=0, index=7, display_height=400, display_width=320)
    result = probe(scan, state, x_px=4 * 30 + 2, y_px=4 * 60 + 1)
    assert result["inside"] and result["unit"] == "HU"
    assert result["index"] == (7, 60, 30)
    assert result["value"] == pytest.approx(7 * 100 + 60 + 0.30, abs=1e-3)
    assert result["mm"] == pytest.approx(scan.index_to_mm((7, 60, 30)).tolist())
    assert result["mm"] == pytest.approx((-20 + 30 * 0.5, -25 + 60 * 0.5, 10 + 7 * 2.5))
    assert probe(scan, state, -1, 5) == {"inside": False}
    assert probe(scan, state, 5, 400) == {"inside": False}


def test_probe_on_flipped_coronal_view_with_display_scaling() -> None:
    scan = anisotropic_ct()
    # coronal y=40, shown at 250 x 200 px (any size: the mapping is proportional)
    state = ViewState(axis=1, index=40, display_height=250, display_width=200)
    result = probe(scan, state, x_px=199.9, y_px=0.1)  # top-right corner
    assert result["index"] == (19, 40, 79)  # top row is the most superior slice
    assert result["value"] == pytest.approx(1900 + 40 + 0.79, abs=1e-3)


def test_probe_on_2d_image() -> None:
    scan = ct_small()
    rows, cols = scan.shape
    state = ViewState(axis=0, index=0, display_height=rows * 2, display_width=cols * 2)
    result = probe(scan, state, x_px=2 * 10 + 1, y_px=2 * 20 + 1)
    assert result["index"] == (20, 10)
    assert result["value"] == pytest.approx(float(scan.array[20, 10]))


def test_compose_keeps_grey_and_palette_images_compact() -> None:
    slice_2d = np.linspace(-1000, 1000, 64, dtype=np.float32).reshape(8, 8)
    grey = compose(slice_2d, Window(0, 2000))
    assert grey.data.ndim == 2 and grey.palette is None
    coloured = compose(slice_2d, Window(0, 2000), cmap="magma")
    assert coloured.data.ndim == 2 and coloured.palette.shape == (256, 3)
    crossed = compose(slice_2d, Window(0, 2000), crosshair=(2, 3))
    assert crossed.data.shape == (8, 8) and crossed.palette is None  # still one byte/pixel
    plain = grey.data.astype(int)
    lines = np.zeros((8, 8), bool)
    lines[2, :] = lines[:, 3] = True
    lines[2, 3] = False  # flipped twice: the crossing voxel shows its own value
    assert np.all(np.abs(crossed.data.astype(int) - plain)[lines] == 128)
    assert np.array_equal(crossed.data[~lines], grey.data[~lines])
    labelled = compose(slice_2d, Window(0, 2000), labels=np.zeros((8, 8), int), crosshair=(2, 3))
    assert labelled.data.shape == (8, 8, 3)
    assert np.array_equal(labelled.data[2, 0], CROSSHAIR_COLOR)


def test_probe_in_a_zoomed_region() -> None:
    scan = anisotropic_ct()
    state = ViewState(axis=0, index=3, display_height=100, display_width=80,
                      region=(50, 75, 40, 60))  # a 25 x 20 voxel region shown 4x
    result = probe(scan, state, x_px=4 * 5 + 1, y_px=4 * 10 + 1)
    assert result["index"] == (3, 60, 45)
