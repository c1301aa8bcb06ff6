"""Segmentation: thresholds in physical units, automatic thresholds, edges, region growing,
watershed.

Masks are ``bool``, label images ``int32`` (0 is background), edge strengths ``float32``.
"""

from __future__ import annotations

from typing import Annotated, Callable, Literal

import numpy as np
from scipy import ndimage as ndi
from skimage import feature, filters, segmentation

from medinteract.ops._util import (as_image, as_labels, as_mask, center_index,
                                   ellipsoid_footprint, mm_to_pixels, per_slice)
from medinteract.ops.registry import op
from medinteract.params import (Choice, FromImage, Image, ImageIn, Labels, LabelsIn, Mask,
                                MaskIn, Range, Seed, Spacing)

__all__ = ["threshold", "auto_threshold_value", "threshold_auto", "multi_otsu",
           "multi_otsu_values", "sobel", "canny", "region_grow", "watershed"]

AutoMethod = Literal["otsu", "li", "yen", "triangle", "isodata", "mean"]
_AUTO: dict[str, Callable[[np.ndarray], float]] = {
    "otsu": filters.threshold_otsu, "li": filters.threshold_li,
    "yen": filters.threshold_yen, "triangle": filters.threshold_triangle,
    "isodata": filters.threshold_isodata, "mean": filters.threshold_mean}


@op(category="segment", label="Threshold")
def threshold(image: ImageIn, *, spacing: Spacing = None,
              low: Annotated[float | None, FromImage("values")] = None,
              high: Annotated[float | None, FromImage("values")] = None) -> Mask:
    """Mask of the pixels with ``low <= value <= high``, in the image's units (HU for CT).

    Parameters
    ----------
    image : array_like or Scan
        2-D or 3-D image.
    spacing : sequence of float, optional
        Unused (thresholds are in intensity units).
    low : float or None
        Lowest value kept, inclusive; ``None``: no lower bound.
    high : float or None
        Highest value kept, inclusive; ``None``: no upper bound.

    Returns
    -------
    ndarray of bool

    Examples
    --------
    >>> import numpy as np
    >>> threshold(np.array([[-800.0, -400.0, 50.0, 900.0]]), low=-500, high=100).tolist()
    [[False, True, True, False]]
    """
    array, _ = as_image(image, spacing)
    mask = np.ones(array.shape, dtype=bool)
    if low is not None:
        mask &= array >= low
    if high is not None:
        mask &= array <= high
    return mask


def auto_threshold_value(image: ImageIn, *, spacing: Spacing = None,
                         method: Annotated[AutoMethod, Choice(*_AUTO)] = "otsu") -> float:
    """The threshold an automatic method picks, in the image's units.

    Parameters
    ----------
    image : array_like or Scan
        2-D or 3-D image (one histogram over the whole volume).
    spacing : sequence of float, optional
        Unused.
    method : {"otsu", "li", "yen", "triangle", "isodata", "mean"}
        The :mod:`skimage.filters` ``threshold_*`` function to use.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> img = np.r_[np.zeros(50), np.full(50, 100.0)].reshape(10, 10)
    >>> 0 <= auto_threshold_value(img, method="otsu") < 100
    True
    """
    array, _ = as_image(image, spacing)
    if method not in _AUTO:
        raise ValueError(f"method must be one of {sorted(_AUTO)}, got {method!r}")
    if array.min() == array.max():
        return float(array.min())
    return float(_AUTO[method](array))


@op(category="segment", label="Automatic threshold")
def threshold_auto(image: ImageIn, *, spacing: Spacing = None,
                   method: Annotated[AutoMethod, Choice(*_AUTO)] = "otsu") -> Mask:
    """Mask of the pixels brighter than an automatic threshold (:func:`auto_threshold_value`).

    Parameters
    ----------
    image : array_like or Scan
        2-D or 3-D image.
    spacing : sequence of float, optional
        Unused.
    method : {"otsu", "li", "yen", "triangle", "isodata", "mean"}
        Thresholding method; the value itself is :func:`auto_threshold_value`.

    Returns
    -------
    ndarray of bool
        ``image > value`` (the scikit-image convention).

    Examples
    --------
    >>> import numpy as np
    >>> img = np.r_[np.zeros(50), np.full(50, 100.0)].reshape(10, 10)
    >>> int(threshold_auto(img).sum())
    50
    """
    array, _ = as_image(image, spacing)
    return array > auto_threshold_value(array, method=method)


def multi_otsu_values(image: ImageIn, *, spacing: Spacing = None,
                      classes: Annotated[int, Range(2, 5, step=1)] = 3) -> list[float]:
    """The ``classes - 1`` thresholds of multi-Otsu, ascending, in the image's units.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.repeat([0.0, 50.0, 100.0], 30).reshape(9, 10)
    >>> [0 <= t <= 50 or 50 <= t <= 100 for t in multi_otsu_values(img)]
    [True, True]
    """
    array, _ = as_image(image, spacing)
    if not 2 <= classes <= 5:
        raise ValueError(f"classes must be 2..5, got {classes}")
    try:
        values = filters.threshold_multiotsu(array, classes=int(classes))
    except ValueError:
        raise ValueError(f"multi-Otsu cannot split this image into {classes} classes: it has "
                         "too few distinct values") from None
    return [float(t) for t in values]


@op(category="segment", label="Multi-Otsu")
def multi_otsu(image: ImageIn, *, spacing: Spacing = None,
               classes: Annotated[int, Range(2, 5, step=1)] = 3) -> Labels:
    """Split the intensities into ``classes`` classes with multi-level Otsu.

    Parameters
    ----------
    image : array_like or Scan
        2-D or 3-D image (one histogram over the whole volume).
    spacing : sequence of float, optional
        Unused.
    classes : int
        Number of classes.

    Returns
    -------
    ndarray of int32
        Class index 0 (darkest) .. ``classes - 1`` (brightest); the thresholds are
        :func:`multi_otsu_values`.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.repeat([0.0, 50.0, 100.0], 30).reshape(9, 10)
    >>> np.unique(multi_otsu(img, classes=3)).tolist()
    [0, 1, 2]
    """
    array, _ = as_image(image, spacing)
    values = multi_otsu_values(array, classes=classes)
    return np.digitize(array, bins=values).astype(np.int32)


@op(category="segment", label="Sobel edges")
def sobel(image: ImageIn, *, spacing: Spacing = None) -> Image:
    """Gradient magnitude by Sobel derivatives, in image units per mm.

    Each axis' Sobel response is normalised to a central-difference derivative and divided by
    that axis' spacing, so an anisotropic volume gets a physically correct gradient.

    Parameters
    ----------
    image : array_like or Scan
        2-D or 3-D image.
    spacing : sequence of float, optional
        mm per array axis (1 mm per pixel when absent).

    Returns
    -------
    ndarray of float32
        ``|grad image|`` in units per mm (HU/mm for CT).

    Examples
    --------
    >>> import numpy as np
    >>> ramp = np.tile(np.arange(8.0) * 3, (8, 1))        # 3 units per pixel along x
    >>> float(sobel(ramp, spacing=(1.0, 0.5))[4, 4])       # 0.5 mm pixels: 6 units/mm
    6.0
    """
    array, spacing = as_image(image, spacing)
    data = array.astype(np.float64)
    norm = 2.0 * 4.0 ** (array.ndim - 1)  # [-1, 0, 1] times [1, 2, 1] smoothing per other axis
    squares = sum((ndi.sobel(data, axis=k, mode="nearest") / (norm * s)) ** 2
                  for k, s in enumerate(spacing))
    return np.sqrt(squares).astype(np.float32)


@op(category="segment", label="Canny edges")
def canny(image: ImageIn, *, spacing: Spacing = None,
          sigma: Annotated[float, Range(0.0, 10.0, step=0.1, unit="mm")] = 1.0,
          low_threshold: Annotated[float, Range(0.0, 1.0, step=0.01)] = 0.8,
          high_threshold: Annotated[float, Range(0.0, 1.0, step=0.01)] = 0.9) -> Mask:
    """Canny edges (:func:`skimage.feature.canny`) with hysteresis thresholds as quantiles.

    The image is smoothed by a Gaussian of ``sigma`` mm (per-axis pixels from ``spacing``),
    then each 2-D slice goes through Canny: scikit-image's Canny is 2-D only, so a volume gets
    edges per slice ``image[k]`` (no edges across slices).

    Parameters
    ----------
    image : array_like or Scan
        2-D or 3-D image.
    spacing : sequence of float, optional
        mm per array axis (1 mm per pixel when absent).
    sigma : float
        Gaussian smoothing in mm before edge detection.
    low_threshold : float
        Quantile (0-1) of the slice's gradient magnitude below which nothing is an edge.
    high_threshold : float
        Quantile (0-1) above which a pixel is a strong edge; weaker ones (above
        ``low_threshold``) are kept only when connected to a strong edge. Must be >=
        ``low_threshold``.

    Returns
    -------
    ndarray of bool

    Examples
    --------
    >>> import numpy as np
    >>> img = np.zeros((32, 32)); img[8:24, 8:24] = 1
    >>> edges = canny(img, sigma=1)
    >>> bool(edges[16, 7] or edges[16, 8]) and not edges[16, 16]
    True
    """
    array, spacing = as_image(image, spacing)
    if not 0 <= low_threshold <= high_threshold <= 1:
        raise ValueError("thresholds must satisfy 0 <= low <= high <= 1 (quantiles), got "
                         f"{low_threshold}, {high_threshold}")
    if sigma < 0:
        raise ValueError(f"sigma must be >= 0 mm, got {sigma}")
    smooth = ndi.gaussian_filter(array.astype(np.float64), mm_to_pixels(sigma, spacing),
                                 mode="nearest")

    def edges_2d(plane: np.ndarray) -> np.ndarray:
        return feature.canny(plane, sigma=0.0, low_threshold=low_threshold,
                             high_threshold=high_threshold, use_quantiles=True)

    return per_slice(edges_2d, smooth, dtype=bool)


@op(category="segment", label="Region growing")
def region_grow(image: ImageIn, *, spacing: Spacing = None, seed: Seed = None,
                tolerance: Annotated[float, FromImage("spread")] = 0.0) -> Mask:
    """Flood fill from a seed: the connected pixels within ``tolerance`` of the seed's value.

    Uses :func:`skimage.segmentation.flood` (face connectivity), in 2-D or 3-D.

    Parameters
    ----------
    image : array_like or Scan
        2-D or 3-D image.
    spacing : sequence of float, optional
        Unused.
    seed : tuple of int or None
        Start position in array-index order ((y, x) or (z, y, x)); ``None`` uses the centre.
    tolerance : float
        Largest accepted ``|value - seed value|``, in the image's units (HU for CT).

    Returns
    -------
    ndarray of bool
        The grown region (always contains the seed).

    Examples
    --------
    >>> import numpy as np
    >>> img = np.zeros((9, 9)); img[2:7, 2:7] = 100; img[4, 4] = 103
    >>> int(region_grow(img, seed=(4, 4), tolerance=5).sum())
    25
    """
    array, _ = as_image(image, spacing)
    point = center_index(array.shape) if seed is None else tuple(int(v) for v in seed)
    if len(point) != array.ndim or not all(0 <= p < n for p, n in zip(point, array.shape)):
        raise ValueError(f"seed {seed} is not an index inside an image of shape {array.shape}")
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}")
    return segmentation.flood(array.astype(np.float64), point, connectivity=1,
                              tolerance=float(tolerance)).astype(bool)


def _spaced_peaks(peaks: np.ndarray, heights: np.ndarray, spacing: tuple[float, ...],
                  min_distance: float) -> np.ndarray:
    """Keep the highest peaks first, dropping any closer than ``min_distance`` mm to a kept one
    (equal maxima and plateaus included)."""
    order = np.lexsort((*peaks.T[::-1], -heights))  # highest first, ties in index order
    positions = peaks[order] * np.asarray(spacing)
    kept: list[int] = []
    for i in range(len(order)):
        if not kept or np.min(np.sqrt(((positions[kept] - positions[i]) ** 2).sum(axis=1))) \
                >= min_distance:
            kept.append(i)
    return peaks[order][kept]


@op(category="segment", label="Watershed")
def watershed(mask: MaskIn, *, spacing: Spacing = None,
              min_distance: Annotated[float, Range(0.5, 50.0, step=0.5, unit="mm")] = 5.0,
              markers: LabelsIn | None = None,
              image: ImageIn | None = None) -> Labels:
    """Split touching objects of a mask with a marker-based watershed.

    Without ``markers``, each object gets one marker per local maximum of its distance
    transform (in mm, from ``spacing``), keeping the highest first and dropping any maximum
    closer than ``min_distance`` mm to a kept one (so a plateau or two equal maxima close
    together give one marker). The flooded relief is the
    negated distance transform, or the gradient magnitude (:func:`sobel`) of ``image`` when
    given.

    Parameters
    ----------
    mask : array_like
        2-D or 3-D boolean mask of the objects to split.
    spacing : sequence of float, optional
        mm per array axis (1 mm per pixel when absent).
    min_distance : float
        Smallest distance in mm between two object centres (ignored with ``markers``).
    markers : array_like of int or None
        Seed labels (0 = none), e.g. clicked by the user; ``None``: from the distance transform.
    image : array_like or None
        Intensity image whose edges guide the split; ``None``: the mask's shape alone.

    Returns
    -------
    ndarray of int32
        One label per object, 0 outside the mask.

    Examples
    --------
    >>> import numpy as np
    >>> yy, xx = np.mgrid[:40, :60]
    >>> two = ((yy - 20) ** 2 + (xx - 18) ** 2 < 144) | ((yy - 20) ** 2 + (xx - 40) ** 2 < 144)
    >>> int(watershed(two, min_distance=8).max())
    2
    """
    array, spacing = as_mask(mask, spacing)
    if min_distance <= 0:
        raise ValueError(f"min_distance must be > 0 mm, got {min_distance}")
    distance = ndi.distance_transform_edt(array, sampling=spacing)
    if markers is None:
        footprint = ellipsoid_footprint(float(min_distance), spacing)
        objects, _ = ndi.label(array)
        peaks = feature.peak_local_max(distance, footprint=footprint, labels=objects,
                                       exclude_border=False)
        peaks = _spaced_peaks(peaks, distance[tuple(peaks.T)], spacing, float(min_distance))
        seeds = np.zeros(array.shape, dtype=np.int32)
        seeds[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    else:
        seeds, _ = as_labels(markers)
        if seeds.shape != array.shape:
            raise ValueError(f"markers shape {seeds.shape} differs from mask shape {array.shape}")
    if image is None:
        relief = -distance
    else:
        relief = sobel(image, spacing=spacing)
        if relief.shape != array.shape:
            raise ValueError(f"image shape {relief.shape} differs from mask shape {array.shape}")
    return segmentation.watershed(relief, markers=seeds, mask=array).astype(np.int32)
