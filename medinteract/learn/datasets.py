"""Labelled datasets for training: phantom patches, MedMNIST files, augmentation.

Everything here returns a :class:`Dataset`: train/validation/test arrays ready for
``model.fit`` plus, for every sample, the patient it came from and a row of metadata.

Network input normalisation
---------------------------
CT values are Hounsfield units (air -1000, lung about -850, water 0, soft tissue 20-80,
bone +400 and more). A network wants inputs of order one, so :func:`hu_to_unit` clips to a
display window and scales it linearly to ``[0, 1]``::

    x = (clip(hu, window.low, window.high) - window.low) / window.width

The default :data:`LUNG_WINDOW` (centre -600 HU, width 1500 HU, i.e. -1350..150 HU) keeps the
whole range from air to soft tissue, where lung nodules live, and saturates bone. The same
window must be used for training and for prediction; it is recorded in
:attr:`Dataset.window`.

Splits
------
Patches of one patient (one phantom instance, i.e. one ``seed``) are correlated: the same
anatomy, the same nodule seen on neighbouring slices. Splitting by patch would put near-copies
of a test patch in the training set and flatter the model. :func:`split_by_patient` therefore
assigns whole patients to train, validation or test, stratified by each patient's fraction of
positive samples, reproducibly from a seed.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from os import PathLike
from typing import TYPE_CHECKING, Literal, Sequence

import numpy as np
import pandas as pd

from medinteract.errors import LoadError
from medinteract.scan import Window
from medinteract.windowing import PRESETS, apply_window

if TYPE_CHECKING:  # pragma: no cover
    import keras

__all__ = [
    "Dataset",
    "LUNG_WINDOW",
    "SPLITS",
    "hu_to_unit",
    "unit_to_hu",
    "split_by_patient",
    "phantom_patches",
    "denoising_pairs",
    "load_medmnist",
    "augmentation",
]

#: The window mapped to ``[0, 1]`` by default: the lung preset (centre -600 HU, width 1500 HU).
LUNG_WINDOW = PRESETS["lung"]
#: Split names, in order.
SPLITS = ("train", "val", "test")
#: The arrays of a MedMNIST ``.npz`` file.
MEDMNIST_KEYS = tuple(f"{s}_{k}" for s in SPLITS for k in ("images", "labels"))


def hu_to_unit(hu: np.ndarray, window: Window | tuple[float, float] = LUNG_WINDOW) -> np.ndarray:
    """Clip Hounsfield units to a window and scale it to ``[0, 1]`` (float32).

    Parameters
    ----------
    hu : ndarray
        Values in Hounsfield units (any shape).
    window : Window or (center, width), optional
        The window mapped to ``[0, 1]``; values below are 0, above are 1.

    Returns
    -------
    ndarray of float32, same shape

    Examples
    --------
    >>> hu_to_unit(np.array([-2000.0, -1350.0, -600.0, 150.0, 1000.0])).tolist()
    [0.0, 0.0, 0.5, 1.0, 1.0]
    """
    return apply_window(hu, window, dtype=np.float32)


def unit_to_hu(x: np.ndarray, window: Window | tuple[float, float] = LUNG_WINDOW) -> np.ndarray:
    """Inverse of :func:`hu_to_unit` (inside the window; clipped values stay clipped)."""
    window = Window(*window)
    return (np.asarray(x, dtype=np.float32) * np.float32(window.width)
            + np.float32(window.low))


@dataclass(frozen=True, eq=False, repr=False)
class Dataset:
    """Train, validation and test samples with their patients and metadata.

    Attributes
    ----------
    x_train, x_val, x_test : ndarray of float32
        Images ``(n, height, width, channels)`` (or ``(n, depth, height, width, channels)``
        for 3-D patches and volumes), scaled to ``[0, 1]``.
    y_train, y_val, y_test : ndarray
        Class indices ``(n,)`` for classification, masks ``(n, height, width, 1)`` (uint8) for
        segmentation, or ``(n, k)`` 0/1 labels for multi-label MedMNIST files.
    patients_train, patients_val, patients_test : ndarray of int
        The patient each sample comes from (the phantom seed; for MedMNIST, which has no
        patient identifiers, a running number per image).
    metadata : DataFrame
        One row per sample with at least the columns ``split``, ``index`` (position within
        its split), ``patient`` and ``label``; phantom patches add where they were cut from.
    class_names : tuple of str
        Names of the classes, indexed by label.
    task : {"classification", "segmentation", "multilabel", "denoising"}
    window : Window or None
        The HU window that was mapped to ``[0, 1]`` (None for non-CT sources).
    source : str
        Where the samples come from (for the repr).
    masks_train, masks_val, masks_test : ndarray of uint8 or None
        Ground-truth nodule masks ``(n, height, width, 1)`` of every sample when known (phantom
        patches, also for classification: useful to check where a classifier looks).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    patients_train: np.ndarray
    patients_val: np.ndarray
    patients_test: np.ndarray
    metadata: pd.DataFrame
    class_names: tuple[str, ...] = ("normal", "nodule")
    task: Literal["classification", "segmentation", "multilabel", "denoising"] = "classification"
    window: Window | None = LUNG_WINDOW
    source: str = ""
    masks_train: np.ndarray | None = None
    masks_val: np.ndarray | None = None
    masks_test: np.ndarray | None = None

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """``(x, y)`` of one split: ``"train"``, ``"val"`` or ``"test"``."""
        if name not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {name!r}")
        return getattr(self, f"x_{name}"), getattr(self, f"y_{name}")

    def masks(self, name: str) -> np.ndarray | None:
        """Ground-truth masks of one split (None when the source has none)."""
        if name not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {name!r}")
        return getattr(self, f"masks_{name}")

    def patients(self, name: str) -> np.ndarray:
        """Patient id of every sample of one split."""
        if name not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {name!r}")
        return getattr(self, f"patients_{name}")

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one sample, for a model's input."""
        return tuple(self.x_train.shape[1:])

    @property
    def n_classes(self) -> int:
        """Number of classes."""
        return len(self.class_names)

    def summary(self) -> pd.DataFrame:
        """Samples, patients and samples per class (or per finding, multi-label) in each split."""
        rows = []
        for name in SPLITS:
            x, y = self.split(name)
            row: dict[str, object] = {"split": name, "samples": len(x),
                                      "patients": len(np.unique(self.patients(name)))}
            if self.task == "classification":
                counts = np.bincount(np.asarray(y, dtype=int), minlength=self.n_classes)
                row.update({c: int(n) for c, n in zip(self.class_names, counts)})
            elif self.task == "multilabel":
                counts = np.asarray(y).reshape(len(y), -1).sum(0)
                row.update({c: int(n) for c, n in zip(self.class_names, counts)})
            elif self.task == "segmentation":
                row["with_foreground"] = int(np.count_nonzero(y.reshape(len(y), -1).any(1)))
            rows.append(row)
        return pd.DataFrame(rows).set_index("split")

    def __repr__(self) -> str:
        shape = "x".join(str(n) for n in self.input_shape)
        counts = ", ".join(f"{n} {len(self.split(n)[0])}" for n in SPLITS)
        src = f" from {self.source}" if self.source else ""
        return f"<Dataset {self.task}{src}: {shape} samples; {counts}>"


# -- splitting --------------------------------------------------------------------------------
def split_by_patient(
    patients: Sequence[int] | np.ndarray,
    labels: Sequence[int] | np.ndarray,
    fractions: tuple[float, float, float] = (0.6, 0.2, 0.2),
    *,
    seed: int = 0,
) -> np.ndarray:
    """Assign every sample to ``"train"``, ``"val"`` or ``"test"`` by patient.

    All samples of a patient land in the same split. Patients are stratified by their fraction
    of positive samples (label > 0): they are ranked by it and dealt out in that order, each
    to the split furthest below its running target share, so every split sees a similar class
    balance. Every split with a non-zero fraction gets at least one patient
    when there are at least three patients.

    Parameters
    ----------
    patients : sequence of int
        Patient id of every sample.
    labels : sequence of int
        Class of every sample (only ``label > 0`` matters for stratification).
    fractions : (float, float, float), optional
        Target fraction of *patients* in train, validation and test; normalised to sum to 1.
    seed : int, optional
        Seed of the shuffling; the same inputs and seed give the same split.

    Returns
    -------
    ndarray of str
        The split name of every sample.
    """
    patients = np.asarray(patients)
    labels = np.asarray(labels)
    if patients.shape[0] != labels.shape[0]:
        raise ValueError("patients and labels must have one entry per sample")
    frac = np.asarray(fractions, dtype=float)
    if frac.shape != (3,) or (frac < 0).any() or frac.sum() <= 0:
        raise ValueError(f"fractions must be three non-negative numbers, got {fractions}")
    frac = frac / frac.sum()
    ids, inverse = np.unique(patients, return_inverse=True)
    positive = np.bincount(inverse, weights=(labels.reshape(len(labels), -1).max(1) > 0))
    share = positive / np.bincount(inverse)
    rng = np.random.default_rng(seed)
    # Rank patients by positive share (random tie-break), then deal them out in that order:
    # after r patients, split k should hold frac[k] * r of them; the next patient goes to the
    # split furthest below that running share (ties broken at random). Each stretch of
    # similar patients is thus shared among the splits in proportion to ``fractions``.
    order = np.lexsort((rng.random(len(ids)), share))
    n = len(ids)
    counts = np.zeros(3)
    patient_split = np.empty(n, dtype=int)
    for r, p in enumerate(order, start=1):
        deficit = frac * r - counts + 1e-9 * rng.random(3)
        deficit[frac == 0] = -np.inf
        k = int(np.argmax(deficit))
        patient_split[p] = k
        counts[k] += 1
    if n >= 3:  # every split with a non-zero fraction gets at least one patient
        for empty in np.flatnonzero((frac > 0) & (counts == 0)):
            donor = int(np.argmax(counts))
            moved = order[patient_split[order] == donor][-1]
            patient_split[moved] = int(empty)
            counts[donor] -= 1
            counts[empty] += 1
    return np.asarray(SPLITS, dtype=object)[patient_split[inverse]].astype(str)


def _assemble(
    x: np.ndarray,
    y: np.ndarray,
    metadata: pd.DataFrame,
    split: np.ndarray,
    *,
    masks: np.ndarray | None = None,
    seed: int,
    **kwargs: object,
) -> Dataset:
    """Cut stacked samples into a :class:`Dataset`, each split shuffled reproducibly."""
    rng = np.random.default_rng(seed)
    parts: dict[str, object] = {}
    frames = []
    for name in SPLITS:
        idx = np.flatnonzero(split == name)
        idx = idx[rng.permutation(len(idx))]
        parts[f"x_{name}"] = x[idx]
        parts[f"y_{name}"] = y[idx]
        if masks is not None:
            parts[f"masks_{name}"] = masks[idx]
        parts[f"patients_{name}"] = metadata["patient"].to_numpy()[idx]
        frame = metadata.iloc[idx].copy()
        frame.insert(0, "index", np.arange(len(idx)))
        frame.insert(0, "split", name)
        frames.append(frame)
    meta = pd.concat(frames, ignore_index=True)
    return Dataset(**parts, metadata=meta, **kwargs)  # type: ignore[arg-type]


# -- phantom patches --------------------------------------------------------------------------
def _patch_slices(center: Sequence[int], size: Sequence[int], shape: Sequence[int]):
    """Slices of a patch of ``size`` around ``center``, shifted to stay inside ``shape``."""
    out = []
    for c, s, n in zip(center, size, shape):
        start = int(np.clip(int(c) - s // 2, 0, n - s))
        out.append(slice(start, start + s))
    return tuple(out)


def _patient_patches(
    seed: int,
    *,
    patch_size: tuple[int, ...],
    volume_shape: tuple[int, ...],
    spacing: tuple[float, ...],
    n_nodules: int,
    nodule_radius_mm: tuple[float, float],
    nodule_hu: tuple[float, float],
    noise_hu: float,
    patches_per_nodule: int,
    negative_ratio: float,
    jitter: float,
    window: Window,
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Positive and negative patches of one phantom patient: images, masks, metadata."""
    from medinteract.data import phantom as make_phantom

    ph = make_phantom(shape=volume_shape, spacing=spacing, n_nodules=n_nodules, seed=seed,
                      nodule_radius_mm=nodule_radius_mm, nodule_hu=nodule_hu, noise_hu=noise_hu)
    hu = np.asarray(ph.scan.array, dtype=np.float32)
    nodules = np.asarray(ph.nodules)
    tissue = np.asarray(ph.labels)
    if hu.shape[0] < (patch_size[0] if len(patch_size) == 3 else 1) or any(
            s > n for s, n in zip(patch_size[-2:], hu.shape[1:])):
        raise ValueError(f"patch_size {patch_size} does not fit the volume {hu.shape}")
    rng = np.random.default_rng([seed, 7919])
    full = (patch_size if len(patch_size) == 3 else (1, *patch_size))
    rows: list[dict] = []
    centers: list[tuple[int, ...]] = []
    # Positives: slices through each nodule near its widest cross-section, centre jittered.
    from scipy import ndimage

    objects = ndimage.find_objects(nodules)
    table = getattr(ph, "table", None)
    for label, obj in enumerate(objects, start=1):
        if obj is None:
            continue
        sub = nodules[obj] == label
        areas = sub.reshape(sub.shape[0], -1).sum(1)
        good = np.flatnonzero(areas >= 0.5 * areas.max())
        for _ in range(patches_per_nodule):
            dz = int(rng.choice(good))
            z = obj[0].start + dz
            yy, xx = np.nonzero(sub[dz])
            cy = obj[1].start + yy.mean()
            cx = obj[2].start + xx.mean()
            shift = rng.uniform(-jitter, jitter, 2) * np.asarray(patch_size[-2:])
            centers.append((z, int(round(cy + shift[0])), int(round(cx + shift[1]))))
            rows.append({"label": 1, "nodule": label})
    n_pos = len(centers)
    # Negatives: patches without a single nodule voxel, centred where a nodule could be
    # confused: half on lung parenchyma, a quarter on vessels or bone (bright structures of
    # nodule-like size), a quarter anywhere in the body.
    n_neg = int(round(negative_ratio * max(n_pos, 1)))
    pools = [np.flatnonzero(ph.mask("lung")), np.flatnonzero(_dense_mask(ph)),
             np.flatnonzero(tissue > 0)]
    kinds = ["lung", "dense", "body"]
    tries = neg = 0
    while neg < n_neg and tries < 50 * n_neg + 100:
        tries += 1
        kind = (0, 1, 0, 2)[neg % 4]
        if not len(pools[kind]):
            kind = 2
        center = tuple(int(c) for c in np.unravel_index(int(rng.choice(pools[kind])), hu.shape))
        sl = _patch_slices(center, full, hu.shape)
        if nodules[sl].any():
            continue
        centers.append(center)
        rows.append({"label": 0, "nodule": 0, "near_dense": kinds[kind] == "dense"})
        neg += 1
    xs, ms = [], []
    for center, row in zip(centers, rows):
        sl = _patch_slices(center, full, hu.shape)
        squeeze = (lambda a: a) if len(patch_size) == 3 else (lambda a: a[0])  # noqa: E731
        xs.append(squeeze(hu[sl]))
        ms.append(squeeze(nodules[sl]) > 0)
        row.update(patient=seed, z=sl[0].start + full[0] // 2, y=sl[1].start + full[1] // 2,
                   x=sl[2].start + full[2] // 2)
        row.setdefault("near_dense", False)
    meta = pd.DataFrame(rows)
    if table is not None and len(meta) and "nodule" in meta:
        meta = _join_nodule_table(meta, table)
    if not xs:
        return (np.zeros((0, *patch_size, 1), np.float32), np.zeros((0, *patch_size, 1), np.uint8),
                meta)
    x = hu_to_unit(np.stack(xs), window)[..., None]
    masks = np.stack(ms).astype(np.uint8)[..., None]
    return x, masks, meta


def _dense_mask(ph) -> np.ndarray:
    """Voxels of vessels or bone: dense structures a nodule detector could confuse."""
    names = getattr(ph, "label_names", None) or getattr(ph, "tissues", None)
    tissue = np.asarray(ph.labels)
    if isinstance(names, dict):
        wanted = [k for k, v in names.items()
                  if any(w in str(v).lower() for w in ("vessel", "bone", "rib", "spine"))]
        if wanted:
            return np.isin(tissue, wanted)
    return np.zeros(tissue.shape, dtype=bool)


def _join_nodule_table(meta: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """Add the phantom's per-nodule columns (size, contrast...) to the patch rows."""
    key = next((c for c in ("label", "nodule", "id") if c in table.columns), None)
    if key is None:
        return meta
    extra = table.rename(columns={key: "nodule"})
    keep = [c for c in extra.columns if c == "nodule" or c not in meta.columns]
    return meta.merge(extra[keep], on="nodule", how="left")


def phantom_patches(
    n_patients: int = 24,
    *,
    task: Literal["classification", "segmentation"] = "classification",
    patch_size: tuple[int, ...] = (64, 64),
    volume_shape: tuple[int, int, int] = (24, 192, 192),
    spacing: tuple[float, float, float] = (3.0, 1.2, 1.2),
    n_nodules: int = 6,
    nodule_radius_mm: tuple[float, float] = (2.5, 8.0),
    nodule_hu: tuple[float, float] = (-650.0, 60.0),
    noise_hu: float = 25.0,
    patches_per_nodule: int = 6,
    negative_ratio: float = 1.0,
    jitter: float = 0.2,
    fractions: tuple[float, float, float] = (0.6, 0.2, 0.2),
    window: Window | tuple[float, float] = LUNG_WINDOW,
    seed: int = 0,
) -> Dataset:
    """Patches cut from synthetic CT phantoms, one phantom per patient, split by patient.

    Patient ``i`` is ``medinteract.data.phantom(..., seed=seed + i)``. For classification each
    nodule gives ``patches_per_nodule`` positive patches (slices near its widest
    cross-section, centre jittered so the nodule is not always in the middle) and the same
    number times ``negative_ratio`` of negatives are drawn from the body, half of them next to
    vessels or bone where the phantom labels them, with no nodule voxel anywhere in the patch.
    For segmentation the same patches come with the nodule mask as target.

    Parameters
    ----------
    n_patients : int, optional
        Number of phantom instances; at least 3 (one per split).
    task : {"classification", "segmentation"}, optional
        Targets: class index (0 normal, 1 nodule) or nodule mask.
    patch_size : (h, w) or (d, h, w), optional
        2-D patches (axial) or 3-D blocks, in voxels.
    volume_shape, spacing : optional
        Size (z, y, x) and voxel size (mm) of each phantom.
    n_nodules : int, optional
        Nodules per phantom.
    nodule_radius_mm, nodule_hu : (low, high), optional
        Ranges of nodule radius and density. The defaults include small (2.5 mm) and faint
        (ground-glass, -650 HU against lung at -850 HU) nodules, so a good model scores high
        but not perfectly.
    noise_hu : float, optional
        Standard deviation of the phantom's image noise in HU.
    patches_per_nodule, negative_ratio, jitter : optional
        Positives per nodule, negatives per positive, and the largest shift of a positive
        patch's centre from the nodule as a fraction of the patch size.
    fractions : (float, float, float), optional
        Fractions of *patients* in train, validation and test.
    window : Window or (center, width), optional
        HU window mapped to ``[0, 1]`` (see :func:`hu_to_unit`).
    seed : int, optional
        Seed of the first patient, of the patch sampling and of the split.

    Returns
    -------
    Dataset
        ``x`` float32 in ``[0, 1]`` with a channel axis; metadata columns ``patient``,
        ``label``, ``nodule`` (its id in the phantom, 0 for negatives), ``near_dense``,
        ``z``, ``y``, ``x`` (patch centre in the volume) and the phantom's nodule table
        columns (``radius_mm``, ``hu``, ...). ``masks_*`` hold every patch's nodule mask, also
        for classification (to check where a classifier looks).
    """
    if n_patients < 3:
        raise ValueError(f"n_patients must be at least 3 (one per split), got {n_patients}")
    if task not in ("classification", "segmentation"):
        raise ValueError(f"task must be 'classification' or 'segmentation', got {task!r}")
    patch_size = tuple(int(s) for s in patch_size)
    if len(patch_size) not in (2, 3):
        raise ValueError(f"patch_size must be (h, w) or (d, h, w), got {patch_size}")
    window = Window(*window)
    xs, ms, metas = [], [], []
    for i in range(n_patients):
        x, masks, meta = _patient_patches(
            seed + i, patch_size=patch_size, volume_shape=tuple(volume_shape),
            spacing=tuple(spacing), n_nodules=n_nodules, nodule_radius_mm=nodule_radius_mm,
            nodule_hu=nodule_hu, noise_hu=noise_hu,
            patches_per_nodule=patches_per_nodule, negative_ratio=negative_ratio,
            jitter=jitter, window=window)
        xs.append(x)
        ms.append(masks)
        metas.append(meta)
    x = np.concatenate(xs)
    masks = np.concatenate(ms)
    meta = pd.concat(metas, ignore_index=True)
    y = masks if task == "segmentation" else meta["label"].to_numpy(dtype=np.int64)
    split = split_by_patient(meta["patient"].to_numpy(), meta["label"].to_numpy(), fractions,
                             seed=seed)
    return _assemble(x, y, meta, split, masks=masks, seed=seed, class_names=("normal", "nodule"),
                     task=task,
                     window=window, source=f"phantom x{n_patients}")


def denoising_pairs(
    n_patients: int = 12,
    *,
    patch_size: tuple[int, int] = (64, 64),
    patches_per_slice: int = 4,
    slices_per_patient: int = 6,
    volume_shape: tuple[int, int, int] = (24, 192, 192),
    spacing: tuple[float, float, float] = (3.0, 1.2, 1.2),
    noise_hu: float = 60.0,
    fractions: tuple[float, float, float] = (0.6, 0.2, 0.2),
    window: Window | tuple[float, float] = LUNG_WINDOW,
    seed: int = 0,
) -> Dataset:
    """Noisy/clean patch pairs from phantom slices, for a denoising autoencoder.

    The same phantom is generated twice from one seed, with ``noise_hu`` and without noise:
    the anatomy is identical, so the noise-free image is the exact target. Patches are cut
    from random axial slices, within the body. Patients are split as in
    :func:`phantom_patches`, so held-out slices come from unseen phantoms.

    Returns
    -------
    Dataset
        ``task="denoising"``; ``x`` noisy and ``y`` clean, both float32 ``(n, h, w, 1)`` in
        ``[0, 1]`` (the HU window is :attr:`Dataset.window`).
    """
    from medinteract.data import phantom as make_phantom

    if n_patients < 3:
        raise ValueError(f"n_patients must be at least 3 (one per split), got {n_patients}")
    window = Window(*window)
    size = tuple(int(v) for v in patch_size)
    xs, ys, rows = [], [], []
    for i in range(n_patients):
        noisy = make_phantom(shape=volume_shape, spacing=spacing, seed=seed + i,
                             noise_hu=noise_hu)
        clean = make_phantom(shape=volume_shape, spacing=spacing, seed=seed + i,
                             noise_hu=0.0).scan.array
        rng = np.random.default_rng([seed + i, 104729])
        body = noisy.labels > 0
        zs = rng.choice(clean.shape[0], size=min(slices_per_patient, clean.shape[0]),
                        replace=False)
        for z in np.sort(zs):
            inside = np.argwhere(body[z])
            for _ in range(patches_per_slice):
                cy, cx = inside[rng.integers(len(inside))]
                sl = _patch_slices((cy, cx), size, clean.shape[1:])
                xs.append(noisy.scan.array[z][sl])
                ys.append(clean[z][sl])
                rows.append({"patient": seed + i, "label": 0, "z": int(z),
                             "y": sl[0].start + size[0] // 2, "x": sl[1].start + size[1] // 2})
    meta = pd.DataFrame(rows)
    x = hu_to_unit(np.stack(xs), window)[..., None]
    y = hu_to_unit(np.stack(ys), window)[..., None]
    split = split_by_patient(meta["patient"].to_numpy(), meta["label"].to_numpy(), fractions,
                             seed=seed)
    return _assemble(x, y, meta, split, seed=seed, class_names=(), task="denoising",
                     window=window, source=f"phantom x{n_patients}, noise {noise_hu:g} HU")


# -- MedMNIST ---------------------------------------------------------------------------------
def load_medmnist(
    path: str | PathLike[str],
    *,
    class_names: Sequence[str] | None = None,
) -> Dataset:
    """Load a MedMNIST ``.npz`` file (e.g. ``pneumoniamnist.npz``) as a :class:`Dataset`.

    The file holds ``train_images``, ``train_labels``, ``val_images``, ``val_labels``,
    ``test_images`` and ``test_labels``; images are ``uint8`` ``(n, h, w)`` (grey 2-D),
    ``(n, h, w, 3)`` (colour 2-D) or ``(n, d, h, w)`` (grey 3-D volumes, as in
    ``nodulemnist3d.npz``: a 4-D array whose last axis is not 1 or 3 holds volumes, not
    ``w``-channel images); labels ``(n, 1)`` class indices or ``(n, k)`` multi-label 0/1
    findings. The official splits are kept. Images are scaled to ``[0, 1]`` float32 with a
    channel axis: ``(n, h, w, c)`` or ``(n, d, h, w, 1)``.

    Parameters
    ----------
    path : path-like
        The ``.npz`` file (nothing is fetched here; :func:`medinteract.learn.fetch_medmnist`
        downloads MedMNIST files by name).
    class_names : sequence of str, optional
        Names of the classes (MedMNIST's ``INFO`` dictionary has them); default ``"0"``,
        ``"1"``, ...

    Returns
    -------
    Dataset
        MedMNIST has no patient identifiers, so every image gets its own running patient
        number (the official splits are already made by patient).

    Raises
    ------
    LoadError
        If the file is missing, not an ``.npz`` archive, lacks one of the six arrays, or
        has images and labels of different lengths.
    """
    hint = ("a MedMNIST file has the arrays " + ", ".join(MEDMNIST_KEYS))
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in MEDMNIST_KEYS if k not in npz.files]
            if missing:
                raise LoadError(path, f"missing array(s) {', '.join(missing)}", hint)
            arrays = {k: npz[k] for k in MEDMNIST_KEYS}
    except FileNotFoundError:
        raise LoadError(path, "no such file") from None
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        if isinstance(exc, LoadError):
            raise
        raise LoadError(path, f"not a readable .npz archive ({exc})", hint) from None
    xs, ys, metas = [], [], []
    next_patient = 0
    multilabel = False
    for name in SPLITS:
        images, labels = arrays[f"{name}_images"], arrays[f"{name}_labels"]
        if len(images) != len(labels):
            raise LoadError(path, f"{name}_images has {len(images)} images but "
                                  f"{name}_labels has {len(labels)} labels")
        if images.ndim not in (3, 4, 5):
            raise LoadError(path, f"{name}_images has shape {images.shape}; expected "
                                  "(n, h, w), (n, h, w, channels) or (n, d, h, w) volumes")
        x = images.astype(np.float32)
        if images.dtype == np.uint8 or x.max(initial=0) > 1:
            x /= 255.0
        if x.ndim == 3 or (x.ndim == 4 and x.shape[-1] not in (1, 3)):
            x = x[..., None]  # grey images (n, h, w) or grey volumes (n, d, h, w)
        labels = np.asarray(labels)
        if labels.ndim == 2 and labels.shape[1] > 1:
            multilabel = True
            y = labels.astype(np.int64)
            first = y.max(1)
        else:
            y = labels.reshape(len(labels)).astype(np.int64)
            first = y
        patients = np.arange(next_patient, next_patient + len(x))
        next_patient += len(x)
        xs.append(x)
        ys.append(y)
        metas.append(pd.DataFrame({"split": name, "index": np.arange(len(x)),
                                   "patient": patients, "label": first}))
    shapes = {x.shape[1:] for x in xs}
    if len(shapes) != 1:
        raise LoadError(path, f"the splits have different image shapes {sorted(shapes)}")
    if class_names is None:
        n = ys[0].shape[1] if multilabel else int(max(int(y.max(initial=0)) for y in ys)) + 1
        class_names = tuple(str(i) for i in range(n))
    return Dataset(
        x_train=xs[0], y_train=ys[0], x_val=xs[1], y_val=ys[1], x_test=xs[2], y_test=ys[2],
        patients_train=metas[0]["patient"].to_numpy(), patients_val=metas[1]["patient"].to_numpy(),
        patients_test=metas[2]["patient"].to_numpy(),
        metadata=pd.concat(metas, ignore_index=True), class_names=tuple(class_names),
        task="multilabel" if multilabel else "classification", window=None,
        source=str(getattr(path, "name", path)).rsplit("/", 1)[-1])


# -- augmentation -----------------------------------------------------------------------------
def augmentation(
    *,
    flip: Literal["horizontal", "vertical", "horizontal_and_vertical"] | None = "horizontal",
    rotation: float = 0.05,
    zoom: float = 0.0,
    translation: float = 0.0,
    contrast: float = 0.1,
    noise: float = 0.0,
    seed: int | None = None,
) -> keras.Sequential:
    """Random training-time augmentation as Keras preprocessing layers.

    The layers are active only in training (``model.fit``); at prediction time they pass the
    image through unchanged. Put the result first in a model
    (``small_cnn(augmentation=augmentation())``) or map it over a ``tf.data`` pipeline.
    Defaults are mild on purpose: a left-right flip is anatomically plausible for a patch,
    large rotations of a CT slice are not.

    Parameters
    ----------
    flip : {"horizontal", "vertical", "horizontal_and_vertical"} or None, optional
        Random flips (``None``: none).
    rotation : float, optional
        Largest rotation as a fraction of a full turn (0.05 = 18 degrees); 0 for none.
    zoom, translation : float, optional
        Largest zoom / shift as a fraction of the image size; 0 for none.
    contrast : float, optional
        Largest contrast change factor (for inputs in ``[0, 1]``); 0 for none.
    noise : float, optional
        Standard deviation of added Gaussian noise (in ``[0, 1]`` units); 0 for none.
    seed : int, optional
        Seed of the random transformations.

    Returns
    -------
    keras.Sequential
    """
    import keras
    from keras import layers

    steps: list = []
    if flip:
        steps.append(layers.RandomFlip(flip, seed=seed, name="flip"))
    if rotation:
        steps.append(layers.RandomRotation(rotation, fill_mode="reflect", seed=seed,
                                           name="rotation"))
    if zoom:
        steps.append(layers.RandomZoom(zoom, fill_mode="reflect", seed=seed, name="zoom"))
    if translation:
        steps.append(layers.RandomTranslation(translation, translation, fill_mode="reflect",
                                              seed=seed, name="translation"))
    if contrast:
        steps.append(layers.RandomContrast(contrast, value_range=(0, 1), seed=seed,
                                           name="contrast"))
    if noise:
        steps.append(layers.GaussianNoise(noise, seed=seed, name="noise"))
    return keras.Sequential(steps, name="augmentation")
