"""Loading single DICOM files: values in physical units, geometry, window, metadata."""

from __future__ import annotations

import warnings

import numpy as np
import pydicom
import pytest
from dicom_samples import ct_hu, dicom_file

import medinteract as mi
from medinteract.io import load

# Some of pydicom's files (emri_small*, RG1_*) have no usable PixelSpacing; the GeometryWarning
# they give is checked in test_load_never_silent.py, here only their values matter.
pytestmark = pytest.mark.filterwarnings("ignore::medinteract.errors.GeometryWarning")


def test_ct_small_is_in_hounsfield_units():
    path = dicom_file("CT_small.dcm")
    scan = load(path)
    ds = pydicom.dcmread(path)
    expected = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    assert scan.array.dtype == np.float32
    assert scan.shape == (128, 128)
    np.testing.assert_array_equal(scan.array, expected.astype(np.float32))
    assert float(ds.RescaleIntercept) == -1024  # so the values really are shifted
    assert scan.modality == "CT"
    assert scan.spacing == tuple(float(v) for v in ds.PixelSpacing)
    assert scan.origin == tuple(float(v) for v in ds.ImagePositionPatient)
    # rows of direction: y (column direction cosines), then x (row direction cosines)
    np.testing.assert_allclose(scan.direction, [[0, 1, 0], [1, 0, 0]])
    assert scan.paths == (path,)
    assert scan.name == "CT_small.dcm"


def test_mr_small_values_spacing_and_window_come_from_the_file():
    path = dicom_file("MR_small.dcm")
    scan = load(path)
    ds = pydicom.dcmread(path)
    np.testing.assert_array_equal(scan.array, ds.pixel_array.astype(np.float32))
    assert scan.modality == "MR"
    assert scan.spacing == (float(ds.PixelSpacing[0]), float(ds.PixelSpacing[1]))
    assert scan.window == (float(ds.WindowCenter), float(ds.WindowWidth))


def test_the_same_pixels_whatever_the_encoding():
    reference = load(dicom_file("MR_small.dcm")).array
    for name in ("MR_small_bigendian.dcm", "MR_small_implicit.dcm", "MR_small_RLE.dcm"):
        np.testing.assert_array_equal(load(dicom_file(name)).array, reference, err_msg=name)


def test_classic_multiframe_is_a_volume():
    path = dicom_file("emri_small.dcm")
    scan = load(path)
    ds = pydicom.dcmread(path)
    assert scan.shape == (10, 64, 64) and scan.is_volume
    np.testing.assert_array_equal(scan.array, ds.pixel_array.astype(np.float32))
    # no positions in the file: frames keep their order, slice spacing from the header
    assert scan.spacing[0] == float(ds.SpacingBetweenSlices)


def test_enhanced_multiframe_uses_per_frame_functional_groups():
    path = dicom_file("eCT_Supplemental.dcm")
    ds = pydicom.dcmread(path)
    scan = load(path)
    frames = ds.PerFrameFunctionalGroupsSequence
    z = [float(f.PlanePositionSequence[0].ImagePositionPatient[2]) for f in frames]
    shared = ds.SharedFunctionalGroupsSequence[0]
    rescale = shared.PixelValueTransformationSequence[0]
    hu = ds.pixel_array * float(rescale.RescaleSlope) + float(rescale.RescaleIntercept)
    orientation = [float(v) for v in shared.PlaneOrientationSequence[0].ImageOrientationPatient]
    normal = np.cross(orientation[:3], orientation[3:])
    order = np.argsort([zi * normal[2] for zi in z])  # sorted along the slice normal
    assert scan.shape == (2, 512, 512)
    np.testing.assert_array_equal(scan.array, hu[order].astype(np.float32))
    measures = shared.PixelMeasuresSequence[0]
    assert scan.spacing == pytest.approx((abs(z[1] - z[0]), *map(float, measures.PixelSpacing)))
    np.testing.assert_allclose(scan.direction[0], normal)
    # index_to_mm reproduces each frame's ImagePositionPatient
    for index, frame in enumerate(order):
        position = frames[frame].PlanePositionSequence[0].ImagePositionPatient
        np.testing.assert_allclose(scan.index_to_mm((index, 0, 0)), [float(v) for v in position])
    voi = shared.FrameVOILUTSequence[0]
    assert scan.window == (float(voi.WindowCenter), float(voi.WindowWidth))


def test_rt_dose_frames_are_positioned_by_grid_frame_offsets_and_scaled_to_gray():
    path = dicom_file("rtdose.dcm")
    ds = pydicom.dcmread(path)
    scan = load(path)
    offsets = [float(v) for v in ds.GridFrameOffsetVector]
    assert scan.shape == (len(offsets), 10, 10)
    assert scan.spacing[0] == pytest.approx(offsets[1] - offsets[0])
    np.testing.assert_allclose(scan.array, ds.pixel_array * float(ds.DoseGridScaling),
                               rtol=1e-6)


def test_monochrome1_radiograph_is_mirrored_so_that_higher_is_brighter():
    path = dicom_file("RG1_UNCR.dcm")
    ds = pydicom.dcmread(path)
    assert ds.PhotometricInterpretation == "MONOCHROME1"
    scan = load(path)
    high = 2 ** int(ds.BitsStored) - 1
    np.testing.assert_array_equal(scan.array, (high - ds.pixel_array).astype(np.float32))
    assert scan.window.center == high - float(ds.WindowCenter)
    assert scan.window.width == float(ds.WindowWidth)


def test_monochrome1_ct_stays_in_hounsfield_units(tmp_path):
    ds = pydicom.dcmread(dicom_file("CT_small.dcm"))
    ds.PhotometricInterpretation = "MONOCHROME1"
    path = tmp_path / "mono1_ct.dcm"
    ds.save_as(path)
    np.testing.assert_array_equal(load(path).array, ct_hu(dicom_file("CT_small.dcm")))


def test_colour_images_are_rgb_with_two_spatial_axes():
    scan = load(dicom_file("US1_UNCR.dcm"))
    assert scan.shape == (480, 640, 3) and scan.is_rgb and len(scan.spacing) == 2
    palette = load(dicom_file("OBXXXX1A.dcm"))  # PALETTE COLOR expanded through its LUT
    assert palette.shape == (600, 800, 3) and palette.is_rgb


def test_metadata_table_is_readable_and_excludes_pixel_data():
    path = dicom_file("CT_small.dcm")
    meta = load(path).metadata
    assert list(meta.columns) == ["tag", "keyword", "VR", "value"]
    assert "PixelData" not in set(meta["keyword"])
    row = meta.set_index("keyword").loc["PatientName"]
    assert row["tag"] == "(0010,0010)" and row["VR"] == "PN"
    assert row["value"] == str(pydicom.dcmread(path).PatientName)
    scan = load(path)
    assert scan.tag("Rows") == 128
    assert scan.tag("PixelSpacing") == (0.661468, 0.661468)
    assert scan.tag("RescaleIntercept") == -1024.0
    assert scan.tag("TransferSyntaxUID") == pydicom.dcmread(path).file_meta.TransferSyntaxUID


def test_sequences_are_summarised():
    meta = load(dicom_file("eCT_Supplemental.dcm")).metadata.set_index("keyword")
    assert meta.loc["PerFrameFunctionalGroupsSequence", "value"] == "<sequence of 2 items>"


def test_top_level_api_loads_too():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scan = mi.load(str(dicom_file("CT_small.dcm")))
    assert isinstance(scan, mi.Scan)


@pytest.mark.parametrize("compressed, uncompressed", [
    ("MR2_J2KR.dcm", "MR2_UNCR.dcm"),  # JPEG 2000 lossless
    ("693_J2KR.dcm", "693_UNCR.dcm"),  # JPEG 2000 lossless, CT in HU
    ("US1_J2KR.dcm", "US1_UNCR.dcm"),  # JPEG 2000 lossless, colour (YBR_RCT -> RGB)
    ("MR_small_jp2klossless.dcm", "MR_small.dcm"),
    ("MR_small_jpeg_ls_lossless.dcm", "MR_small.dcm"),  # JPEG-LS lossless
    ("emri_small_jpeg_ls_lossless.dcm", "emri_small.dcm"),  # JPEG-LS, multi-frame
    ("emri_small_jpeg_2k_lossless.dcm", "emri_small.dcm"),
    ("SC_rgb_jpeg_gdcm.dcm", "SC_rgb.dcm"),  # JPEG lossless (process 14)
    ("MR_small_RLE.dcm", "MR_small.dcm"),  # RLE
])
def test_compressed_files_decode_to_their_uncompressed_twin(compressed, uncompressed):
    decoded, reference = load(dicom_file(compressed)), load(dicom_file(uncompressed))
    assert pydicom.dcmread(dicom_file(compressed), stop_before_pixels=True
                           ).file_meta.TransferSyntaxUID.is_compressed
    np.testing.assert_array_equal(decoded.array, reference.array)
    assert decoded.spacing == reference.spacing


def test_jpeg_lossless_sv1_decodes():
    path = dicom_file("JPGLosslessP14SV1_1s_1f_8b.dcm")
    scan = load(path)
    ds = pydicom.dcmread(path)
    np.testing.assert_array_equal(scan.array, ds.pixel_array.astype(np.float32))
    assert scan.shape == (768, 1024)


def test_first_of_several_windows_is_used(tmp_path):
    ds = pydicom.dcmread(dicom_file("CT_small.dcm"))
    ds.WindowCenter = [40, -600]
    ds.WindowWidth = [400, 1500]
    ds.save_as(tmp_path / "two_windows.dcm")
    assert load(tmp_path / "two_windows.dcm").window == (40.0, 400.0)


def test_without_a_window_the_default_comes_from_the_whole_image():
    scan = load(dicom_file("CT_small.dcm"))  # CT_small has no WindowCenter
    low, high = np.percentile(scan.array, [0.5, 99.5])
    assert scan.window.low == pytest.approx(low) and scan.window.high == pytest.approx(high)


def enhanced_copy(tmp_path, edit) -> tuple:
    ds = pydicom.dcmread(dicom_file("eCT_Supplemental.dcm"))
    edit(ds)
    path = tmp_path / "enhanced.dcm"
    ds.save_as(path)
    return path, ds


def test_enhanced_per_frame_rescale_overrides_the_shared_one(tmp_path):
    def edit(ds):
        item = pydicom.Dataset()
        item.RescaleSlope, item.RescaleIntercept, item.RescaleType = 2, -100, "HU"
        ds.PerFrameFunctionalGroupsSequence[0].PixelValueTransformationSequence = [item]

    path, ds = enhanced_copy(tmp_path, edit)
    scan = load(path)
    raw = ds.pixel_array
    # frame 1 lies further along the normal, so it is the second array slice
    np.testing.assert_array_equal(scan.array[1], (raw[0] * 2.0 - 100).astype(np.float32))
    np.testing.assert_array_equal(scan.array[0], (raw[1] - 1024.0).astype(np.float32))


def test_enhanced_frame_with_another_orientation_is_named(tmp_path):
    def edit(ds):
        item = pydicom.Dataset()
        item.ImageOrientationPatient = [1, 0, 0, 0, 0, -1]
        ds.PerFrameFunctionalGroupsSequence[1].PlaneOrientationSequence = [item]

    path, _ = enhanced_copy(tmp_path, edit)
    with pytest.raises(mi.SeriesError, match="enhanced.dcm frame 2"):
        load(path)
