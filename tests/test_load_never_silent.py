"""Never silent: every fallback the reader takes is a warning (or error) naming the file.

Each broken input is built here from pydicom's own test files; nothing broken is committed.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
from dicom_samples import dicom_file

from medinteract.errors import (
    DecoderError,
    GeometryWarning,
    LoadError,
    MedinteractError,
    PixelValueWarning,
    SeriesWarning,
    UnreadableFileWarning,
)
from medinteract.io import dicom_table, load, write_dicom_series


def _saved(ds: pydicom.Dataset, path: Path) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns about the invalid values we set
        ds.save_as(path)
    return path


def _ct(tmp_path: Path, name: str = "ct.dcm", **raw_values: str) -> Path:
    """CT_small.dcm with elements set to raw (as stored) values, e.g. PixelSpacing="0\\\\0"."""
    ds = pydicom.dcmread(dicom_file("CT_small.dcm"))
    for keyword, value in raw_values.items():
        if value is None:
            del ds[keyword]
        else:
            ds[keyword]._value = value
    return _saved(ds, tmp_path / name)


def _load_warning(path, category):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scan = load(path)
    ours = [w for w in caught if issubclass(w.category, category)]
    assert ours, [str(w.message) for w in caught]
    assert all(w.filename == __file__ for w in ours)  # points at the caller, not at medinteract
    return scan, " | ".join(str(w.message) for w in ours)


# -- PixelSpacing ------------------------------------------------------------------------------
@pytest.mark.parametrize("raw, shown", [
    ("0\\0", "(0, 0)"),
    ("-0.5\\0.5", "(-0.5, 0.5)"),
    ("nan\\0.66", "(nan, 0.66)"),
    ("0.66", "'0.66'"),
    ("0.66\\0.66\\0.66", "(0.66, 0.66, 0.66)"),
    ("abc\\0.66", "(abc, 0.66)"),
])
def test_invalid_pixel_spacing_warns_naming_file_value_and_fallback(tmp_path, raw, shown):
    path = _ct(tmp_path, PixelSpacing=raw)
    scan, message = _load_warning(path, GeometryWarning)
    assert str(path) in message and f"PixelSpacing {shown}" in message
    assert "1.0 mm (pixel units) is assumed" in message
    assert scan.spacing == (1.0, 1.0)


@pytest.mark.parametrize("name", ["CT_small.dcm", "MR_small.dcm"])
def test_missing_pixel_spacing_of_ct_and_mr_warns(tmp_path, name):
    ds = pydicom.dcmread(dicom_file(name))
    del ds.PixelSpacing
    path = _saved(ds, tmp_path / name)
    scan, message = _load_warning(path, GeometryWarning)
    assert str(path) in message and "has no PixelSpacing" in message and ds.Modality in message
    assert scan.spacing == (1.0, 1.0)


def test_missing_pixel_spacing_of_a_photograph_is_silent_pixel_units(tmp_path):
    ds = pydicom.dcmread(dicom_file("CT_small.dcm"))
    del ds.PixelSpacing
    ds.Modality = "OT"
    path = _saved(ds, tmp_path / "ot.dcm")
    with warnings.catch_warnings():
        warnings.simplefilter("error", GeometryWarning)
        assert load(path).spacing == (1.0, 1.0)


def test_invalid_pixel_spacing_falls_back_to_imager_pixel_spacing_and_says_so(tmp_path):
    ds = pydicom.dcmread(dicom_file("CT_small.dcm"))
    ds.ImagerPixelSpacing = [0.5, 0.25]
    ds["PixelSpacing"]._value = "0\\0"
    path = _saved(ds, tmp_path / "ct.dcm")
    scan, message = _load_warning(path, GeometryWarning)
    assert "(0.5, 0.25) mm from ImagerPixelSpacing is used" in message
    assert scan.spacing == (0.5, 0.25)


# -- ImagePositionPatient ----------------------------------------------------------------------
@pytest.mark.parametrize("raw", ["nan\\0\\0", "inf\\1\\2", "1\\2", "a\\b\\c"])
def test_unusable_image_position_warns_and_names_the_origin_fallback(tmp_path, raw):
    path = _ct(tmp_path, ImagePositionPatient=raw)
    scan, message = _load_warning(path, GeometryWarning)
    assert str(path) in message and "ImagePositionPatient" in message
    assert "origin (0, 0, 0)" in message
    assert scan.origin == (0.0, 0.0, 0.0)


def test_unusable_image_position_in_a_series_names_the_file(ct_series, tmp_path):
    paths = ct_series([0.0, 2.5, 5.0, 7.5], tmp_path / "s")
    ds = pydicom.dcmread(paths[2])
    ds["ImagePositionPatient"]._value = "nan\\nan\\nan"
    _saved(ds, paths[2])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scan = load(tmp_path / "s")
    geometry = [str(w.message) for w in caught if w.category is GeometryWarning]
    assert len(geometry) == 1 and paths[2].name in geometry[0]
    assert "ordered by InstanceNumber" in geometry[0]
    assert any(w.category is SeriesWarning and "InstanceNumber" in str(w.message)
               for w in caught)
    assert scan.shape[0] == 4


# -- GridFrameOffsetVector ---------------------------------------------------------------------
def test_non_finite_grid_frame_offset_keeps_the_origin_and_names_the_spacing(tmp_path):
    ds = pydicom.dcmread(dicom_file("rtdose.dcm"))
    offsets = [str(float(v)) for v in ds.GridFrameOffsetVector]
    offsets[3] = "nan"
    ds["GridFrameOffsetVector"]._value = "\\".join(offsets)
    ds.SliceThickness = 5.0
    path = _saved(ds, tmp_path / "dose.dcm")
    scan, message = _load_warning(path, GeometryWarning)
    assert str(path) in message and "GridFrameOffsetVector" in message
    assert "nan at frame 4" in message and "5 mm (from SliceThickness)" in message
    assert scan.origin == tuple(float(v) for v in ds.ImagePositionPatient)
    assert scan.spacing[0] == 5.0


def test_grid_frame_offsets_with_wrong_count_warn(tmp_path):
    ds = pydicom.dcmread(dicom_file("rtdose.dcm"))
    ds.GridFrameOffsetVector = list(ds.GridFrameOffsetVector)[:-1]
    path = _saved(ds, tmp_path / "dose.dcm")
    scan, message = _load_warning(path, GeometryWarning)
    assert f"has {ds.NumberOfFrames - 1} entries for {ds.NumberOfFrames} frames" in message
    assert "1 mm (assumed" in message
    assert scan.origin == tuple(float(v) for v in ds.ImagePositionPatient)


def test_absolute_grid_frame_offsets_are_relative_to_the_first(tmp_path):
    """PS3.3 C.8.8.3.2: a non-zero first offset means the offsets are z coordinates."""
    ds = pydicom.dcmread(dicom_file("rtdose.dcm"))
    z0 = float(ds.ImagePositionPatient[2])
    reference = load(dicom_file("rtdose.dcm"))
    ds.GridFrameOffsetVector = [z0 + float(v) for v in ds.GridFrameOffsetVector]
    scan = load(_saved(ds, tmp_path / "dose.dcm"))
    assert scan.origin == reference.origin and scan.spacing == reference.spacing


# -- ImageOrientationPatient -------------------------------------------------------------------
@pytest.mark.parametrize("raw, problem", [
    ("1\\0\\0\\1\\0\\0", "parallel row and column"),
    ("0\\0\\0\\0\\1\\0", "zero direction"),
    ("1\\0\\0\\0\\1", "not six finite numbers"),
    ("1\\0\\0\\nan\\1\\0", "not six finite numbers"),
])
def test_degenerate_orientation_warns_and_assumes_axial(tmp_path, raw, problem):
    path = _ct(tmp_path, ImageOrientationPatient=raw)
    scan, message = _load_warning(path, GeometryWarning)
    assert str(path) in message and problem in message
    assert "axial orientation (1, 0, 0, 0, 1, 0) is assumed" in message
    np.testing.assert_array_equal(scan.direction, [[0, 1, 0], [1, 0, 0]])


def test_non_orthonormal_orientation_is_orthonormalised_with_a_warning(tmp_path):
    path = _ct(tmp_path, ImageOrientationPatient="1\\0\\0\\0.5\\1\\0")
    scan, message = _load_warning(path, GeometryWarning)
    assert "is not orthonormal" in message and "orthonormalised (1, 0, 0, 0, 1, 0)" in message
    np.testing.assert_allclose(scan.direction, [[0, 1, 0], [1, 0, 0]], atol=1e-12)


def test_orientation_within_tolerance_is_silent(tmp_path):
    path = _ct(tmp_path, ImageOrientationPatient="1\\0\\0\\0\\0.99995\\0.0001")
    with warnings.catch_warnings():
        warnings.simplefilter("error", GeometryWarning)
        load(path)


# -- RescaleSlope 0 ----------------------------------------------------------------------------
def test_zero_rescale_slope_warns_and_uses_slope_one(tmp_path):
    path = _ct(tmp_path, RescaleSlope="0")
    scan, message = _load_warning(path, PixelValueWarning)
    assert str(path) in message and "RescaleSlope is 0" in message and "slope 1" in message
    ds = pydicom.dcmread(path)
    np.testing.assert_array_equal(scan.array, ds.pixel_array + float(ds.RescaleIntercept))


def test_a_series_reports_a_shared_problem_once_naming_the_files(ct_series, tmp_path):
    paths = ct_series([0.0, 2.5, 5.0], tmp_path / "s")
    for path in paths:
        ds = pydicom.dcmread(path)
        ds["PixelSpacing"]._value = "0\\0"
        _saved(ds, path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load(tmp_path / "s")
    geometry = [str(w.message) for w in caught if w.category is GeometryWarning]
    assert len(geometry) == 1
    assert all(p.name in geometry[0] for p in paths) and str(tmp_path / "s") in geometry[0]
    notes = dicom_table(tmp_path / "s")["Notes"].iloc[0]
    assert "PixelSpacing (0, 0)" in notes


# -- unreadable files in a series folder -------------------------------------------------------
@pytest.fixture
def written_series(tmp_path):
    """A 6-slice CT series (2 mm apart) written by medinteract, as IM_0001.dcm ... IM_0006.dcm."""
    from medinteract import Scan

    values = np.arange(6 * 8 * 8, dtype=np.float32).reshape(6, 8, 8)
    scan = Scan(values, spacing=(2.0, 0.5, 0.5), modality="CT", name="six")
    return write_dicom_series(scan, tmp_path / "series", uid_seed="six")


def _load_series_warnings(folder):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scan = load(folder)
    return scan, [(w.category, str(w.message)) for w in caught]


def test_an_empty_last_file_is_named_and_the_shorter_volume_explained(written_series):
    written_series[-1].write_bytes(b"")
    scan, caught = _load_series_warnings(written_series[0].parent)
    assert scan.shape[0] == 5
    unreadable = [m for c, m in caught if c is UnreadableFileWarning]
    assert len(unreadable) == 1
    assert "IM_0006.dcm (is empty (0 bytes))" in unreadable[0]
    assert "at an end of the stack" in unreadable[0] and "run from 1 to 5" in unreadable[0]


def test_an_empty_middle_file_is_named_and_its_gap_reported(written_series):
    written_series[2].write_bytes(b"")
    scan, caught = _load_series_warnings(written_series[0].parent)
    assert scan.shape[0] == 5 and scan.spacing[0] == 2.0
    assert any(c is UnreadableFileWarning and "IM_0003.dcm" in m for c, m in caught)
    gaps = [m for c, m in caught if c is SeriesWarning and "gap of 4.000 mm" in m]
    assert gaps and "IM_0002.dcm" in gaps[0] and "IM_0004.dcm" in gaps[0]


def test_a_file_with_truncated_pixels_is_left_out_and_its_gap_reported(written_series):
    data = written_series[3].read_bytes()
    written_series[3].write_bytes(data[:-50])  # the header is whole, the pixels are not
    scan, caught = _load_series_warnings(written_series[0].parent)
    assert scan.shape[0] == 5
    np.testing.assert_array_equal(scan.array[3], load(written_series[4]).array)
    assert any(c is UnreadableFileWarning and "IM_0004.dcm" in m for c, m in caught)
    assert any(c is SeriesWarning and "gap of 4.000 mm" in m and "IM_0005.dcm" in m
               for c, m in caught)


def test_a_damaged_file_named_in_a_list_is_an_error_not_left_out(written_series):
    written_series[3].write_bytes(written_series[3].read_bytes()[:-50])
    with pytest.raises(LoadError) as err:
        load(written_series)
    assert str(written_series[3]) in str(err.value) and "is truncated: PixelData" in str(
        err.value)


def test_the_duplicate_of_an_unreadable_slice_takes_its_place(written_series):

    twin = written_series[2].with_name("IM_0003b.dcm")
    shutil.copy(written_series[2], twin)  # same position: dropped as a duplicate at first
    written_series[2].write_bytes(written_series[2].read_bytes()[:-50])
    scan, caught = _load_series_warnings(written_series[0].parent)
    assert scan.shape[0] == 6 and twin in scan.paths and written_series[2] not in scan.paths
    assert not any("gap of" in m for _, m in caught)
    assert any(c is UnreadableFileWarning and "IM_0003.dcm" in m for c, m in caught)


def test_a_non_dicom_file_named_like_the_series_is_named(written_series):
    (written_series[0].parent / "IM_0007.dcm").write_text("not an image")
    (written_series[0].parent / "README.txt").write_text("notes about the series")
    scan, caught = _load_series_warnings(written_series[0].parent)
    assert scan.shape[0] == 6
    unreadable = [m for c, m in caught if c is UnreadableFileWarning]
    assert len(unreadable) == 1 and "IM_0007.dcm" in unreadable[0]
    assert "README" not in unreadable[0]


def test_dicom_table_notes_unreadable_files(written_series):
    written_series[-1].write_bytes(b"")
    notes = dicom_table(written_series[0].parent)["Notes"].iloc[0]
    assert "could not read IM_0006.dcm (is empty (0 bytes))" in notes


# -- damaged elements, unknown transfer syntax, decoders ---------------------------------------
def _with_unknown_vr(tmp_path: Path, tag: bytes) -> Path:
    data = bytearray(dicom_file("CT_small.dcm").read_bytes())
    at = data.find(tag)
    assert at > 0
    data[at + 4:at + 6] = b"ZZ"
    path = tmp_path / "bad_vr.dcm"
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("tag", [b"\x18\x00\x50\x00", b"\x20\x00\x32\x00"])  # late elements
@pytest.mark.parametrize("reader", [load, dicom_table])
def test_an_element_with_an_unknown_vr_is_a_load_error(tmp_path, tag, reader):
    path = _with_unknown_vr(tmp_path, tag)
    with pytest.raises(LoadError) as err:
        reader(path)
    assert str(path) in str(err.value) and "damaged data element" in str(err.value)
    assert "Unknown Value Representation 'ZZ'" in str(err.value)


def test_an_unknown_vr_in_a_series_file_is_named_in_a_warning(written_series):
    data = bytearray(written_series[1].read_bytes())
    at = data.find(b"\x20\x00\x32\x00")  # ImagePositionPatient
    data[at + 4:at + 6] = b"ZZ"
    written_series[1].write_bytes(bytes(data))
    scan, caught = _load_series_warnings(written_series[0].parent)
    assert any(c is UnreadableFileWarning and "IM_0002.dcm (has a damaged data element" in m
               for c, m in caught)
    assert scan.shape[0] == 5


@pytest.mark.parametrize("reader", [load, dicom_table])
def test_an_unknown_transfer_syntax_is_a_load_error(tmp_path, reader):
    ds = pydicom.dcmread(dicom_file("CT_small.dcm"))
    ds.file_meta.TransferSyntaxUID = "1.2.3.4.5.6.7"
    path = _saved(ds, tmp_path / "odd_syntax.dcm")
    with pytest.raises(LoadError) as err:
        reader(path)
    assert str(path) in str(err.value) and "unknown transfer syntax UID '1.2.3.4.5.6.7'" in str(
        err.value)


@pytest.mark.parametrize("name, element", [
    ("MR_truncated.dcm", "PixelData (7FE0,0010) declares 8192 bytes but the file holds 8130"),
    ("rtplan_truncated.dcm", "BeamSequence (300A,00B0) declares 976 bytes"),
])
def test_a_truncated_element_is_named_not_read_as_if_whole(name, element):
    path = dicom_file(name)
    with pytest.raises(LoadError) as err:
        load(path)
    assert str(path) in str(err.value) and f"is truncated: {element}" in str(err.value)


def test_jpeg_needing_a_12_bit_decoder_says_so_not_damaged():
    path = dicom_file("JPEG-lossy.dcm")
    with pytest.raises(DecoderError) as err:
        load(path)
    message = str(err.value)
    assert str(path) in message and "JPEG Extended" in message
    assert "1.2.840.10008.1.2.4.51" in message
    assert "Pillow does not support 'JPEG Extended' for samples with 12-bit precision" in message
    assert "damaged or truncated" not in message


def test_damaged_compressed_data_is_still_called_damaged():
    path = dicom_file("JPEG2000-embedded-sequence-delimiter.dcm")
    with pytest.raises(LoadError) as err:
        load(path)
    assert not isinstance(err.value, DecoderError) and "damaged" in str(err.value)


# -- exact values ------------------------------------------------------------------------------
def _int32_ct(tmp_path: Path, values: np.ndarray, *, slope: str = "1",
              intercept: str = "0") -> Path:
    ds = pydicom.dcmread(dicom_file("CT_small.dcm"))
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 32, 32, 31, 1
    ds.Rows, ds.Columns = values.shape
    ds.PixelData = values.astype("<i4").tobytes()
    ds.RescaleSlope, ds.RescaleIntercept = slope, intercept
    return _saved(ds, tmp_path / "int32.dcm")


def test_32_bit_integer_pixels_keep_every_value(tmp_path):
    values = np.array([[2**24 + 1, 2**31 - 1], [-(2**31), 123456789]], dtype=np.int64)
    scan = load(_int32_ct(tmp_path, values))
    assert scan.array.dtype == np.float64
    np.testing.assert_array_equal(scan.array, values)
    assert not np.array_equal(values.astype(np.float32), values)  # what float32 would lose


def test_32_bit_integer_pixels_keep_every_value_in_a_series(tmp_path):
    from medinteract.io.series import load_series, series_from_files

    files = []
    for k in range(3):
        path = _int32_ct(tmp_path, np.full((2, 2), 2**25 + 2 * k + 1, dtype=np.int64))
        ds = pydicom.dcmread(path)
        ds.ImagePositionPatient = [0, 0, 2.5 * k]
        ds.SOPInstanceUID = pydicom.uid.generate_uid()
        files.append(_saved(ds, tmp_path / f"s{k}.dcm"))
    scan = load_series(series_from_files(files), None, tmp_path)
    assert scan.array.dtype == np.float64
    assert scan.array[:, 0, 0].tolist() == [2**25 + 1, 2**25 + 3, 2**25 + 5]


def test_16_bit_data_stays_float32_and_exact():
    path = dicom_file("CT_small.dcm")
    scan = load(path)
    ds = pydicom.dcmread(path)
    assert scan.array.dtype == np.float32
    np.testing.assert_array_equal(scan.array, ds.pixel_array * float(ds.RescaleSlope)
                                  + float(ds.RescaleIntercept))


def test_rt_dose_32_bit_values_with_scaling_are_float64():
    path = dicom_file("rtdose.dcm")
    scan = load(path)
    ds = pydicom.dcmread(path)
    assert scan.array.dtype == np.float64
    stored = np.sort(np.unique(ds.pixel_array))
    assert len(np.unique(scan.array)) == len(stored)  # distinct doses stay distinct


@pytest.mark.parametrize("name", ["OBXXXX1A.dcm", "examples_palette.dcm"])
def test_palette_colour_is_on_the_0_255_scale_write_dicom_series_accepts(tmp_path, name):
    path = dicom_file(name)
    scan = load(path)
    assert scan.is_rgb and 0 <= scan.array.min() and scan.array.max() <= 255
    ds = pydicom.dcmread(path)
    lut = pydicom.pixels.apply_color_lut(ds.pixel_array, ds)
    np.testing.assert_allclose(scan.array, lut / 257.0, rtol=1e-6)
    written = write_dicom_series(scan, tmp_path / "copy")
    back = load(written[0])
    np.testing.assert_array_equal(back.array, np.rint(scan.array))


def test_every_warning_and_error_class_is_a_medinteract_one():
    for category in (GeometryWarning, PixelValueWarning, UnreadableFileWarning):
        assert issubclass(category, Warning) and category.__module__ == "medinteract.errors"
    assert issubclass(UnreadableFileWarning, SeriesWarning)
    assert issubclass(DecoderError, MedinteractError)


@pytest.mark.parametrize("key", ["ReferencedImageSequence", 0x00081140])
def test_converting_chosen_elements_reaches_into_their_sequences(key):
    """convert_elements(keys=...) checks a sequence's items, whether named by keyword or tag."""
    from pydicom.dataelem import RawDataElement
    from pydicom.sequence import Sequence
    from pydicom.tag import Tag

    from medinteract.io.dicom import convert_elements

    item = pydicom.Dataset()
    item[0x00081150] = RawDataElement(Tag(0x00081150), "ZZ", 4, b"1.23", 0, True, True)
    ds = pydicom.Dataset()
    ds.PatientID = "anon"
    ds.ReferencedImageSequence = Sequence([item])
    convert_elements(ds, "x.dcm", ["PatientID", "SeriesInstanceUID"])  # absent: no error
    with pytest.raises(LoadError, match="x.dcm.*damaged data element"):
        convert_elements(ds, "x.dcm", [key])
