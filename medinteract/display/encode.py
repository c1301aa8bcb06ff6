"""Pixels -> PNG bytes, and large images -> display resolution.

The encoder is the main cost of a slider change (see DESIGN.md, Performance). PIL's PNG writer
spends most of its time choosing filters and running a full deflate; a hand-built PNG with one
fixed filter and zlib's run-length strategy is lossless, as small as PIL at level 6 on CT data,
and 4-8 times faster. Measured on a 2-core machine for a 512x512 CT slice (uint8):

==============================================  ========  ==========
encoder                                          time      size
==============================================  ========  ==========
PIL ``compress_level=6``                         15 ms     126 kB
PIL ``compress_level=1``                         8.6 ms    137 kB
this module (``Sub`` filter, ``Z_RLE``, level 1)  1.9 ms    126 kB
==============================================  ========  ==========

Greyscale images go out as 8-bit grey PNGs and colormapped images as 8-bit *palette* PNGs (the
colormap is the PNG palette), so both cost one byte per pixel; only overlays and blends need RGB.
"""

from __future__ import annotations

import io
import math
import struct
import zlib

import numpy as np

__all__ = ["encode_png", "decode_png", "display_factor", "downsample", "resize_nearest"]

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOR_TYPES = {1: 0, 3: 2, 4: 6}  # channels -> PNG colour type (grey, RGB, RGBA)
_PALETTE_TYPE = 3
_FILTER_SUB = 1


def _chunk(tag: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + tag + data
            + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))


def encode_png(pixels: np.ndarray, *, palette: np.ndarray | None = None,
               compress_level: int = 1) -> bytes:
    """Encode uint8 pixels as a lossless PNG.

    Parameters
    ----------
    pixels : ndarray of uint8
        ``(rows, cols)`` grey levels (or palette indices when ``palette`` is given),
        ``(rows, cols, 3)`` RGB or ``(rows, cols, 4)`` RGBA.
    palette : ndarray of uint8, shape (n <= 256, 3), optional
        Makes a palette PNG: pixel value ``i`` shows as colour ``palette[i]``.
    compress_level : int
        zlib level 0-9. Level 1 with the run-length strategy is the fast default; higher
        levels shrink the file a little at a large cost in time.

    Returns
    -------
    bytes
        A complete PNG file.
    """
    pixels = np.asarray(pixels)
    if pixels.dtype != np.uint8:
        raise TypeError(f"encode_png needs uint8 pixels, got {pixels.dtype}")
    if pixels.ndim == 2:
        channels = 1
    elif pixels.ndim == 3 and pixels.shape[2] in (3, 4):
        channels = pixels.shape[2]
    else:
        raise ValueError(f"cannot encode pixels of shape {pixels.shape} as PNG")
    if palette is not None and channels != 1:
        raise ValueError("a palette needs a 2-D array of indices")
    rows, cols = pixels.shape[:2]
    if rows == 0 or cols == 0:
        raise ValueError("cannot encode an empty image")
    lines = pixels.reshape(rows, cols * channels)
    # Filter "Sub": each byte minus the byte one pixel to its left (mod 256).
    scan = np.empty((rows, cols * channels + 1), dtype=np.uint8)
    scan[:, 0] = _FILTER_SUB
    scan[:, 1:channels + 1] = lines[:, :channels]
    np.subtract(lines[:, channels:], lines[:, :-channels], out=scan[:, channels + 1:])
    compressor = zlib.compressobj(compress_level, zlib.DEFLATED, 15, 9, zlib.Z_RLE)
    data = compressor.compress(memoryview(scan.data)) + compressor.flush()
    if palette is not None:
        palette = np.asarray(palette, dtype=np.uint8)
        if palette.ndim != 2 or palette.shape[1] != 3 or not 0 < len(palette) <= 256:
            raise ValueError(f"palette must have shape (n <= 256, 3), got {palette.shape}")
        header = struct.pack(">IIBBBBB", cols, rows, 8, _PALETTE_TYPE, 0, 0, 0)
        extra = _chunk(b"PLTE", palette.tobytes())
    else:
        header = struct.pack(">IIBBBBB", cols, rows, 8, _COLOR_TYPES[channels], 0, 0, 0)
        extra = b""
    return (_PNG_SIGNATURE + _chunk(b"IHDR", header) + extra + _chunk(b"IDAT", data)
            + _chunk(b"IEND", b""))


def decode_png(data: bytes) -> np.ndarray:
    """Decode PNG bytes to a uint8 array (palette images become RGB).

    Returns
    -------
    ndarray of uint8
        ``(rows, cols)`` for grey, ``(rows, cols, 3)`` for RGB/palette, ``(rows, cols, 4)``
        for RGBA.
    """
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB") if image.mode == "P" else image)


def display_factor(shape: tuple[int, ...], max_pixels: int) -> int:
    """Integer downsampling factor so no side of a 2-D image exceeds ``max_pixels``.

    Parameters
    ----------
    shape : tuple of int
        ``(rows, cols, ...)`` of the image.
    max_pixels : int
        Largest number of pixels per side, at least 1.

    Returns
    -------
    int
        1 when the image already fits.

    Examples
    --------
    >>> display_factor((512, 512), 1024), display_factor((2048, 2048), 768)
    (1, 3)
    """
    if max_pixels < 1:
        raise ValueError(f"max_pixels must be positive, got {max_pixels}")
    return max(1, math.ceil(max(shape[:2]) / max_pixels))


def downsample(array: np.ndarray, factor: int, *, method: str = "area") -> np.ndarray:
    """Shrink a 2-D image by an integer factor along both axes.

    Output pixel ``(i, j)`` covers input pixels ``[i*f:(i+1)*f, j*f:(j+1)*f]``; the last
    row/column of blocks may be partial (the output has ``ceil(n / f)`` samples).

    Parameters
    ----------
    array : ndarray, shape (rows, cols) or (rows, cols, channels)
    factor : int
        1 returns ``array`` itself.
    method : {"area", "nearest"}
        ``"area"`` averages each block (for intensities; no aliasing), ``"nearest"`` takes its
        first pixel (for labels, which must not be averaged).

    Returns
    -------
    ndarray
        ``float32`` for ``"area"``, the input dtype for ``"nearest"``.
    """
    if factor == 1:
        return array
    if factor < 1:
        raise ValueError(f"factor must be a positive integer, got {factor}")
    if method == "nearest":
        return array[::factor, ::factor]
    if method != "area":
        raise ValueError(f"method must be 'area' or 'nearest', got {method!r}")
    rows, cols = array.shape[:2]
    out_rows, out_cols = -(-rows // factor), -(-cols // factor)
    full_rows, full_cols = rows // factor * factor, cols // factor * factor
    out = np.empty((out_rows, out_cols) + array.shape[2:], dtype=np.float32)
    body = array[:full_rows, :full_cols]
    # Sum the factor x factor strided sub-grids: far faster than reshape + mean (no temporary
    # float copy of the whole image and contiguous inner loops); see benchmarks/RESULTS.md.
    block = out[:full_rows // factor, :full_cols // factor]
    block[...] = body[::factor, ::factor]
    for i in range(factor):
        for j in range(factor):
            if i or j:
                block += body[i::factor, j::factor]
    block *= np.float32(1.0 / (factor * factor))
    if full_cols < cols:  # partial last column of blocks
        strip = np.asarray(array[:, full_cols:], dtype=np.float32).mean(axis=1)
        out[:, -1] = _block_mean_rows(strip, factor)
    if full_rows < rows:  # partial last row of blocks
        strip = np.asarray(array[full_rows:, :], dtype=np.float32).mean(axis=0)
        out[-1, :] = _block_mean_rows(strip, factor)
    return out


def _block_mean_rows(strip: np.ndarray, factor: int) -> np.ndarray:
    """Means of consecutive blocks of ``factor`` entries along axis 0 (last block partial)."""
    starts = np.arange(0, len(strip), factor)
    sums = np.add.reduceat(strip, starts, axis=0)
    counts = np.diff(np.append(starts, len(strip))).reshape((-1,) + (1,) * (strip.ndim - 1))
    return sums / counts


def resize_nearest(array: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Nearest-neighbour resize to ``(rows, cols)`` (for static snapshots at display aspect)."""
    src_rows, src_cols = array.shape[:2]
    r = np.minimum(((np.arange(rows) + 0.5) * src_rows / rows).astype(np.intp), src_rows - 1)
    c = np.minimum(((np.arange(cols) + 0.5) * src_cols / cols).astype(np.intp), src_cols - 1)
    return array[r][:, c]
