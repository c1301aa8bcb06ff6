"""Which pixels a view shows and where they are: slicing, physical aspect, the pixel probe.

Display orientation follows radiological convention for a scan in the default DICOM (LPS)
axes: axial slices show anterior at the top and the patient's right on the left of the
screen; coronal and sagittal slices show superior at the top (their rows are flipped when the
slice axis runs from feet to head).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from medinteract.scan import Scan

__all__ = ["AXIS_NAMES", "SliceGeometry", "ViewState", "slice_geometry", "take_slice",
           "display_hw", "zoom_region", "probe"]

#: Names of the views along array axes 0, 1, 2 of a ``(z, y, x)`` volume.
AXIS_NAMES: tuple[str, str, str] = ("axial", "coronal", "sagittal")


@dataclass(frozen=True)
class SliceGeometry:
    """How a 2-D view is cut from a scan.

    Attributes
    ----------
    axis : int
        Array axis the slice index runs along (0 for a 2-D image).
    row_axis, col_axis : int
        Array axes shown as display rows and columns.
    flip_rows : bool
        Display row 0 shows the last array index along ``row_axis``.
    row_spacing, col_spacing : float
        Millimetres per display row and column (before any downsampling).
    volume : bool
        True when the view cuts a 3-D volume; a 2-D image is its own (only) slice.
    """

    axis: int
    row_axis: int
    col_axis: int
    flip_rows: bool
    row_spacing: float
    col_spacing: float
    volume: bool = True


@dataclass(frozen=True)
class ViewState:
    """What a displayed image shows, as needed to map a mouse position back to a voxel.

    Attributes
    ----------
    axis : int
        Array axis of the view (0 for a 2-D image).
    index : int
        Slice index along ``axis`` (ignored for a 2-D image).
    display_height, display_width : float
        Size of the image element on screen in CSS pixels.
    region : (row_start, row_stop, col_start, col_stop), optional
        The part of the full-resolution slice shown (display rows/columns) when zoomed in;
        None for the whole slice.
    """

    axis: int
    index: int
    display_height: float
    display_width: float
    region: tuple[int, int, int, int] | None = None


def slice_geometry(scan: Scan, axis: int = 0) -> SliceGeometry:
    """The geometry of views along ``axis`` of ``scan``.

    Parameters
    ----------
    scan : Scan
    axis : int
        0 (axial), 1 (coronal) or 2 (sagittal) for a volume; must be 0 for a 2-D image.
    """
    if scan.spatial_ndim == 2:
        if axis != 0:
            raise ValueError(f"a 2-D image has only axis 0, got axis={axis}")
        return SliceGeometry(0, 0, 1, False, scan.spacing[0], scan.spacing[1], volume=False)
    if axis not in (0, 1, 2):
        raise ValueError(f"axis must be 0, 1 or 2, got {axis}")
    row_axis, col_axis = [a for a in range(3) if a != axis]
    # Rows run along z for coronal/sagittal views: put superior (+S in LPS) at the top.
    flip_rows = row_axis == 0 and float(scan.direction[0][2]) > 0
    return SliceGeometry(axis, row_axis, col_axis, flip_rows, scan.spacing[row_axis],
                         scan.spacing[col_axis])


def take_slice(array: np.ndarray, geometry: SliceGeometry, index: int) -> np.ndarray:
    """The 2-D (or 2-D + channels) view of ``array`` shown at ``index`` (no copy).

    Parameters
    ----------
    array : ndarray
        The scan's spatial shape plus an optional trailing channel axis: a scan's pixels or a
        label volume.
    geometry : SliceGeometry
        From :func:`slice_geometry`.
    index : int
        Slice index along ``geometry.axis`` (ignored for a 2-D image).

    Returns
    -------
    ndarray
        A view, rows flipped when ``geometry.flip_rows``.
    """
    if not geometry.volume:
        return array
    key: list[Any] = [slice(None)] * array.ndim
    key[geometry.axis] = index
    view = array[tuple(key)]
    return view[::-1] if geometry.flip_rows else view


def display_hw(geometry: SliceGeometry, slice_shape: tuple[int, ...],
               px_per_mm: float) -> tuple[int, int]:
    """On-screen ``(height, width)`` in CSS pixels that keeps the physical aspect ratio.

    One millimetre spans the same number of screen pixels across and down.

    Parameters
    ----------
    geometry : SliceGeometry
        Supplies the row and column spacing in mm.
    slice_shape : tuple of int
        ``(rows, cols, ...)`` of the slice.
    px_per_mm : float
        Screen pixels per millimetre.

    Returns
    -------
    (int, int)
        Height and width, at least 1 each.
    """
    rows, cols = slice_shape[:2]
    return (max(1, round(rows * geometry.row_spacing * px_per_mm)),
            max(1, round(cols * geometry.col_spacing * px_per_mm)))


def zoom_region(rows: int, cols: int, zoom: float, center_row: float,
                center_col: float) -> tuple[int, int, int, int]:
    """The part of a ``rows`` x ``cols`` slice shown at magnification ``zoom``.

    The region keeps the slice's aspect ratio, is centred on ``(center_row, center_col)``
    where possible and is moved inside the slice at the borders.

    Parameters
    ----------
    rows, cols : int
        Size of the whole slice.
    zoom : float
        Magnification, at least 1.
    center_row, center_col : float
        Wanted centre of the region, in slice pixels.

    Returns
    -------
    (row_start, row_stop, col_start, col_stop)

    Examples
    --------
    >>> zoom_region(100, 80, 2.0, 50, 40), zoom_region(100, 80, 4.0, 0, 79)
    ((25, 75, 20, 60), (0, 25, 60, 80))
    """
    if not zoom >= 1:
        raise ValueError(f"zoom must be >= 1, got {zoom}")
    height = max(1, min(rows, round(rows / zoom)))
    width = max(1, min(cols, round(cols / zoom)))
    row = int(np.clip(round(center_row - height / 2), 0, rows - height))
    col = int(np.clip(round(center_col - width / 2), 0, cols - width))
    return row, row + height, col, col + width


def probe(scan: Scan, view_state: ViewState, x_px: float, y_px: float) -> dict[str, Any]:
    """The voxel under a mouse position on a displayed slice.

    The mapping goes straight from the on-screen size to the full-resolution slice (or the
    zoomed region of it), so it holds whatever display downsampling and physical-aspect
    scaling were applied.

    Parameters
    ----------
    scan : Scan
    view_state : ViewState
        The displayed view.
    x_px, y_px : float
        Mouse position relative to the image's top-left corner, in CSS pixels.

    Returns
    -------
    dict
        ``inside`` (bool); and when inside: ``index`` (tuple of int, array order), ``mm``
        (tuple of 3 float, patient LPS position in mm), ``value`` (float; a tuple for RGB),
        ``unit`` (``"HU"`` for CT, else ``""``), ``row`` and ``col`` (the full-resolution
        display row and column).
    """
    geometry = slice_geometry(scan, view_state.axis)
    rows = scan.shape[geometry.row_axis]
    cols = scan.shape[geometry.col_axis]
    if view_state.display_width <= 0 or view_state.display_height <= 0:
        return {"inside": False}
    row_start, row_stop, col_start, col_stop = view_state.region or (0, rows, 0, cols)
    if not (0 <= x_px < view_state.display_width and 0 <= y_px < view_state.display_height):
        return {"inside": False}
    col = col_start + int(np.floor(x_px / view_state.display_width * (col_stop - col_start)))
    row = row_start + int(np.floor(y_px / view_state.display_height * (row_stop - row_start)))
    if not (0 <= row < rows and 0 <= col < cols):
        return {"inside": False}
    index = [0] * scan.spatial_ndim
    if scan.spatial_ndim == 3:
        if not 0 <= view_state.index < scan.shape[geometry.axis]:
            return {"inside": False}
        index[geometry.axis] = int(view_state.index)
    index[geometry.row_axis] = rows - 1 - row if geometry.flip_rows else row
    index[geometry.col_axis] = col
    value = scan.array[tuple(index)]
    return {
        "inside": True,
        "index": tuple(index),
        "mm": tuple(float(v) for v in scan.index_to_mm(index)),
        "value": tuple(float(v) for v in value) if np.ndim(value) else float(value),
        "unit": "HU" if scan.modality.upper() == "CT" else "",
        "row": row,
        "col": col,
    }
