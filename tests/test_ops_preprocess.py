"""Preprocessing ops: resampling keeps physical size, geometry ops keep dtype, normalisation."""

from __future__ import annotations

import numpy as np
import pytest

import medinteract.ops as ops


def _sphere(shape, spacing, radius_mm, centre_mm):
    grids = np.indices(shape).astype(float)
    d2 = sum(((g * s) - c) ** 2 for g, s, c in zip(grids, spacing, centre_mm))
    return d2 <= radius_mm ** 2


def test_resample_isotropic_keeps_the_field_of_view_and_the_object_size():
    spacing = (3.0, 0.75, 0.75)
    vol = _sphere((20, 80, 80), spacing, 15.0, (30.0, 30.0, 30.0)).astype(np.float32) * 100
    out = ops.resample_isotropic(vol, spacing=spacing, new_spacing=1.5)
    assert out.shape == (40, 40, 40) and out.dtype == np.float32
    new_spacing = ops.resampled_spacing(vol.shape, spacing, 1.5)
    assert new_spacing == (1.5, 1.5, 1.5)
    volume_before = (vol > 50).sum() * np.prod(spacing)
    volume_after = (out > 50).sum() * np.prod(new_spacing)
    assert volume_after == pytest.approx(volume_before, rel=0.05)
    assert volume_after == pytest.approx(4 / 3 * np.pi * 15 ** 3, rel=0.05)


def test_resample_isotropic_defaults_to_the_finest_spacing():
    vol = np.zeros((5, 8, 8))
    out = ops.resample_isotropic(vol, spacing=(2.0, 1.0, 1.0))
    assert out.shape == (10, 8, 8)
    assert ops.resampled_spacing(vol.shape, (2.0, 1.0, 1.0)) == (1.0, 1.0, 1.0)
    labels = np.zeros((4, 4), np.int32)
    labels[1:3, 1:3] = 7
    nearest = ops.resample_isotropic(labels, spacing=(2.0, 1.0), order=0)
    assert set(np.unique(nearest)) == {0.0, 7.0}


def test_crop_rotate_flip_keep_dtype_and_copy():
    labels = np.arange(24, dtype=np.int32).reshape(2, 3, 4)
    cropped = ops.crop(labels, region=((0, 1), (1, 3), (None, None)))
    assert cropped.dtype == np.int32 and cropped.shape == (1, 2, 4)
    np.testing.assert_array_equal(cropped, labels[0:1, 1:3, :])
    assert ops.crop(labels).base is None
    rotated = ops.rotate90(labels, k=1)
    np.testing.assert_array_equal(rotated, np.rot90(labels, 1, axes=(1, 2)))
    np.testing.assert_array_equal(ops.rotate90(labels, k=4 - 1, plane="coronal"),
                                  np.rot90(labels, 3, axes=(0, 2)))
    np.testing.assert_array_equal(ops.flip(labels, axis="z"), labels[::-1])
    np.testing.assert_array_equal(ops.flip(labels, axis="y"), labels[:, ::-1])
    mask = labels > 10
    assert ops.flip(mask).dtype == np.bool_
    with pytest.raises(ValueError, match="empty"):
        ops.crop(labels, region=((1, 1), (0, 3), (0, 4)))
    with pytest.raises(ValueError, match="axial"):
        ops.rotate90(labels[0], plane="sagittal")
    with pytest.raises(ValueError, match="no z axis"):
        ops.flip(labels[0], axis="z")


def test_normalize_zscore_and_minmax():
    img = np.random.default_rng(0).normal(40, 300, (32, 32))
    z = ops.normalize(img, method="zscore")
    assert z.mean() == pytest.approx(0, abs=1e-5) and z.std() == pytest.approx(1, abs=1e-4)
    m = ops.normalize(img, method="minmax")
    assert m.min() == 0.0 and m.max() == pytest.approx(1.0)
    assert not ops.normalize(np.ones((4, 4))).any()


def test_clip_hu():
    img = np.array([[-3024.0, -1000.0, 0.0, 2000.0]])
    assert ops.clip_hu(img, low=-1000, high=400).tolist() == [[-1000, -1000, 0, 400]]
    with pytest.raises(ValueError, match="high"):
        ops.clip_hu(img, low=10, high=0)
