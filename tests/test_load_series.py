"""Loading DICOM series: order by position, spacing from positions, gaps, duplicates, choice."""

from __future__ import annotations

import copy
import random
import shutil
import warnings

import numpy as np
import pydicom
import pytest
from dicom_samples import ct_hu, dicom_file
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.uid import generate_uid

from medinteract.errors import SeriesError, SeriesWarning
from medinteract.io import load
from medinteract.io.geometry import SlicePlacement, plan_stack

HU = ct_hu(dicom_file("CT_small.dcm")).astype(np.float32)


def slice_ids(scan) -> list[int]:
    """Which built slice (k in ct_series) sits at each array index."""
    return [int(round(float(np.mean(plane - HU)) / 10)) for plane in scan.array]


def test_series_is_sorted_by_position_not_file_name_or_instance_number(ct_series):
    positions = [12.5, -5.0, 0.0, 7.5, 2.5, 5.0, 10.0, -2.5]
    paths = ct_series(positions)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scan = load(paths[0].parent)
    order = list(np.argsort(positions))
    assert scan.shape == (8, 128, 128)
    assert slice_ids(scan) == order
    assert scan.spacing == pytest.approx((2.5, 0.661468, 0.661468))
    assert scan.origin[2] == -5.0
    assert scan.paths == tuple(paths[i] for i in order)
    np.testing.assert_allclose(scan.direction, [[0, 0, 1], [0, 1, 0], [1, 0, 0]])
    np.testing.assert_allclose(scan.index_to_mm((3, 0, 0))[2], positions[order[3]])
    assert scan.name == "AXIAL" and scan.modality == "CT"
    np.testing.assert_array_equal(scan.array[0], HU + 10 * order[0])


def test_slice_spacing_comes_from_positions_not_slice_thickness(ct_series):
    paths = ct_series([0.0, 1.25, 2.5, 3.75])  # CT_small says SliceThickness 5.0
    assert load(paths[0].parent).spacing[0] == pytest.approx(1.25)


def test_a_list_of_files_is_a_series(ct_series):
    paths = ct_series([3.0, 0.0, 6.0])
    scan = load(list(reversed(paths)))
    assert slice_ids(scan) == [1, 0, 2]
    assert scan.spacing[0] == pytest.approx(3.0)


def test_missing_slice_is_reported_with_the_files_either_side(ct_series):
    positions = [0.0, 2.5, 5.0, 7.5, 10.0, 12.5]
    paths = ct_series(positions)
    paths[3].unlink()  # 7.5 mm is gone
    with pytest.warns(SeriesWarning) as caught:
        scan = load(paths[0].parent)
    message = str(caught[0].message)
    assert paths[2].name in message and paths[4].name in message
    assert "gap of 5.000 mm" in message and "2.500 mm" in message
    assert scan.shape[0] == 5 and scan.spacing[0] == pytest.approx(2.5)
    assert slice_ids(scan) == [0, 1, 2, 4, 5]


def test_duplicate_positions_are_dropped_with_a_warning(ct_series, tmp_path):
    paths = ct_series([0.0, 2.5, 5.0])
    copy = paths[1].parent / "zz_copy.dcm"
    ds = pydicom.dcmread(paths[1])
    ds.SOPInstanceUID = generate_uid()
    ds.save_as(copy)
    with pytest.warns(SeriesWarning, match="duplicate") as caught:
        scan = load(paths[0].parent)
    message = str(caught[0].message)
    assert paths[1].name in message and copy.name in message
    assert scan.shape[0] == 3 and scan.spacing[0] == pytest.approx(2.5)


def test_mixed_image_sizes_name_the_odd_file(ct_series, tmp_path):
    folder = tmp_path / "mixed"
    good = ct_series([0.0, 2.5, 5.0], folder)
    odd = ct_series([7.5], folder, series_uid=None, shape=(64, 64))
    # same series: give the odd file the series' UID
    ds = pydicom.dcmread(odd[0])
    ds.SeriesInstanceUID = pydicom.dcmread(good[0]).SeriesInstanceUID
    ds.save_as(odd[0])
    with pytest.raises(SeriesError, match="mixed image sizes") as info:
        load(folder)
    assert odd[0].name in str(info.value)
    assert all(p.name not in str(info.value) for p in good)


def test_mixed_orientations_name_the_odd_file(ct_series):
    paths = ct_series([0.0, 2.5, 5.0, 7.5], odd_orientation=[2])
    with pytest.raises(SeriesError, match="mixed orientations") as info:
        load(paths[0].parent)
    assert paths[2].name in str(info.value)


def test_two_series_need_a_choice(ct_series, tmp_path):
    folder = tmp_path / "study"
    axial = ct_series([0.0, 2.5, 5.0], folder / "a", number=2, description="AXIAL")
    thin = ct_series([0.0, 1.0, 2.0, 3.0], folder / "b" / "deeper", number=3,
                     description="Thin slices")
    (folder / "README").write_text("not DICOM")
    shutil.copy(dicom_file("rtplan.dcm"), folder / "plan.dcm")  # DICOM, but no image
    with pytest.raises(SeriesError) as info:
        load(folder)
    message = str(info.value)
    assert "2 series" in message and "series=" in message
    assert "'AXIAL'" in message and "'Thin slices'" in message and "CT" in message
    assert "3 files" in message and "4 files" in message
    uid = pydicom.dcmread(thin[0]).SeriesInstanceUID
    assert uid in message
    assert load(folder, series=2).shape[0] == 3
    assert load(folder, series="3").shape[0] == 4
    assert load(folder, series="thin slices").spacing[0] == pytest.approx(1.0)
    assert load(folder, series=uid).shape[0] == 4
    assert load(axial, series="AXIAL").shape[0] == 3


def test_a_bad_series_choice_lists_what_is_there(ct_series, tmp_path):
    folder = tmp_path / "study"
    ct_series([0.0, 2.5], folder / "a", number=2, description="AXIAL")
    ct_series([0.0, 2.5], folder / "b", number=3, description="CORONAL")
    with pytest.raises(SeriesError, match="no series matches series=7") as info:
        load(folder, series=7)
    assert "AXIAL" in str(info.value) and "CORONAL" in str(info.value)
    with pytest.raises(SeriesError, match="no series matches"):
        load(folder, series="sagittal")


def test_a_folder_with_one_file_gives_a_2d_scan(tmp_path):
    shutil.copy(dicom_file("CT_small.dcm"), tmp_path / "only.dcm")
    scan = load(tmp_path)
    assert scan.shape == (128, 128) and scan.spatial_ndim == 2


def test_slices_without_positions_fall_back_to_instance_number(tmp_path):
    template = pydicom.dcmread(dicom_file("MR_small.dcm"))
    for number in (3, 1, 2):
        ds = copy.deepcopy(template)
        del ds.ImagePositionPatient
        ds.InstanceNumber = number
        ds.SOPInstanceUID = f"1.2.3.{number}"
        ds.PixelData = (template.pixel_array + number).astype(template.pixel_array.dtype).tobytes()
        ds.save_as(tmp_path / f"f{number * 7 % 5}.dcm")
    with pytest.warns(SeriesWarning, match="InstanceNumber"):
        scan = load(tmp_path)
    offsets = [float(np.mean(p - template.pixel_array)) for p in scan.array]
    assert offsets == [1.0, 2.0, 3.0]


def placements(zs):
    return [SlicePlacement(f"s{i}", (4, 4), (0.0, 0.0, float(z)), (1, 0, 0, 0, 1, 0), (1.0, 1.0))
            for i, z in enumerate(zs)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(2, 30),
    step=st.floats(0.2, 10.0),
    start=st.floats(-500, 500),
    seed=st.integers(0, 2**32 - 1),
    tilt=st.sampled_from([(1, 0, 0, 0, 1, 0), (1, 0, 0, 0, 0, -1), (0, 1, 0, 0, 0, -1),
                          (0.8, 0.6, 0, 0, 0, -1)]),
)
def test_any_shuffled_evenly_spaced_stack_sorts_along_the_normal(n, step, start, seed, tilt):
    orientation = np.asarray(tilt, float)
    normal = np.cross(orientation[:3], orientation[3:])
    order = list(range(n))
    random.Random(seed).shuffle(order)
    slices = [SlicePlacement(f"s{k}", (4, 4), tuple(start * normal + k * step * normal),
                             tuple(orientation), (1.0, 1.0), instance_number=n - k)
              for k in order]
    plan = plan_stack(slices, "hypothesis")
    assert [order[i] for i in plan.order] == list(range(n))
    assert plan.slice_spacing == pytest.approx(step)
    assert plan.warnings == []
    np.testing.assert_allclose(plan.direction[0], normal)


@settings(max_examples=40, deadline=None)
@given(zs=st.lists(st.floats(-300, 300).map(lambda z: round(z, 1)), min_size=2, max_size=25,
                   unique=True))
def test_any_positions_come_out_ascending(zs):
    plan = plan_stack(placements(zs), "hypothesis")
    kept = [zs[i] for i in plan.order]
    assert kept == sorted(zs)


def test_phantom_series_with_shuffled_names_and_a_missing_slice(tmp_path):
    """The foundation's acceptance test: write, shuffle, drop a slice, load, get it back."""
    data = pytest.importorskip("medinteract.data")
    truth = data.phantom(shape=(10, 48, 48), n_nodules=1, nodule_radius_mm=2.0, seed=3)
    written = truth.scan
    paths = truth.write_dicom(tmp_path / "phantom")
    shuffled = list(paths)
    random.Random(7).shuffle(shuffled)
    renamed = {}
    for k, path in enumerate(shuffled):  # names no longer follow the slice order
        renamed[path] = path.with_name(f"slice_{k:03d}.dcm")
        path.rename(renamed[path])
    missing = 4
    renamed[paths[missing]].unlink()
    with pytest.warns(SeriesWarning, match="gap") as caught:
        scan = load(tmp_path / "phantom")
    message = str(caught[0].message)
    assert renamed[paths[missing - 1]].name in message
    assert renamed[paths[missing + 1]].name in message
    assert f"gap of {2 * written.spacing[0]:.3f} mm" in message
    kept = [i for i in range(written.shape[0]) if i != missing]
    assert scan.shape == (len(kept), 48, 48)
    assert scan.spacing == pytest.approx(written.spacing, abs=1e-4)
    np.testing.assert_allclose(scan.origin, written.origin, atol=1e-3)
    np.testing.assert_allclose(scan.direction, written.direction, atol=1e-6)
    np.testing.assert_allclose(scan.array, np.round(written.array[kept]), atol=0.5)
    assert scan.paths == tuple(renamed[paths[i]] for i in kept)
    assert scan.modality == "CT"


def test_series_warnings_point_at_the_callers_line(ct_series):
    paths = ct_series([0.0, 2.5, 7.5, 10.0])
    with pytest.warns(SeriesWarning) as caught:
        load(paths[0].parent)
    assert caught[0].filename == __file__


def test_uneven_spacing_and_sheared_stacks_are_reported():
    uneven = plan_stack(placements([0.0, 2.0, 4.6, 6.6, 8.6]), "stack")
    assert any("uneven slice spacing" in w for w in uneven.warnings)
    tilted = [SlicePlacement(f"s{k}", (4, 4), (0.0, 0.5 * k, 2.0 * k), (1, 0, 0, 0, 1, 0),
                             (0.5, 0.5)) for k in range(5)]
    plan = plan_stack(tilted, "stack")
    assert plan.slice_spacing == pytest.approx(2.0)
    assert any("gantry tilt" in w for w in plan.warnings)


def test_mixed_pixel_spacing_is_an_error():
    slices = placements([0.0, 1.0, 2.0])
    slices[1] = SlicePlacement("odd", (4, 4), (0.0, 0.0, 1.0), (1, 0, 0, 0, 1, 0), (0.7, 0.7))
    with pytest.raises(SeriesError, match="mixed pixel spacings: odd"):
        plan_stack(slices, "stack")


@pytest.mark.filterwarnings("ignore::medinteract.errors.GeometryWarning")  # no PixelSpacing
def test_several_multiframe_files_in_one_series_are_refused(tmp_path):
    shutil.copy(dicom_file("emri_small.dcm"), tmp_path / "a.dcm")
    shutil.copy(dicom_file("emri_small.dcm"), tmp_path / "b.dcm")
    with pytest.raises(SeriesError, match="multi-frame") as info:
        load(tmp_path)
    assert "a.dcm" in str(info.value) and "b.dcm" in str(info.value)
    assert load(tmp_path / "a.dcm").shape == (10, 64, 64)


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(n=st.integers(2, 7), step=st.sampled_from([0.5, 1.0, 1.25, 3.0, 5.0]),
       start=st.floats(-200, 200).map(lambda v: round(v, 2)), seed=st.integers(0, 1000))
def test_any_shuffled_series_on_disk_loads_in_position_order(ct_series, tmp_path_factory, n,
                                                              step, start, seed):
    positions = [start + k * step for k in range(n)]
    random.Random(seed).shuffle(positions)
    paths = ct_series(positions, tmp_path_factory.mktemp("series"))
    scan = load(paths[0].parent)
    assert slice_ids(scan) == list(np.argsort(positions))
    assert scan.spacing[0] == pytest.approx(step, abs=1e-3)
    assert scan.origin[2] == pytest.approx(min(positions), abs=1e-3)
