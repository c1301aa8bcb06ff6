"""Preprocessing: isotropic resampling, cropping, rotation/flip, intensity normalisation.

Intensity ops (:func:`resample_isotropic`, :func:`normalize`, :func:`clip_hu`) return
``float32``. Geometry ops (:func:`crop`, :func:`rotate90`, :func:`flip`) keep the input's dtype
so they apply unchanged to masks and label images. Inputs are never modified.

The ops that move voxels to another grid declare where their output lies with a companion
function of the same name ending in ``_geometry`` (:func:`resample_isotropic_geometry`,
:func:`crop_geometry`, :func:`flip_geometry`, :func:`rotate90_geometry`): given the input's
:class:`~medinteract.scan.Geometry` and the op's parameters, the output's shape, spacing,
origin and direction. Pipelines use them to hand the new geometry to the steps that follow.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any, Literal, Sequence

import numpy as np
from scipy import ndimage as ndi

from medinteract.ops._util import as_image, spacing_for
from medinteract.ops.registry import op
from medinteract.params import Box, Choice, Image, ImageIn, Range, Spacing
from medinteract.scan import Geometry, Scan

__all__ = ["resample_isotropic", "resampled_spacing", "crop", "rotate90", "flip", "normalize",
           "clip_hu", "resample_isotropic_geometry", "crop_geometry", "flip_geometry",
           "rotate90_geometry"]


def _raw(image: Any) -> np.ndarray:
    """The array of an image, mask or label image, any dtype (geometry ops keep it)."""
    if isinstance(image, Scan):
        as_image(image)  # the same checks as every op (e.g. colour images)
        return image.array
    array = np.asarray(image)
    if array.ndim not in (2, 3):
        raise ValueError(f"image must be 2-D (y, x) or 3-D (z, y, x), got shape {array.shape}")
    return array


def _target_shape(shape: Sequence[int], spacing: Sequence[float],
                  new_spacing: float | None) -> tuple[int, ...]:
    target = min(spacing) if new_spacing is None else float(new_spacing)
    if target <= 0:
        raise ValueError(f"new_spacing must be > 0 mm, got {new_spacing}")
    return tuple(max(1, int(round(n * s / target))) for n, s in zip(shape, spacing))


def resampled_spacing(shape: Sequence[int], spacing: Sequence[float],
                      new_spacing: float | None = None) -> tuple[float, ...]:
    """The exact spacing :func:`resample_isotropic` produces (the field of view is kept, so the
    spacing is ``extent / new_shape``, within rounding of ``new_spacing``).

    Examples
    --------
    >>> resampled_spacing((10, 100, 100), (2.5, 0.5, 0.5))
    (0.5, 0.5, 0.5)
    """
    spacing = spacing_for(len(shape), spacing)
    new_shape = _target_shape(shape, spacing, new_spacing)
    return tuple(n * s / m for n, s, m in zip(shape, spacing, new_shape))


def resample_isotropic_geometry(geometry: Geometry, *, new_spacing: float | None = None,
                                ) -> Geometry:
    """Where :func:`resample_isotropic` puts its output voxels.

    The field of view is kept: the outer edges of the first and last voxels stay where they
    were, so the first voxel's centre moves by half the difference of the spacings.

    Examples
    --------
    >>> g = resample_isotropic_geometry(Geometry((4, 10, 10), spacing=(2.5, 1.0, 1.0)))
    >>> g
    <Geometry 10x10x10, spacing (1, 1, 1) mm, origin (0, 0, -0.75) mm>
    """
    new_shape = _target_shape(geometry.shape, geometry.spacing, new_spacing)
    spacing = tuple(n * s / m for n, s, m in zip(geometry.shape, geometry.spacing, new_shape))
    shift = (np.asarray(spacing) - np.asarray(geometry.spacing)) / 2
    origin = np.asarray(geometry.origin) + shift @ geometry.direction
    return replace(geometry, shape=new_shape, spacing=spacing, origin=tuple(origin))


@op(category="preprocess", label="Resample to isotropic", geometry=resample_isotropic_geometry)
def resample_isotropic(image: ImageIn, *, spacing: Spacing = None,
                       new_spacing: Annotated[float | None,
                                              Range(0.1, 5.0, step=0.1, unit="mm")] = None,
                       order: Annotated[int, Range(0, 5, step=1)] = 1) -> Image:
    """Resample to the same spacing along every axis (:func:`scipy.ndimage.zoom`).

    The field of view is kept: the new shape is ``round(shape * spacing / new_spacing)`` and
    the exact new spacing is :func:`resampled_spacing`; :func:`resample_isotropic_geometry`
    gives the whole new geometry (a pipeline passes it on to the steps that follow).

    Parameters
    ----------
    image : array_like or Scan
        2-D or 3-D image.
    spacing : sequence of float, optional
        mm per array axis of the input.
    new_spacing : float or None
        Target spacing in mm; ``None`` uses the finest input spacing (no detail is lost).
    order : int
        Spline interpolation order: 0 nearest (for masks/labels), 1 linear, 3 cubic.

    Returns
    -------
    ndarray of float32

    Examples
    --------
    >>> import numpy as np
    >>> vol = np.zeros((4, 10, 10))
    >>> resample_isotropic(vol, spacing=(2.5, 1.0, 1.0)).shape
    (10, 10, 10)
    """
    array, spacing = as_image(image, spacing)
    if not 0 <= order <= 5:
        raise ValueError(f"order must be 0..5, got {order}")
    new_shape = _target_shape(array.shape, spacing, new_spacing)
    zoom = [m / n for m, n in zip(new_shape, array.shape)]
    out = ndi.zoom(array, zoom, order=int(order), mode="nearest", grid_mode=True)
    return out.astype(np.float32, copy=False)


def _crop_slices(shape: Sequence[int], region: Any) -> tuple[slice, ...]:
    if len(region) != len(shape):
        raise ValueError(f"region needs one (start, stop) pair per axis ({len(shape)}), "
                         f"got {region}")
    slices = tuple(slice(*pair) for pair in region)
    if any(len(range(*s.indices(n))) == 0 for s, n in zip(slices, shape)):
        raise ValueError(f"region {region} is empty for an array of shape {tuple(shape)}")
    return slices


def crop_geometry(geometry: Geometry, *, region: Box = None) -> Geometry:
    """Where :func:`crop` puts its output voxels: the box's first voxel becomes the origin.

    Examples
    --------
    >>> crop_geometry(Geometry((10, 20, 30), spacing=(2.0, 0.5, 0.5)),
    ...               region=((2, 6), (None, None), (-10, None)))
    <Geometry 4x20x10, spacing (2, 0.5, 0.5) mm, origin (10, 0, 4) mm>
    """
    if region is None:
        return geometry
    slices = _crop_slices(geometry.shape, region)
    ranges = [range(*s.indices(n)) for s, n in zip(slices, geometry.shape)]
    start = geometry.index_to_mm([r.start for r in ranges])
    return replace(geometry, shape=tuple(len(r) for r in ranges), origin=tuple(start))


@op(category="preprocess", label="Crop", geometry=crop_geometry)
def crop(image: ImageIn, *, spacing: Spacing = None, region: Box = None) -> np.ndarray:
    """Cut out a box; the dtype is kept.

    Parameters
    ----------
    image : array_like or Scan
        2-D or 3-D array (image, mask or labels).
    spacing : sequence of float, optional
        Unused (the spacing of the crop is the input's; :func:`crop_geometry` gives the
        crop's geometry).
    region : tuple of (start, stop) pairs or None
        One pair per array axis, in index units, Python slice convention (``stop`` excluded;
        ``None`` in a pair means the start/end). ``None`` returns a copy of the whole array.

    Returns
    -------
    ndarray
        A copy, same dtype.

    Examples
    --------
    >>> import numpy as np
    >>> crop(np.arange(16).reshape(4, 4), region=((1, 3), (0, 2))).tolist()
    [[4, 5], [8, 9]]
    """
    array = _raw(image)
    if region is None:
        return array.copy()
    return array[_crop_slices(array.shape, region)].copy()


_PLANES = {"axial": (-2, -1), "coronal": (0, 2), "sagittal": (0, 1)}
_AXES = {"x": -1, "y": -2, "z": -3}


def _flipped(geometry: Geometry, axis: int) -> Geometry:
    """The geometry of ``numpy.flip(array, axis)``: the last voxel becomes the first and the
    axis points the other way."""
    last = [0] * geometry.ndim
    last[axis] = geometry.shape[axis] - 1
    direction = np.array(geometry.direction)
    direction[axis] = 0.0 - direction[axis]  # (0.0 - 0.0 is 0.0, not -0.0)
    return replace(geometry, origin=tuple(geometry.index_to_mm(last)), direction=direction)


def _swapped(geometry: Geometry, a: int, b: int) -> Geometry:
    """The geometry of ``numpy.swapaxes(array, a, b)``."""
    order = list(range(geometry.ndim))
    order[a], order[b] = order[b], order[a]
    return replace(geometry, shape=tuple(geometry.shape[k] for k in order),
                   spacing=tuple(geometry.spacing[k] for k in order),
                   direction=geometry.direction[order])


def flip_geometry(geometry: Geometry, *, axis: Literal["x", "y", "z"] = "x") -> Geometry:
    """Where :func:`flip` puts its output voxels: the last voxel along ``axis`` becomes the
    first, and that axis points the other way.

    Examples
    --------
    >>> g = flip_geometry(Geometry((4, 5), spacing=(0.5, 2.0)), axis="x")
    >>> g.origin, g.direction.tolist()
    ((8.0, 0.0, 0.0), [[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]])
    """
    if axis == "z" and geometry.ndim == 2:
        raise ValueError("a 2-D image has no z axis to flip")
    return _flipped(geometry, geometry.ndim + _AXES[axis])


def rotate90_geometry(geometry: Geometry, *, k: int = 1,
                      plane: Literal["axial", "coronal", "sagittal"] = "axial") -> Geometry:
    """Where :func:`rotate90` puts its output voxels (the axes of the plane swap and one of
    them points the other way, as in :func:`numpy.rot90`).

    Examples
    --------
    >>> g = rotate90_geometry(Geometry((4, 6), spacing=(1.0, 0.5)), k=1)
    >>> g.shape, g.spacing, g.origin
    ((6, 4), (0.5, 1.0), (2.5, 0.0, 0.0))
    """
    if geometry.ndim == 2 and plane != "axial":
        raise ValueError(f"a 2-D image can only be rotated in the 'axial' plane, not {plane!r}")
    a, b = (geometry.ndim + axis if axis < 0 else axis for axis in _PLANES[plane])
    k = int(k) % 4
    if k == 1:  # numpy.rot90: flip the second axis, then swap
        return _swapped(_flipped(geometry, b), a, b)
    if k == 2:
        return _flipped(_flipped(geometry, a), b)
    if k == 3:  # swap, then flip the second axis
        return _flipped(_swapped(geometry, a, b), b)
    return geometry


@op(category="preprocess", label="Rotate 90°", geometry=rotate90_geometry)
def rotate90(image: ImageIn, *, spacing: Spacing = None,
             k: Annotated[int, Range(0, 3, step=1, unit="× 90°")] = 1,
             plane: Annotated[Literal["axial", "coronal", "sagittal"],
                              Choice("axial", "coronal", "sagittal")] = "axial") -> np.ndarray:
    """Rotate by ``k`` quarter turns (:func:`numpy.rot90`); the dtype is kept.

    Rotation swaps axes (and their spacings when ``k`` is odd); :func:`rotate90_geometry`
    gives the rotated geometry.

    Parameters
    ----------
    image : array_like or Scan
        2-D or 3-D array.
    spacing : sequence of float, optional
        Unused.
    k : int
        Number of counter-clockwise quarter turns (as displayed with the origin top-left).
    plane : {"axial", "coronal", "sagittal"}
        Plane of rotation of a volume: axial (y, x), coronal (z, x), sagittal (z, y).
        A 2-D image only has "axial".

    Returns
    -------
    ndarray
        A copy.

    Examples
    --------
    >>> import numpy as np
    >>> rotate90(np.array([[1, 2], [3, 4]])).tolist()
    [[2, 4], [1, 3]]
    """
    array = _raw(image)
    if array.ndim == 2 and plane != "axial":
        raise ValueError(f"a 2-D image can only be rotated in the 'axial' plane, not {plane!r}")
    return np.rot90(array, k=int(k), axes=_PLANES[plane]).copy()


@op(category="preprocess", label="Flip", geometry=flip_geometry)
def flip(image: ImageIn, *, spacing: Spacing = None,
         axis: Annotated[Literal["x", "y", "z"], Choice("x", "y", "z")] = "x") -> np.ndarray:
    """Mirror along one array axis; the dtype is kept (:func:`flip_geometry`: the mirrored
    geometry, which keeps every voxel where it was in the patient).

    Parameters
    ----------
    image : array_like or Scan
        2-D or 3-D array.
    spacing : sequence of float, optional
        Unused.
    axis : {"x", "y", "z"}
        ``"x"`` flips left-right (columns), ``"y"`` up-down (rows), ``"z"`` the slice order.

    Returns
    -------
    ndarray
        A copy.

    Examples
    --------
    >>> import numpy as np
    >>> flip(np.array([[1, 2], [3, 4]]), axis="x").tolist()
    [[2, 1], [4, 3]]
    """
    array = _raw(image)
    if axis == "z" and array.ndim == 2:
        raise ValueError("a 2-D image has no z axis to flip")
    return np.flip(array, axis=_AXES[axis]).copy()


@op(category="preprocess", label="Normalize")
def normalize(image: ImageIn, *, spacing: Spacing = None,
              method: Annotated[Literal["zscore", "minmax"], Choice("zscore", "minmax")]
              = "zscore") -> Image:
    """Intensity normalisation over the whole image (never per slice).

    Parameters
    ----------
    image : array_like or Scan
        2-D or 3-D image.
    spacing : sequence of float, optional
        Unused.
    method : {"zscore", "minmax"}
        ``"zscore"``: subtract the mean, divide by the standard deviation (unitless, mean 0,
        std 1). ``"minmax"``: map the minimum to 0 and the maximum to 1. A constant image gives
        zeros.

    Returns
    -------
    ndarray of float32

    Examples
    --------
    >>> import numpy as np
    >>> normalize(np.array([[0.0, 5.0], [10.0, 5.0]]), method="minmax").tolist()
    [[0.0, 0.5], [1.0, 0.5]]
    """
    array, _ = as_image(image, spacing)
    data = array.astype(np.float64)
    if method == "zscore":
        std = data.std()
        out = (data - data.mean()) / std if std > 0 else np.zeros_like(data)
    elif method == "minmax":
        span = data.max() - data.min()
        out = (data - data.min()) / span if span > 0 else np.zeros_like(data)
    else:
        raise ValueError(f"method must be 'zscore' or 'minmax', got {method!r}")
    return out.astype(np.float32)


@op(category="preprocess", label="Clip HU")
def clip_hu(image: ImageIn, *, spacing: Spacing = None,
            low: Annotated[float, Range(-1024.0, 3071.0, step=1.0, unit="HU")] = -1000.0,
            high: Annotated[float, Range(-1024.0, 3071.0, step=1.0, unit="HU")] = 1000.0,
            ) -> Image:
    """Clip values to ``[low, high]`` (for CT: Hounsfield units).

    Parameters
    ----------
    image : array_like or Scan
        2-D or 3-D image.
    spacing : sequence of float, optional
        Unused.
    low : float
        Values below become ``low``.
    high : float
        Values above become ``high``; must be >= ``low``.

    Returns
    -------
    ndarray of float32

    Examples
    --------
    >>> import numpy as np
    >>> clip_hu(np.array([[-3000.0, 0.0, 4000.0]]), low=-1000, high=1000).tolist()
    [[-1000.0, 0.0, 1000.0]]
    """
    array, _ = as_image(image, spacing)
    if high < low:
        raise ValueError(f"high ({high}) must be >= low ({low})")
    return np.clip(array, low, high).astype(np.float32)
