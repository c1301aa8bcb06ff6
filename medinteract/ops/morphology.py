"""Mask clean-up in physical units: remove small objects, fill holes, opening/closing, labelling.

Sizes are in mm² (2-D) or mm³ (3-D) and radii in mm, converted with ``spacing`` (1 mm per pixel
when absent), so the same parameters mean the same thing on scans of any resolution.
Masks in, ``bool`` masks out (``int32`` for :func:`label`); inputs are never modified.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from scipy import ndimage as ndi
from skimage import morphology as skmorph

from medinteract._arrays import label_counts
from medinteract.ops._util import as_mask, ellipsoid_footprint, per_slice
from medinteract.ops.registry import op
from medinteract.params import Choice, Labels, Mask, MaskIn, Range, Spacing

__all__ = ["remove_small", "fill_holes", "opening", "closing", "dilation", "erosion", "label"]

Connectivity = Annotated[Literal["full", "face"], Choice("full", "face")]


def _structure(ndim: int, connectivity: str) -> np.ndarray:
    if connectivity not in ("full", "face"):
        raise ValueError(f"connectivity must be 'full' or 'face', got {connectivity!r}")
    return ndi.generate_binary_structure(ndim, ndim if connectivity == "full" else 1)


@op(category="morphology", label="Label")
def label(mask: MaskIn, *, spacing: Spacing = None,
          connectivity: Connectivity = "full") -> Labels:
    """Number the connected objects of a mask 1, 2, ... (background 0).

    Parameters
    ----------
    mask : array_like
        2-D or 3-D mask (non-zero is foreground).
    spacing : sequence of float, optional
        Unused.
    connectivity : {"full", "face"}
        ``"full"``: pixels touching by a corner are connected (8 neighbours in 2-D,
        26 in 3-D); ``"face"``: only by a side (4 in 2-D, 6 in 3-D).

    Returns
    -------
    ndarray of int32

    Examples
    --------
    >>> import numpy as np
    >>> m = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 0]])
    >>> int(label(m).max()), int(label(m, connectivity="face").max())
    (1, 2)
    """
    array, _ = as_mask(mask, spacing)
    labels, _ = ndi.label(array, structure=_structure(array.ndim, connectivity),
                          output=np.int32)
    return labels


@op(category="morphology", label="Remove small objects")
def remove_small(mask: MaskIn, *, spacing: Spacing = None,
                 min_size: Annotated[float, Range(0.0, 1000.0, step=1.0, unit="mm^d")] = 10.0,
                 connectivity: Connectivity = "full") -> Mask:
    """Remove objects smaller than ``min_size`` mm² (2-D) or mm³ (3-D).

    Parameters
    ----------
    mask : array_like
        2-D or 3-D mask.
    spacing : sequence of float, optional
        mm per array axis; an object's size is its pixel count times the pixel area (2-D) or
        voxel volume (3-D).
    min_size : float
        Objects with a physical size strictly below this are removed; equal is kept.
    connectivity : {"full", "face"}
        How pixels connect into objects (see :func:`label`).

    Returns
    -------
    ndarray of bool

    Examples
    --------
    >>> import numpy as np
    >>> m = np.zeros((10, 10), bool); m[1:3, 1:3] = True; m[5:9, 5:9] = True
    >>> int(remove_small(m, spacing=(0.5, 0.5), min_size=2.0).sum())   # 1 mm² dropped, 4 kept
    16
    """
    array, spacing = as_mask(mask, spacing)
    if min_size < 0:
        raise ValueError(f"min_size must be >= 0, got {min_size}")
    labels, count = ndi.label(array, structure=_structure(array.ndim, connectivity))
    if count == 0:
        return array
    sizes = label_counts(labels, minlength=count + 1) * float(np.prod(spacing))
    keep = sizes >= min_size - 1e-9 * max(min_size, 1.0)
    keep[0] = False
    return keep[labels]


@op(category="morphology", label="Fill holes")
def fill_holes(mask: MaskIn, *, spacing: Spacing = None, per_slice_2d: bool = False) -> Mask:
    """Fill the background regions that are enclosed by the mask (not connected to the border).

    Parameters
    ----------
    mask : array_like
        2-D or 3-D mask.
    spacing : sequence of float, optional
        Unused.
    per_slice_2d : bool
        For a volume: fill each slice ``mask[k]`` separately. A hole in 3-D must be closed in
        every direction, so a tube (a vessel, an airway) is only filled slice by slice.

    Returns
    -------
    ndarray of bool

    Examples
    --------
    >>> import numpy as np
    >>> ring = np.zeros((5, 5), bool); ring[1:4, 1:4] = True; ring[2, 2] = False
    >>> bool(fill_holes(ring)[2, 2])
    True
    """
    array, _ = as_mask(mask, spacing)
    if per_slice_2d:
        return per_slice(ndi.binary_fill_holes, array, dtype=bool)
    return ndi.binary_fill_holes(array)


def _morph(func, mask, spacing, radius: float) -> np.ndarray:
    array, spacing = as_mask(mask, spacing)
    footprint = ellipsoid_footprint(float(radius), spacing)
    return func(array, footprint=footprint, mode="ignore").astype(bool)


_Radius = Annotated[float, Range(0.0, 20.0, step=0.1, unit="mm")]


@op(category="morphology", label="Opening")
def opening(mask: MaskIn, *, spacing: Spacing = None, radius: _Radius = 1.0) -> Mask:
    """Morphological opening by a ball of ``radius`` mm: removes thin protrusions and specks.

    The ball is an ellipsoid in pixels when the spacing is anisotropic. Outside the image
    counts as neither foreground nor background (scikit-image's ``mode="ignore"``), so objects
    touching the border are not eroded by it.

    Parameters
    ----------
    mask : array_like
        2-D or 3-D mask.
    spacing : sequence of float, optional
        mm per array axis (1 mm per pixel when absent).
    radius : float
        Ball radius in mm; below the pixel size it is a single pixel (no change).

    Returns
    -------
    ndarray of bool

    Examples
    --------
    >>> import numpy as np
    >>> m = np.zeros((9, 9), bool); m[2:7, 2:7] = True; m[0, 0] = True
    >>> bool(opening(m, radius=1)[0, 0]), bool(opening(m, radius=1)[4, 4])
    (False, True)
    """
    return _morph(skmorph.opening, mask, spacing, radius)


@op(category="morphology", label="Closing")
def closing(mask: MaskIn, *, spacing: Spacing = None, radius: _Radius = 1.0) -> Mask:
    """Morphological closing by a ball of ``radius`` mm: bridges small gaps and fills notches.

    Parameters
    ----------
    mask : array_like
        2-D or 3-D mask.
    spacing : sequence of float, optional
        mm per array axis (1 mm per pixel when absent).
    radius : float
        Ball radius in mm (an ellipsoid in pixels for anisotropic spacing).

    Returns
    -------
    ndarray of bool

    Examples
    --------
    >>> import numpy as np
    >>> m = np.zeros((7, 9), bool); m[2:5, 1:4] = True; m[2:5, 5:8] = True   # 1-pixel gap
    >>> bool(closing(m, radius=1)[3, 4])
    True
    """
    return _morph(skmorph.closing, mask, spacing, radius)


@op(category="morphology", label="Dilation")
def dilation(mask: MaskIn, *, spacing: Spacing = None, radius: _Radius = 1.0) -> Mask:
    """Grow the mask by ``radius`` mm (binary dilation by a ball).

    Parameters
    ----------
    mask : array_like
        2-D or 3-D mask.
    spacing : sequence of float, optional
        mm per array axis (1 mm per pixel when absent).
    radius : float
        Ball radius in mm.

    Returns
    -------
    ndarray of bool

    Examples
    --------
    >>> import numpy as np
    >>> m = np.zeros((5, 5), bool); m[2, 2] = True
    >>> int(dilation(m, radius=1).sum())
    5
    """
    return _morph(skmorph.dilation, mask, spacing, radius)


@op(category="morphology", label="Erosion")
def erosion(mask: MaskIn, *, spacing: Spacing = None, radius: _Radius = 1.0) -> Mask:
    """Shrink the mask by ``radius`` mm (binary erosion by a ball).

    Parameters
    ----------
    mask : array_like
        2-D or 3-D mask.
    spacing : sequence of float, optional
        mm per array axis (1 mm per pixel when absent).
    radius : float
        Ball radius in mm.

    Returns
    -------
    ndarray of bool

    Examples
    --------
    >>> import numpy as np
    >>> m = np.zeros((7, 7), bool); m[1:6, 1:6] = True
    >>> int(erosion(m, radius=1).sum())
    9
    """
    return _morph(skmorph.erosion, mask, spacing, radius)
