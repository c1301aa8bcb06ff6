"""What is on the path to a viewer's first image when its cell runs (again).

The PNG snapshot a viewer puts beside the live widget in the cell's output (what saved
notebooks show) travels in the output message the browser needs before it can show the
viewer: it is the same picture as ``snapshot()``, one byte per pixel when it is grey. And a
closed viewer (its cell re-run) leaves the encoder threads to the new one.
"""

from __future__ import annotations

import base64
import struct
import threading

import numpy as np

import medinteract as mi
from medinteract.data import phantom
from medinteract.display import base as display_base
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


def test_closing_a_viewer_drops_the_answers_not_yet_encoded() -> None:
    """A re-run cell closes its old viewer: what that viewer's browser asked for and the
    encoders have not started is dropped, so the new viewer's data goes first."""
    scan = phantom(shape=(16, 48, 64), n_nodules=0, seed=2).scan
    viewer = mi.view(scan)
    sent: list[dict] = []
    viewer.send = lambda content, buffers=None: sent.append(content)  # type: ignore[method-assign]
    release = threading.Event()
    encoders = display_base._encoders()
    busy = [encoders.submit(release.wait, 60) for _ in range(encoders._max_workers)]
    for start in range(0, 16, 4):
        viewer._on_front_end_message(viewer, {"type": "fetch", "layer": "values",
                                              "start": start, "stop": start + 4}, [])
    queued = list(viewer._answering)
    viewer.close()
    release.set()
    for future in busy:
        future.result(timeout=60)
    assert queued and all(answer.cancelled() for answer in queued)
    assert viewer._answering == [] and sent == []
