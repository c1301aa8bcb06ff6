"""Prototype -> saved JSON -> batch: the same mask and the same region table (issue 13).

A user prototypes on a scan with panels, saves the chain as JSON and runs it with
``mi.batch.run`` over a folder holding that same scan, as a DICOM series and as NIfTI: every
batch result must equal what the panels showed, bit for bit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import medinteract as mi
from medinteract import batch
from medinteract.pipeline import Pipeline


@pytest.fixture(scope="module")
def scan(tmp_path_factory) -> mi.Scan:
    """A chest CT as a user has it: loaded from a DICOM series (HU on whole numbers)."""
    chest = mi.data.phantom(shape=(16, 64, 64), spacing=(2.5, 1.5, 1.5), n_nodules=2,
                            nodule_radius_mm=(4.0, 6.0), nodule_hu=2500.0, seed=5)
    folder = tmp_path_factory.mktemp("original")
    return mi.load(mi.write_dicom_series(chest.scan, folder / "chest")[0].parent)


@pytest.fixture(scope="module")
def prototype(scan):
    """The panels: smoothing, a threshold, a clean-up, and the measure panel on top."""
    smooth = mi.panels.denoise(scan, "gaussian", sigma=0.8)
    mask = mi.panels.threshold(smooth, low=825.0)
    clean = mi.panels.panel(mask, "remove_small", min_size=20.0)
    return clean, mi.panels.measure(scan, clean)


def test_panel_json_batch_gives_the_panels_mask_and_table(scan, prototype, tmp_path: Path):
    clean, measured = prototype
    assert len(measured.result) == 2  # both nodules, nothing else
    saved = clean.pipeline.save(tmp_path / "nodules.json")

    folder = tmp_path / "scans"
    mi.write_dicom_series(scan, folder / "dicom")
    mi.write_nifti(scan, folder / "chest.nii.gz")
    assert mi.load(folder / "dicom").array.tobytes() == scan.array.tobytes()

    report = batch.run(Pipeline.load(saved), folder, tmp_path / "out", scheduler="sync",
                       progress=False)
    assert report.counts() == {"ok": 2, "failed": 0, "skipped": 0}, report.table["message"]
    for row in report.table.itertuples():
        result = mi.load(row.image)
        assert result.geometry.isclose(scan.geometry), row.id
        assert set(np.unique(result.array)) <= {0.0, 1.0}
        assert np.array_equal(result.array.astype(bool), clean.result), row.id
        regions = mi.batch.read_table(row.regions)
        if row.id == "chest":  # NIfTI records no modality: the same HU, as "intensity"
            regions.columns = regions.columns.str.replace("_intensity", "_HU")
        pd.testing.assert_frame_equal(regions, measured.result, check_dtype=False,
                                      check_exact=True, obj=row.id)
    merged = report.regions
    assert list(merged["scan_id"].value_counts().sort_index()) == [2, 2]


def test_batch_writes_the_resampled_geometry(scan, tmp_path: Path):
    pipeline = Pipeline([("resample_isotropic", {"new_spacing": 1.0}),
                         ("gaussian", {"sigma": 0.8}), ("threshold", {"low": 825.0}),
                         ("remove_small", {"min_size": 20.0})])
    files = mi.write_dicom_series(scan, tmp_path / "chest")
    report = batch.run(pipeline, [files[0].parent], tmp_path / "out", scheduler="sync",
                       progress=False)
    assert report.counts()["ok"] == 1, report.table["message"][0]
    expected = pipeline.run(scan)
    result = mi.load(report.table["image"][0])
    assert result.geometry.isclose(expected.geometry)
    assert result.geometry.isclose(mi.ops.resample_isotropic_geometry(scan.geometry,
                                                                       new_spacing=1.0))
    assert np.array_equal(result.array.astype(bool), expected.array)
    # measured on the resampled grid in mm³, exactly as the pipeline measures in a notebook
    measuring = pipeline + Pipeline([("label", {}), ("region_table", {})])
    pd.testing.assert_frame_equal(report.regions.drop(columns="scan_id"),
                                  measuring.run(scan), check_dtype=False, check_exact=True)
    manifest = (Path(report.table["image"][0]).parent / "manifest.json").read_text()
    assert '"result_spacing_mm": [\n    1.0,' in manifest
