"""Writing scans as DICOM series: valid files, exact geometry, values within rounding."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import numpy as np
import pydicom
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, MRImageStorage
from pydicom.uid import SecondaryCaptureImageStorage

from medinteract.data import phantom
from medinteract.io import load
from medinteract.io.write import rescale_for_storage, write_dicom_series, write_nifti
from medinteract.scan import Scan, Window


def _read_series(files: list[Path]) -> tuple[np.ndarray, list[pydicom.Dataset]]:
    """Rescaled pixel values read with pydicom directly, sorted along the slice normal."""
    datasets = [pydicom.dcmread(f) for f in files]
    iop = np.asarray(datasets[0].ImageOrientationPatient, dtype=float)
    normal = np.cross(iop[:3], iop[3:])
    datasets.sort(key=lambda d: float(np.asarray(d.ImagePositionPatient, float) @ normal))
    planes = [d.pixel_array * float(d.RescaleSlope) + float(d.RescaleIntercept) for d in datasets]
    return np.stack(planes), datasets


@pytest.fixture(scope="module")
def chest():
    return phantom(shape=(12, 64, 64), n_nodules=2, nodule_radius_mm=(3, 4), seed=11)


def test_phantom_series_is_a_genuine_ct_series(chest, tmp_path):
    files = chest.write_dicom(tmp_path / "series")
    assert [f.name for f in files] == [f"IM_{i:04d}.dcm" for i in range(1, 13)]
    values, datasets = _read_series(files)
    first = datasets[0]
    assert first.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert first.SOPClassUID == first.file_meta.MediaStorageSOPClassUID == CTImageStorage
    assert first.Modality == "CT" and first.RescaleType == "HU"
    assert len({d.StudyInstanceUID for d in datasets}) == 1
    assert len({d.SeriesInstanceUID for d in datasets}) == 1
    assert len({d.FrameOfReferenceUID for d in datasets}) == 1
    assert len({d.SOPInstanceUID for d in datasets}) == 12
    assert all(d.SOPInstanceUID == d.file_meta.MediaStorageSOPInstanceUID for d in datasets)
    assert [d.InstanceNumber for d in datasets] == list(range(1, 13))
    assert [float(v) for v in first.PixelSpacing] == [0.75, 0.75]
    assert float(first.SliceThickness) == float(first.SpacingBetweenSlices) == 2.5
    assert (float(first.WindowCenter), float(first.WindowWidth)) == (-600.0, 1500.0)
    assert first.PatientName == "PHANTOM^SYNTHETIC"
    # Stored values are Hounsfield units rounded to the nearest integer.
    assert (float(first.RescaleSlope), float(first.RescaleIntercept)) == (1.0, 0.0)
    np.testing.assert_array_equal(values, np.rint(chest.scan.array))


def test_positions_follow_origin_direction_and_spacing(chest, tmp_path):
    files = chest.write_dicom(tmp_path / "series")
    for k, f in enumerate(files):
        ds = pydicom.dcmread(f)
        expected = chest.scan.index_to_mm([k, 0, 0])
        np.testing.assert_allclose([float(v) for v in ds.ImagePositionPatient], expected)
        assert [float(v) for v in ds.ImageOrientationPatient] == [1, 0, 0, 0, 1, 0]


def test_oblique_direction_and_anisotropic_pixels_are_preserved(tmp_path):
    angle = np.deg2rad(20)
    row = [np.cos(angle), np.sin(angle), 0.0]  # x axis
    col = [-np.sin(angle), np.cos(angle), 0.0]  # y axis
    direction = np.array([np.cross(row, col), col, row])
    rng = np.random.default_rng(0)
    scan = Scan(rng.normal(100, 30, (3, 6, 5)), spacing=(3.0, 0.6, 0.9),
                origin=(10.0, -20.5, 33.25), direction=direction, modality="MR")
    files = write_dicom_series(scan, tmp_path / "mr")
    values, datasets = _read_series(files)
    assert datasets[0].SOPClassUID == MRImageStorage
    np.testing.assert_allclose([float(v) for v in datasets[0].PixelSpacing], [0.6, 0.9])
    np.testing.assert_allclose([float(v) for v in datasets[0].ImageOrientationPatient],
                               [*row, *col], atol=1e-12)
    for k, ds in enumerate(datasets):
        np.testing.assert_allclose([float(v) for v in ds.ImagePositionPatient],
                                   scan.index_to_mm([k, 0, 0]), atol=1e-9)
    # Non-integer MR values: fitted slope; error at most half a step.
    slope = float(datasets[0].RescaleSlope)
    assert slope < 0.01
    assert np.abs(values - scan.array).max() <= slope / 2 + 1e-6


def test_two_dimensional_scan_writes_one_file(tmp_path):
    slice_ = phantom(shape=(64, 64), n_nodules=1, nodule_radius_mm=3, seed=2).scan
    files = write_dicom_series(slice_, tmp_path / "one")
    assert len(files) == 1
    ds = pydicom.dcmread(files[0])
    assert ds.Rows == ds.Columns == 64
    np.testing.assert_array_equal(ds.pixel_array, np.rint(slice_.array))
    assert "SliceThickness" in ds and ds.SliceThickness is None  # Type 2: unknown, empty


def test_other_modalities_use_secondary_capture(tmp_path):
    scan = Scan(np.arange(20, dtype=float).reshape(4, 5) * 3, modality="CR", window=(30, 60))
    ds = pydicom.dcmread(write_dicom_series(scan, tmp_path / "cr")[0])
    assert ds.SOPClassUID == SecondaryCaptureImageStorage and ds.Modality == "CR"
    # Integer-valued data that fits int16 is stored as is.
    assert (float(ds.RescaleSlope), float(ds.RescaleIntercept)) == (1.0, 0.0)
    np.testing.assert_array_equal(ds.pixel_array, scan.array)


def test_rgb_photograph_is_stored_as_8_bit_rgb(tmp_path):
    rgb = np.random.default_rng(1).integers(0, 256, (6, 7, 3)).astype(float)
    scan = Scan(rgb, spacing=(1.0, 1.0), modality="OP")
    ds = pydicom.dcmread(write_dicom_series(scan, tmp_path / "rgb")[0])
    assert ds.PhotometricInterpretation == "RGB" and ds.SamplesPerPixel == 3
    np.testing.assert_array_equal(ds.pixel_array, rgb)


def test_8_bit_storage_fits_the_range(tmp_path):
    scan = Scan(np.linspace(-1000, 1000, 60).reshape(3, 4, 5), modality="CT")
    values, datasets = _read_series(write_dicom_series(scan, tmp_path / "b8", bits=8))
    assert datasets[0].BitsAllocated == 8
    assert np.abs(values - scan.array).max() <= float(datasets[0].RescaleSlope) / 2 + 1e-6


@pytest.mark.parametrize(
    "values, modality",
    [
        (np.array([-1024.0, 3071.0]), "CT"),
        (np.array([0.001, 0.5, 0.9]), "PT"),
        (np.array([-1e6, 1e6]), "CT"),
        (np.array([7.0, 7.0]), "MR"),
        (np.array([7.25, 7.25]), "MR"),
    ],
)
def test_rescale_for_storage_round_trips_within_half_a_step(values, modality):
    stored, slope, intercept = rescale_for_storage(values, modality)
    assert stored.dtype == np.int16
    assert np.abs(stored * slope + intercept - values).max() <= slope / 2 * (1 + 1e-9)


def test_nan_values_are_refused(tmp_path):
    scan = Scan(np.array([[0.0, np.nan], [1.0, 2.0]]), window=(0, 1))
    with pytest.raises(ValueError, match="NaN"):
        write_dicom_series(scan, tmp_path / "nan")
    assert not (tmp_path / "nan").exists()


def test_existing_non_empty_folder_is_refused_unless_overwrite(chest, tmp_path):
    target = tmp_path / "series"
    target.mkdir()
    (target / "keep.txt").write_text("user data")
    with pytest.raises(FileExistsError, match="not empty"):
        chest.write_dicom(target)
    assert [p.name for p in target.iterdir()] == ["keep.txt"]
    files = chest.write_dicom(target, overwrite=True)
    assert sorted(p.name for p in target.iterdir()) == [f.name for f in files]


def test_an_empty_existing_folder_is_used(chest, tmp_path):
    (tmp_path / "empty").mkdir()
    assert len(chest.write_dicom(tmp_path / "empty")) == 12


def test_failed_write_leaves_no_partial_output(tmp_path):
    volume = Scan(np.zeros((2, 3, 3, 3)), spacing=(1, 1, 1))  # an RGB volume: refused
    with pytest.raises(ValueError):
        write_dicom_series(volume, tmp_path / "rgbvol")
    assert os.listdir(tmp_path) == []


def test_uid_seed_makes_uids_reproducible(chest, tmp_path):
    a = pydicom.dcmread(chest.write_dicom(tmp_path / "a")[0])
    b = pydicom.dcmread(chest.write_dicom(tmp_path / "b")[0])
    c = pydicom.dcmread(write_dicom_series(chest.scan, tmp_path / "c")[0])
    assert a.SeriesInstanceUID == b.SeriesInstanceUID and a.SOPInstanceUID == b.SOPInstanceUID
    assert c.SeriesInstanceUID != a.SeriesInstanceUID


def test_same_phantom_seed_gives_byte_identical_files(chest, tmp_path):
    again = phantom(shape=(12, 64, 64), n_nodules=2, nodule_radius_mm=(3, 4), seed=11)
    first = chest.write_dicom(tmp_path / "a")
    second = again.write_dicom(tmp_path / "b")
    assert [f.read_bytes() for f in first] == [f.read_bytes() for f in second]
    assert pydicom.dcmread(first[0]).StudyDate == "20000101"  # fixed, not today's date


def test_overwrite_replaces_the_whole_folder_and_leaves_no_temporary_files(chest, tmp_path):
    target = tmp_path / "series"
    target.mkdir()
    (target / "old.txt").write_text("stale")
    with pytest.raises(FileExistsError):
        chest.write_dicom(target)
    files = chest.write_dicom(target, overwrite=True)
    assert sorted(p.name for p in target.iterdir()) == [f.name for f in files]
    assert os.listdir(tmp_path) == ["series"]


def test_descriptive_fields(chest, tmp_path):
    ds = pydicom.dcmread(write_dicom_series(
        chest.scan, tmp_path / "d", series_description="lung nodules", patient_name="DOE^JANE",
        patient_id="X1", series_number=7, study_date=dt.date(2001, 2, 3))[0])
    assert ds.SeriesDescription == "lung nodules" and ds.PatientName == "DOE^JANE"
    assert ds.PatientID == "X1" and ds.SeriesNumber == 7 and ds.StudyDate == "20010203"


def test_round_trip_through_medinteract_load(chest, tmp_path):
    chest.write_dicom(tmp_path / "series")
    scan = load(tmp_path / "series")
    np.testing.assert_array_equal(scan.array, np.rint(chest.scan.array))
    np.testing.assert_allclose(scan.spacing, chest.scan.spacing)
    np.testing.assert_allclose(scan.origin, chest.scan.origin)
    np.testing.assert_allclose(scan.direction, chest.scan.direction, atol=1e-12)
    assert scan.modality == "CT"
    assert tuple(scan.window) == tuple(Window(-600.0, 1500.0))


def test_round_trip_of_a_2d_slice_through_medinteract_load(tmp_path):
    slice_ = phantom(shape=(64, 64), n_nodules=1, nodule_radius_mm=3, seed=2).scan
    write_dicom_series(slice_, tmp_path / "one")
    scan = load(tmp_path / "one" / "IM_0001.dcm")
    np.testing.assert_array_equal(scan.array, np.rint(slice_.array))
    np.testing.assert_allclose(scan.spacing, slice_.spacing)
    np.testing.assert_allclose(scan.origin, slice_.origin)


def test_rgb_and_fitted_values_round_trip_through_medinteract_load(tmp_path):
    rgb = Scan(np.random.default_rng(3).integers(0, 256, (9, 11, 3)), spacing=(0.5, 0.25),
               modality="OP")
    write_dicom_series(rgb, tmp_path / "rgb")
    back = load(tmp_path / "rgb" / "IM_0001.dcm")
    assert back.is_rgb
    np.testing.assert_array_equal(back.array, rgb.array)
    np.testing.assert_allclose(back.spacing, rgb.spacing)
    pet = Scan(np.random.default_rng(4).gamma(2.0, 1.5, (4, 8, 8)), spacing=(3.0, 2.0, 2.0),
               modality="PT")
    write_dicom_series(pet, tmp_path / "pet")
    back = load(tmp_path / "pet")
    step = (pet.array.max() - pet.array.min()) / 65534
    assert np.abs(back.array - pet.array).max() <= step / 2 + 1e-6
    np.testing.assert_allclose(back.spacing, pet.spacing)


def test_non_latin_text_is_written_as_utf8(tmp_path):
    scan = Scan(np.zeros((4, 4)), modality="CT", window=(0, 100))
    path = write_dicom_series(scan, tmp_path / "u", patient_name="Ōsaka^Hanako",
                              series_description="x" * 80)[0]
    ds = pydicom.dcmread(path)
    assert ds.SpecificCharacterSet == "ISO_IR 192"
    assert str(ds.PatientName) == "Ōsaka^Hanako"
    assert ds.SeriesDescription == "x" * 64


# -- NIfTI ------------------------------------------------------------------------------------
def _signed_permutation(draw_perm: list[int], signs: list[bool], n: int) -> np.ndarray:
    """``n`` rows of a signed 3x3 permutation matrix (unit axes in LPS)."""
    rows = np.eye(3)[draw_perm] * np.where(signs, -1.0, 1.0)[:, None]
    return rows[:n]


@st.composite
def _grids(draw) -> Scan:
    n = draw(st.sampled_from([2, 3]))
    shape = tuple(draw(st.integers(2, 5)) for _ in range(n))
    spacing = tuple(draw(st.floats(0.05, 20.0)) for _ in range(n))
    origin = tuple(draw(st.floats(-500.0, 500.0)) for _ in range(3))
    direction = _signed_permutation(draw(st.permutations([0, 1, 2])),
                                    draw(st.lists(st.booleans(), min_size=3, max_size=3)), n)
    values = np.arange(np.prod(shape), dtype=np.float32).reshape(shape) - 7.5
    return Scan(values, spacing=spacing, origin=origin, direction=direction, modality="MR")


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scan=_grids(), gz=st.booleans())
def test_nifti_write_and_load_round_trip_the_geometry(tmp_path, scan, gz):
    path = write_nifti(scan, tmp_path / ("scan.nii.gz" if gz else "scan.nii"))
    back = load(path)
    assert back.shape == scan.shape
    np.testing.assert_array_equal(back.array, scan.array)
    np.testing.assert_allclose(back.spacing, scan.spacing, rtol=1e-6)
    np.testing.assert_allclose(back.origin, scan.origin, rtol=1e-6, atol=1e-4)
    np.testing.assert_allclose(back.direction, scan.direction, atol=1e-6)
    corner = [n - 1 for n in scan.shape]  # every voxel lands where it was in LPS
    np.testing.assert_allclose(back.index_to_mm(corner), scan.index_to_mm(corner),
                               rtol=1e-5, atol=1e-3)


def test_nifti_oblique_volume_round_trips(tmp_path):
    angle = np.deg2rad(25)
    row = [np.cos(angle), np.sin(angle), 0.0]
    col = [-np.sin(angle), np.cos(angle), 0.0]
    direction = np.array([np.cross(row, col), col, row])
    scan = Scan(np.random.default_rng(1).normal(size=(3, 5, 4)), spacing=(3.0, 0.6, 0.9),
                origin=(10.0, -20.5, 33.25), direction=direction, modality="MR", name="oblique")
    back = load(write_nifti(scan, tmp_path / "oblique.nii"))
    np.testing.assert_allclose(back.direction, scan.direction, atol=1e-6)
    np.testing.assert_allclose(back.spacing, scan.spacing, rtol=1e-6)
    np.testing.assert_allclose(back.origin, scan.origin, atol=1e-4)
    assert back.tag("descrip") == "oblique"


def test_nifti_labels_keep_their_values_and_take_the_geometry_of_like(chest, tmp_path):
    path = write_nifti(chest.nodules.astype(np.int64), tmp_path / "nodules.nii.gz",
                       like=chest.scan)
    assert [p.name for p in tmp_path.iterdir()] == ["nodules.nii.gz"]  # no temporary files
    back = load(path)
    np.testing.assert_array_equal(back.array, chest.nodules)
    np.testing.assert_allclose(back.spacing, chest.scan.spacing)
    np.testing.assert_allclose(back.origin, chest.scan.origin, atol=1e-4)
    mask = load(write_nifti(chest.nodules > 0, tmp_path / "mask.nii", like=chest.scan))
    np.testing.assert_array_equal(mask.array, chest.nodules > 0)
    again = write_nifti(chest.nodules.astype(np.int64), tmp_path / "again.nii.gz",
                        like=chest.scan)
    assert again.read_bytes() == path.read_bytes()  # reproducible bytes (fixed gzip time)


def test_nifti_writer_refuses_bad_input(chest, tmp_path):
    with pytest.raises(ValueError, match="ends in .nii or .nii.gz"):
        write_nifti(chest.scan, tmp_path / "scan.nrrd")
    with pytest.raises(ValueError, match=r"values of shape \(2, 2\) do not fit"):
        write_nifti(np.zeros((2, 2)), tmp_path / "x.nii", like=chest.scan)
    rgb = Scan(np.zeros((4, 5, 3)), spacing=(1.0, 1.0))
    with pytest.raises(ValueError, match="grey-scale"):
        write_nifti(rgb, tmp_path / "rgb.nii")
    assert not list(tmp_path.iterdir())


def test_write_nifti_is_exported_lazily():
    import medinteract.io as mio

    assert mio.write_nifti is write_nifti and "write_nifti" in mio.__all__
