"""Array -> pixels: windowing, colormaps, overlays, encoding, and the interactive viewers.

Public viewers: :func:`view`, :func:`compare`, :func:`view3d`. The core functions they share
(:func:`apply_window`, :func:`render`, :func:`encode_png`, :func:`probe`, ...) are exported
for scripts and for panels that show images.
"""

from medinteract.display.color import COLORMAPS, DIFFERENCE_CMAP, colormap_lut, overlay_labels
from medinteract.display.comparison import COMPARE_MODES, Compare, compare
from medinteract.display.encode import decode_png, display_factor, downsample, encode_png
from medinteract.display.geometry import (AXIS_NAMES, ViewState, probe, slice_geometry, take_slice,
                                          zoom_region)
from medinteract.display.rendering import Pixels, compose, render, render_png
from medinteract.display.volume import ProjectionView, itkwidgets_status, view3d
from medinteract.display.viewer import Viewer, view
from medinteract.display.window import PRESETS, apply_window, resolve_window

__all__ = [
    "view", "compare", "view3d", "Viewer", "Compare", "ProjectionView", "COMPARE_MODES",
    "itkwidgets_status",
    "PRESETS", "apply_window", "resolve_window",
    "COLORMAPS", "DIFFERENCE_CMAP", "colormap_lut", "overlay_labels",
    "render", "render_png", "compose", "Pixels",
    "encode_png", "decode_png", "display_factor", "downsample",
    "AXIS_NAMES", "ViewState", "probe", "slice_geometry", "take_slice", "zoom_region",
]
