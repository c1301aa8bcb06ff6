"""End to end on the chest phantom: threshold + clean-up finds the nodules, and the region table
reports their size in mm² / mm³ as the ground truth does."""

from __future__ import annotations

import numpy as np
import pytest

import medinteract.ops as ops

data = pytest.importorskip("medinteract.data")
if not hasattr(data, "phantom"):  # pragma: no cover
    pytest.skip("medinteract.data.phantom is not available", allow_module_level=True)


def _find_nodules(scan) -> np.ndarray:
    """Nodule candidates: dense tissue (-420..300 HU) inside the lungs, vessels opened away."""
    spacing = scan.spacing
    air = ops.threshold(scan, high=-420)
    air_labels = ops.label(air)
    edges = np.concatenate([air_labels[..., 0, :].ravel(), air_labels[..., -1, :].ravel(),
                            air_labels[..., :, 0].ravel(), air_labels[..., :, -1].ravel()])
    lungs = air & ~np.isin(air_labels, np.unique(edges))          # air not outside the body
    lungs = ops.closing(lungs, spacing=spacing, radius=3.0)       # swallow thin vessels
    lungs = ops.fill_holes(lungs, per_slice_2d=True)              # ... and the nodules
    dense = ops.threshold(scan, low=-420, high=300) & lungs
    dense = ops.opening(dense, spacing=spacing, radius=2.0)        # vessels are < 2 mm radius
    min_size = 30.0 if scan.ndim == 2 else 100.0                  # mm² / mm³
    return ops.remove_small(dense, spacing=spacing, min_size=min_size)


def _best_match(found: np.ndarray, truth: np.ndarray, label: int) -> int:
    overlap = np.bincount(truth[found == label].astype(np.int64))
    overlap[0] = 0
    return int(overlap.argmax()) if overlap.any() else 0


def test_threshold_and_cleanup_find_the_nodules_of_a_2d_slice():
    # areas within 10 % of the ground truth's voxel-counted area (partial-volume blur and the
    # -420 HU threshold make the edge uncertain by about one pixel at 0.75 mm)
    p = data.phantom(shape=(256, 256), seed=2)
    found = ops.label(_find_nodules(p.scan))
    table = ops.region_table(p.scan, found)
    assert "area_mm2" in table and "mean_HU" in table
    # vessel pieces cut lengthwise are elongated; nodules are round
    nodules = table[table["eccentricity"] < 0.75]
    matches = {_best_match(found, p.nodules, lab): area
               for lab, area in zip(nodules["label"], nodules["area_mm2"])}
    assert sorted(matches) == sorted(p.table["label"])
    for _, row in p.table.iterrows():
        assert matches[row["label"]] == pytest.approx(row["area_mm2"], rel=0.10)


def test_threshold_and_cleanup_find_the_nodules_of_a_volume():
    # volumes within 5 % of the ground truth at 2.5 x 0.75 x 0.75 mm voxels; Dice > 0.95
    p = data.phantom(shape=(48, 128, 128), seed=3)
    mask = _find_nodules(p.scan)
    found = ops.label(mask)
    table = ops.region_table(p.scan, found)
    assert len(table) == len(p.table) == 4
    assert ops.dice(p.nodules > 0, mask) > 0.95
    for _, row in table.iterrows():
        truth = p.table.set_index("label").loc[_best_match(found, p.nodules, row["label"])]
        assert row["volume_mm3"] == pytest.approx(truth["volume_mm3"], rel=0.05)
        assert row["equivalent_diameter_mm"] == pytest.approx(2 * truth["radius_mm"], rel=0.05)
        centre_mm = p.scan.index_to_mm(
            [row[f"centroid_{a}_mm"] / s for a, s in zip("zyx", p.scan.spacing)])
        expected = truth[["centre_x_mm", "centre_y_mm", "centre_z_mm"]].to_numpy(float)
        np.testing.assert_allclose(centre_mm, expected, atol=1.0)


def test_region_growing_from_the_table_centre_outlines_a_nodule():
    # nodule 3 of this slice touches no vessel (a touching one would leak into the vessel tree)
    p = data.phantom(shape=(256, 256), seed=2, noise_hu=0.0)
    row = p.table.set_index("label").loc[3]
    seed = (int(round(row["centre_y"])), int(round(row["centre_x"])))
    grown = ops.region_grow(p.scan, seed=seed, tolerance=250.0)
    truth = p.nodules == 3
    assert ops.dice(truth, grown) > 0.95
    assert ops.hausdorff_distance(truth, grown, spacing=p.scan.spacing) <= 1.5
