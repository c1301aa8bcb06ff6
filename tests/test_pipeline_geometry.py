"""Geometry flows through pipelines: steps that resample, crop, flip or rotate hand their new
spacing, shape, origin and direction to the steps after them, and every number measured after
them is in correct millimetres (issue 13).
"""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import medinteract as mi
from medinteract import batch
from medinteract.ops import region_table
from medinteract.pipeline import Pipeline

#: The issue's phantom: 24 slices of 128x128 at 2.5 x 0.75 x 0.75 mm.
SHAPE = (24, 128, 128)


@pytest.fixture(scope="module")
def chest():
    return mi.data.phantom(shape=SHAPE)


def body_pipeline(*before: tuple[str, dict]) -> Pipeline:
    """Soft tissue and denser (> -400 HU), numbered and measured, after ``before`` steps."""
    return Pipeline([*before, ("threshold", {"low": -400.0}), ("label", {}),
                     ("region_table", {})])


RESAMPLE = ("resample_isotropic", {"new_spacing": 0.75})


# -- the numbers ---------------------------------------------------------------------
def test_resampling_keeps_the_volume_of_the_largest_region(chest):
    plain = body_pipeline().run(chest.scan)
    resampled = body_pipeline(RESAMPLE).run(chest.scan)
    largest, largest_resampled = plain["volume_mm3"].max(), resampled["volume_mm3"].max()
    assert largest == pytest.approx(211_451, rel=1e-4)
    # the issue measured x3.34 here: every step got the input's 2.5 mm slice spacing
    assert largest_resampled == pytest.approx(largest, rel=0.02)


def test_labels_after_resampling_carry_their_spacing(chest):
    labels = Pipeline([RESAMPLE, ("threshold", {"low": -400.0}), ("label", {})]).run(chest.scan)
    assert isinstance(labels, mi.Scan)
    assert labels.shape == (80, 128, 128) and labels.spacing == (0.75, 0.75, 0.75)
    table = region_table(None, labels)  # the spacing comes with the labels
    assert table["volume_mm3"].max() == pytest.approx(211_451, rel=0.02)


def test_batch_measures_after_resampling(chest, tmp_path: Path):
    mi.write_nifti(chest.scan, tmp_path / "chest.nii.gz")
    report = batch.run(body_pipeline(RESAMPLE), [tmp_path / "chest.nii.gz"], tmp_path / "out",
                       scheduler="sync", progress=False)
    # the issue: "image shape (24, 128, 128) differs from labels shape (80, 128, 128)"
    assert report.counts() == {"ok": 1, "failed": 0, "skipped": 0}, report.table["message"][0]
    assert report.regions["volume_mm3"].max() == pytest.approx(211_451, rel=0.02)
    result = mi.load(report.table["image"][0])
    assert result.shape == (80, 128, 128)
    np.testing.assert_allclose(result.spacing, (0.75, 0.75, 0.75), rtol=1e-6)


# -- declared geometry = where the op really puts each voxel ---------------------------------
def oblique(ndim: int) -> np.ndarray:
    """Unit axes of a scan tilted about two patient axes (not the identity, not a flip)."""
    a, b = np.deg2rad(20.0), np.deg2rad(-35.0)
    rz = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    axes = (rz @ rx).T[::-1]  # rows: z, y, x array axes
    return axes[3 - ndim:]


def patient_positions(geometry: mi.Geometry, indices: np.ndarray) -> np.ndarray:
    """LPS positions (N, 3) of integer array indices (N, ndim)."""
    return np.asarray(geometry.origin) + (indices * np.asarray(geometry.spacing)) @ \
        geometry.direction


def assert_voxels_stay_in_place(op, params: dict, shape: tuple[int, ...]) -> None:
    """Every output voxel lies, by the declared geometry, where its input voxel lay."""
    ndim = len(shape)
    geometry = mi.Geometry(shape, spacing=(2.5, 0.7, 0.4)[3 - ndim:],
                           origin=(-120.0, 35.5, 410.25), direction=oblique(ndim))
    ids = np.arange(np.prod(shape)).reshape(shape)  # each voxel knows where it came from
    out = op(ids, spacing=geometry.spacing, **params)
    moved = mi.ops.output_geometry(op, geometry, params)
    assert moved.shape == out.shape
    where_now = np.indices(out.shape).reshape(ndim, -1).T
    where_before = np.array(np.unravel_index(out.ravel(), shape)).T
    np.testing.assert_allclose(patient_positions(moved, where_now),
                               patient_positions(geometry, where_before), atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(moved.direction, axis=1), 1.0)


@pytest.mark.parametrize("axis", ["x", "y", "z"])
def test_flip_geometry(axis):
    assert_voxels_stay_in_place(mi.ops.flip, {"axis": axis}, (3, 4, 5))
    if axis != "z":
        assert_voxels_stay_in_place(mi.ops.flip, {"axis": axis}, (4, 5))


@pytest.mark.parametrize("plane", ["axial", "coronal", "sagittal"])
@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_rotate90_geometry(k, plane):
    assert_voxels_stay_in_place(mi.ops.rotate90, {"k": k, "plane": plane}, (3, 4, 5))
    if plane == "axial":
        assert_voxels_stay_in_place(mi.ops.rotate90, {"k": k, "plane": plane}, (4, 5))


@pytest.mark.parametrize("region", [((1, 3), (0, 4), (2, 5)), ((None, None), (-2, None), (1, -1)),
                                    None])
def test_crop_geometry(region):
    assert_voxels_stay_in_place(mi.ops.crop, {"region": region}, (3, 4, 5))


def test_resample_geometry_keeps_the_field_of_view_and_every_position():
    geometry = mi.Geometry((12, 20, 16), spacing=(2.5, 0.7, 0.9), origin=(-12.0, 7.5, 30.0),
                           direction=oblique(3))
    moved = mi.ops.resample_isotropic_geometry(geometry, new_spacing=0.5)
    assert moved.spacing == pytest.approx((0.5, 0.5, 0.5), rel=0.01)
    for corner in ((-0.5, -0.5, -0.5), tuple(n - 0.5 for n in geometry.shape)):
        scaled = [(c + 0.5) * s / t - 0.5 for c, s, t in zip(corner, geometry.spacing,
                                                                moved.spacing)]
        np.testing.assert_allclose(moved.index_to_mm(scaled), geometry.index_to_mm(corner),
                                   atol=1e-9)
    # values that are a linear function of the patient position keep being that function
    # where linear interpolation is exact (away from the borders)
    slope = np.array([0.3, -1.1, 0.7])
    values = patient_positions(geometry, np.indices(geometry.shape).reshape(3, -1).T) @ slope
    image = values.reshape(geometry.shape).astype(np.float32)
    out = mi.ops.resample_isotropic(image, spacing=geometry.spacing, new_spacing=0.5)
    inner = np.indices(out.shape).reshape(3, -1).T
    inner = inner[np.all((inner >= 5) & (inner < np.array(out.shape) - 5), axis=1)]
    expected = patient_positions(moved, inner) @ slope
    np.testing.assert_allclose(out[tuple(inner.T)], expected, atol=1e-3)


def test_geometry_functions_take_the_ops_defaults():
    for name in ("resample_isotropic", "crop", "flip", "rotate90"):
        op = mi.ops.get_op(name)
        declared = op.op_info.geometry
        assert declared is getattr(mi.ops, f"{name}_geometry")
        defaults = {p.name: p.default for p in mi.ops.describe(op) if p.is_tunable}
        for parameter in list(inspect.signature(declared).parameters.values())[1:]:
            assert parameter.default == defaults[parameter.name], (name, parameter.name)


def test_an_undeclared_change_of_grid_is_refused():
    def every_second(image: mi.ops.ImageIn, *, spacing: mi.ops.Spacing = None) -> mi.ops.Image:
        """Keep every second pixel (changes the grid without saying so)."""
        return np.asarray(image, dtype=np.float32)[::2, ::2]

    p = Pipeline().append(every_second).append("gaussian")
    with pytest.raises(ValueError, match="without declaring where its voxels lie") as info:
        p.run(mi.Scan(np.zeros((8, 8))))
    assert "in pipeline step 1" in info.value.__notes__[0]


def test_a_declared_geometry_is_used(tmp_path: Path):
    def every_second_geometry(geometry: mi.Geometry) -> mi.Geometry:
        return mi.Geometry(tuple((n + 1) // 2 for n in geometry.shape),
                           spacing=tuple(2 * s for s in geometry.spacing),
                           origin=geometry.origin, direction=geometry.direction)

    @mi.ops.op(category="test-only", geometry=every_second_geometry)
    def every_second(image: mi.ops.ImageIn, *, spacing: mi.ops.Spacing = None) -> mi.ops.Image:
        """Keep every second pixel.

        Examples
        --------
        >>> every_second(np.zeros((4, 4))).shape
        (2, 2)
        """
        return np.asarray(image, dtype=np.float32)[::2, ::2]

    try:
        out = Pipeline().append(every_second).run(mi.Scan(np.zeros((8, 6)), spacing=(0.5, 0.5)))
        assert out.shape == (4, 3) and out.spacing == (1.0, 1.0)
    finally:
        mi.ops.registry._REGISTRY.pop("every_second", None)


# -- what a pipeline returns ------------------------------------------------------------------
def test_run_on_a_scan_returns_a_scan_on_an_array_an_array(chest):
    scan = chest.scan
    steps = Pipeline([("crop", {"region": ((4, 20), (10, 110), (20, 100))})])
    image = steps.run(scan)
    assert isinstance(image, mi.Scan) and image.array.dtype == np.float32
    assert image.modality == "CT" and image.window == scan.window
    mask = (steps + Pipeline([("threshold", {"low": -400.0})])).run(scan)
    labels = (steps + Pipeline([("threshold", {"low": -400.0}), ("label", {})])).run(scan)
    assert mask.array.dtype == np.bool_ and labels.array.dtype == np.int32
    assert mask.geometry == labels.geometry == image.geometry
    assert image.geometry == mi.ops.crop_geometry(scan.geometry,
                                                  region=((4, 20), (10, 110), (20, 100)))
    plain = steps.run(scan.array, spacing=scan.spacing)
    assert isinstance(plain, np.ndarray) and np.array_equal(plain, image.array)


def test_mask_and_label_scans_check_their_values():
    with pytest.raises(ValueError, match="0/1"):
        mi.Scan(np.array([[0, 2], [1, 0]]), dtype=bool)
    with pytest.raises(ValueError, match="whole numbers"):
        mi.Scan(np.array([[0.5, 2.0]]), dtype=np.int32)
    with pytest.raises(ValueError, match="dtype must be"):
        mi.Scan(np.zeros((2, 2)), dtype=np.int16)
    mask = mi.Scan(np.eye(3), dtype=bool, spacing=(0.5, 0.5))
    assert mask.array.dtype == np.bool_ and mask.window == (0.5, 1.0)
    assert "bool" in repr(mask)
    assert mask.with_array(np.zeros((3, 3))).array.dtype == np.bool_



# -- region volumes and positions against the phantom's truth ---------------------------------
@pytest.fixture(scope="module")
def nodules():
    """Calcified nodules (2500 HU) of 3-7 mm radius on 2.5 x 0.75 x 0.75 mm voxels."""
    return mi.data.phantom(shape=(24, 96, 96), n_nodules=3, nodule_radius_mm=(3.0, 7.0),
                           nodule_hu=2500.0, seed=2)


#: Threshold halfway between lung (-850 HU) and nodule (2500 HU), then number and measure.
MEASURE = [("threshold", {"low": 825.0}), ("label", {}), ("region_table", {})]


def staircase_error(radius_mm: float, spacing) -> float:
    """Three standard deviations of the volume error of a sphere made of voxels (mm³).

    The voxels cut by the surface number about ``area * mean half-width / voxel volume``; each
    counts fully or not at all where it holds a uniformly distributed fraction of the sphere,
    an error of standard deviation ``voxel volume / sqrt(12)``, independent between voxels.
    """
    voxel = float(np.prod(spacing))
    cut = 4 * np.pi * radius_mm ** 2 * (sum(spacing) / 2) / voxel
    return 3 * np.sqrt(cut / 12) * voxel


def regions_in_patient_space(table: pd.DataFrame, geometry: mi.Geometry) -> pd.DataFrame:
    """Region volumes with their centres in LPS mm, ordered by volume."""
    axes = "zyx"[3 - geometry.ndim:]
    index = table[[f"centroid_{a}_mm" for a in axes]].to_numpy() / np.asarray(geometry.spacing)
    centres = np.asarray(geometry.origin) + (index * np.asarray(geometry.spacing)) @ \
        geometry.direction
    return pd.DataFrame({"volume_mm3": table["volume_mm3"].to_numpy(),
                         "L": centres[:, 0], "P": centres[:, 1], "S": centres[:, 2]}
                        ).sort_values("volume_mm3", ignore_index=True)


def measured(scan: mi.Scan, *before) -> pd.DataFrame:
    """The regions found after ``before`` steps, in patient space."""
    geometry = Pipeline([*before, MEASURE[0]]).run(scan).geometry
    return regions_in_patient_space(Pipeline([*before, *MEASURE]).run(scan), geometry)


def test_volumes_with_and_without_resampling_agree_with_the_truth(nodules):
    scan = nodules.scan
    truth = nodules.table.sort_values("true_volume_mm3", ignore_index=True)
    plain = measured(scan)
    for target in (0.75, None, 1.5):
        resampled = measured(scan, ("resample_isotropic", {"new_spacing": target}))
        spacing = mi.ops.resampled_spacing(scan.shape, scan.spacing, target)
        assert len(plain) == len(resampled) == len(truth) == 3
        for k, nodule in truth.iterrows():
            coarse = staircase_error(nodule.radius_mm, scan.spacing)
            fine = staircase_error(nodule.radius_mm, spacing)
            assert abs(plain.volume_mm3[k] - nodule.true_volume_mm3) < coarse
            assert abs(resampled.volume_mm3[k] - nodule.true_volume_mm3) < fine + coarse
            assert abs(resampled.volume_mm3[k] - plain.volume_mm3[k]) < np.hypot(coarse, fine)
            # the same place in the patient, within half a slice
            true_centre = (nodule.centre_x_mm, nodule.centre_y_mm, nodule.centre_z_mm)
            for found in (plain, resampled):
                offset = found.loc[k, ["L", "P", "S"]].to_numpy(float) - true_centre
                assert np.linalg.norm(offset) < scan.spacing[0] / 2


@pytest.mark.parametrize("step", [
    ("crop", {"region": ((2, 22), (10, 90), (5, 91))}),
    ("flip", {"axis": "x"}), ("flip", {"axis": "y"}), ("flip", {"axis": "z"}),
    ("rotate90", {"k": 1, "plane": "axial"}), ("rotate90", {"k": 3, "plane": "sagittal"}),
])
def test_crop_flip_rotate_keep_every_volume_and_position(nodules, step):
    plain = measured(nodules.scan)
    moved = measured(nodules.scan, step)
    np.testing.assert_allclose(moved["volume_mm3"], plain["volume_mm3"], rtol=1e-12)
    np.testing.assert_allclose(moved[["L", "P", "S"]], plain[["L", "P", "S"]], atol=1e-9)
    np.testing.assert_allclose(moved["volume_mm3"], nodules.table.sort_values(
        "volume_mm3")["volume_mm3"], rtol=1e-12)  # the phantom's own voxel volumes


def test_write_nifti_after_geometry_steps_keeps_the_patient_positions(nodules, tmp_path):
    for number, steps in enumerate([[RESAMPLE], [("flip", {"axis": "z"})],
                                    [("crop", {"region": ((2, 22), (10, 90), (5, 91))}),
                                     ("rotate90", {"k": 1})]]):
        labels = Pipeline([*steps, *MEASURE[:2]]).run(nodules.scan)
        back = mi.load(mi.write_nifti(labels, tmp_path / f"labels{number}.nii.gz"))
        assert back.geometry.isclose(labels.geometry)
        assert np.array_equal(back.array, labels.array)
        table = region_table(None, back.array.astype(np.int32), spacing=back.spacing)
        found = regions_in_patient_space(table, back.geometry)
        truth = measured(nodules.scan)
        np.testing.assert_allclose(found[["L", "P", "S"]], truth[["L", "P", "S"]],
                                   atol=nodules.scan.spacing[0] / 2)


def test_metrics_after_resampling_are_in_mm(nodules):
    truth = mi.Scan(nodules.nodules > 0, spacing=nodules.scan.spacing, dtype=bool,
                    origin=nodules.scan.origin)
    found = Pipeline([MEASURE[0]]).run(nodules.scan)
    resample = Pipeline([("resample_isotropic", {"new_spacing": 0.75, "order": 0})])
    found_fine = Pipeline([RESAMPLE, MEASURE[0]]).run(nodules.scan)
    resampled = resample.run(truth)  # nearest neighbour: 0 and 1 stay 0 and 1
    truth_fine = resampled.geometry.scan(resampled.array > 0.5, like=truth)
    assert truth_fine.geometry == found_fine.geometry
    distance = mi.ops.hausdorff_distance(truth, found)  # mm, from the truth's spacing
    distance_fine = mi.ops.hausdorff_distance(truth_fine, found_fine)
    assert distance == 0.0  # the threshold finds the phantom's own voxels
    # resampling both moves a surface voxel by at most one new voxel (0.75 mm); measured with
    # the input's 2.5 mm slices instead, the same voxel would be 2.5 mm away
    assert distance_fine <= 0.75 + 1e-9
    assert mi.ops.dice(truth_fine, found_fine) > 0.9
