"""Segmentation ops: thresholds in HU, automatic methods, edges, region growing, watershed."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import medinteract.ops as ops


def _ball(shape, spacing, radius_mm, centre_mm):
    grids = np.indices(shape).astype(float)
    d2 = sum(((g * s) - c) ** 2 for g, s, c in zip(grids, spacing, centre_mm))
    return d2 <= radius_mm ** 2


def test_threshold_of_a_disc_gives_its_area_in_mm2():
    # disc of radius 20 mm at 0.6 x 0.8 mm pixels: about 2600 pixels, area within 1 %
    spacing = (0.6, 0.8)
    disc = _ball((120, 100), spacing, 20.0, (36.0, 40.0))
    ct = np.where(disc, 60.0, -900.0) + np.random.default_rng(0).normal(0, 20, disc.shape)
    mask = ops.threshold(ct, low=-400, high=400)
    area = mask.sum() * np.prod(spacing)
    assert area == pytest.approx(np.pi * 20 ** 2, rel=0.01)
    table = ops.region_table(None, ops.label(mask), spacing=spacing)
    assert len(table) == 1 and table["area_mm2"].iloc[0] == pytest.approx(area)


def test_threshold_bounds_are_inclusive_and_optional():
    img = np.array([[-1.0, 0.0, 1.0, 2.0]])
    assert ops.threshold(img, low=0).tolist() == [[False, True, True, True]]
    assert ops.threshold(img, high=1).tolist() == [[True, True, True, False]]
    assert ops.threshold(img).all()


@settings(max_examples=30, deadline=None)
@given(low=st.floats(-1000, 0), gap=st.floats(50, 2000), noise_fraction=st.floats(0, 0.05),
       method=st.sampled_from(["otsu", "li", "isodata", "mean"]))
def test_auto_threshold_separates_two_classes(low, gap, noise_fraction, method):
    # a bright square (1/4 of the pixels) on a background, noise up to 5 % of the contrast:
    # the threshold lies between the two levels and misclassifies under 1 % of the pixels
    rng = np.random.default_rng(1)
    truth = np.zeros((32, 32), bool)
    truth[8:24, 8:24] = True
    img = np.where(truth, low + gap, low) + rng.normal(0, noise_fraction * gap, truth.shape)
    value = ops.auto_threshold_value(img, method=method)
    assert low < value < low + gap
    mask = ops.threshold_auto(img, method=method)
    assert np.count_nonzero(mask != truth) <= 0.01 * truth.size
    np.testing.assert_array_equal(mask, img > value)


@pytest.mark.parametrize("method", ["yen", "triangle"])
def test_yen_and_triangle_separate_a_small_bright_object(method):
    img = np.zeros((64, 64))
    img[28:36, 28:36] = 100
    img += np.random.default_rng(2).normal(0, 3, img.shape)
    assert ops.threshold_auto(img, method=method)[28:36, 28:36].all()


def test_multi_otsu_labels_three_tissues():
    img = np.repeat([-800.0, 40.0, 700.0], 400).reshape(30, 40)
    img += np.random.default_rng(3).normal(0, 10, img.shape)
    labels = ops.multi_otsu(img, classes=3)
    assert labels.dtype == np.int32
    truth = np.repeat([0, 1, 2], 400).reshape(30, 40)
    # histogram binning puts a threshold at the edge of a class: allow 1 % of the pixels
    assert np.count_nonzero(labels != truth) <= 12
    t1, t2 = ops.multi_otsu_values(img, classes=3)
    assert -800 < t1 < 40 < t2 < 700


def test_sobel_gives_the_gradient_in_units_per_mm():
    z, y, x = np.indices((8, 10, 12)).astype(float)
    spacing = (2.0, 0.5, 0.25)
    # 10 HU/mm along z, 4 HU/mm along x: |grad| = sqrt(116)
    vol = 10 * z * spacing[0] + 4 * x * spacing[2]
    out = ops.sobel(vol, spacing=spacing)
    assert out[4, 5, 6] == pytest.approx(np.sqrt(116), rel=1e-5)


def test_canny_finds_a_square_outline_and_works_slice_by_slice():
    img = np.zeros((40, 40))
    img[10:30, 10:30] = 100
    img += np.random.default_rng(4).normal(0, 2, img.shape)
    edges = ops.canny(img, sigma=1.0)
    assert edges[20, 9:12].any() and edges[20, 28:31].any()
    assert not edges[15:25, 15:25].any() and not edges[:5].any()
    vol = np.stack([img, img.T, img])
    edges3 = ops.canny(vol, spacing=(5.0, 1.0, 1.0), sigma=1.0)
    # a slice spacing of 5 mm makes the 1 mm blur negligible across slices: per-slice edges
    np.testing.assert_array_equal(edges3[0], edges)
    np.testing.assert_array_equal(edges3[1], edges.T)
    with pytest.raises(ValueError, match="quantiles"):
        ops.canny(img, low_threshold=0.9, high_threshold=0.5)


def test_region_grow_from_a_seed_inside_a_disc_returns_the_disc():
    disc = _ball((64, 64), (1, 1), 15, (30, 34))
    ct = np.where(disc, 50.0, -900.0)
    ct += np.random.default_rng(5).uniform(-20, 20, ct.shape)
    grown = ops.region_grow(ct, seed=(30, 34), tolerance=60)
    np.testing.assert_array_equal(grown, disc)
    # a second disc of the same value that does not touch stays out
    other = _ball((64, 64), (1, 1), 5, (55, 8))
    ct2 = np.where(other, 50.0, ct)
    np.testing.assert_array_equal(ops.region_grow(ct2, seed=(30, 34), tolerance=60), disc)


def test_region_grow_in_3d():
    spacing = (2.0, 1.0, 1.0)
    ball = _ball((16, 32, 32), spacing, 10, (16, 16, 16))
    vol = np.where(ball, 100.0, 0.0)
    np.testing.assert_array_equal(ops.region_grow(vol, seed=(8, 16, 16), tolerance=10), ball)
    with pytest.raises(ValueError, match="seed"):
        ops.region_grow(vol, seed=(40, 0, 0))


def test_watershed_splits_touching_discs_with_min_distance_in_mm():
    spacing = (1.0, 0.5)  # anisotropic: discs are round in mm
    a = _ball((60, 120), spacing, 12, (30, 18))
    b = _ball((60, 120), spacing, 12, (30, 38))
    labels = ops.watershed(a | b, spacing=spacing, min_distance=10)
    assert labels.max() == 2
    assert len(np.unique(labels[a & ~b])) == 1 and len(np.unique(labels[b & ~a])) == 1
    assert labels[a & ~b][0] != labels[b & ~a][0]
    # a min_distance larger than the centre distance keeps them as one object
    assert ops.watershed(a | b, spacing=spacing, min_distance=25).max() == 1


def test_watershed_with_given_markers():
    spacing = (1.0, 1.0)
    a = _ball((40, 60), spacing, 10, (20, 18))
    b = _ball((40, 60), spacing, 10, (20, 36))
    markers = np.zeros(a.shape, np.int32)
    markers[20, 18] = 5
    markers[20, 36] = 9
    labels = ops.watershed(a | b, markers=markers)
    assert set(np.unique(labels)) == {0, 5, 9}
    assert labels[20, 10] == 5 and labels[20, 44] == 9
    image = np.where(a | b, 100.0, 0.0)
    assert set(np.unique(ops.watershed(a | b, markers=markers, image=image))) == {0, 5, 9}


@settings(max_examples=40, deadline=None)
@given(low=st.floats(-1000, 1000), delta=st.floats(0, 500), width=st.floats(0, 2000))
def test_threshold_is_monotonic_in_its_bounds(low, delta, width):
    img = np.random.default_rng(7).uniform(-1024, 3071, (16, 16))
    mask = ops.threshold(img, low=low, high=low + width)
    narrower = ops.threshold(img, low=low + delta, high=low + width)
    assert not (narrower & ~mask).any()
    assert np.array_equal(mask, (img >= low) & (img <= low + width))


def test_multi_otsu_on_too_few_values_says_so():
    img = np.zeros((8, 8))
    img[:4] = 1
    with pytest.raises(ValueError, match="too few distinct values"):
        ops.multi_otsu(img, classes=3)
