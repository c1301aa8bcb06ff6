"""The synthetic chest phantom: reproducible, physically plausible, with exact ground truth."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from medinteract.data import LABEL_NAMES, TISSUE_HU, Phantom, phantom
from medinteract.scan import Scan


@pytest.fixture(scope="module")
def default() -> Phantom:
    return phantom()


def test_default_phantom_is_a_ct_scan_in_hounsfield_units(default):
    scan = default.scan
    assert isinstance(scan, Scan)
    assert scan.shape == (48, 128, 128)
    assert scan.spacing == (2.5, 0.75, 0.75)
    assert scan.modality == "CT"
    assert scan.array.dtype == np.float32
    assert tuple(scan.window) == (-600.0, 1500.0)
    assert default.labels.shape == default.nodules.shape == scan.shape
    assert default.labels.dtype == np.uint8 and default.nodules.dtype == np.uint16
    assert set(np.unique(default.labels)) == set(LABEL_NAMES)


def test_same_seed_same_phantom_other_seed_other_phantom():
    a, b, c = phantom(seed=7), phantom(seed=7), phantom(seed=8)
    np.testing.assert_array_equal(a.scan.array, b.scan.array)
    np.testing.assert_array_equal(a.nodules, b.nodules)
    assert a.table.equals(b.table)
    assert not np.array_equal(a.scan.array, c.scan.array)
    assert not a.table[["centre_x", "centre_y"]].equals(c.table[["centre_x", "centre_y"]])


def test_origin_centres_the_volume_on_the_patient_origin(default):
    scan = default.scan
    centre = scan.index_to_mm([(n - 1) / 2 for n in scan.shape])
    np.testing.assert_allclose(centre, 0.0, atol=1e-9)
    np.testing.assert_array_equal(scan.direction, [[0, 0, 1], [0, 1, 0], [1, 0, 0]])


@pytest.mark.parametrize("tissue", ["air", "soft tissue", "lung", "bone", "fat"])
def test_each_tissue_has_its_nominal_hounsfield_value(tissue):
    # Away from edges (where the partial-volume blur mixes tissues) the median is the nominal
    # value and the spread is the noise.
    p = phantom(seed=3)
    core = ndimage.binary_erosion(p.mask(tissue), iterations=2)
    assert core.sum() > 200
    values = p.scan.array[core]
    assert abs(np.median(values) - TISSUE_HU[tissue]) < 8.0
    texture = 25.0 if tissue == "lung" else 0.0
    assert np.std(values) < 1.5 * np.hypot(15.0, texture)


def test_tissue_ranges_match_ct_conventions(default):
    median = {name: np.median(default.scan.array[default.mask(name)])
              for name in ("air", "fat", "lung", "soft tissue", "bone")}
    assert median["air"] < -950
    assert -900 < median["lung"] < -700
    assert -150 < median["fat"] < -50
    assert 20 < median["soft tissue"] < 70
    assert median["bone"] > 400


def test_noise_has_the_requested_standard_deviation():
    p = phantom(noise_hu=20.0, seed=2)
    air = ndimage.binary_erosion(p.mask("air"), iterations=3)
    assert np.std(p.scan.array[air]) == pytest.approx(20.0, rel=0.1)
    quiet = phantom(noise_hu=0.0, seed=2)
    assert np.std(quiet.scan.array[ndimage.binary_erosion(quiet.mask("air"), iterations=3)]) < 1


def test_noise_is_spatially_correlated():
    p = phantom(noise_hu=20.0, seed=4)
    air = p.scan.array[:, :10, :] + 1000.0  # a band of air in front of the body
    neighbours = np.corrcoef(air[..., :-1].ravel(), air[..., 1:].ravel())[0, 1]
    assert 0.1 < neighbours < 0.9


def test_nodule_table_matches_the_nodule_label_volume(default):
    table = default.table
    assert list(table["label"]) == [1, 2, 3, 4]
    counts = np.bincount(default.nodules.ravel())
    assert list(table["n_voxels"]) == list(counts[1:])
    np.testing.assert_allclose(table["volume_mm3"], counts[1:] * default.scan.voxel_volume)
    np.testing.assert_allclose(table["true_volume_mm3"], 4 / 3 * np.pi * table["radius_mm"] ** 3)
    assert np.all(table["radius_mm"].between(3, 8))
    assert np.all(table["hu"].between(-100, 60))
    assert np.array_equal(default.labels == 6, default.nodules > 0)


def test_nodule_centres_in_mm_agree_with_the_scan_geometry(default):
    scan = default.scan
    for row in default.table.itertuples():
        mm = scan.index_to_mm([row.centre_z, row.centre_y, row.centre_x])
        np.testing.assert_allclose(mm, [row.centre_x_mm, row.centre_y_mm, row.centre_z_mm])
        # The nodule's voxel centroid sits at the sphere's centre (to within a voxel).
        centroid = ndimage.center_of_mass(default.nodules == row.label)
        np.testing.assert_allclose(centroid, [row.centre_z, row.centre_y, row.centre_x], atol=0.5)


def test_nodule_interiors_have_the_nodule_density(default):
    for row in default.table.itertuples():
        core = ndimage.binary_erosion(default.nodules == row.label, iterations=1)
        if core.sum() >= 20:
            assert np.median(default.scan.array[core]) == pytest.approx(row.hu, abs=10)


@pytest.mark.parametrize("seed", range(8))
def test_nodule_volume_matches_the_sphere_volume(seed):
    # Stated tolerance: for radii of 3 mm and more at 0.75 x 0.75 x 2.5 mm voxels, the voxel
    # volume of each nodule is within 15 % of 4/3 pi r^3 (typically within 2 %).
    table = phantom(seed=seed).table
    relative = table["volume_mm3"] / table["true_volume_mm3"] - 1
    assert np.all(np.abs(relative) < 0.15)


def test_nodules_lie_inside_the_lungs_and_do_not_touch(default):
    lung_side = np.isin(default.labels, [2, 4, 6])
    grown = ndimage.binary_dilation(default.nodules > 0)
    # Each nodule is surrounded by lung (or lung vessels), never by the chest wall or air.
    assert np.all(lung_side[grown])
    labelled, n = ndimage.label(default.nodules > 0)
    assert n == len(default.table)


def test_nodule_size_and_density_are_configurable():
    p = phantom(n_nodules=3, nodule_radius_mm=5.0, nodule_hu=30.0, seed=1)
    assert len(p.table) == 3
    assert np.all(p.table["radius_mm"] == 5.0) and np.all(p.table["hu"] == 30.0)
    assert phantom(n_nodules=0).table.empty
    assert not (phantom(n_nodules=0).nodules.any())


def test_lungs_contain_vessels_and_the_skeleton_has_bone(default):
    vessels_in_lung = default.mask("vessel") & ndimage.binary_dilation(
        default.mask("lung"), iterations=2)
    assert vessels_in_lung.sum() > 100
    assert default.mask("bone").sum() > 1000


def test_two_dimensional_phantom_is_one_axial_slice():
    p = phantom(shape=(256, 256), spacing=(0.7, 0.7), n_nodules=3, seed=5)
    assert p.scan.shape == (256, 256) and p.scan.spacing == (0.7, 0.7)
    assert not p.scan.is_volume
    assert p.labels.shape == p.nodules.shape == (256, 256)
    assert len(p.table) == 3
    assert {"area_mm2", "true_area_mm2"} <= set(p.table.columns)
    assert "centre_z" not in p.table.columns
    relative = p.table["area_mm2"] / p.table["true_area_mm2"] - 1
    assert np.all(np.abs(relative) < 0.08)
    assert phantom(shape=(256, 256)).scan.spacing == (0.75, 0.75)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"shape": (10,)},
        {"shape": (4, 8, 8)},
        {"shape": (4, 64, 64), "spacing": (1.0, 1.0)},
        {"spacing": (2.5, -1, 1)},
        {"n_nodules": -1},
        {"nodule_radius_mm": (8, 3)},
        {"nodule_radius_mm": 0},
        {"noise_hu": -1},
    ],
)
def test_invalid_arguments_raise_value_error(kwargs):
    with pytest.raises(ValueError):
        phantom(**kwargs)


def test_too_many_nodules_fail_with_a_clear_message():
    with pytest.raises(ValueError, match="could not fit nodule"):
        phantom(shape=(16, 64, 64), n_nodules=30, nodule_radius_mm=(8, 9))


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 5))
def test_any_seed_gives_a_consistent_ground_truth(seed, n):
    p = phantom(shape=(24, 96, 96), n_nodules=n, nodule_radius_mm=(3, 6), seed=seed)
    assert len(p.table) == n
    assert sorted(np.unique(p.nodules)) == list(range(n + 1))
    assert np.all(np.isfinite(p.scan.array))
    assert np.array_equal(p.labels == 6, p.nodules > 0)


def test_repr_names_seed_and_nodules(default):
    assert "seed=0" in repr(default) and "4 nodules" in repr(default)
