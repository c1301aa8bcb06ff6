"""A synthetic CT-like chest phantom with known ground truth.

The phantom is an axial chest section (a 3-D volume or a single 2-D slice) in Hounsfield units:
air around an elliptical body with a fat layer, two lungs with a faint parenchymal texture and
branching vessels, a spine, a sternum and ribs, the descending aorta, and spherical nodules of
known radius and density placed inside the lungs. Correlated Gaussian noise and a small blur
(partial-volume effect) make it look like a real scan. Everything is seeded, so the same
arguments always give the same phantom.

Label scheme of :attr:`Phantom.labels` (see :data:`LABEL_NAMES`)::

    0 air   1 soft tissue   2 lung   3 bone   4 vessel   5 fat   6 nodule

Nominal densities (before blur and noise) are in :data:`TISSUE_HU`.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import ndimage

from medinteract.scan import Scan
from medinteract.windowing import PRESETS

__all__ = ["Phantom", "phantom", "LABEL_NAMES", "TISSUE_HU", "LUNG_WINDOW", "SYNTHETIC_STUDY_DATE"]

#: Names of the values in :attr:`Phantom.labels`.
LABEL_NAMES: dict[int, str] = {
    0: "air",
    1: "soft tissue",
    2: "lung",
    3: "bone",
    4: "vessel",
    5: "fat",
    6: "nodule",
}

#: Nominal Hounsfield units of each tissue before blur and noise (nodules: see ``nodule_hu``).
TISSUE_HU: dict[str, float] = {
    "air": -1000.0,
    "soft tissue": 40.0,
    "lung": -850.0,
    "bone": 700.0,
    "vessel": 40.0,
    "fat": -100.0,
}

#: The phantom's default display window (lung window: centre -600 HU, width 1500 HU).
LUNG_WINDOW = PRESETS["lung"]
#: StudyDate/SeriesDate/ContentDate of phantom DICOM files: a fixed, obviously synthetic date
#: (not today's), so the same phantom always gives the same bytes.
SYNTHETIC_STUDY_DATE = _dt.date(2000, 1, 1)

_AIR, _SOFT, _LUNG, _BONE, _VESSEL, _FAT, _NODULE = range(7)
_DEFAULT_SPACING = (2.5, 0.75, 0.75)
_LUNG_TEXTURE_HU = 25.0
_MAX_PLACEMENT_TRIES = 400
_VESSEL_BRANCHES = 7


@dataclass(frozen=True, eq=False)
class Phantom:
    """A synthetic scan together with its ground truth.

    Attributes
    ----------
    scan : Scan
        The image in Hounsfield units (modality ``"CT"``, lung window by default).
    labels : ndarray of uint8
        Tissue label of each voxel, same shape as ``scan.array`` (see :data:`LABEL_NAMES`).
    nodules : ndarray of uint16
        ``0`` for background and ``k`` for the voxels of nodule ``k`` (numbered from 1).
    table : DataFrame
        One row per nodule: ``label``; the centre as (fractional) array indices ``centre_z``
        (volumes only), ``centre_y``, ``centre_x``; the centre in patient coordinates
        ``centre_x_mm``, ``centre_y_mm``, ``centre_z_mm`` (LPS); ``radius_mm``; ``hu``;
        ``n_voxels``; and for volumes ``volume_mm3`` (voxel count x voxel volume) and
        ``true_volume_mm3`` (4/3 pi r³), for 2-D slices ``area_mm2`` and ``true_area_mm2``
        (pi r²).
    seed : int
        The seed that generated the phantom.
    """

    scan: Scan
    labels: np.ndarray
    nodules: np.ndarray
    table: pd.DataFrame
    seed: int = 0

    @property
    def label_names(self) -> dict[int, str]:
        """Names of the values in :attr:`labels`."""
        return dict(LABEL_NAMES)

    def mask(self, tissue: str) -> np.ndarray:
        """Boolean mask of one tissue by name (``"lung"``, ``"bone"``, ``"nodule"``, ...)."""
        codes = {name: code for code, name in LABEL_NAMES.items()}
        if tissue not in codes:
            raise ValueError(f"unknown tissue {tissue!r}; choose from {sorted(codes)}")
        return self.labels == codes[tissue]

    def write_dicom(self, folder: str | PathLike[str], **kwargs: Any) -> list[Path]:
        """Write the phantom as a genuine DICOM CT series, one file per slice.

        Parameters
        ----------
        folder : path-like
            The output folder (created; must be absent or empty unless ``overwrite=True``).
        **kwargs
            Passed on to :func:`medinteract.io.write.write_dicom_series`. Unless given,
            ``series_description`` names the phantom, ``uid_seed`` is derived from the
            phantom's pixel values (different phantoms get different UIDs) and
            ``study_date`` is :data:`SYNTHETIC_STUDY_DATE`, so writing the same phantom
            (same seed and parameters) twice gives byte-identical files.

        Returns
        -------
        list of Path
            The files written, in slice order.
        """
        from medinteract.io.write import write_dicom_series

        kwargs.setdefault("series_description", f"medinteract chest phantom (seed {self.seed})")
        digest = hashlib.sha256(self.scan.array.tobytes()).hexdigest()
        kwargs.setdefault("uid_seed", f"medinteract-phantom-{digest}")
        kwargs.setdefault("study_date", SYNTHETIC_STUDY_DATE)
        return write_dicom_series(self.scan, folder, **kwargs)

    def __repr__(self) -> str:
        return f"<Phantom seed={self.seed} {len(self.table)} nodules, {self.scan!r}>"


def phantom(
    *,
    shape: Sequence[int] = (48, 128, 128),
    spacing: Sequence[float] | None = None,
    n_nodules: int = 4,
    nodule_radius_mm: tuple[float, float] | float = (3.0, 8.0),
    nodule_hu: tuple[float, float] | float = (-100.0, 60.0),
    noise_hu: float = 15.0,
    seed: int = 0,
) -> Phantom:
    """Make a CT-like chest phantom with nodules of known size and density.

    Parameters
    ----------
    shape : sequence of 2 or 3 int, optional
        ``(z, y, x)`` for a volume or ``(y, x)`` for a single axial slice.
    spacing : sequence of float, optional
        Millimetres per voxel along each axis; defaults to ``(2.5, 0.75, 0.75)`` (its last two
        values for a 2-D slice).
    n_nodules : int, optional
        How many spherical nodules to place inside the lungs (non-overlapping).
    nodule_radius_mm : float or (low, high), optional
        Nodule radius in mm, or the range each radius is drawn from uniformly.
    nodule_hu : float or (low, high), optional
        Nodule density in HU, or the range each density is drawn from uniformly.
    noise_hu : float, optional
        Standard deviation of the (spatially correlated) Gaussian noise, in HU. 0 gives a
        noise-free image (the small partial-volume blur remains).
    seed : int, optional
        Seed of the :class:`numpy.random.Generator`; the same seed gives the same phantom.

    Returns
    -------
    Phantom
        The scan, its tissue labels, its nodule labels and the nodule table.

    Raises
    ------
    ValueError
        For invalid arguments, or when the nodules do not fit into the lungs.

    Notes
    -----
    A nodule's mask holds the voxels whose centres lie inside its sphere, so its voxel volume
    (``volume_mm3`` in the table) differs from the true sphere volume by discretisation only:
    at the default spacing and radii of 3 mm or more, within 15 % (typically 2 %). The image
    is blurred slightly (partial-volume effect) before the noise is added, so voxels at tissue
    borders take intermediate values, as in a real scan.

    Examples
    --------
    >>> p = phantom(seed=1)
    >>> p.scan.shape, p.scan.modality
    ((48, 128, 128), 'CT')
    >>> len(p.table)
    4
    >>> phantom(shape=(256, 256), n_nodules=2).scan.shape
    (256, 256)
    """
    shape, spacing = _check_geometry(shape, spacing)
    radius_range = _as_range(nodule_radius_mm, "nodule_radius_mm", positive=True)
    hu_range = _as_range(nodule_hu, "nodule_hu", positive=False)
    if int(n_nodules) != n_nodules or n_nodules < 0:
        raise ValueError(f"n_nodules must be a non-negative integer, got {n_nodules}")
    if not (np.isfinite(noise_hu) and noise_hu >= 0):
        raise ValueError(f"noise_hu must be >= 0, got {noise_hu}")

    rng = np.random.default_rng(seed)
    shape3 = (1, *shape) if len(shape) == 2 else shape
    spacing3 = (1.0, *spacing) if len(spacing) == 2 else spacing
    is_slice = len(shape) == 2
    z, y, x = _centred_coordinates(shape3, spacing3, is_slice)

    labels, lung_region = _anatomy(z, y, x, shape3, is_slice, rng)
    nodule_labels, rows = _place_nodules(
        lung_region, z, y, x, spacing3, int(n_nodules), radius_range, hu_range, rng
    )
    labels[nodule_labels > 0] = _NODULE

    clean = _tissue_image(labels, nodule_labels, rows, lung_region, spacing3, rng)
    image = _add_noise(clean, spacing3, noise_hu, rng)

    origin = _origin(shape3, spacing3)
    if is_slice:
        image, labels, nodule_labels = image[0], labels[0], nodule_labels[0]
    scan = Scan(
        image,
        spacing=spacing,
        origin=origin,
        modality="CT",
        window=LUNG_WINDOW,
        name=f"chest phantom (seed {seed})",
    )
    table = _nodule_table(rows, nodule_labels, scan, is_slice)
    return Phantom(scan=scan, labels=labels, nodules=nodule_labels, table=table, seed=int(seed))


# -- argument checks --------------------------------------------------------------------------
def _check_geometry(
    shape: Sequence[int], spacing: Sequence[float] | None
) -> tuple[tuple[int, ...], tuple[float, ...]]:
    shape = tuple(int(n) for n in shape)
    if len(shape) not in (2, 3) or min(shape) < 1 or min(shape[-2:]) < 16:
        raise ValueError(f"shape must be (z, y, x) or (y, x) with y, x >= 16, got {shape}")
    if spacing is None:
        spacing = _DEFAULT_SPACING[-len(shape):]
    spacing = tuple(float(s) for s in spacing)
    if len(spacing) != len(shape) or not all(np.isfinite(s) and s > 0 for s in spacing):
        raise ValueError(f"spacing must be {len(shape)} positive numbers (mm), got {spacing}")
    return shape, spacing


def _as_range(value: tuple[float, float] | float, name: str, positive: bool) -> tuple[float, float]:
    if isinstance(value, (int, float, np.number)):
        low = high = float(value)
    else:
        low, high = (float(v) for v in value)
    if not (np.isfinite(low) and np.isfinite(high)) or low > high or (positive and low <= 0):
        raise ValueError(f"{name} must be a number or a (low, high) range, got {value!r}")
    return low, high


# -- geometry ---------------------------------------------------------------------------------
def _centred_coordinates(
    shape3: tuple[int, ...], spacing3: tuple[float, ...], is_slice: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Open-grid coordinates in mm relative to the volume centre, shaped for broadcasting."""
    axes = [(np.arange(n) - (n - 1) / 2) * s for n, s in zip(shape3, spacing3)]
    if is_slice:
        axes[0] = np.zeros(1)
    z, y, x = np.ix_(*axes)
    return z, y, x


def _origin(shape3: tuple[int, ...], spacing3: tuple[float, ...]) -> tuple[float, float, float]:
    """LPS position of voxel [0, 0, 0]: the volume is centred on the patient origin."""
    half = [-(n - 1) / 2 * s for n, s in zip(shape3, spacing3)]
    return (half[2], half[1], half[0] if shape3[0] > 1 else 0.0)


# -- anatomy ----------------------------------------------------------------------------------
def _ellipse(u: np.ndarray, v: np.ndarray, w: np.ndarray | float = 0.0) -> np.ndarray:
    """True inside the unit ellipsoid of normalised coordinates."""
    return u**2 + v**2 + w**2 <= 1.0


def _anatomy(
    z: np.ndarray,
    y: np.ndarray,
    x: np.ndarray,
    shape3: tuple[int, ...],
    is_slice: bool,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Tissue labels (without nodules) and the lung region nodules may occupy."""
    hx, hy = float(np.abs(x).max()), float(np.abs(y).max())
    hz = float(np.abs(z).max())
    small = min(hx, hy)
    body_a, body_b = 0.92 * hx, 0.72 * hy
    labels = np.zeros(shape3, dtype=np.uint8)

    body = np.broadcast_to(_ellipse(x / body_a, y / body_b), shape3)
    inner = np.broadcast_to(_ellipse(x / (0.9 * body_a), y / (0.9 * body_b)), shape3)
    labels[body] = _FAT
    labels[inner] = _SOFT

    # Lungs: ellipsoids tapering towards the apex and the base.
    wz = 0.0 if is_slice or hz == 0 else z / (0.95 * hz)
    lungs = np.zeros(shape3, dtype=bool)
    hila = []
    for side in (-1.0, 1.0):
        cx = side * 0.42 * hx
        lungs |= _ellipse((x - cx) / (0.3 * hx), (y + 0.05 * hy) / (0.5 * hy), wz)
        hila.append((0.0, -0.02 * hy, side * 0.24 * hx))

    # Mediastinal and skeletal structures (array y grows towards the patient's back).
    aorta = np.broadcast_to((x - 0.1 * hx) ** 2 + (y - 0.3 * hy) ** 2 <= (0.07 * small) ** 2,
                            shape3)
    spine = np.broadcast_to(x**2 + (y - 0.47 * hy) ** 2 <= (0.11 * small) ** 2, shape3)
    sternum = np.broadcast_to(_ellipse(x / (0.07 * hx), (y + 0.6 * hy) / (0.03 * hy)), shape3)
    ribs = _ribs(z, y, x, shape3, hx, hy, small, is_slice)
    bone = spine | sternum | ribs

    lung_region = lungs & ~aorta & ~bone
    labels[lung_region] = _LUNG
    vessels = _lung_vessels(z, y, x, shape3, hila, lungs, hx, hy, hz, is_slice, rng)
    labels[vessels & lung_region] = _VESSEL
    labels[aorta] = _VESSEL
    labels[bone] = _BONE
    return labels, lung_region


def _ribs(
    z: np.ndarray,
    y: np.ndarray,
    x: np.ndarray,
    shape3: tuple[int, ...],
    hx: float,
    hy: float,
    small: float,
    is_slice: bool,
) -> np.ndarray:
    """Rib cross-sections around the chest wall, present in slabs along z."""
    ribs = np.zeros(shape3, dtype=bool)
    radius = 0.035 * small
    period_mm, width_mm = 30.0, 11.0
    for i, angle in enumerate(np.deg2rad([25, 60, 120, 155, -25, -155])):
        cx, cy = 0.79 * hx * np.cos(angle), 0.6 * hy * np.sin(angle)
        disc = (x - cx) ** 2 + (y - cy) ** 2 <= radius**2
        if is_slice:
            present = np.ones_like(z, dtype=bool)
        else:
            phase = (i % 3) * period_mm / 3
            present = np.mod(z + phase, period_mm) < width_mm
        ribs |= disc & present
    return ribs


def _lung_vessels(
    z: np.ndarray,
    y: np.ndarray,
    x: np.ndarray,
    shape3: tuple[int, ...],
    hila: list[tuple[float, float, float]],
    lungs: np.ndarray,
    hx: float,
    hy: float,
    hz: float,
    is_slice: bool,
    rng: np.random.Generator,
) -> np.ndarray:
    """Branching tubes from each hilum towards the lung periphery."""
    vessels = np.zeros(shape3, dtype=bool)
    # A single slice cuts through vessels running in 3-D (as in a real axial image), so it
    # shows short stubs and oval cross-sections rather than whole branches.
    z_reach = 0.75 * (0.5 * (hx + hy) if is_slice else hz)
    for side, hilum in zip((-1.0, 1.0), hila):
        start = np.asarray(hilum)
        for _ in range(_VESSEL_BRANCHES):
            end = np.array([
                rng.uniform(-z_reach, z_reach),
                rng.uniform(-0.45, 0.35) * hy,
                side * rng.uniform(0.3, 0.66) * hx,
            ])
            _draw_tube(vessels, z, y, x, start, end, 1.6)
            for _ in range(2):  # two thinner twigs from along each branch
                mid = start + rng.uniform(0.4, 0.8) * (end - start)
                twig = end + np.array([
                    rng.uniform(-0.3, 0.3) * z_reach,
                    rng.uniform(-0.2, 0.2) * hy,
                    side * rng.uniform(-0.1, 0.1) * hx,
                ])
                _draw_tube(vessels, z, y, x, mid, twig, 1.0)
    return vessels & lungs


def _draw_tube(
    out: np.ndarray,
    z: np.ndarray,
    y: np.ndarray,
    x: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    radius: float,
) -> None:
    """Set the voxels within ``radius`` mm of the segment ``start``-``end`` (in its bbox)."""
    coords = (z.ravel(), y.ravel(), x.ravel())
    box = []
    for axis, c in enumerate(coords):
        lo, hi = min(start[axis], end[axis]) - radius, max(start[axis], end[axis]) + radius
        idx = np.flatnonzero((c >= lo) & (c <= hi))
        if idx.size == 0:
            return
        box.append(slice(idx[0], idx[-1] + 1))
    zz, yy, xx = (c[s] for c, s in zip(coords, box))
    pz, py, px = np.ix_(zz - start[0], yy - start[1], xx - start[2])
    d = end - start
    length2 = float(d @ d) or 1.0
    t = np.clip((pz * d[0] + py * d[1] + px * d[2]) / length2, 0.0, 1.0)
    dist2 = (pz - t * d[0]) ** 2 + (py - t * d[1]) ** 2 + (px - t * d[2]) ** 2
    out[tuple(box)] |= dist2 <= radius**2


# -- nodules ----------------------------------------------------------------------------------
def _place_nodules(
    lung_region: np.ndarray,
    z: np.ndarray,
    y: np.ndarray,
    x: np.ndarray,
    spacing3: tuple[float, ...],
    n_nodules: int,
    radius_range: tuple[float, float],
    hu_range: tuple[float, float],
    rng: np.random.Generator,
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Place non-overlapping spheres entirely inside the lung region."""
    nodules = np.zeros(lung_region.shape, dtype=np.uint16)
    if n_nodules == 0:
        return nodules, []
    radii = rng.uniform(*radius_range, size=n_nodules)
    hus = rng.uniform(*hu_range, size=n_nodules)
    candidates = np.flatnonzero(lung_region)
    if candidates.size == 0:
        raise ValueError("the phantom has no lung to place nodules in; use a larger shape")
    coords = (z.ravel(), y.ravel(), x.ravel())
    placed: list[dict[str, Any]] = []
    # Largest first: they are the hardest to fit.
    for order, k in enumerate(np.argsort(-radii, kind="stable")):
        radius = float(radii[k])
        for _ in range(_MAX_PLACEMENT_TRIES):
            index = np.unravel_index(rng.choice(candidates), lung_region.shape)
            jitter = rng.uniform(-0.5, 0.5, size=3) * np.asarray(spacing3)
            if lung_region.shape[0] == 1:
                jitter[0] = 0.0
            centre = np.array([c[i] for c, i in zip(coords, index)]) + jitter
            if any(np.linalg.norm(centre - p["centre"]) < radius + p["radius"] + 2.0
                   for p in placed):
                continue
            box, sphere = _sphere(centre, radius, coords)
            if sphere is None or not np.all(lung_region[box][sphere]):
                continue
            placed.append({"centre": centre, "radius": radius, "hu": float(hus[k]),
                           "box": box, "sphere": sphere})
            break
        else:
            raise ValueError(
                f"could not fit nodule {order + 1} of {n_nodules} (radius {radius:.1f} mm) into "
                "the lungs; use a larger shape, fewer nodules or a smaller nodule_radius_mm"
            )
    # Number nodules in placement order (largest first).
    for label, p in enumerate(placed, start=1):
        region = nodules[p["box"]]
        region[p["sphere"]] = label
        p["label"] = label
    return nodules, placed


def _sphere(
    centre: np.ndarray, radius: float, coords: tuple[np.ndarray, ...]
) -> tuple[tuple[slice, ...], np.ndarray | None]:
    """Bounding box and mask of the voxels whose centres lie within the sphere."""
    box = []
    for c, axis_coords in zip(centre, coords):
        idx = np.flatnonzero(np.abs(axis_coords - c) <= radius)
        if idx.size == 0:
            return (), None
        box.append(slice(idx[0], idx[-1] + 1))
        if (idx[0] == 0 or idx[-1] == axis_coords.size - 1) and axis_coords.size > 1:
            return (), None  # touches the edge of the volume
    grids = np.ix_(*(a[s] - c for a, s, c in zip(coords, box, centre)))
    inside = grids[0] ** 2 + grids[1] ** 2 + grids[2] ** 2 <= radius**2
    return tuple(box), inside


# -- image ------------------------------------------------------------------------------------
def _tissue_image(
    labels: np.ndarray,
    nodule_labels: np.ndarray,
    rows: list[dict[str, Any]],
    lung_region: np.ndarray,
    spacing3: tuple[float, ...],
    rng: np.random.Generator,
) -> np.ndarray:
    """Noise-free HU image: tissue values, lung texture, nodules, partial-volume blur."""
    lookup = np.zeros(len(LABEL_NAMES), dtype=np.float32)
    for code, name in LABEL_NAMES.items():
        lookup[code] = TISSUE_HU.get(name, 0.0)
    image = lookup[labels]
    for row in rows:
        image[nodule_labels == row["label"]] = row["hu"]
    texture = _correlated_noise(labels.shape, spacing3, 2.0, rng)
    lung = labels == _LUNG
    image[lung] += _LUNG_TEXTURE_HU * texture[lung]
    sigma = [0.0 if n == 1 else min(0.5, 0.4 / s) for n, s in zip(labels.shape, spacing3)]
    return ndimage.gaussian_filter(image, sigma=sigma, mode="nearest")


def _correlated_noise(
    shape: tuple[int, ...], spacing3: tuple[float, ...], sigma_mm: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Gaussian noise blurred by ``sigma_mm`` (in-plane), rescaled to unit standard deviation."""
    noise = rng.standard_normal(shape, dtype=np.float32)
    sigma = [0.0 if n == 1 else sigma_mm / s for n, s in zip(shape, spacing3)]
    sigma[0] = min(sigma[0], 0.5)
    noise = ndimage.gaussian_filter(noise, sigma=sigma, mode="wrap")
    std = float(noise.std())
    return noise / std if std > 0 else noise


def _add_noise(
    image: np.ndarray, spacing3: tuple[float, ...], noise_hu: float, rng: np.random.Generator
) -> np.ndarray:
    """Add slightly correlated Gaussian noise of standard deviation ``noise_hu``."""
    noise = _correlated_noise(image.shape, spacing3, 0.5, rng)
    if noise_hu == 0:
        return image.astype(np.float32)
    return (image + np.float32(noise_hu) * noise).astype(np.float32)


def _nodule_table(
    rows: list[dict[str, Any]], nodule_labels: np.ndarray, scan: Scan, is_slice: bool
) -> pd.DataFrame:
    """One row per nodule with its ground-truth position, size, density and volume."""
    counts = np.bincount(nodule_labels.ravel(), minlength=len(rows) + 1)
    records = []
    for row in rows:
        centre_index = _mm_to_index(row["centre"], scan, is_slice)
        position = scan.index_to_mm(centre_index)
        record: dict[str, Any] = {"label": row["label"]}
        if not is_slice:
            record["centre_z"] = centre_index[0]
        record["centre_y"], record["centre_x"] = centre_index[-2], centre_index[-1]
        record["centre_x_mm"], record["centre_y_mm"], record["centre_z_mm"] = position.tolist()
        record["radius_mm"] = row["radius"]
        record["hu"] = row["hu"]
        n = int(counts[row["label"]])
        record["n_voxels"] = n
        if is_slice:
            record["area_mm2"] = n * scan.voxel_volume
            record["true_area_mm2"] = np.pi * row["radius"] ** 2
        else:
            record["volume_mm3"] = n * scan.voxel_volume
            record["true_volume_mm3"] = 4.0 / 3.0 * np.pi * row["radius"] ** 3
        records.append(record)
    columns = ["label", *(["centre_z"] if not is_slice else []), "centre_y", "centre_x",
               "centre_x_mm", "centre_y_mm", "centre_z_mm", "radius_mm", "hu", "n_voxels",
               *(["area_mm2", "true_area_mm2"] if is_slice else ["volume_mm3",
                                                                  "true_volume_mm3"])]
    table = pd.DataFrame.from_records(records, columns=columns)
    return table.astype({"label": "int64", "n_voxels": "int64"})


def _mm_to_index(centre: np.ndarray, scan: Scan, is_slice: bool) -> tuple[float, ...]:
    """Fractional array index of a point given relative to the volume centre (z, y, x mm)."""
    shape = scan.shape if not is_slice else (1, *scan.shape)
    spacing = scan.spacing if not is_slice else (1.0, *scan.spacing)
    index = [c / s + (n - 1) / 2 for c, s, n in zip(centre, spacing, shape)]
    return tuple(index[1:]) if is_slice else tuple(index)
