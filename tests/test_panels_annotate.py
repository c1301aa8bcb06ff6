"""The annotate panel: brush, erase, fill, undo, and labels saved aligned with the scan."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import medinteract as mi
from medinteract.data import phantom
from medinteract.errors import LoadError
from medinteract.io import load
from medinteract.panels import annotate


@pytest.fixture(scope="module")
def volume():
    return phantom(shape=(6, 48, 64), spacing=(2.5, 0.5, 1.0), n_nodules=1,
                   nodule_radius_mm=3.0, seed=3)


def test_brush_is_a_disc_in_mm_on_anisotropic_pixels(volume):
    a = annotate(volume.scan)
    a.label = 3
    a.paint((2, 24, 32), radius_mm=2.0)
    painted = a.labels[2] == 3
    rows, cols = np.nonzero(painted)
    assert (rows.max() - rows.min() + 1, cols.max() - cols.min() + 1) == (9, 5)  # 0.5 x 1 mm
    assert not a.labels[[0, 1, 3, 4, 5]].any()  # one slice only
    assert a.edits == 1


def test_erase_fill_and_undo(volume):
    a = annotate(volume.scan)
    a.paint((1, 10, 10), radius_mm=3.0)
    painted = a.labels.copy()
    a.erase((1, 10, 10), radius_mm=1.0)
    assert a.labels[1, 10, 10] == 0 and (a.labels != 0).sum() < (painted != 0).sum()
    a.undo()
    assert np.array_equal(a.labels, painted)
    a.label = 2
    a.fill((1, 10, 10))  # the painted disc is one connected region of label 1
    assert np.array_equal(a.labels == 2, painted == 1)
    a.fill((1, 40, 60), value=0)  # the background stays background
    assert a.undo() and a.undo() and np.array_equal(a.labels, painted)
    assert a.undo() and not a.labels.any()  # the paint stroke
    assert not a.undo()


def test_strokes_from_mouse_positions(volume):
    a = annotate(volume.scan)
    height, width = a.widget.viewer.view_sizes["slice"]
    rows, cols = volume.scan.shape[1:]
    start = a.stroke_at(10.5 / cols * width, 20.5 / rows * height)
    a.stroke_at(30.5 / cols * width, 20.5 / rows * height, start=False)  # drag
    assert start == (a.index, 20, 10)
    assert a.labels[a.index, 20, 10] == 1 and a.labels[a.index, 20, 30] == 1
    assert a.edits == 1  # one stroke
    a.undo()
    assert not a.labels.any()
    assert a.stroke_at(-3, 5) is None


@pytest.mark.parametrize("name", ["labels.npy", "labels.nii", "labels.nii.gz"])
def test_save_and_load_aligned_with_the_scan(volume, tmp_path: Path, name: str):
    a = annotate(volume.scan)
    a.paint((3, 20, 40), radius_mm=2.0)
    a.label = 7
    a.paint((1, 30, 10), radius_mm=1.0)
    path = a.save(tmp_path / name)
    assert [p.name for p in tmp_path.iterdir()] == [name]  # atomic: no temp files left
    b = annotate(volume.scan).load(path)
    assert np.array_equal(b.labels, a.labels)
    if name != "labels.npy":
        loaded = load(path)  # the NIfTI reader puts the labels on the scan's grid
        assert loaded.shape == volume.scan.shape
        assert np.allclose(loaded.spacing, volume.scan.spacing)
        assert np.allclose(loaded.origin, volume.scan.origin)
        assert np.allclose(loaded.direction, volume.scan.direction)
        assert np.allclose(loaded.index_to_mm((3, 20, 40)), volume.scan.index_to_mm((3, 20, 40)))


def test_load_rejects_labels_of_another_grid(volume, tmp_path: Path):
    np.save(tmp_path / "small.npy", np.zeros((2, 2, 2), np.int32))
    with pytest.raises(LoadError, match="small.npy: labels of shape"):
        annotate(volume.scan).load(tmp_path / "small.npy")
    np.save(tmp_path / "fractions.npy", np.full(volume.scan.shape, 0.5))
    with pytest.raises(LoadError, match="whole numbers"):
        annotate(volume.scan).load(tmp_path / "fractions.npy")


def test_2d_annotation_and_public_name():
    image = np.zeros((20, 30), np.float32)
    a = mi.panels.annotate(image)
    a.paint((10, 15), radius_mm=2.0)
    assert a.labels.shape == (20, 30) and a.labels[10, 15] == 1
    assert "mi-panel" in a.widget._dom_classes
