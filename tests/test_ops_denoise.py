"""Denoising ops: physical sigma, noise removal, scale invariance of relative parameters."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage import filters

import medinteract.ops as ops


def _blocks(shape=(64, 64)) -> np.ndarray:
    """Piecewise-constant CT-like test image in HU."""
    img = np.full(shape, -800.0)
    img[8:56, 8:32] = 40.0
    img[20:44, 36:60] = 300.0
    return img


def test_gaussian_sigma_in_mm_matches_per_axis_pixel_sigma():
    rng = np.random.default_rng(0)
    vol = rng.normal(size=(12, 40, 40)).astype(np.float32)
    spacing = (2.5, 0.5, 0.8)
    out = ops.gaussian(vol, spacing=spacing, sigma=2.0)
    pixel_sigma = (2.0 / 2.5, 2.0 / 0.5, 2.0 / 0.8)
    expected = ndi.gaussian_filter(vol.astype(np.float64), pixel_sigma, mode="nearest")
    np.testing.assert_allclose(out, expected, atol=1e-5)
    via_skimage = filters.gaussian(vol.astype(np.float64), sigma=pixel_sigma, mode="nearest",
                                   preserve_range=True, truncate=4.0)
    np.testing.assert_allclose(out, via_skimage, atol=1e-5)
    assert out.dtype == np.float32


def test_gaussian_without_spacing_counts_pixels_and_zero_sigma_is_a_copy():
    img = np.random.default_rng(1).normal(size=(20, 20))
    np.testing.assert_allclose(ops.gaussian(img, sigma=1.5),
                               ndi.gaussian_filter(img, 1.5, mode="nearest"), atol=1e-5)
    np.testing.assert_allclose(ops.gaussian(img, sigma=0.0), img.astype(np.float32))


def test_gaussian_keeps_units():
    img = _blocks()
    out = ops.gaussian(img, spacing=(0.7, 0.7), sigma=1.0)
    assert out[30, 20] == pytest.approx(40.0, abs=1e-3)  # flat interior unchanged
    assert out.min() >= -800 - 1e-3 and out.max() <= 300 + 1e-3


def test_median_removes_salt_and_pepper():
    rng = np.random.default_rng(2)
    clean = _blocks()
    noisy = clean.copy()
    hits = rng.random(clean.shape)
    noisy[hits < 0.03] = 3000.0
    noisy[hits > 0.97] = -1024.0
    out = ops.median(noisy, size=3)
    wrong = np.abs(out - clean) > 1
    # only pixels on region borders can differ; none of the impulses survive
    assert wrong.mean() < 0.02
    assert out.max() <= 300 and out.min() >= -800


def test_mean_filter_averages_a_box():
    img = np.zeros((9, 9))
    img[4, 4] = 9.0
    out = ops.mean(img, size=3)
    assert out[4, 4] == pytest.approx(1.0) and out[3, 3] == pytest.approx(1.0)
    assert out[0, 0] == 0.0


def test_bilateral_smooths_flat_regions_but_keeps_edges():
    rng = np.random.default_rng(3)
    clean = _blocks()
    noisy = clean + rng.normal(0, 20, clean.shape)
    out = ops.bilateral(noisy, spacing=(0.5, 0.5), sigma_color=60.0, sigma_spatial=1.5)
    flat = (slice(12, 52), slice(12, 28))
    assert out[flat].std() < noisy[flat].std() / 2
    # the 840 HU step between air and tissue stays a step
    assert out[30, 6] < -700 and out[30, 10] > -60


def test_total_variation_weight_is_relative_to_the_image_range():
    rng = np.random.default_rng(4)
    clean = _blocks()
    noisy = clean + rng.normal(0, 30, clean.shape)
    out = ops.total_variation(noisy, weight=0.1)
    flat = (slice(12, 52), slice(12, 28))
    assert out[flat].std() < noisy[flat].std() / 3
    assert out[30, 20] == pytest.approx(40, abs=15)
    # the same weight acts alike on data in other units: scale and shift commute
    scaled = ops.total_variation(noisy / 100 + 5, weight=0.1)
    np.testing.assert_allclose(scaled, out / 100 + 5, atol=1e-3)


def test_estimate_noise_recovers_gaussian_sigma():
    noise = np.random.default_rng(5).normal(0, 12, (128, 128))
    assert ops.estimate_noise(noise) == pytest.approx(12, rel=0.1)
    assert ops.estimate_noise(_blocks() + noise[:64, :64]) == pytest.approx(12, rel=0.15)


def test_nl_means_h_is_in_units_of_the_noise():
    rng = np.random.default_rng(6)
    clean = _blocks()
    noisy = clean + rng.normal(0, 25, clean.shape)
    out = ops.nl_means(noisy, h=0.8)
    assert np.abs(out - clean).mean() < np.abs(noisy - clean).mean() / 2
    scaled = ops.nl_means(noisy * 0.01, h=0.8)
    np.testing.assert_allclose(scaled, out * 0.01, atol=0.05)
    assert np.array_equal(ops.nl_means(np.full((16, 16), 5.0)), np.full((16, 16), 5.0))


def test_bilateral_filters_a_volume_slice_by_slice():
    rng = np.random.default_rng(7)
    vol = np.stack([_blocks((24, 24)) for _ in range(3)]) + rng.normal(0, 20, (3, 24, 24))
    out = ops.bilateral(vol, spacing=(3.0, 0.5, 0.5), sigma_color=60.0, sigma_spatial=1.0)
    # sigma_color is in HU, so each slice gets what a 2-D call gives (up to the filter's
    # 10000-bin quantisation of value differences, well under 1 HU here)
    for k in range(3):
        plane = ops.bilateral(vol[k], spacing=(0.5, 0.5), sigma_color=60.0, sigma_spatial=1.0)
        np.testing.assert_allclose(out[k], plane, atol=0.5)
    assert out.shape == vol.shape and out.dtype == np.float32


def test_median_3d_uses_a_cube():
    vol = np.zeros((5, 5, 5))
    vol[2, 2, 2] = 100
    vol[1:4, 2, 2] = 100  # a 3-voxel line
    assert ops.median(vol, size=3).max() == 0
    block = np.zeros((7, 7, 7))
    block[1:6, 1:6, 1:6] = 50
    assert ops.median(block, size=3)[3, 3, 3] == 50


@pytest.mark.parametrize(("shape", "sigma", "dtype"), [
    ((30, 40, 50), (0.32, 1.07, 1.07), np.float32),  # thick slices: 3 taps along z
    ((12, 16, 20), (2.3, 0.5, 1.7), np.float64),
    ((5, 9, 9), (4.0, 0.0, 2.0), np.int16),  # a kernel longer than the stack
    ((1, 8, 8), (1.5, 1.0, 1.0), np.float32),
    ((7, 6, 5), (0.0, 1.0, 1.0), np.float32),
])
def test_volume_gaussian_equals_scipy_bit_for_bit(shape, sigma, dtype):
    """The slice-by-slice pass along the first axis computes what scipy.ndimage does."""
    from medinteract._arrays import gaussian_volume

    values = np.random.default_rng(3).normal(0, 400, shape).astype(dtype)
    expected = ndi.gaussian_filter(values, sigma, output=np.float32, mode="nearest")
    result = gaussian_volume(values, sigma)
    assert result.dtype == np.float32
    np.testing.assert_array_equal(result, expected)


def test_gaussian_of_a_volume_equals_scipy_bit_for_bit():
    values = np.random.default_rng(4).normal(0, 400, (20, 24, 24)).astype(np.float32)
    spacing = (2.5, 0.75, 0.75)
    expected = ndi.gaussian_filter(values, [0.8 / s for s in spacing], output=np.float32,
                                   mode="nearest")
    np.testing.assert_array_equal(ops.gaussian(values, spacing=spacing, sigma=0.8), expected)
