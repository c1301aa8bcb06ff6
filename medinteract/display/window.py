"""Window/level for viewers: the starting window of a scan and the preset a window matches.

The presets and the windowing function itself live in :mod:`medinteract.windowing` (used by
ops, learn and data too) and are re-exported here.

A window is fixed for a whole volume: it is chosen once (a preset, the file's own
WindowCenter/WindowWidth, or the user's sliders) and applied unchanged to every slice, so the
same tissue has the same grey level wherever it appears. There is no per-slice auto-contrast.
"""

from __future__ import annotations

import numpy as np

from medinteract.scan import Scan, Window
from medinteract.windowing import PRESETS, apply_window

__all__ = ["PRESETS", "FILE_PRESET", "CUSTOM_PRESET", "apply_window", "resolve_window",
           "preset_for"]

#: Preset name meaning "the scan's own window" (DICOM WindowCenter/WindowWidth, or the
#: 0.5-99.5 percentile range the :class:`~medinteract.Scan` derived when the file had none).
FILE_PRESET = "file"
#: Preset name shown when the window matches no preset (the user moved a slider).
CUSTOM_PRESET = "custom"


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
