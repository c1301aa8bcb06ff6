"""The one path from a 2-D slice in physical units to displayed pixels.

``window -> grey levels -> colormap -> labels -> (crosshair)``. :func:`compose` returns the
pixels in their most compact exact form (grey levels, or palette indices plus a palette, or
RGB when overlays need it); :func:`render` expands them to RGB and :func:`render_png` encodes
them losslessly, so the PNG shown in the browser decodes to exactly ``render(...)``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from medinteract.display.color import colormap_lut, draw_crosshair, overlay_labels
from medinteract.display.encode import encode_png
from medinteract.display.window import apply_window
from medinteract.scan import Window

__all__ = ["Pixels", "compose", "render", "render_png", "to_rgb"]


class Pixels(NamedTuple):
    """uint8 pixels ready to encode.

    Attributes
    ----------
    data : ndarray of uint8
        ``(rows, cols)`` grey levels or palette indices, or ``(rows, cols, 3)`` RGB.
    palette : ndarray of uint8, shape (256, 3), or None
        The colormap when ``data`` holds palette indices.
    """

    data: np.ndarray
    palette: np.ndarray | None = None


def compose(slice_2d: np.ndarray, window: Window | tuple[float, float], *, cmap: str = "gray",
            labels: np.ndarray | None = None, opacity: float = 0.4, contour: bool = False,
            crosshair: tuple[int | None, int | None] | None = None) -> Pixels:
    """Window, colour and overlay one 2-D slice.

    Parameters
    ----------
    slice_2d : ndarray, shape (rows, cols) or (rows, cols, 3)
        Values in physical units (HU for CT); a trailing axis of 3 is an RGB photograph,
        windowed per channel and never colormapped.
    window : Window or (center, width)
    cmap : str
        A colormap name (see :data:`~medinteract.display.color.COLORMAPS`).
    labels : ndarray of int, shape (rows, cols), optional
        Label image to overlay; 0 is background.
    opacity : float
        Opacity of filled labels.
    contour : bool
        Draw label outlines instead of filling.
    crosshair : (row, col), optional
        Draw crosshair lines through this pixel (see
        :func:`~medinteract.display.color.draw_crosshair`).

    Returns
    -------
    Pixels
    """
    grey = apply_window(slice_2d, window)  # a fresh array: safe to draw on
    if grey.ndim == 2 and labels is None:
        if crosshair is not None:
            draw_crosshair(grey, *crosshair)
        return Pixels(grey, None if cmap == "gray" else colormap_lut(cmap))
    rgb = grey[..., :3] if grey.ndim == 3 else colormap_lut(cmap)[grey]
    if labels is not None:
        rgb = overlay_labels(rgb, labels, opacity=opacity, contour=contour)
    if crosshair is not None:
        draw_crosshair(rgb, *crosshair)
    return Pixels(np.ascontiguousarray(rgb))


def to_rgb(pixels: Pixels) -> np.ndarray:
    """Expand :class:`Pixels` to a ``(rows, cols, 3)`` uint8 RGB image."""
    data, palette = pixels
    if data.ndim == 3:
        return data
    return (palette if palette is not None else colormap_lut("gray"))[data]


def render(slice_2d: np.ndarray, window: Window | tuple[float, float], *, cmap: str = "gray",
           labels: np.ndarray | None = None, opacity: float = 0.4,
           contour: bool = False) -> np.ndarray:
    """Render one slice to a uint8 RGB image (see :func:`compose` for the parameters).

    Examples
    --------
    >>> render(np.array([[-160.0, 40.0, 240.0]]), Window(40, 400))[0, :, 0].tolist()
    [0, 128, 255]
    """
    return to_rgb(compose(slice_2d, window, cmap=cmap, labels=labels, opacity=opacity,
                          contour=contour))


def render_png(slice_2d: np.ndarray, window: Window | tuple[float, float], *,
               cmap: str = "gray", labels: np.ndarray | None = None, opacity: float = 0.4,
               contour: bool = False) -> bytes:
    """Render one slice and encode it as a lossless PNG (decodes to :func:`render`'s output)."""
    pixels = compose(slice_2d, window, cmap=cmap, labels=labels, opacity=opacity,
                     contour=contour)
    return encode_png(pixels.data, palette=pixels.palette)
