"""Region tables in physical units on anisotropic grids; line profiles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import medinteract.ops as ops
from medinteract.scan import Scan


def _ellipsoid(shape, spacing, radii_mm, centre_mm):
    grids = np.indices(shape).astype(float)
    d2 = sum(((g * s - c) / r) ** 2 for g, s, c, r in zip(grids, spacing, centre_mm, radii_mm))
    return d2 <= 1.0


def test_sphere_volume_centroid_and_diameter_on_anisotropic_voxels():
    # r = 12 mm sphere on 2.5 x 0.7 x 0.9 mm voxels: the voxelised volume is within 2 % of
    # 4/3 pi r^3, the centroid within half a voxel of the true centre
    spacing = (2.5, 0.7, 0.9)
    centre = (30.0, 25.2, 27.9)
    ball = _ellipsoid((24, 72, 64), spacing, (12, 12, 12), centre)
    table = ops.region_table(None, ball.astype(np.int32), spacing=spacing)
    row = table.iloc[0]
    true_volume = 4 / 3 * np.pi * 12 ** 3
    assert row["volume_mm3"] == pytest.approx(true_volume, rel=0.02)
    assert row["voxel_count"] == ball.sum()
    assert row["volume_mm3"] == pytest.approx(ball.sum() * np.prod(spacing))
    assert row["equivalent_diameter_mm"] == pytest.approx(24, rel=0.01)
    for axis, c, s in zip("zyx", centre, spacing):
        assert row[f"centroid_{axis}_mm"] == pytest.approx(c, abs=s / 2)
    assert row["major_axis_mm"] == pytest.approx(24, rel=0.05)
    assert row["minor_axis_mm"] == pytest.approx(24, rel=0.05)
    assert "eccentricity" not in table and "area_mm2" not in table


def test_ellipse_axes_and_eccentricity_in_mm_with_anisotropic_pixels():
    # semi-axes 20 mm (y) and 10 mm (x) drawn on 0.25 x 1.0 mm pixels: 80 rows by 10 columns;
    # area within 2 %, axis lengths within 3-5 % (voxelisation)
    spacing = (0.25, 1.0)
    ellipse = _ellipsoid((200, 40), spacing, (20, 10), (25, 20))
    row = ops.region_table(None, ellipse, spacing=spacing).iloc[0]
    assert row["area_mm2"] == pytest.approx(np.pi * 20 * 10, rel=0.02)
    assert row["major_axis_mm"] == pytest.approx(40, rel=0.03)
    assert row["minor_axis_mm"] == pytest.approx(20, rel=0.05)
    assert row["eccentricity"] == pytest.approx(np.sqrt(1 - 0.25), abs=0.02)
    assert row["equivalent_diameter_mm"] == pytest.approx(2 * np.sqrt(200), rel=0.01)
    assert 0.9 < row["solidity"] <= 1
    box = (row["bbox_y_stop"] - row["bbox_y_start"]) * (row["bbox_x_stop"] - row["bbox_x_start"])
    assert row["extent"] == pytest.approx(row["pixel_count"] / box)


def test_columns_bbox_and_intensity_statistics():
    labels = np.zeros((10, 12), np.int32)
    labels[1:4, 2:6] = 3
    labels[6:9, 8:11] = 7
    image = np.arange(120, dtype=float).reshape(10, 12)
    table = ops.region_table(image, labels, spacing=(1.0, 1.0), unit="HU")
    assert list(table.columns) == ops.region_columns(2, "HU")
    assert table["label"].tolist() == [3, 7]
    first = table.iloc[0]
    assert (first["bbox_y_start"], first["bbox_y_stop"], first["bbox_x_start"],
            first["bbox_x_stop"]) == (1, 4, 2, 6)
    values = image[labels == 3]
    assert first["mean_HU"] == pytest.approx(values.mean())
    assert first["std_HU"] == pytest.approx(values.std())
    assert (first["min_HU"], first["max_HU"]) == (values.min(), values.max())
    assert table["pixel_count"].tolist() == [12, 9]


def test_a_ct_scan_names_its_columns_in_hu_and_gives_the_spacing():
    vol = np.full((4, 8, 8), -1000.0)
    vol[1:3, 2:6, 2:6] = 40.0
    scan = Scan(vol, spacing=(3.0, 0.5, 0.5), modality="CT")
    table = ops.region_table(scan, ops.threshold(scan, low=0))
    assert table["mean_HU"].tolist() == [40.0]
    assert table["volume_mm3"].tolist() == [32 * 0.75]
    other = ops.region_table(vol, vol > 0)
    assert "mean_intensity" in other


def test_empty_labels_give_an_empty_table_with_the_columns():
    table = ops.region_table(np.zeros((5, 5, 5)), np.zeros((5, 5, 5), np.int32))
    assert len(table) == 0 and list(table.columns) == ops.region_columns(3, "intensity")


def test_degenerate_regions_do_not_fail():
    labels = np.zeros((6, 6), np.int32)
    labels[2, 1:5] = 1
    labels[4, 4] = 2
    table = ops.region_table(None, labels)
    assert table["pixel_count"].tolist() == [4, 1]
    assert table["area_mm2"].tolist() == [4.0, 1.0]


def test_region_table_round_trips_to_csv(tmp_path):
    labels = np.zeros((8, 8), np.int32)
    labels[2:5, 2:5] = 1
    table = ops.region_table(None, labels, spacing=(0.5, 0.5))
    path = tmp_path / "regions.csv"
    table.to_csv(path, index=False)
    pd.testing.assert_frame_equal(pd.read_csv(path), table, check_dtype=False)


def test_line_profile_distances_in_mm():
    img = np.tile(np.arange(10.0) * 5, (6, 1))
    profile = ops.line_profile(img, spacing=(1.0, 0.5), start=(3, 0), end=(3, 9))
    assert profile["distance_mm"].iloc[-1] == pytest.approx(4.5)
    np.testing.assert_allclose(profile["value"], np.arange(10.0) * 5)
    default = ops.line_profile(img)
    assert len(default) == 10
    diagonal = ops.line_profile(np.zeros((4, 5, 5)), spacing=(2, 1, 1), start=(0, 0, 0),
                                end=(3, 4, 4))
    assert diagonal["distance_mm"].iloc[-1] == pytest.approx(np.sqrt(36 + 16 + 16))


def test_filtering_the_table_selects_regions_in_the_image():
    labels = np.zeros((20, 20), np.int32)
    labels[1:3, 1:3] = 1          # 4 mm²
    labels[5:15, 5:15] = 2        # 100 mm²
    labels[16:19, 16:19] = 3      # 9 mm²
    table = ops.region_table(None, labels)
    big = ops.select_labels(labels, table[table["area_mm2"] > 5])
    assert set(np.unique(big)) == {0, 2, 3}
    assert np.array_equal(ops.select_labels(labels, [1]) > 0, labels == 1)
