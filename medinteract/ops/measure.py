"""Region measurements in physical units: a label image in, a pandas table out.

Column names carry their unit (``area_mm2``, ``volume_mm3``, ``centroid_x_mm``, ``mean_HU``).
Positions in mm are measured from the centre of voxel ``[0, 0, 0]`` along the array axes
(multiply by the scan's direction and add its origin for patient coordinates, as
:meth:`medinteract.scan.Scan.index_to_mm` does).
"""

from __future__ import annotations

import warnings
from typing import Annotated, Any, Sequence

import numpy as np
import pandas as pd
from scipy import ndimage as ndi
from skimage import measure as skmeasure

from medinteract.ops._util import as_image, as_labels
from medinteract.ops.registry import op
from medinteract.params import ImageIn, LabelsIn, Point, Spacing
from medinteract.scan import Scan

__all__ = ["region_table", "region_columns", "select_labels", "line_profile"]

_AXES = {2: ("y", "x"), 3: ("z", "y", "x")}


def _unit_for(image: Any, unit: str | None) -> str:
    if unit:
        return unit
    if isinstance(image, Scan) and image.modality.upper() == "CT":
        return "HU"
    return "intensity"


def region_columns(ndim: int, unit: str | None = "intensity") -> list[str]:
    """The columns :func:`region_table` returns for ``ndim`` spatial dimensions.

    ``unit=None`` leaves out the intensity columns (no image given).

    Examples
    --------
    >>> region_columns(3, "HU")[:4]
    ['label', 'voxel_count', 'volume_mm3', 'equivalent_diameter_mm']
    """
    axes = _AXES[ndim]
    columns = ["label", "pixel_count" if ndim == 2 else "voxel_count",
               "area_mm2" if ndim == 2 else "volume_mm3", "equivalent_diameter_mm"]
    columns += [f"centroid_{a}_mm" for a in axes]
    columns += ["major_axis_mm", "minor_axis_mm"]
    if ndim == 2:
        columns += ["eccentricity", "solidity"]
    columns += ["extent"]
    columns += [f"bbox_{a}_{end}" for end in ("start", "stop") for a in axes]
    if unit is not None:
        columns += [f"{stat}_{unit}" for stat in ("mean", "std", "min", "max")]
    return columns


@op(category="measure", label="Region table")
def region_table(image: ImageIn | None, labels: LabelsIn, *, spacing: Spacing = None,
                 unit: str | None = None) -> pd.DataFrame:
    """One row of physical measurements per labelled region.

    Built on :func:`skimage.measure.regionprops_table` with ``spacing``, so lengths and areas
    are physical even for anisotropic pixels.

    Parameters
    ----------
    image : array_like or Scan or None
        Intensities for the ``mean/std/min/max`` columns, same shape as ``labels``; ``None``
        measures geometry only.
    labels : array_like of int
        2-D or 3-D label image (0 is background); a boolean mask counts as one region.
    spacing : sequence of float, optional
        mm per array axis; taken from ``image`` when it is a Scan; 1 mm per pixel when absent.
    unit : str or None
        Suffix of the intensity columns (``"HU"`` gives ``mean_HU``); ``None``: ``"HU"`` for a
        CT Scan, else ``"intensity"``.

    Returns
    -------
    DataFrame
        Columns (:func:`region_columns`):

        - ``label``; ``pixel_count`` (2-D) or ``voxel_count`` (3-D)
        - ``area_mm2`` (2-D) or ``volume_mm3`` (3-D): count times pixel area / voxel volume
        - ``equivalent_diameter_mm``: diameter of the circle (2-D) or sphere (3-D) with the
          same physical area/volume
        - ``centroid_{z,y,x}_mm``: centre of mass in mm from the centre of voxel ``[0, 0, 0]``
        - ``major_axis_mm``, ``minor_axis_mm``: axis lengths (mm) of the ellipse/ellipsoid with
          the same second moments
        - 2-D only: ``eccentricity`` (0 circle .. 1 line), ``solidity`` (area / convex area)
        - ``extent``: fraction of the bounding box filled
        - ``bbox_{axis}_start``, ``bbox_{axis}_stop``: bounding box, array indices, stop excluded
        - with ``image``: ``mean_<unit>``, ``std_<unit>``, ``min_<unit>``, ``max_<unit>``

    Examples
    --------
    >>> import numpy as np
    >>> lab = np.zeros((10, 10), int); lab[2:4, 2:6] = 1
    >>> t = region_table(None, lab, spacing=(0.5, 0.5))
    >>> t[["label", "pixel_count", "area_mm2", "centroid_y_mm", "centroid_x_mm"]].values.tolist()
    [[1.0, 8.0, 2.0, 1.25, 1.75]]
    """
    scan_spacing = image.spacing if isinstance(image, Scan) and spacing is None else spacing
    lab, spacing = as_labels(labels, scan_spacing)
    ndim = lab.ndim
    intensity = None
    column_unit = None
    if image is not None:
        intensity, _ = as_image(image, spacing)
        if intensity.shape != lab.shape:
            raise ValueError(f"image shape {intensity.shape} differs from labels shape "
                             f"{lab.shape}")
        column_unit = _unit_for(image, unit)
    columns = region_columns(ndim, column_unit)
    if not lab.any():
        return pd.DataFrame({c: pd.Series(dtype=float) for c in columns}).astype(
            {"label": "int32", columns[1]: "int64"})
    props = ["label", "area", "num_pixels", "centroid", "axis_major_length",
             "axis_minor_length", "extent", "bbox"]
    if ndim == 2:
        props += ["eccentricity"]
    raw = skmeasure.regionprops_table(lab, properties=props, spacing=spacing)
    axes = _AXES[ndim]
    size = np.asarray(raw["area"], dtype=float)
    table: dict[str, Any] = {
        "label": np.asarray(raw["label"], dtype=np.int32),
        columns[1]: np.asarray(raw["num_pixels"], dtype=np.int64),
        columns[2]: size,
        "equivalent_diameter_mm": (2 * np.sqrt(size / np.pi) if ndim == 2
                                   else np.cbrt(6 * size / np.pi)),
    }
    for k, a in enumerate(axes):
        table[f"centroid_{a}_mm"] = np.asarray(raw[f"centroid-{k}"], dtype=float)
    table["major_axis_mm"] = np.asarray(raw["axis_major_length"], dtype=float)
    table["minor_axis_mm"] = np.asarray(raw["axis_minor_length"], dtype=float)
    if ndim == 2:
        table["eccentricity"] = np.asarray(raw["eccentricity"], dtype=float)
        table["solidity"] = _solidity(lab, table["label"])
    table["extent"] = np.asarray(raw["extent"], dtype=float)
    for k, a in enumerate(axes):
        table[f"bbox_{a}_start"] = np.asarray(raw[f"bbox-{k}"], dtype=np.int64)
    for k, a in enumerate(axes):
        table[f"bbox_{a}_stop"] = np.asarray(raw[f"bbox-{k + ndim}"], dtype=np.int64)
    if intensity is not None:
        stats = _intensity_stats(lab, intensity, table["label"])
        for stat, values in stats.items():
            table[f"{stat}_{column_unit}"] = values
    return pd.DataFrame(table, columns=columns)


def select_labels(labels: LabelsIn, keep: Sequence[int] | pd.DataFrame) -> np.ndarray:
    """A copy of ``labels`` with only the listed labels left (others become 0).

    Use it to turn a filtered :func:`region_table` back into an image, e.g. the regions larger
    than 100 mm²: ``select_labels(labels, table[table.area_mm2 > 100])``.

    Parameters
    ----------
    labels : array_like of int
        2-D or 3-D label image.
    keep : sequence of int or DataFrame
        The labels to keep, or a table with a ``label`` column.

    Returns
    -------
    ndarray of int32
        Use ``> 0`` for the mask.

    Examples
    --------
    >>> import numpy as np
    >>> select_labels(np.array([[1, 2, 3, 0]]), [1, 3]).tolist()
    [[1, 0, 3, 0]]
    """
    lab, _ = as_labels(labels)
    ids = keep["label"].to_numpy() if isinstance(keep, pd.DataFrame) else np.asarray(keep)
    selected = np.isin(lab, ids.astype(np.int64)) & (lab > 0)
    return np.where(selected, lab, 0).astype(np.int32)


def _solidity(lab: np.ndarray, label_values: np.ndarray) -> np.ndarray:
    """Area over convex-hull area per region (pixel counts, so spacing cancels); NaN when the
    hull is degenerate (a line of pixels)."""
    out = np.full(len(label_values), np.nan)
    regions = {r.label: r for r in skmeasure.regionprops(lab)}
    for i, value in enumerate(label_values):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out[i] = float(regions[int(value)].solidity)
        except Exception:  # scipy's QhullError for collinear pixels
            out[i] = np.nan
    return out


def _intensity_stats(lab: np.ndarray, image: np.ndarray,
                     label_values: np.ndarray) -> dict[str, np.ndarray]:
    # Only labelled voxels matter: scipy's minimum/maximum argsort every value they are given,
    # which for a CT volume with a few small regions was most of a batch's time per scan.
    inside = lab > 0
    values = image[inside].astype(np.float64)
    lab = lab[inside]
    index = label_values.astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):  # scipy divides for unused labels too
        return {"mean": np.asarray(ndi.mean(values, lab, index), dtype=float),
                "std": np.asarray(ndi.standard_deviation(values, lab, index), dtype=float),
                "min": np.asarray(ndi.minimum(values, lab, index), dtype=float),
                "max": np.asarray(ndi.maximum(values, lab, index), dtype=float)}


@op(category="measure", label="Line profile")
def line_profile(image: ImageIn, *, spacing: Spacing = None,
                 start: Annotated[tuple[float, ...] | None, Point()] = None,
                 end: Annotated[tuple[float, ...] | None, Point()] = None,
                 ) -> pd.DataFrame:
    """Intensity along a straight line, sampled about once per pixel (linear interpolation).

    Parameters
    ----------
    image : array_like or Scan
        2-D or 3-D image.
    spacing : sequence of float, optional
        mm per array axis, for the ``distance_mm`` column.
    start, end : tuple of float or None
        End points in array-index order; ``None``: a horizontal line through the centre row
        (of the centre slice for a volume), from the first column to the last.

    Returns
    -------
    DataFrame
        ``distance_mm`` from ``start`` and ``value`` in the image's units.

    Examples
    --------
    >>> import numpy as np
    >>> ramp = np.tile(np.arange(5.0), (5, 1))
    >>> line_profile(ramp, spacing=(1, 2), start=(2, 0), end=(2, 4)).values.tolist()
    [[0.0, 0.0], [2.0, 1.0], [4.0, 2.0], [6.0, 3.0], [8.0, 4.0]]
    """
    array, spacing = as_image(image, spacing)
    centre = [n // 2 for n in array.shape]
    p0 = np.asarray(start if start is not None else centre[:-1] + [0], dtype=float)
    p1 = np.asarray(end if end is not None else centre[:-1] + [array.shape[-1] - 1],
                    dtype=float)
    if p0.shape != (array.ndim,) or p1.shape != (array.ndim,):
        raise ValueError(f"start and end need {array.ndim} indices each, got {start}, {end}")
    n = int(np.ceil(np.max(np.abs(p1 - p0)))) + 1
    t = np.linspace(0.0, 1.0, n)
    coords = p0[:, None] + (p1 - p0)[:, None] * t[None, :]
    values = ndi.map_coordinates(array.astype(np.float64), coords, order=1, mode="nearest")
    length = float(np.sqrt(np.sum(((p1 - p0) * np.asarray(spacing)) ** 2)))
    return pd.DataFrame({"distance_mm": t * length, "value": values})
