"""Colour: colormap lookup tables, label overlays (filled or contours) and the crosshair.

Everything here works on ``uint8`` grey levels (the output of
:func:`~medinteract.display.window.apply_window`) or ``uint8`` RGB images.
"""

from __future__ import annotations

from functools import cache, lru_cache

import numpy as np

__all__ = ["COLORMAPS", "DIFFERENCE_CMAP", "colormap_lut", "label_lut", "overlay_labels",
           "label_boundaries", "draw_crosshair", "CROSSHAIR_COLOR"]

#: Colormaps offered in the viewers (matplotlib names). ``gray`` is the default for CT/MR.
COLORMAPS: tuple[str, ...] = ("gray", "bone", "viridis", "magma", "inferno", "hot", "jet",
                              "gray_r")
#: Diverging colormap of difference maps: blue for negative, red for positive, and a neutral
#: near-white in the middle, so "no change" (0) reads as neutral.
DIFFERENCE_CMAP = "RdBu_r"
#: Crosshair colour of the orthogonal viewer (RGB).
CROSSHAIR_COLOR = (255, 200, 0)


@cache
def colormap_lut(name: str) -> np.ndarray:
    """The ``(256, 3)`` uint8 lookup table of a matplotlib colormap (read-only, cached).

    ``"gray"`` is the exact identity ramp (grey level g -> (g, g, g)).

    Parameters
    ----------
    name : str
        A matplotlib colormap name.
    """
    if name == "gray":
        lut = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)
    else:
        import matplotlib

        try:
            cmap = matplotlib.colormaps[name]
        except KeyError:
            raise ValueError(f"unknown colormap {name!r}; try one of {', '.join(COLORMAPS)}") \
                from None
        rgba = cmap(np.linspace(0.0, 1.0, 256))
        lut = np.round(rgba[:, :3] * 255).astype(np.uint8)
    lut.flags.writeable = False
    return lut


@lru_cache(maxsize=1)
def label_lut() -> np.ndarray:
    """``(256, 3)`` uint8 colours for label values 1..255 (tab10 colours, cycled; 0 unused)."""
    import matplotlib

    tab10 = np.asarray(matplotlib.colormaps["tab10"](np.arange(10))[:, :3])
    base = np.round(tab10 * 255).astype(np.uint8)
    lut = base[(np.arange(256) - 1) % len(base)]
    lut[0] = 0
    lut.flags.writeable = False
    return lut


def label_boundaries(labels: np.ndarray) -> np.ndarray:
    """Pixels of a 2-D label image that touch a different label (4-neighbourhood).

    Parameters
    ----------
    labels : ndarray of int, shape (rows, cols)

    Returns
    -------
    ndarray of bool
        True on the inner boundary of each non-zero label.
    """
    edge = np.zeros(labels.shape, dtype=bool)
    diff_rows = labels[1:, :] != labels[:-1, :]
    diff_cols = labels[:, 1:] != labels[:, :-1]
    edge[1:, :] |= diff_rows
    edge[:-1, :] |= diff_rows
    edge[:, 1:] |= diff_cols
    edge[:, :-1] |= diff_cols
    return edge & (labels != 0)


def overlay_labels(rgb: np.ndarray, labels: np.ndarray, *, opacity: float = 0.4,
                   contour: bool = False) -> np.ndarray:
    """Paint a label image over an RGB image.

    Parameters
    ----------
    rgb : ndarray of uint8, shape (rows, cols, 3)
        The image; not modified.
    labels : ndarray of int, shape (rows, cols)
        0 is background; each other value gets its colour from :func:`label_lut`.
    opacity : float
        0 (invisible) to 1 (opaque) for filled labels. Contours are always opaque.
    contour : bool
        Draw only the outline of each label instead of filling it.

    Returns
    -------
    ndarray of uint8, shape (rows, cols, 3)
    """
    if labels.shape != rgb.shape[:2]:
        raise ValueError(f"labels of shape {labels.shape} do not match image {rgb.shape[:2]}")
    if not 0.0 <= opacity <= 1.0:
        raise ValueError(f"opacity must be within [0, 1], got {opacity}")
    out = rgb.copy()
    mask = label_boundaries(labels) if contour else labels != 0
    if not mask.any():
        return out
    colours = label_lut()[np.asarray(labels[mask]).astype(np.int64) % 256]
    if contour or opacity >= 1.0:
        out[mask] = colours
    elif opacity > 0.0:
        under = out[mask].astype(np.float32)
        out[mask] = np.round(under + opacity * (colours - under)).astype(np.uint8)
    return out


def draw_crosshair(pixels: np.ndarray, row: int | None, col: int | None,
                   color: tuple[int, int, int] = CROSSHAIR_COLOR) -> np.ndarray:
    """Draw a horizontal line at ``row`` and a vertical line at ``col`` (in place).

    On an RGB image the lines are ``color``. On a one-channel image (grey levels or palette
    indices) they flip the top bit of each level (``g XOR 128``): always 128 levels away from
    what is underneath, so visible on any background, and the image stays one byte per
    pixel (fast to encode). The crossing pixel is flipped twice and so shows its own value.
    Lines outside the image (or ``None``) are skipped. Returns ``pixels``.
    """
    rows, cols = pixels.shape[:2]
    row_ok = row is not None and 0 <= row < rows
    col_ok = col is not None and 0 <= col < cols
    if pixels.ndim == 2:
        if row_ok:
            pixels[row, :] ^= 128
        if col_ok:
            pixels[:, col] ^= 128
        return pixels
    if row_ok:
        pixels[row, :] = color
    if col_ok:
        pixels[:, col] = color
    return pixels
