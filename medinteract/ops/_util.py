"""Shared helpers of the ops: input checks, spacing, physical footprints, per-slice work."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from medinteract.scan import Scan

__all__ = ["as_image", "as_mask", "as_labels", "spacing_for", "ellipsoid_footprint",
           "mm_to_pixels", "per_slice", "rescale_unit", "center_index"]


def _unwrap(image: Any) -> tuple[np.ndarray, tuple[float, ...] | None]:
    if isinstance(image, Scan):
        if image.is_rgb:
            raise ValueError(f"{image!r} is a colour image; ops work on grey values: convert it "
                             "first, e.g. with skimage.color.rgb2gray")
        return image.array, image.spacing
    return np.asarray(image), None


def _check_ndim(array: np.ndarray, what: str) -> None:
    if array.ndim not in (2, 3):
        raise ValueError(f"{what} must be 2-D (y, x) or 3-D (z, y, x), got shape {array.shape}; "
                         "colour images: convert to grey first")
    if array.size == 0:
        raise ValueError(f"{what} is empty (shape {array.shape})")


def spacing_for(ndim: int, spacing: Sequence[float] | None,
                scan_spacing: Sequence[float] | None = None) -> tuple[float, ...]:
    """Validated spacing in mm per array axis; ``None`` means the scan's spacing, else 1 mm.

    >>> spacing_for(2, None)
    (1.0, 1.0)
    >>> spacing_for(3, [2.5, 0.7, 0.7])
    (2.5, 0.7, 0.7)
    """
    if spacing is None:
        spacing = scan_spacing if scan_spacing is not None else (1.0,) * ndim
    values = tuple(float(s) for s in np.ravel(np.asarray(spacing, dtype=float)))
    if len(values) == 1 and ndim > 1:
        values = values * ndim
    if len(values) != ndim or not all(np.isfinite(v) and v > 0 for v in values):
        raise ValueError(f"spacing must be {ndim} positive numbers (mm per array axis), "
                         f"got {spacing}")
    return values


def as_image(image: Any, spacing: Sequence[float] | None = None,
             ) -> tuple[np.ndarray, tuple[float, ...]]:
    """A float32 view or copy of an image (array or Scan) and its spacing.

    The caller must never write into the returned array (it may be the caller's own data).
    """
    array, scan_spacing = _unwrap(image)
    _check_ndim(array, "image")
    exact = array.dtype == np.bool_ or np.issubdtype(array.dtype, np.integer)
    # A float64 sum of float32 values cannot overflow, so it is finite exactly when every value
    # is: one streaming pass, no volume-sized temporary. Integers are always finite. Values
    # beyond float32 become infinite in the cast and are refused (the error says so, not a
    # RuntimeWarning).
    with np.errstate(over="ignore", invalid="ignore"):
        if array.dtype != np.float32:
            array = array.astype(np.float32)
        if not exact and not np.isfinite(array.sum(dtype=np.float64)):
            raise ValueError("image contains NaN or infinite values")
    return array, spacing_for(array.ndim, spacing, scan_spacing)


def as_mask(mask: Any, spacing: Sequence[float] | None = None,
            ) -> tuple[np.ndarray, tuple[float, ...]]:
    """A bool copy of a mask (non-zero is foreground) and its spacing."""
    array, scan_spacing = _unwrap(mask)
    _check_ndim(array, "mask")
    return array.astype(bool, copy=True), spacing_for(array.ndim, spacing, scan_spacing)


def as_labels(labels: Any, spacing: Sequence[float] | None = None,
              ) -> tuple[np.ndarray, tuple[float, ...]]:
    """An int32 copy of a label image and its spacing."""
    array, scan_spacing = _unwrap(labels)
    _check_ndim(array, "label image")
    if array.dtype == np.bool_:
        array = array.astype(np.int32)
    if not np.issubdtype(array.dtype, np.integer):
        if not np.all(np.mod(array, 1) == 0):
            raise ValueError(f"a label image holds integers, got {array.dtype} with fractions")
    if array.size and array.min() < 0:
        raise ValueError("a label image cannot hold negative labels")
    return array.astype(np.int32, copy=True), spacing_for(array.ndim, spacing, scan_spacing)


def mm_to_pixels(length_mm: float, spacing: Sequence[float]) -> tuple[float, ...]:
    """A physical length as a number of pixels along each axis.

    >>> mm_to_pixels(2.0, (2.5, 0.5, 0.5))
    (0.8, 4.0, 4.0)
    """
    return tuple(float(length_mm) / s for s in spacing)


def ellipsoid_footprint(radius_mm: float, spacing: Sequence[float]) -> np.ndarray:
    """Boolean footprint of a ball of ``radius_mm`` on a grid with ``spacing`` (an ellipse in
    pixels when the spacing is anisotropic). A radius below the spacing gives one pixel along
    that axis.

    >>> ellipsoid_footprint(1.0, (1.0, 1.0)).astype(int)
    array([[0, 1, 0],
           [1, 1, 1],
           [0, 1, 0]])
    """
    if radius_mm < 0:
        raise ValueError(f"radius must be >= 0 mm, got {radius_mm}")
    half = [int(np.floor(radius_mm / s + 1e-9)) for s in spacing]
    grids = np.ogrid[tuple(slice(-h, h + 1) for h in half)]
    dist2 = sum((g * s) ** 2 for g, s in zip(grids, spacing))
    return np.asarray(dist2 <= radius_mm ** 2 + 1e-9)


def per_slice(func: Callable[[np.ndarray], np.ndarray], array: np.ndarray,
              dtype: Any = None) -> np.ndarray:
    """Apply a 2-D function to a 2-D array, or to each slice ``array[k]`` of a volume."""
    if array.ndim == 2:
        out = func(array)
        return out if dtype is None else out.astype(dtype, copy=False)
    slices = [func(s) for s in array]
    return np.stack(slices).astype(dtype or slices[0].dtype, copy=False)


def rescale_unit(array: np.ndarray) -> tuple[np.ndarray, float, float]:
    """``(array - low) / (high - low)`` in float64, with ``low``, ``high`` the min and max
    (a constant image maps to 0)."""
    low, high = float(array.min()), float(array.max())
    span = high - low
    if span == 0:
        return np.zeros(array.shape), low, 1.0
    return (array.astype(np.float64) - low) / span, low, span


def center_index(shape: Sequence[int]) -> tuple[int, ...]:
    """The index of the central pixel."""
    return tuple(n // 2 for n in shape)
