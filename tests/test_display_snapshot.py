"""The PNG snapshot a viewer puts beside the live widget in the cell's output (what saved
notebooks show): the same picture as ``snapshot()``, one byte per pixel when it is grey.

The snapshot travels in the output message the browser needs before it can show the viewer,
so its size is on the path to the first image.
"""

from __future__ import annotations

import base64
import struct

import numpy as np

import medinteract as mi
from medinteract.data import phantom
from medinteract.display import decode_png

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def saved_png(widget: mi.display.DisplayWidget) -> bytes:
    data, _metadata = widget._repr_mimebundle_()
    assert WIDGET_VIEW in data
    return base64.b64decode(data["image/png"])


def png_colour_type(png: bytes) -> int:
    """PNG colour type from the IHDR chunk (0 grey, 2 RGB, 3 palette)."""
    _width, _height, _depth, colour_type = struct.unpack(">IIBB", png[16:26])
    return colour_type


def test_grey_views_save_a_grey_png_equal_to_the_snapshot() -> None:
    scan = phantom(shape=(12, 48, 64), n_nodules=0, seed=2).scan
    for viewer in (mi.view(scan), mi.view(scan, orthogonal=True)):
        png = saved_png(viewer)
        assert png_colour_type(png) == 0
        grey = decode_png(png)
        snapshot = viewer.snapshot()
        assert grey.shape == snapshot.shape[:2]
        assert np.array_equal(np.repeat(grey[..., None], 3, axis=2), snapshot)


def test_coloured_views_save_an_rgb_png_equal_to_the_snapshot() -> None:
    p = phantom(shape=(12, 48, 64), n_nodules=2, seed=2)
    for viewer in (mi.view(p.scan, labels=p.nodules), mi.view(p.scan, cmap="magma"),
                   mi.compare(p.scan, p.scan.array * 2, mode="difference")):
        png = saved_png(viewer)
        assert png_colour_type(png) == 2
        assert np.array_equal(decode_png(png), viewer.snapshot())
