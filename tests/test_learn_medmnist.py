"""MedMNIST by name: the offline fixture has the real files' layout; 3-D and multi-label files.

Nothing here downloads: :func:`fetch_medmnist` is pointed at fixtures written in a temporary
folder, as notebook 10 is in continuous integration. The download path itself (pooch, the
checksum) is tested in ``tests/test_fetch.py`` against a local server.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from medinteract.data.fetch import REGISTRY
from medinteract.errors import LoadError
from medinteract.learn.datasets import MEDMNIST_KEYS, SPLITS, load_medmnist
from medinteract.learn.medmnist import (
    FIXTURE_ENV,
    MEDMNIST,
    fetch_medmnist,
    medmnist_fixtures,
    write_medmnist_fixture,
)


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory):
    folder = tmp_path_factory.mktemp("medmnist")
    for name in MEDMNIST:
        write_medmnist_fixture(folder, name, n_samples=(60, 20, 30))
    return folder


def test_every_medmnist_name_is_a_checksummed_download():
    for name in MEDMNIST:
        remote = REGISTRY[name]
        assert remote.fname == f"{name}.npz"
        assert remote.url.startswith("https://zenodo.org/records/10519652/files/")
        assert remote.known_hash.startswith("md5:") and len(remote.known_hash) == 36


@pytest.mark.parametrize("name", list(MEDMNIST))
def test_fixture_has_the_layout_of_the_real_file(fixtures, name):
    info = MEDMNIST[name]
    with np.load(fixtures / f"{name}.npz", allow_pickle=False) as npz:
        assert sorted(npz.files) == sorted(MEDMNIST_KEYS)
        for split, n in zip(SPLITS, (60, 20, 30)):
            images, labels = npz[f"{split}_images"], npz[f"{split}_labels"]
            assert images.dtype == np.uint8 and labels.dtype == np.uint8
            assert images.shape == (n,) + (28,) * info.ndim
            width = len(info.class_names) if info.task == "multi-label" else 1
            assert labels.shape == (n, width)
            assert images.std() > 10  # not blank


def test_fixture_keeps_the_published_class_balance(tmp_path):
    path = write_medmnist_fixture(tmp_path, "pneumoniamnist", n_samples=(400, 100, 200))
    with np.load(path) as npz:
        for split in SPLITS:
            assert npz[f"{split}_labels"].mean() == pytest.approx(0.74, abs=0.01)
    default = write_medmnist_fixture(tmp_path / "default", "pneumoniamnist")
    with np.load(default) as npz:  # a tenth of the real file, within bounds
        assert [len(npz[f"{s}_labels"]) for s in SPLITS] == [470, 100, 100]


def test_fixture_is_reproducible_and_written_atomically(tmp_path):
    a = write_medmnist_fixture(tmp_path / "a", "breastmnist", seed=3).read_bytes()
    b = write_medmnist_fixture(tmp_path / "b", "breastmnist", seed=3).read_bytes()
    assert a == b
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["breastmnist.npz"]
    with pytest.raises(ValueError, match="unknown MedMNIST file 'mnist'"):
        write_medmnist_fixture(tmp_path, "mnist")
    with pytest.raises(ValueError, match="three positive counts"):
        write_medmnist_fixture(tmp_path, "breastmnist", n_samples=(10, 0, 5))


def test_fetch_reads_fixtures_from_the_environment_and_says_so(fixtures, monkeypatch):
    monkeypatch.setenv(FIXTURE_ENV, str(fixtures))
    data = fetch_medmnist("pneumoniamnist")
    assert data.class_names == ("normal", "pneumonia")
    assert data.task == "classification" and data.input_shape == (28, 28, 1)
    assert "synthetic fixture" in data.source and "synthetic fixture" in repr(data)
    assert [len(data.split(s)[0]) for s in SPLITS] == [60, 20, 30]


def test_medmnist_fixtures_serve_every_name_for_a_block_then_restore(monkeypatch):
    monkeypatch.delenv(FIXTURE_ENV, raising=False)
    with medmnist_fixtures() as folder:
        assert os.environ[FIXTURE_ENV] == str(folder)
        assert sorted(p.stem for p in folder.glob("*.npz")) == sorted(MEDMNIST)
        assert "synthetic fixture" in fetch_medmnist("breastmnist").source
    assert FIXTURE_ENV not in os.environ and not folder.exists()


def test_medmnist_fixtures_keep_a_folder_given_or_already_set(tmp_path, monkeypatch):
    monkeypatch.delenv(FIXTURE_ENV, raising=False)
    with medmnist_fixtures(tmp_path / "mine") as folder:
        assert folder == tmp_path / "mine"
    assert (folder / "pneumoniamnist.npz").is_file() and FIXTURE_ENV not in os.environ
    monkeypatch.setenv(FIXTURE_ENV, str(tmp_path / "by-hand"))
    with medmnist_fixtures() as used:  # fixtures made by hand: nothing written, nothing removed
        assert used == tmp_path / "by-hand" and not used.exists()
    assert os.environ[FIXTURE_ENV] == str(tmp_path / "by-hand")


def test_fetch_names_a_missing_fixture_and_an_unknown_file(tmp_path, monkeypatch):
    monkeypatch.setenv(FIXTURE_ENV, str(tmp_path))
    with pytest.raises(LoadError, match="no breastmnist fixture") as info:
        fetch_medmnist("breastmnist")
    assert "write_medmnist_fixture" in str(info.value)
    with pytest.raises(ValueError, match="unknown MedMNIST file 'organmnist'"):
        fetch_medmnist("organmnist")


def test_3d_files_load_as_volumes_not_as_28_channel_images(fixtures, monkeypatch):
    monkeypatch.setenv(FIXTURE_ENV, str(fixtures))
    data = fetch_medmnist("nodulemnist3d")
    assert data.input_shape == (28, 28, 28, 1)
    assert data.x_train.ndim == 5 and data.class_names == ("benign", "malignant")
    with np.load(fixtures / "nodulemnist3d.npz") as npz:
        np.testing.assert_allclose(data.x_test[..., 0] * 255, npz["test_images"], atol=1e-3)


def test_colour_images_keep_three_channels(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {}
    for split in SPLITS:
        arrays[f"{split}_images"] = rng.integers(0, 256, (5, 28, 28, 3), dtype=np.uint8)
        arrays[f"{split}_labels"] = rng.integers(0, 9, (5, 1), dtype=np.uint8)
    np.savez(tmp_path / "pathmnist.npz", **arrays)
    assert load_medmnist(tmp_path / "pathmnist.npz").input_shape == (28, 28, 3)


def test_multilabel_files_load_every_finding(fixtures, monkeypatch):
    monkeypatch.setenv(FIXTURE_ENV, str(fixtures))
    data = fetch_medmnist("chestmnist")
    assert data.task == "multilabel" and data.n_classes == 14
    assert data.y_train.shape == (60, 14) and set(np.unique(data.y_train)) <= {0, 1}
    summary = data.summary()
    assert summary.loc["train", "effusion"] == int(data.y_train[:, 2].sum())
