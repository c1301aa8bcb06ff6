"""Whole-volume array helpers shared by the layers, written to stream memory once."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy import ndimage as ndi

__all__ = ["label_counts", "gaussian_volume"]

#: Voxels per chunk: ``np.bincount`` casts its input to a 64-bit copy, so the chunks go
#: through one 8 MB buffer of that type instead of 8 bytes per voxel of the whole volume (and
#: instead of a fresh 8 MB temporary per chunk, which costs 2,000 page faults each where the
#: allocator returns memory eagerly, as in Dask's distributed workers).
_CHUNK = 1 << 20


def label_counts(labels: np.ndarray, minlength: int = 0) -> np.ndarray:
    """Voxels per label value, ``np.bincount(labels.ravel(), minlength=minlength)``.

    The same counts, bit for bit, computed chunk by chunk: for a 300x512x512 label volume
    ``np.bincount`` alone allocates and writes a 630 MB 64-bit copy of it first.

    Parameters
    ----------
    labels : ndarray of non-negative int or bool
        Label image of any shape.
    minlength : int, optional
        At least this many counts are returned.

    Returns
    -------
    ndarray of int64
        ``counts[v]`` voxels hold ``v``; length ``max(labels.max() + 1, minlength)``.

    Examples
    --------
    >>> import numpy as np
    >>> label_counts(np.array([[0, 2], [2, 2]])).tolist()
    [1, 0, 3]
    """
    flat = labels.reshape(-1)
    if flat.size == 0:
        return np.zeros(minlength, np.int64)
    length = max(int(flat.max()) + 1, minlength)
    counts = np.zeros(length, np.int64)
    chunk = np.empty(min(flat.size, _CHUNK), np.intp)  # bincount's own dtype: no copy of it
    for start in range(0, flat.size, _CHUNK):
        part = chunk[:min(_CHUNK, flat.size - start)]
        part[...] = flat[start:start + _CHUNK]
        counts += np.bincount(part, minlength=length)
    return counts


def gaussian_volume(volume: np.ndarray, sigma: Sequence[float],
                    truncate: float = 4.0) -> np.ndarray:
    """``scipy.ndimage.gaussian_filter(volume, sigma, output=np.float32, mode="nearest")``
    of a 3-D volume, the same values bit for bit, with the first axis done plane by plane.

    scipy filters along an axis line by line, gathering each line into a buffer; along the
    first axis of a C-ordered volume every value of a line lies a whole plane (1 MB for
    512x512 float32) from the next, so that pass waits on memory: half the time of a
    300x512x512 Gaussian. Here the first axis is done as weighted sums of whole planes, which
    stream through the cache, with scipy's arithmetic (its kernel; float64 sums of the
    mirrored pairs of a symmetric kernel, in its order; edges repeated as ``"nearest"``); the
    other two axes are scipy's own.

    Parameters
    ----------
    volume : ndarray
        3-D array of any real dtype.
    sigma : sequence of 3 float
        Standard deviation in voxels per axis (0 leaves an axis alone).
    truncate : float, optional
        The kernel reaches ``int(truncate * sigma + 0.5)`` voxels either side, as in scipy.

    Returns
    -------
    ndarray of float32

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import ndimage as ndi
    >>> v = np.random.default_rng(0).normal(size=(6, 5, 4))
    >>> expected = ndi.gaussian_filter(v, (1.2, 0.8, 0), output=np.float32, mode="nearest")
    >>> bool(np.array_equal(gaussian_volume(v, (1.2, 0.8, 0)), expected))
    True
    """
    first, *rest = (float(s) for s in sigma)
    if volume.ndim != 3 or len(rest) != 2:
        raise ValueError(f"expected a 3-D volume and 3 sigmas, got shape {volume.shape} and "
                         f"sigma {tuple(sigma)}")
    if first <= 1e-15:  # scipy's own test for an axis left alone
        return ndi.gaussian_filter(volume, (0.0, *rest), output=np.float32, mode="nearest",
                                   truncate=truncate)
    radius = int(truncate * first + 0.5)
    offsets = np.arange(-radius, radius + 1)
    weights = np.exp(-0.5 / (first * first) * offsets ** 2)
    weights = weights / weights.sum()  # scipy's _gaussian_kernel1d (symmetric)
    out = np.empty(volume.shape, np.float32)
    total = np.empty(volume.shape[1:], np.float64)
    pair = np.empty_like(total)
    last = volume.shape[0] - 1
    for k in range(volume.shape[0]):
        np.multiply(volume[k], weights[radius], out=total, dtype=np.float64)
        for j in range(radius, 0, -1):
            np.add(volume[max(k - j, 0)], volume[min(k + j, last)], out=pair, dtype=np.float64)
            pair *= weights[radius - j]
            total += pair
        out[k] = total
    if max(rest) > 1e-15:
        ndi.gaussian_filter(out, (0.0, *rest), output=out, mode="nearest", truncate=truncate)
    return out
