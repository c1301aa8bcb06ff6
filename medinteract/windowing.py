"""Window/level in one place: the CT presets and the one linear windowing function.

A window maps physical values (Hounsfield units for CT) linearly onto display or network
inputs: ``window.low`` (``center - width/2``) and below to the bottom of the range,
``window.high`` and above to the top. It is fixed for a whole volume (there is no per-slice
auto-contrast), so the same tissue has the same grey level wherever it appears.

Every part of medinteract that windows uses :func:`apply_window` and :data:`PRESETS`: the
viewers (whose browser front end repeats the same float32 arithmetic, so painted pixels equal
``apply_window`` of the slice), the ``window`` op, and the learning layer's ``hu_to_unit``.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import numpy.typing as npt

from medinteract.scan import Window

__all__ = ["Window", "PRESETS", "apply_window"]

#: CT window presets in Hounsfield units, ``name -> Window(center, width)``.
#:
#: Values follow Radiopaedia, "Windowing (CT)" (https://radiopaedia.org/articles/windowing-ct),
#: the usual reference in radiology teaching:
#:
#: - ``brain``       W:80   L:40
#: - ``subdural``    W:215  L:75   (the middle of the quoted ranges W:130-300, L:50-100)
#: - ``stroke``      W:40   L:40   (narrow window for early grey/white-matter loss)
#: - ``lung``        W:1500 L:-600
#: - ``mediastinum`` W:350  L:50   (also the usual "soft tissue" window)
#: - ``soft_tissue`` W:400  L:50   (abdomen soft tissue, quoted as W:350-400 L:20-60)
#: - ``bone``        W:1800 L:400
PRESETS: Mapping[str, Window] = {
    "brain": Window(40.0, 80.0),
    "subdural": Window(75.0, 215.0),
    "stroke": Window(40.0, 40.0),
    "lung": Window(-600.0, 1500.0),
    "mediastinum": Window(50.0, 350.0),
    "soft_tissue": Window(50.0, 400.0),
    "bone": Window(400.0, 1800.0),
}


def apply_window(values: npt.ArrayLike, window: Window | tuple[float, float], *,
                 dtype: npt.DTypeLike = np.uint8) -> np.ndarray:
    """Map physical values linearly through a window.

    With the default ``dtype=np.uint8`` the result is grey levels ``0..255``: values spread
    linearly between ``window.low`` (0) and ``window.high`` (255) and rounded to the nearest
    level, so the window centre is mid-grey (127.5 rounds to 128). With ``dtype=np.float32``
    the result is the same line scaled to ``[0, 1]`` without rounding (network inputs, the
    ``window`` op).

    The arithmetic is float32. Grey levels are ``values * scale + offset``, clipped to
    ``[0, 255]`` and truncated, with ``scale = float32(255 / width)`` and
    ``offset = float32(0.5 - low * 255 / width)``; the browser front end of the viewers
    repeats exactly these operations, so both paint identical pixels. The unit interval is
    ``(values - low) / width`` clipped to ``[0, 1]`` (exact at the window's ends and centre).

    Parameters
    ----------
    values : array_like
        Values in physical units (any shape, any real dtype).
    window : Window or (center, width)
        Width must be positive and finite.
    dtype : {numpy.uint8, numpy.float32}
        Grey levels or the unit interval.

    Returns
    -------
    ndarray of ``dtype``, same shape as ``values``
        NaN maps to 0.

    Raises
    ------
    ValueError
        For a width that is not positive, or another ``dtype``.

    Examples
    --------
    >>> apply_window(np.array([-160.0, 40.0, 240.0]), Window(40, 400)).tolist()
    [0, 128, 255]
    >>> apply_window(np.array([-1350.0, -600.0, 150.0, 1000.0]), PRESETS["lung"],
    ...              dtype=np.float32).tolist()
    [0.0, 0.5, 1.0, 1.0]
    """
    center, width = float(window[0]), float(window[1])
    if not (width > 0 and np.isfinite(width) and np.isfinite(center)):
        raise ValueError(f"a window needs a finite centre and a positive width, got "
                         f"centre {center}, width {width}")
    low = center - width / 2
    out_dtype = np.dtype(dtype)
    if out_dtype == np.uint8:
        out = np.multiply(values, np.float32(255.0 / width), dtype=np.float32)
        out += np.float32(0.5 - low * 255.0 / width)
        top = 255.0
    elif out_dtype == np.float32:
        out = np.subtract(values, np.float32(low), dtype=np.float32)
        out /= np.float32(width)
        top = 1.0
    else:
        raise ValueError(f"apply_window gives uint8 grey levels or float32 in [0, 1], "
                         f"not {out_dtype}")
    np.fmax(out, 0.0, out=out)  # fmax/fmin (unlike clip) also turn NaN into 0
    np.fmin(out, top, out=out)
    return out.astype(np.uint8) if out_dtype == np.uint8 else out
