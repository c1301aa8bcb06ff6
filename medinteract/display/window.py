"""Window/level: physical values (HU for CT) -> grey levels, with the standard CT presets.

A window is fixed for a whole volume: it is chosen once (a preset, the file's own
WindowCenter/WindowWidth, or the user's sliders) and applied unchanged to every slice, so the
same tissue has the same grey level wherever it appears. There is no per-slice auto-contrast.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from medinteract.scan import Scan, Window

__all__ = ["PRESETS", "FILE_PRESET", "CUSTOM_PRESET", "apply_window", "resolve_window",
           "preset_for"]

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

#: Preset name meaning "the scan's own window" (DICOM WindowCenter/WindowWidth, or the
#: 0.5-99.5 percentile range the :class:`~medinteract.Scan` derived when the file had none).
FILE_PRESET = "file"
#: Preset name shown when the window matches no preset (the user moved a slider).
CUSTOM_PRESET = "custom"


def apply_window(array: np.ndarray, window: Window | tuple[float, float]) -> np.ndarray:
    """Map physical values to grey levels ``0..255`` through a linear window.

    ``window.low`` (``center - width/2``) and below become 0, ``window.high`` and above 255,
    and values in between are spread linearly and rounded to the nearest level, so the window
    centre is mid-grey (127.5 rounds to 128).

    Parameters
    ----------
    array : ndarray
        Values in physical units (any shape, any real dtype).
    window : Window or (center, width)
        Width must be positive.

    Returns
    -------
    ndarray of uint8, same shape as ``array``
        NaN maps to 0.

    Examples
    --------
    >>> apply_window(np.array([-160.0, 40.0, 240.0]), Window(40, 400)).tolist()
    [0, 128, 255]
    """
    center, width = float(window[0]), float(window[1])
    if not width > 0:
        raise ValueError(f"window width must be positive, got {width}")
    scale = np.float32(255.0 / width)
    offset = np.float32(0.5 - (center - width / 2) * 255.0 / width)
    out = np.multiply(array, scale, dtype=np.float32)
    out += offset
    np.fmax(out, 0.0, out=out)  # fmax/fmin (unlike clip) also turn NaN into 0
    np.fmin(out, 255.0, out=out)
    return out.astype(np.uint8)


def resolve_window(scan: Scan, window: Window | tuple[float, float] | None = None,
                   preset: str | None = None) -> Window:
    """The window to start a viewer with.

    Parameters
    ----------
    scan : Scan
        Supplies the file's own window (:attr:`Scan.window`).
    window : Window or (center, width), optional
        An explicit window; wins over ``preset``.
    preset : str, optional
        A name from :data:`PRESETS` or ``"file"``.

    Returns
    -------
    Window
    """
    if window is not None:
        resolved = Window(float(window[0]), float(window[1]))
        if not resolved.width > 0:
            raise ValueError(f"window width must be positive, got {resolved.width}")
        return resolved
    if preset is None or preset == FILE_PRESET:
        return scan.window
    if preset not in PRESETS:
        names = ", ".join([FILE_PRESET, *PRESETS])
        raise ValueError(f"unknown window preset {preset!r}; choose one of {names}")
    return PRESETS[preset]


def preset_for(window: Window | tuple[float, float], file_window: Window,
               prefer: str | None = None) -> str:
    """Name of the preset that equals ``window`` (``prefer`` first), else ``"custom"``."""
    center, width = float(window[0]), float(window[1])
    candidates = {FILE_PRESET: file_window, **PRESETS}
    order = ([prefer] if prefer in candidates else []) + list(candidates)
    for name in order:
        c, w = candidates[name]
        if np.isclose(c, center, rtol=0, atol=1e-6) and np.isclose(w, width, rtol=0, atol=1e-6):
            return name
    return CUSTOM_PRESET
