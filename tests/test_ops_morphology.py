"""Morphology ops in physical units: sizes in mm²/mm³, radii in mm on anisotropic grids."""

from __future__ import annotations

import numpy as np
import pytest

import medinteract.ops as ops
import medinteract.params


def test_remove_small_by_area_in_mm2():
    min_size = {p.name: p for p in ops.describe(ops.remove_small)}["min_size"]
    assert min_size.unit == "mm^d"
    assert medinteract.params.format_unit(min_size.unit, 2) == "mm²"
    spacing = (0.5, 0.25)  # 0.125 mm² per pixel
    mask = np.zeros((40, 80), bool)
    mask[2:6, 2:10] = True      # 32 px = 4.0 mm²
    mask[10:14, 20:36] = True   # 64 px = 8.0 mm²
    mask[20:30, 40:80] = True   # 400 px = 50 mm²
    out = ops.remove_small(mask, spacing=spacing, min_size=8.0)
    assert not out[2:6, 2:10].any()
    assert out[10:14, 20:36].all()      # exactly 8 mm² is kept
    assert out[20:30, 40:80].all()
    assert ops.remove_small(mask, spacing=spacing, min_size=8.1)[10:14, 20:36].sum() == 0
    assert np.array_equal(ops.remove_small(mask, spacing=spacing, min_size=0), mask)


def test_remove_small_by_volume_in_mm3_and_connectivity():
    spacing = (3.0, 1.0, 1.0)
    vol = np.zeros((6, 10, 10), bool)
    vol[1, 1:3, 1:3] = True            # 4 voxels = 12 mm³
    vol[2:5, 5:9, 5:9] = True          # 48 voxels = 144 mm³
    out = ops.remove_small(vol, spacing=spacing, min_size=100)
    assert out.sum() == 48
    diag = np.zeros((5, 5), bool)
    diag[1, 1] = diag[2, 2] = True  # touch by a corner
    assert ops.remove_small(diag, min_size=2, connectivity="full").sum() == 2
    assert ops.remove_small(diag, min_size=2, connectivity="face").sum() == 0


def test_fill_holes_2d_3d_and_per_slice():
    ring = np.zeros((9, 9), bool)
    ring[2:7, 2:7] = True
    ring[4, 4] = False
    assert ops.fill_holes(ring).sum() == 25
    tube = np.zeros((5, 9, 9), bool)
    tube[:, 2:7, 2:7] = True
    tube[:, 4, 4] = False
    assert not ops.fill_holes(tube)[2, 4, 4]             # open at both ends: not a 3-D hole
    assert ops.fill_holes(tube, per_slice_2d=True)[:, 4, 4].all()


def test_opening_radius_in_mm_on_anisotropic_pixels():
    spacing = (1.0, 0.25)
    mask = np.zeros((30, 120), bool)
    mask[5:25, 20:100] = True          # 20 mm x 20 mm square
    mask[14:16, 100:110] = True        # a 2 mm thin spur
    out = ops.opening(mask, spacing=spacing, radius=2.0)
    assert not out[14:16, 102:110].any()          # the spur is gone
    assert out[10:20, 40:80].all()                # the body stays
    footprint = ops.morphology.ellipsoid_footprint(2.0, spacing)
    assert footprint.shape == (5, 17)             # 2 mm = 2 rows, 8 columns each way


def test_closing_bridges_a_gap_smaller_than_the_radius():
    spacing = (0.5, 0.5)
    mask = np.zeros((20, 40), bool)
    mask[5:15, 5:19] = True
    mask[5:15, 21:35] = True
    assert ops.closing(mask, spacing=spacing, radius=1.0)[10, 19:21].all()   # 1 mm gap
    assert not ops.closing(mask, spacing=spacing, radius=0.4)[10, 19:21].any()


def test_dilation_and_erosion_by_a_ball_in_mm():
    spacing = (2.0, 1.0, 1.0)
    point = np.zeros((9, 15, 15), bool)
    point[4, 7, 7] = True
    grown = ops.dilation(point, spacing=spacing, radius=4.0)
    zz, yy, xx = np.nonzero(grown)
    assert (zz.max() - zz.min(), yy.max() - yy.min()) == (4, 8)   # +-2 slices, +-4 rows
    assert np.array_equal(ops.erosion(grown, spacing=spacing, radius=4.0), point)


def test_label_numbers_objects():
    mask = np.zeros((10, 10), bool)
    mask[1:3, 1:3] = True
    mask[5:8, 5:8] = True
    labels = ops.label(mask)
    assert labels.dtype == np.int32 and labels.max() == 2
    assert set(np.unique(labels[mask])) == {1, 2}
    with pytest.raises(ValueError, match="connectivity"):
        ops.label(mask, connectivity="corner")


def test_label_counts_equal_bincount_across_chunks(monkeypatch):
    from medinteract import _arrays

    monkeypatch.setattr(_arrays, "_CHUNK", 1000)  # many chunks, one partial
    labels = np.random.default_rng(0).integers(0, 40, (7, 33, 29)).astype(np.int32)
    np.testing.assert_array_equal(_arrays.label_counts(labels),
                                  np.bincount(labels.ravel()))
    assert _arrays.label_counts(labels[:, ::2], minlength=60).tolist() == \
        np.bincount(labels[:, ::2].ravel(), minlength=60).tolist()  # not contiguous
    assert _arrays.label_counts(np.zeros((0, 3), np.int32), minlength=2).tolist() == [0, 0]


def test_remove_small_and_label_on_a_volume_match_scipy_exactly():
    from scipy import ndimage as ndi

    rng = np.random.default_rng(1)
    mask = ndi.gaussian_filter(rng.standard_normal((20, 64, 64)), 1.5) > 0.4
    spacing = (2.0, 0.5, 0.5)
    labels, _ = ndi.label(mask, structure=np.ones((3, 3, 3)))
    sizes = np.bincount(labels.ravel()) * 0.5
    expected = (sizes >= 3.0)[labels] & (labels > 0)
    np.testing.assert_array_equal(ops.remove_small(mask, spacing=spacing, min_size=3.0),
                                  expected)
    np.testing.assert_array_equal(ops.label(mask), labels)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ops_refuse_non_finite_images(bad, dtype):
    image = np.zeros((8, 8), dtype)
    image[3, 4] = bad
    with pytest.raises(ValueError, match="NaN or infinite"):
        ops.gaussian(image, sigma=1.0)


def test_a_float64_image_beyond_float32_is_refused_not_summed_to_finite():
    image = np.full((4, 4), 1e39)  # finite in float64, infinite once float32
    image[0, 0] = -1e39
    with pytest.raises(ValueError, match="NaN or infinite"):
        ops.gaussian(image, sigma=1.0)
