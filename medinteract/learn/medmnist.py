"""MedMNIST by name: download once (checksummed), load with class names, or a stand-in fixture.

`MedMNIST <https://medmnist.com/>`_ (Yang et al., Scientific Data 10:41, 2023) packs public
medical image collections into small NumPy ``.npz`` files with official train/validation/test
splits: 28x28 images (2-D) or 28x28x28 volumes (3-D), one class per image or several findings
per image (multi-label).

:func:`fetch_medmnist` downloads a file through :func:`medinteract.data.fetch.fetch` (cached,
verified against the MD5 MedMNIST publishes) and loads it with
:func:`~medinteract.learn.datasets.load_medmnist`, adding the class names.

Offline, tests and continuous integration run the same code on a *fixture*: a small file in
MedMNIST's exact layout (the six arrays, their dtypes and shapes, a similar class balance),
written by :func:`write_medmnist_fixture` from seeded synthetic images; nothing is
downloaded. Point the environment variable ``MEDINTERACT_MEDMNIST_FIXTURES`` at a folder of
such files and :func:`fetch_medmnist` reads them instead of downloading, and says so in the
dataset's ``source``; :func:`medmnist_fixtures` writes them all and sets the variable for a
``with`` block (kernels started inside it inherit it). The synthetic images are learnable
(each finding adds a blob in its own place) but they are not medical images: numbers
measured on them say that the code runs, not how well a model reads X-rays.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any, Literal

import numpy as np

from medinteract.errors import LoadError

__all__ = [
    "MedMNISTInfo",
    "MEDMNIST",
    "FIXTURE_ENV",
    "fetch_medmnist",
    "write_medmnist_fixture",
    "medmnist_fixtures",
]

#: Environment variable naming a folder of fixture files that :func:`fetch_medmnist` reads
#: instead of downloading (set by the tests; never needed by a user).
FIXTURE_ENV = "MEDINTERACT_MEDMNIST_FIXTURES"


@dataclass(frozen=True)
class MedMNISTInfo:
    """What a MedMNIST file holds, as published in MedMNIST's ``INFO`` table.

    Attributes
    ----------
    name : str
        File name without ``.npz``; also the name :func:`medinteract.data.fetch.fetch` knows.
    task : {"binary-class", "multi-class", "multi-label"}
        One class per image, or several 0/1 findings per image.
    class_names : tuple of str
        Names of the classes (of the findings for multi-label files), indexed by label.
    ndim : {2, 3}
        Images or volumes.
    n_channels : int
        1 (grey) or 3 (colour).
    n_samples : (int, int, int)
        Samples in the official train, validation and test splits.
    prevalence : tuple of float
        Approximate fraction of samples with each label (of class 1 for a binary task), in the
        published files; the fixture reproduces it.
    """

    name: str
    task: Literal["binary-class", "multi-class", "multi-label"]
    class_names: tuple[str, ...]
    ndim: int
    n_channels: int
    n_samples: tuple[int, int, int]
    prevalence: tuple[float, ...]


#: The MedMNIST files medinteract can fetch by name.
MEDMNIST: dict[str, MedMNISTInfo] = {info.name: info for info in (
    MedMNISTInfo("pneumoniamnist", "binary-class", ("normal", "pneumonia"), 2, 1,
                 (4708, 524, 624), (0.74,)),
    MedMNISTInfo("breastmnist", "binary-class", ("malignant", "normal or benign"), 2, 1,
                 (546, 78, 156), (0.73,)),
    MedMNISTInfo("chestmnist", "multi-label",
                 ("atelectasis", "cardiomegaly", "effusion", "infiltration", "mass", "nodule",
                  "pneumonia", "pneumothorax", "consolidation", "edema", "emphysema",
                  "fibrosis", "pleural thickening", "hernia"), 2, 1, (78468, 11219, 22433),
                 (0.10, 0.025, 0.12, 0.18, 0.05, 0.056, 0.013, 0.047, 0.042, 0.021, 0.022,
                  0.015, 0.03, 0.002)),
    MedMNISTInfo("nodulemnist3d", "binary-class", ("benign", "malignant"), 3, 1,
                 (1158, 165, 310), (0.25,)),
)}


def _info(name: str) -> MedMNISTInfo:
    if name not in MEDMNIST:
        raise ValueError(f"unknown MedMNIST file {name!r}; choose from {', '.join(MEDMNIST)} "
                         "or load another downloaded file with load_medmnist(path)")
    return MEDMNIST[name]


def fetch_medmnist(name: str, *, progressbar: bool = True):
    """Download a MedMNIST file once (checksum-verified) and load it as a Dataset.

    Parameters
    ----------
    name : str
        One of :data:`MEDMNIST` (``"pneumoniamnist"``, ``"breastmnist"``, ``"chestmnist"``,
        ``"nodulemnist3d"``).
    progressbar : bool, optional
        Show the download's progress bar.

    Returns
    -------
    Dataset
        From :func:`~medinteract.learn.datasets.load_medmnist`, with the class names. Its
        ``source`` names the file, and says ``synthetic fixture`` when
        ``MEDINTERACT_MEDMNIST_FIXTURES`` pointed at a folder of fixtures.

    Raises
    ------
    ValueError
        For an unknown name.
    LoadError
        If the download fails or does not match its checksum, or the fixture folder lacks the
        file.
    """
    from medinteract.learn.datasets import load_medmnist

    info = _info(name)
    fixtures = os.environ.get(FIXTURE_ENV)
    if fixtures:
        path = Path(fixtures) / f"{name}.npz"
        if not path.is_file():
            raise LoadError(path, f"{FIXTURE_ENV} points at {fixtures}, which has no {name} "
                                  "fixture", "write one with write_medmnist_fixture(folder, "
                                  f"{name!r}), or unset {FIXTURE_ENV} to use the real file")
        data = load_medmnist(path, class_names=info.class_names)
        return dataclasses.replace(data, source=f"{name}.npz (synthetic fixture, not real "
                                                "images)")
    from medinteract.data.fetch import fetch

    return load_medmnist(fetch(name, progressbar=progressbar), class_names=info.class_names)


# -- fixtures ---------------------------------------------------------------------------------
def _smooth_field(rng: np.random.Generator, shape: tuple[int, ...], sigma: float) -> np.ndarray:
    from scipy import ndimage

    field = ndimage.gaussian_filter(rng.standard_normal(shape), sigma)
    return field / (field.std() + 1e-9)


def _blob(shape: tuple[int, ...], center: np.ndarray, radius: float) -> np.ndarray:
    grids = np.meshgrid(*[np.arange(n, dtype=np.float32) for n in shape], indexing="ij")
    r2 = sum((g - c) ** 2 for g, c in zip(grids, center))
    return np.exp(-r2 / (2 * radius**2))


def _fixture_images(rng: np.random.Generator, labels: np.ndarray, info: MedMNISTInfo,
                    size: int) -> np.ndarray:
    """uint8 images: a smooth random background, plus a blob in its own place per finding."""
    spatial = (size,) * info.ndim
    n_findings = labels.shape[1]
    # finding j appears around its own spot, away from the border
    spots = rng.uniform(0.3, 0.7, (n_findings, info.ndim)) * size
    images = np.empty((len(labels), *spatial) + ((3,) if info.n_channels == 3 else ()),
                      dtype=np.uint8)
    for i, row in enumerate(labels):
        image = 110 + 25 * _smooth_field(rng, spatial, sigma=size / 8)
        image += 10 * rng.standard_normal(spatial)  # pixel noise
        for j in np.flatnonzero(row):
            center = spots[j] + rng.normal(0, size / 14, info.ndim)
            radius = rng.uniform(size / 10, size / 6)
            image += rng.uniform(80, 120) * _blob(spatial, center, radius)
        grey = np.clip(np.round(image), 0, 255).astype(np.uint8)
        images[i] = grey[..., None] if info.n_channels == 3 else grey
    return images


def _fixture_labels(rng: np.random.Generator, n: int, info: MedMNISTInfo) -> np.ndarray:
    """``(n, 1)`` class indices or ``(n, k)`` findings at the published prevalence (uint8)."""
    if info.task == "multi-label":
        labels = rng.random((n, len(info.class_names))) < np.asarray(info.prevalence)
        return labels.astype(np.uint8)
    if info.task == "binary-class":
        positives = int(round(info.prevalence[0] * n))
        labels = np.r_[np.ones(positives), np.zeros(n - positives)]
        return rng.permutation(labels).astype(np.uint8)[:, None]
    return rng.choice(len(info.class_names), size=n, p=np.asarray(info.prevalence)
                      ).astype(np.uint8)[:, None]


def write_medmnist_fixture(
    folder: str | PathLike[str],
    name: str,
    *,
    n_samples: tuple[int, int, int] | None = None,
    seed: int = 0,
) -> Path:
    """Write a small synthetic stand-in for a MedMNIST file, in the file's exact layout.

    The ``.npz`` has the six arrays of the real file (``train_images``, ``train_labels``,
    ``val_images``, ``val_labels``, ``test_images``, ``test_labels``), with its dtypes
    (``uint8`` images and labels) and shapes (``(n, 28, 28)`` grey images, ``(n, 28, 28, 3)``
    colour, ``(n, 28, 28, 28)`` volumes; labels ``(n, 1)``, or ``(n, k)`` for multi-label
    files), and about the published class balance. Each finding adds a bright blob near its
    own place to a smooth noisy background, so a small CNN learns the fixture in a few epochs.
    Nothing is downloaded.

    Parameters
    ----------
    folder : path-like
        Where to write ``<name>.npz`` (created if needed).
    name : str
        One of :data:`MEDMNIST`.
    n_samples : (int, int, int), optional
        Samples in train, validation and test; by default about a tenth of the real file,
        between 100 and 600 per split.
    seed : int, optional
        Seed of the images and labels.

    Returns
    -------
    Path
        The written file.
    """
    from medinteract._atomic import atomic_path

    info = _info(name)
    counts = (tuple(int(np.clip(n // 10, 100, 600)) for n in info.n_samples)
              if n_samples is None else tuple(n_samples))
    if len(counts) != 3 or min(counts) < 1:
        raise ValueError(f"n_samples must be three positive counts, got {n_samples}")
    rng = np.random.default_rng(seed)
    arrays: dict[str, Any] = {}
    for split, n in zip(("train", "val", "test"), counts):
        labels = _fixture_labels(rng, int(n), info)
        arrays[f"{split}_images"] = _fixture_images(rng, labels, info, size=28)
        arrays[f"{split}_labels"] = labels
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.npz"
    with atomic_path(path) as temporary, open(temporary, "wb") as handle:
        np.savez_compressed(handle, **arrays)
    return path


@contextmanager
def medmnist_fixtures(folder: str | PathLike[str] | None = None) -> Iterator[Path]:
    """Run a block offline: every MedMNIST name served from fixtures instead of the internet.

    Writes :func:`write_medmnist_fixture` for every name in :data:`MEDMNIST` and points
    ``MEDINTERACT_MEDMNIST_FIXTURES`` at them for the ``with`` block, so :func:`fetch_medmnist`
    in this process, and in every kernel or server started inside the block (they inherit the
    environment), reads the fixtures. On exit the variable is restored and a folder this
    function created is removed. When the variable is already set (fixtures made by hand),
    nothing is written and that folder is used as it is.

    Parameters
    ----------
    folder : path-like, optional
        Where to write the fixtures (kept on exit); by default a temporary folder.

    Yields
    ------
    Path
        The folder the fixtures are read from.

    Examples
    --------
    >>> from medinteract.learn import fetch_medmnist, medmnist_fixtures
    >>> with medmnist_fixtures():
    ...     data = fetch_medmnist("pneumoniamnist", progressbar=False)
    >>> "synthetic fixture" in data.source
    True
    """
    existing = os.environ.get(FIXTURE_ENV)
    if existing:
        yield Path(existing)
        return
    created = folder is None
    if folder is None:
        folder = tempfile.mkdtemp(prefix="medinteract-medmnist-")
    target = Path(folder)
    try:
        for name in MEDMNIST:
            write_medmnist_fixture(target, name)
        os.environ[FIXTURE_ENV] = str(target)
        yield target
    finally:
        os.environ.pop(FIXTURE_ENV, None)
        if created:
            shutil.rmtree(target, ignore_errors=True)
