"""Datasets for learning: phantom patches, patient-level splits, MedMNIST files, augmentation."""

from __future__ import annotations

import numpy as np
import pytest

from medinteract.errors import LoadError
from medinteract.learn.datasets import (
    LUNG_WINDOW,
    MEDMNIST_KEYS,
    SPLITS,
    augmentation,
    hu_to_unit,
    load_medmnist,
    phantom_patches,
    split_by_patient,
    unit_to_hu,
)


@pytest.fixture(scope="module")
def patches():
    return phantom_patches(9, seed=3)


def test_hu_to_unit_clips_to_the_lung_window_and_scales_linearly():
    hu = np.array([-3000.0, LUNG_WINDOW.low, -600.0, LUNG_WINDOW.high, 2000.0])
    x = hu_to_unit(hu)
    assert x.dtype == np.float32
    assert x.tolist() == [0.0, 0.0, 0.5, 1.0, 1.0]
    inside = np.linspace(LUNG_WINDOW.low, LUNG_WINDOW.high, 7)
    np.testing.assert_allclose(unit_to_hu(hu_to_unit(inside)), inside, atol=1e-3)


def test_phantom_patches_have_network_ready_shapes_and_ranges(patches):
    assert patches.input_shape == (64, 64, 1)
    for name in SPLITS:
        x, y = patches.split(name)
        assert x.dtype == np.float32 and x.shape[1:] == (64, 64, 1)
        assert 0.0 <= x.min() and x.max() <= 1.0
        assert y.shape == (len(x),) and set(np.unique(y)) == {0, 1}
        masks = patches.masks(name)
        assert masks.shape == x.shape and masks.dtype == np.uint8


def test_labels_agree_with_the_ground_truth_masks(patches):
    """A positive patch shows a nodule; a negative patch holds no nodule voxel at all."""
    for name in SPLITS:
        _, y = patches.split(name)
        has_nodule = patches.masks(name).reshape(len(y), -1).any(1)
        assert np.array_equal(has_nodule, y == 1)


def test_no_patient_is_in_two_splits_and_metadata_matches(patches):
    ids = [set(patches.patients(name)) for name in SPLITS]
    assert all(ids)
    assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])
    assert set().union(*ids) == set(range(3, 12))  # patients are the phantom seeds
    meta = patches.metadata
    for name in SPLITS:
        rows = meta[meta["split"] == name].sort_values("index")
        _, y = patches.split(name)
        assert np.array_equal(rows["label"].to_numpy(), y)
        assert np.array_equal(rows["patient"].to_numpy(), patches.patients(name))


def test_classes_are_balanced_in_every_split(patches):
    summary = patches.summary()
    assert (summary["nodule"] > 0).all() and (summary["normal"] > 0).all()
    share = summary["nodule"] / summary["samples"]
    assert share.between(0.4, 0.6).all()


def test_nodules_vary_in_size_and_contrast_and_some_negatives_sit_on_vessels_or_bone(patches):
    meta = patches.metadata
    nodules = meta[meta["label"] == 1]
    assert nodules["radius_mm"].min() < 4 and nodules["radius_mm"].max() > 6
    assert nodules["hu"].min() < -400 and nodules["hu"].max() > -100  # faint and solid
    assert meta.loc[meta["label"] == 0, "near_dense"].any()


def test_same_seed_same_dataset_other_seed_other_dataset():
    a = phantom_patches(4, seed=1, patches_per_nodule=1, n_nodules=2)
    b = phantom_patches(4, seed=1, patches_per_nodule=1, n_nodules=2)
    c = phantom_patches(4, seed=2, patches_per_nodule=1, n_nodules=2)
    assert np.array_equal(a.x_train, b.x_train) and np.array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.x_train, c.x_train)


def test_segmentation_pairs_and_3d_patches():
    seg = phantom_patches(3, task="segmentation", n_nodules=2, patches_per_nodule=1, seed=5)
    x, y = seg.split("train")
    assert y.shape == x.shape and y.dtype == np.uint8
    assert y.reshape(len(y), -1).any(1).sum() == len(y) // 2
    cubes = phantom_patches(3, patch_size=(8, 32, 32), n_nodules=2, patches_per_nodule=1,
                            seed=5)
    assert cubes.input_shape == (8, 32, 32, 1)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="at least 3"):
        phantom_patches(2)
    with pytest.raises(ValueError, match="task"):
        phantom_patches(3, task="detection")
    with pytest.raises(ValueError, match="does not fit"):
        phantom_patches(3, patch_size=(256, 256))


def test_split_by_patient_is_stratified_and_reproducible():
    rng = np.random.default_rng(0)
    patients = np.repeat(np.arange(30), 10)
    # a third of the patients have no positive sample at all
    labels = np.where(patients % 3 == 0, 0, rng.integers(0, 2, patients.size))
    split = split_by_patient(patients, labels, (0.6, 0.2, 0.2), seed=4)
    assert np.array_equal(split, split_by_patient(patients, labels, (0.6, 0.2, 0.2), seed=4))
    for p in np.unique(patients):
        assert len(set(split[patients == p])) == 1
    counts = {s: len(np.unique(patients[split == s])) for s in SPLITS}
    assert counts == {"train": 18, "val": 6, "test": 6}
    negative_only = {s: len(np.unique(patients[(split == s) & (patients % 3 == 0)]))
                     for s in SPLITS}
    assert all(n >= 1 for n in negative_only.values())


def _write_medmnist(path, *, size=28, channels=None, drop=None, n=(20, 6, 8)):
    rng = np.random.default_rng(0)
    arrays = {}
    for split, count in zip(SPLITS, n):
        shape = (count, size, size) + ((channels,) if channels else ())
        arrays[f"{split}_images"] = rng.integers(0, 256, shape, dtype=np.uint8)
        arrays[f"{split}_labels"] = rng.integers(0, 2, (count, 1), dtype=np.uint8)
    if drop:
        del arrays[drop]
    np.savez(path, **arrays)
    return arrays


def test_load_medmnist_keeps_the_official_splits(tmp_path):
    path = tmp_path / "pneumoniamnist.npz"
    arrays = _write_medmnist(path)
    data = load_medmnist(path, class_names=("normal", "pneumonia"))
    assert data.input_shape == (28, 28, 1)
    assert data.class_names == ("normal", "pneumonia")
    for split in SPLITS:
        x, y = data.split(split)
        np.testing.assert_allclose(x[..., 0] * 255, arrays[f"{split}_images"], atol=1e-3)
        assert np.array_equal(y, arrays[f"{split}_labels"][:, 0])
    assert len(data.metadata) == sum(len(arrays[f"{s}_images"]) for s in SPLITS)
    assert "pneumoniamnist.npz" in repr(data)


def test_load_medmnist_colour_images(tmp_path):
    path = tmp_path / "bloodmnist.npz"
    _write_medmnist(path, channels=3)
    assert load_medmnist(path).input_shape == (28, 28, 3)


def test_load_medmnist_names_the_missing_arrays(tmp_path):
    path = tmp_path / "broken.npz"
    _write_medmnist(path, drop="val_labels")
    with pytest.raises(LoadError, match="broken.npz.*missing array.*val_labels") as info:
        load_medmnist(path)
    assert all(k in str(info.value) for k in MEDMNIST_KEYS)  # the hint lists the layout


def test_load_medmnist_refuses_non_npz_and_missing_files(tmp_path):
    text = tmp_path / "notes.npz"
    text.write_text("not an archive")
    with pytest.raises(LoadError, match="notes.npz"):
        load_medmnist(text)
    with pytest.raises(LoadError, match="no such file"):
        load_medmnist(tmp_path / "absent.npz")


def test_load_medmnist_refuses_mismatched_lengths(tmp_path):
    path = tmp_path / "odd.npz"
    arrays = _write_medmnist(path)
    arrays["test_labels"] = arrays["test_labels"][:-1]
    np.savez(path, **arrays)
    with pytest.raises(LoadError, match="test_images has 8 images but test_labels has 7"):
        load_medmnist(path)


def test_augmentation_changes_training_batches_only():
    import keras

    aug = augmentation(rotation=0.1, contrast=0.2, seed=0)
    assert isinstance(aug, keras.Sequential)
    x = np.random.default_rng(0).random((4, 32, 32, 1), dtype=np.float32)
    out_train = keras.ops.convert_to_numpy(aug(x, training=True))
    out_infer = keras.ops.convert_to_numpy(aug(x, training=False))
    assert out_train.shape == x.shape
    assert not np.allclose(out_train, x)
    np.testing.assert_allclose(out_infer, x, atol=1e-6)


def test_denoising_pairs_differ_only_by_the_noise():
    from medinteract.learn.datasets import denoising_pairs

    pairs = denoising_pairs(3, slices_per_patient=2, patches_per_slice=2, noise_hu=60.0, seed=8)
    assert pairs.task == "denoising"
    x, y = pairs.split("train")
    assert x.shape == y.shape and x.shape[1:] == (64, 64, 1)
    difference = (x - y) * LUNG_WINDOW.width  # back in HU (inside the window)
    inside = (y > 0) & (y < 1) & (x > 0) & (x < 1)  # not clipped by the window
    assert 45 < difference[inside].std() < 75  # the added noise, about 60 HU
    assert abs(difference[inside].mean()) < 5
    assert not set(pairs.patients("train")) & set(pairs.patients("test"))
