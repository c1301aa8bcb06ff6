"""Enhancement ops: window/level in HU, percentile stretch, equalisation, gamma, sharpening."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

import medinteract.ops as ops
from medinteract.scan import Scan, Window


def test_window_maps_center_and_width_in_hu():
    hu = np.array([[-1000.0, -160.0, 40.0, 140.0, 240.0, 3000.0]])
    out = ops.window(hu, center=40, width=400)
    np.testing.assert_allclose(out, [[0, 0, 0.5, 0.75, 1, 1]])
    assert out.dtype == np.float32


def test_window_defaults_to_the_scans_window_for_the_whole_volume():
    vol = np.random.default_rng(0).normal(0, 100, (4, 16, 16))
    scan = Scan(vol, spacing=(2, 1, 1), window=Window(50, 200))
    np.testing.assert_allclose(ops.window(scan), ops.window(vol, center=50, width=200))
    # no per-slice auto contrast: a slice gets the same mapping as in the volume
    brighter = vol.copy()
    brighter[0] += 500
    whole = ops.window(brighter)
    assert whole[0].mean() > whole[1].mean() + 0.3
    with pytest.raises(ValueError, match="width"):
        ops.window(vol, center=0, width=0)


def test_contrast_stretch_by_percentiles():
    img = np.arange(1000.0).reshape(25, 40)
    out = ops.contrast_stretch(img, low_percentile=10, high_percentile=90)
    low, high = np.percentile(img, [10, 90])
    assert out[img <= low].max() == 0 and out[img >= high].min() == 1
    inside = (img > low) & (img < high)
    np.testing.assert_allclose(out[inside], (img[inside] - low) / (high - low), atol=1e-6)


def test_equalize_hist_flattens_the_histogram():
    img = np.random.default_rng(1).exponential(size=(128, 128))
    out = ops.equalize_hist(img)
    counts, _ = np.histogram(out, bins=10, range=(0, 1))
    assert counts.min() > 0.8 * counts.mean()


def test_clahe_raises_local_contrast():
    yy, xx = np.mgrid[:128, :128]
    img = xx * 0.01 + np.sin(yy / 3.0) * 0.05 * (xx < 64)  # faint texture on a ramp
    out = ops.clahe(img, clip_limit=0.03)
    texture = lambda a: np.abs(np.diff(a[:, 10:50], axis=0)).mean()  # noqa: E731
    unit = (img - img.min()) / np.ptp(img)
    assert texture(out) > 1.5 * texture(unit)
    assert 0 <= out.min() and out.max() <= 1


def test_gamma_on_the_unit_range():
    img = np.array([[10.0, 35.0, 110.0]])  # min 10, max 110 -> 0, 0.25, 1
    np.testing.assert_allclose(ops.gamma(img, gamma=0.5), [[0, 0.5, 1]])
    np.testing.assert_allclose(ops.gamma(img, gamma=2.0), [[0, 0.0625, 1]])


def test_unsharp_mask_radius_in_mm():
    img = np.zeros((32, 32))
    img[:, 16:] = 100.0
    spacing = (1.0, 0.5)
    out = ops.unsharp_mask(img, spacing=spacing, radius=2.0, amount=0.5)
    blurred = ndi.gaussian_filter(img, (2.0, 4.0), mode="nearest")
    np.testing.assert_allclose(out, img + 0.5 * (img - blurred), atol=1e-3)
    assert out.min() < 0 and out.max() > 100   # overshoot at the edge, no clipping
    np.testing.assert_allclose(ops.unsharp_mask(img, amount=0.0), img)
