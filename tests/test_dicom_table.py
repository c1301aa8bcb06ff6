"""dicom_table: one row per series, from headers only."""

from __future__ import annotations

import shutil

import numpy as np
import pydicom
import pytest
from dicom_samples import dicom_file

import medinteract as mi
from medinteract.errors import LoadError
from medinteract.io import dicom_table
from medinteract.io.series import DICOM_TABLE_COLUMNS


def test_one_row_per_series(ct_series, tmp_path):
    folder = tmp_path / "study"
    axial = ct_series([0.0, 2.5, 5.0, 7.5], folder / "axial", number=2, description="AXIAL")
    ct_series([0.0, 1.0, 2.0], folder / "thin", number=3, description="THIN")
    shutil.copy(dicom_file("emri_small.dcm"), folder / "emri.dcm")
    shutil.copy(dicom_file("rtplan.dcm"), folder / "plan.dcm")  # no image: not a series row
    (folder / "README").write_text("not DICOM")
    table = dicom_table(folder)
    assert list(table.columns) == list(DICOM_TABLE_COLUMNS)
    assert len(table) == 3
    rows = table.set_index("SeriesDescription")
    header = pydicom.dcmread(axial[0], stop_before_pixels=True)
    ax = rows.loc["AXIAL"]
    assert ax["Files"] == 4 and ax["Frames"] == 4
    assert ax["SeriesNumber"] == 2 and ax["Modality"] == "CT"
    assert (ax["Rows"], ax["Columns"]) == (128, 128)
    assert ax["SliceSpacing"] == pytest.approx(2.5)
    assert ax["PixelSpacing"] == pytest.approx((0.661468, 0.661468))
    assert ax["PatientName"] == str(header.PatientName)
    assert ax["PatientID"] == header.PatientID
    assert ax["StudyDate"] == header.StudyDate
    assert ax["SeriesInstanceUID"] == header.SeriesInstanceUID
    assert ax["Notes"] == ""
    assert rows.loc["THIN", "SliceSpacing"] == pytest.approx(1.0)
    emri = table[table["Modality"] == "MR"].iloc[0]
    assert emri["Files"] == 1 and emri["Frames"] == 10


def test_problems_show_up_as_notes(ct_series):
    paths = ct_series([0.0, 2.5, 5.0, 7.5, 10.0])
    paths[2].unlink()
    row = dicom_table(paths[0].parent).iloc[0]
    assert "gap of 5.000 mm" in row["Notes"]
    assert row["SliceSpacing"] == pytest.approx(2.5)


def test_single_image_has_no_slice_spacing(tmp_path):
    shutil.copy(dicom_file("CT_small.dcm"), tmp_path / "ct.dcm")
    table = dicom_table(tmp_path)
    assert len(table) == 1 and np.isnan(table.loc[0, "SliceSpacing"])
    assert dicom_table(tmp_path / "ct.dcm").loc[0, "Files"] == 1


def test_reads_headers_only(ct_series, monkeypatch):
    paths = ct_series([0.0, 2.5])

    def no_pixels(*args, **kwargs):
        raise AssertionError("dicom_table decoded pixel data")

    monkeypatch.setattr(pydicom.dataset.Dataset, "pixel_array", property(no_pixels))
    assert dicom_table(paths[0].parent).loc[0, "Files"] == 2


def test_errors(tmp_path):
    with pytest.raises(LoadError, match="does not exist"):
        dicom_table(tmp_path / "missing")
    with pytest.raises(LoadError, match="empty folder"):
        dicom_table(tmp_path)


def test_top_level_name():
    assert mi.dicom_table is dicom_table


def test_pydicom_dicomdir_tree():
    """A real media tree: a DICOMDIR, nested folders, files without extension, 13 series."""
    folder = dicom_file("CT_small.dcm").parent / "dicomdirtests"
    if not folder.is_dir():
        pytest.skip("pydicom's dicomdirtests folder is not installed")
    table = dicom_table(folder)
    assert len(table) == 13
    assert set(table["Modality"]) == {"CR", "CT", "MR"}
    # every image file; not the DICOMDIRs, nor TINY_ALPHA's CT stubs that have no pixel data
    assert table["Files"].sum() == 31
    smart = table[table["SeriesDescription"] == "SmartScore - Gated 0.5 sec"].iloc[0]
    assert smart["SliceSpacing"] == pytest.approx(2.5) and smart["Notes"] == ""
    angio = table[table["SeriesDescription"].str.startswith("ANGIO")].iloc[0]
    assert "mixed orientations" in angio["Notes"]
    # The same SeriesNumber in several studies is ambiguous; the UID is not.
    with pytest.raises(mi.SeriesError, match="matches 5 series"):
        mi.load(folder, series=2)
    scan = mi.load(folder, series=smart["SeriesInstanceUID"])
    assert scan.shape[0] == 5 and scan.spacing[0] == pytest.approx(2.5)
