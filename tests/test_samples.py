"""Offline sample scans: they load without network, with the values stored in their files."""

from __future__ import annotations

import hashlib

import numpy as np
import pydicom
import pytest
import skimage.data

from medinteract import data
from medinteract.io import load
from medinteract.scan import Scan

NAMES = ["ct_small", "mr_small", "mr_multiframe", "head_ct", "chest_xray", "retina"]


def test_list_samples_describes_every_sample():
    table = data.list_samples()
    assert list(table.columns) == ["name", "modality", "shape", "source", "file", "description"]
    assert table["name"].tolist() == NAMES
    assert table["description"].str.len().min() > 20


@pytest.mark.parametrize("name", NAMES)
def test_each_sample_loads_offline_as_listed(name):
    row = data.list_samples().set_index("name").loc[name]
    scan = getattr(data, name)()
    assert isinstance(scan, Scan)
    assert scan.shape == row["shape"]
    assert scan.modality == row["modality"]
    assert scan.name == name
    assert scan.paths and scan.paths[0] == data.sample_path(name)
    assert np.all(np.isfinite(scan.array))


def test_ct_small_is_in_hounsfield_units_computed_from_the_file():
    ds = pydicom.dcmread(data.sample_path("ct_small"))
    expected = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    scan = data.ct_small()
    np.testing.assert_array_equal(scan.array, expected.astype(np.float32))
    assert scan.spacing == tuple(float(v) for v in ds.PixelSpacing)
    np.testing.assert_allclose(scan.origin, [float(v) for v in ds.ImagePositionPatient])


def test_head_ct_shows_brain_tissue_in_hounsfield_units():
    scan = data.head_ct()
    centre = scan.array[200:312, 200:312]
    # Brain parenchyma lies around 20-45 HU.
    assert 10 < np.median(centre) < 60


def test_mr_multiframe_is_a_volume_from_one_file():
    scan = data.mr_multiframe()
    assert scan.is_volume and scan.shape == (10, 64, 64)
    assert len(scan.paths) == 1


def test_chest_xray_is_bright_where_dense():
    # MONOCHROME1 is inverted on loading: the mediastinum/spine (dense) is brighter than the
    # air-filled lung fields.
    image = data.chest_xray().array
    rows = slice(600, 1200)
    spine = image[rows, 880:960].mean()
    lungs = np.concatenate([image[rows, 450:600], image[rows, 1250:1400]], axis=1).mean()
    assert spine > lungs


def test_retina_is_the_scikit_image_photograph():
    scan = data.retina()
    assert scan.is_rgb and scan.spacing == (1.0, 1.0)
    np.testing.assert_array_equal(scan.array, skimage.data.retina())


def test_sample_path_points_at_installed_files_and_rejects_unknown_names():
    for name in NAMES:
        assert data.sample_path(name).is_file()
    with pytest.raises(ValueError, match="unknown sample 'brain'"):
        data.sample_path("brain")


def test_loading_a_sample_never_modifies_its_file():
    path = data.sample_path("ct_small")
    before = (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
    data.ct_small()
    assert (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns) == before


def test_phantom_series_writes_a_loadable_series(tmp_path):
    folder = data.phantom_series(tmp_path / "chest", shape=(6, 64, 64), n_nodules=1,
                                 nodule_radius_mm=3, seed=4)
    assert folder == tmp_path / "chest"
    files = sorted(folder.glob("*.dcm"))
    assert len(files) == 6
    assert pydicom.dcmread(files[0]).Modality == "CT"


def test_phantom_series_loads_back_with_medinteract_load(tmp_path):
    expected = data.phantom(shape=(6, 64, 64), n_nodules=1, nodule_radius_mm=3, seed=4).scan
    scan = load(data.phantom_series(
        tmp_path / "chest", shape=(6, 64, 64), n_nodules=1, nodule_radius_mm=3, seed=4))
    np.testing.assert_array_equal(scan.array, np.rint(expected.array))
    assert scan.spacing == expected.spacing
