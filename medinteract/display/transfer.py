"""Values on the wire: how the viewers send a scan's raw values to the browser, losslessly.

The browser front end (``static/viewer.js``) windows, colours and overlays slices itself, so
the kernel sends each volume's *values* once, never pixels. A piece of a volume (a slab of
whole slices along array axis 0, or one plane along another axis) travels as one message:

- its values in the smallest type that holds every one of them exactly: ``uint8``, ``int16``
  or ``uint16`` when they are whole numbers in range (CT in Hounsfield units is ``int16``),
  else ``float32`` (the :class:`~medinteract.Scan`'s own type, so nothing is ever rounded);
  the type is chosen per message, so one odd slice does not make the whole volume float;
- byte-shuffled (all first bytes of the values, then all second bytes, ...), which groups the
  nearly constant high bytes of CT values, and compressed with zlib (level 1, run-length
  strategy: on shuffled CT as small as the default strategy and about twice as fast), which
  the browser inflates with its built-in ``DecompressionStream("deflate")``.

Converting and compressing go one slab at a time, so sending a volume never holds more than
a slab's worth of extra memory in the kernel.

Functions here are pure (array in, header and bytes out); the widgets in
:mod:`medinteract.display.widget` decide what to send when.
"""

from __future__ import annotations

import math
import zlib
from typing import Any, Iterator

import numpy as np

__all__ = ["WIRE_TYPES", "wire_type", "encode_values", "decode_values", "slab_ranges",
           "outward_order", "SLAB_BYTES"]

#: Types values travel in, smallest first (names as the browser's typed arrays know them).
WIRE_TYPES: tuple[str, ...] = ("uint8", "int16", "uint16", "float32")

#: Raw bytes per slab message (before compression): large enough that per-message overhead
#: is small, small enough that the first slabs arrive quickly and the kernel never blocks
#: for long on one message.
SLAB_BYTES = 2 * 1024 * 1024

_RANGES = {"uint8": (0, 255), "int16": (-32768, 32767), "uint16": (0, 65535)}
_COMPRESS_LEVEL = 1


def wire_type(values: np.ndarray) -> str:
    """The smallest type in :data:`WIRE_TYPES` that holds every value of ``values`` exactly.

    Parameters
    ----------
    values : ndarray
        Any real array (a slab of a scan, a label volume).

    Returns
    -------
    str
        ``"uint8"``, ``"int16"``, ``"uint16"`` or ``"float32"``.

    Examples
    --------
    >>> wire_type(np.array([-1000.0, 40.0])), wire_type(np.array([0.5])), wire_type(np.array([3]))
    ('int16', 'float32', 'uint8')
    """
    if values.size == 0:
        return "uint8"
    with np.errstate(invalid="ignore"):
        low, high = values.min(), values.max()
    if not (np.isfinite(low) and np.isfinite(high)):
        return "float32"
    integral = np.issubdtype(values.dtype, np.integer) or np.issubdtype(values.dtype, np.bool_)
    for name, (type_low, type_high) in _RANGES.items():
        if type_low <= low and high <= type_high:
            if integral:
                return name
            # whole numbers? (compares in the array's own type: exact)
            return name if np.array_equal(values.astype(name), values) else "float32"
    return "float32"


def encode_values(values: np.ndarray) -> tuple[dict[str, Any], bytes]:
    """Encode an array for the browser, losslessly.

    Parameters
    ----------
    values : ndarray
        The values to send (any shape; C order is used).

    Returns
    -------
    header : dict
        ``dtype`` (a :data:`WIRE_TYPES` name), ``shape``, ``codec`` (``"deflate"``) and
        ``shuffle`` (bytes per value, 1 = not shuffled).
    data : bytes
        The compressed bytes.

    Examples
    --------
    >>> header, data = encode_values(np.array([[-1000.0, 40.0]], np.float32))
    >>> header["dtype"], np.array_equal(decode_values(header, data), [[-1000, 40]])
    ('int16', True)
    """
    dtype = wire_type(values)
    raw = np.ascontiguousarray(values, dtype=dtype)
    size = raw.dtype.itemsize
    if size > 1:  # byte planes: value bytes 0 of all values, then bytes 1, ...
        raw = np.ascontiguousarray(raw.reshape(-1).view(np.uint8).reshape(-1, size).T)
    compressor = zlib.compressobj(_COMPRESS_LEVEL, zlib.DEFLATED, 15, 9, zlib.Z_RLE)
    data = compressor.compress(raw.data.cast("B")) + compressor.flush()
    header = {"dtype": dtype, "shape": [int(n) for n in values.shape], "codec": "deflate",
              "shuffle": size}
    return header, data


def decode_values(header: dict[str, Any], data: bytes) -> np.ndarray:
    """Inverse of :func:`encode_values` (what the browser does, for tests and scripts)."""
    raw = np.frombuffer(zlib.decompress(data), dtype=np.uint8)
    size = int(header.get("shuffle", 1))
    if size > 1:
        raw = np.ascontiguousarray(raw.reshape(size, -1).T)
    return raw.view(header["dtype"]).reshape(header["shape"])


def slab_ranges(n_slices: int, slice_bytes: int,
                slab_bytes: int = SLAB_BYTES) -> list[tuple[int, int]]:
    """Split ``n_slices`` slices into consecutive slabs of about ``slab_bytes`` each.

    Examples
    --------
    >>> slab_ranges(10, 400, 1000)
    [(0, 2), (2, 4), (4, 6), (6, 8), (8, 10)]
    """
    per_slab = max(1, slab_bytes // max(1, slice_bytes))
    return [(start, min(start + per_slab, n_slices)) for start in range(0, n_slices, per_slab)]


def outward_order(n_items: int, first: int) -> list[int]:
    """Indices ``0..n_items-1`` ordered by distance from ``first`` (``first``, then +1, -1, ...).

    Examples
    --------
    >>> outward_order(5, 1)
    [1, 2, 0, 3, 4]
    """
    first = min(max(first, 0), n_items - 1)
    order = [first]
    for step in range(1, n_items):
        for candidate in (first + step, first - step):
            if 0 <= candidate < n_items:
                order.append(candidate)
    return order


def iter_slabs(array: np.ndarray, slab_bytes: int = SLAB_BYTES) -> Iterator[np.ndarray]:
    """Views of ``array`` in consecutive slabs along axis 0 (for chunked passes)."""
    slice_bytes = max(1, math.prod(array.shape[1:]) * array.dtype.itemsize)
    for start, stop in slab_ranges(array.shape[0], slice_bytes, slab_bytes):
        yield array[start:stop]
