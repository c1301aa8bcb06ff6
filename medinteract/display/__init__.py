"""Array -> pixels: windowing, colormaps, overlays, encoding, and the interactive viewers.

Public viewers: :func:`view`, :func:`compare`, :func:`view3d` (and :func:`volume_view`, its
offline WebGL rendering). They draw in the browser from the scan's raw values (see
:mod:`medinteract.display.base`); the core functions here (:func:`apply_window`,
:func:`render`, :func:`encode_png`, :func:`probe`, ...) are the Python reference of what they
paint, for scripts, snapshots and panels.
"""

from medinteract.display.base import BROWSER_BUDGET_BYTES, DisplayWidget, PaneImage
from medinteract.display.color import COLORMAPS, DIFFERENCE_CMAP, colormap_lut, overlay_labels
from medinteract.display.comparison import COMPARE_MODES, Compare, compare
from medinteract.display.encode import decode_png, display_factor, downsample, encode_png
from medinteract.display.geometry import (AXIS_NAMES, ViewState, probe, slice_geometry, take_slice,
                                          zoom_region)
from medinteract.display.rendering import Pixels, compose, render, render_png
from medinteract.display.viewer import Viewer, view
from medinteract.display.volume import VolumeView, itkwidgets_status, view3d, volume_view
from medinteract.display.window import PRESETS, apply_window, resolve_window

__all__ = [
    "view", "compare", "view3d", "volume_view", "Viewer", "Compare", "VolumeView",
    "DisplayWidget", "PaneImage", "COMPARE_MODES", "BROWSER_BUDGET_BYTES",
    "itkwidgets_status",
    "PRESETS", "apply_window", "resolve_window",
    "COLORMAPS", "DIFFERENCE_CMAP", "colormap_lut", "overlay_labels",
    "render", "render_png", "compose", "Pixels",
    "encode_png", "decode_png", "display_factor", "downsample",
    "AXIS_NAMES", "ViewState", "probe", "slice_geometry", "take_slice", "zoom_region",
]
