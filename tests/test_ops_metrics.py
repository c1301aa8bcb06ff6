"""Agreement metrics: exact overlaps, Hausdorff in mm, PSNR/SSIM, properties by hypothesis."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import medinteract.ops as ops


def test_dice_and_iou_of_known_overlaps_are_exact():
    truth = np.zeros((10, 10), bool)
    truth[0:4, 0:5] = True  # 20 px
    pred = np.zeros((10, 10), bool)
    pred[2:6, 0:5] = True  # 20 px, 10 shared
    assert ops.confusion_counts(truth, pred) == {"TP": 10, "FP": 10, "FN": 10, "TN": 70}
    assert ops.dice(truth, pred) == 0.5
    assert ops.iou(truth, pred) == pytest.approx(1 / 3)
    assert ops.dice(truth, truth) == 1.0 and ops.iou(truth, truth) == 1.0
    assert ops.dice(~pred, pred) == 0.0
    empty = np.zeros((10, 10), bool)
    assert ops.dice(empty, empty) == 1.0 and ops.iou(empty, empty) == 1.0
    assert ops.dice(empty, pred) == 0.0


def test_overlap_labels_colour_codes():
    pred = np.array([[1, 1, 0, 0]], bool)
    truth = np.array([[1, 0, 1, 0]], bool)
    out = ops.overlap_labels(truth, pred)
    assert out.dtype == np.uint8 and out.tolist() == [[1, 2, 3, 0]]


@pytest.mark.parametrize("spacing, axis, shift, expected", [
    ((1.0, 1.0), 1, 3, 3.0),
    ((0.5, 2.0), 1, 3, 6.0),     # 3 columns of 2 mm
    ((0.5, 2.0), 0, 4, 2.0),     # 4 rows of 0.5 mm
])
def test_hausdorff_of_shifted_squares_is_the_shift_in_mm(spacing, axis, shift, expected):
    a = np.zeros((40, 40), bool)
    a[10:20, 10:20] = True
    b = np.roll(a, shift, axis=axis)
    assert ops.hausdorff_distance(b, a, spacing=spacing) == pytest.approx(expected)
    assert ops.hausdorff_distance(a, b, spacing=spacing) == pytest.approx(expected)
    assert ops.hausdorff_distance(b, a, spacing=spacing, percentile=95) <= expected


def test_hausdorff_3d_and_hd95_ignores_a_speck():
    spacing = (2.5, 0.8, 0.8)
    a = np.zeros((12, 40, 40), bool)
    a[3:9, 10:30, 10:30] = True
    b = np.roll(a, 2, axis=0)
    assert ops.hausdorff_distance(b, a, spacing=spacing) == pytest.approx(5.0)
    speck = a.copy()
    speck[0, 0, 0] = True
    far = np.sqrt((3 * 2.5) ** 2 + (10 * 0.8) ** 2 * 2)
    assert ops.hausdorff_distance(a, speck, spacing=spacing) == pytest.approx(far)
    assert ops.hausdorff_distance(a, speck, spacing=spacing, percentile=95) == 0.0
    empty = np.zeros_like(a)
    assert ops.hausdorff_distance(empty, empty) == 0.0
    assert ops.hausdorff_distance(empty, a) == float("inf")


def test_psnr_and_ssim_with_a_stated_data_range():
    rng = np.random.default_rng(0)
    reference = rng.uniform(-1000, 1000, (64, 64))          # data range about 2000 HU
    noisy = reference + rng.normal(0, 20, reference.shape)
    mse = np.mean((noisy - reference) ** 2)
    expected = 10 * np.log10(2000.0 ** 2 / mse)
    assert ops.psnr(reference, noisy, data_range=2000.0) == pytest.approx(expected, rel=1e-6)
    span = reference.max() - reference.min()
    assert ops.psnr(reference, noisy) == pytest.approx(10 * np.log10(span ** 2 / mse))
    assert ops.psnr(reference, reference) == float("inf")
    assert ops.ssim(reference, reference) == pytest.approx(1.0)
    assert 0 < ops.ssim(reference, noisy) < 1
    noisier = reference + rng.normal(0, 200, reference.shape)
    assert ops.ssim(reference, noisy) > ops.ssim(reference, noisier)
    assert ops.psnr(reference, noisy) > ops.psnr(reference, noisier)
    with pytest.raises(ValueError, match="7 pixels"):
        ops.ssim(np.eye(5), np.eye(5))
    with pytest.raises(ValueError, match="data_range"):
        ops.psnr(np.zeros((8, 8)) + 1, np.zeros((8, 8)))


masks = arrays(np.bool_, st.tuples(st.integers(1, 12), st.integers(1, 12)))


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_dice_iou_properties(data):
    a = data.draw(masks)
    b = data.draw(arrays(np.bool_, a.shape))
    d, j = ops.dice(b, a), ops.iou(b, a)
    assert 0.0 <= d <= 1.0 and 0.0 <= j <= 1.0
    assert d == ops.dice(a, b) and j == ops.iou(a, b)
    assert d == pytest.approx(2 * j / (1 + j))
    assert d >= j
    counts = ops.confusion_counts(b, a)
    assert sum(counts.values()) == a.size
    assert np.bincount(ops.overlap_labels(b, a).ravel(), minlength=4).tolist() == [
        counts["TN"], counts["TP"], counts["FP"], counts["FN"]]


@settings(max_examples=40, deadline=None)
@given(data=st.data(), sy=st.floats(0.2, 3.0), sx=st.floats(0.2, 3.0))
def test_hausdorff_properties(data, sy, sx):
    a = data.draw(masks)
    b = data.draw(arrays(np.bool_, a.shape))
    spacing = (sy, sx)
    h = ops.hausdorff_distance(b, a, spacing=spacing)
    assert h == ops.hausdorff_distance(a, b, spacing=spacing)
    if a.any() and b.any():
        diagonal = np.hypot(a.shape[0] * sy, a.shape[1] * sx)
        assert 0 <= h <= diagonal
        assert ops.hausdorff_distance(b, a, spacing=spacing, percentile=50) <= h
    assert ops.hausdorff_distance(a, a, spacing=spacing) == 0.0
