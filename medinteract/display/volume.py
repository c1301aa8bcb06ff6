"""``view3d``: 3-D rendering, with itkwidgets online or the built-in WebGL renderer offline.

itkwidgets 1.0 loads its viewer from the internet in the browser, and while no browser viewer
answers it holds every later cell of a notebook, so a headless run (nbval, nbclient, CI)
would hang. It is therefore an optional extra (``pip install 'medinteract[itk]'``) and only
used when it is installed, a Jupyter front-end started the kernel, ``MEDINTERACT_OFFLINE`` is
not set, and the browser reports that the viewer loads (see :mod:`.frontends`). Otherwise
:func:`view3d` shows :class:`VolumeView`: the same browser
front end as the slice viewers, ray-casting the volume with WebGL2 (maximum intensity, a
classic way to see vessels, bone and nodules, or alpha compositing), with labels tinted, all
offline; drag to rotate, wheel to zoom, right-drag for window/level.

The values travel as for the slice viewers (lossless, compressed); volumes larger than
:data:`MAX_VOLUME_SIDE` voxels per side are sampled with a stride (a view of the scan, not a
copy), since a 3-D rendering on screen shows no more than that. In a browser without WebGL2
the view says so.
"""

from __future__ import annotations

import importlib.util
import math
from typing import Any

import numpy as np
import traitlets

from medinteract.display.base import DisplayWidget, as_scan, check_labels
from medinteract.display.frontends import (OnlineView3D, detect_frontend, itkwidgets_image,
                                           itkwidgets_status)
from medinteract.display.rendering import Pixels, compose
from medinteract.scan import Scan, Window

__all__ = ["VolumeView", "volume_view", "view3d", "itkwidgets_status", "MAX_VOLUME_SIDE",
           "RENDER_MODES"]

#: Largest number of voxels per side sent to the 3-D renderer (larger volumes are strided).
MAX_VOLUME_SIDE = 256
#: Rendering modes of :class:`VolumeView`.
RENDER_MODES = ("mip", "composite")


class VolumeView(DisplayWidget):
    """An interactive 3-D rendering of a volume in the browser (WebGL2 ray casting).

    Traitlets (synced with the browser): ``render_mode`` (``"mip"`` maximum intensity or
    ``"composite"``), ``yaw`` and ``pitch`` (radians), ``zoom``, and the window/colormap
    traitlets of every viewer. ``note`` says why this view was chosen over itkwidgets.
    """

    _kind = traitlets.Unicode("volume").tag(sync=True)
    render_mode = traitlets.Enum(RENDER_MODES, "mip", help="Ray casting mode.").tag(sync=True)
    yaw = traitlets.Float(0.6, help="Rotation about the vertical screen axis (radians).") \
        .tag(sync=True)
    pitch = traitlets.Float(-0.35, help="Rotation about the horizontal screen axis (radians).") \
        .tag(sync=True)
    note = traitlets.Unicode("", help="Why this view is shown (e.g. itkwidgets unavailable).")

    def __init__(self, scan: Scan, *, labels: Any = None, note: str = "",
                 window: Window | tuple[float, float] | None = None, preset: str | None = None,
                 cmap: str = "gray", render_mode: str = "mip", display_size: int = 400) -> None:
        if not scan.is_volume:
            raise ValueError("view3d needs a 3-D volume; this scan is 2-D")
        if scan.is_rgb:
            raise ValueError("view3d needs a greyscale volume, not colour images")
        checked = check_labels(labels, scan)
        step = max(1, math.ceil(max(scan.shape) / MAX_VOLUME_SIDE))
        sampled = scan if step == 1 else scan.with_array(
            scan.array[::step, ::step, ::step], spacing=tuple(s * step for s in scan.spacing))
        self._full = scan
        super().__init__(sampled, window=window, preset=preset, cmap=cmap,
                         display_size=display_size)
        self.add_class("mi-view3d")
        self.render_mode = render_mode
        self.note = note
        self._title = "3-D view (WebGL, offline)" + (f"; {note}." if note else ".")
        with self.batch():
            self._set_layer("values", sampled.array)
            if checked is not None:
                self._set_layer("labels", checked[::step, ::step, ::step])
        self._start()

    @traitlets.validate("zoom")
    def _valid_zoom(self, proposal: dict) -> float:
        return float(np.clip(proposal["value"], 0.5, 8.0))

    # the static snapshot: maximum-intensity projections along the three axes
    def _pane_names(self) -> list[str]:
        return ["mip-axial", "mip-coronal", "mip-sagittal"]

    def _pane_axis(self, name: str) -> int:
        return self._pane_names().index(name)

    def _pane_index(self, name: str) -> int:
        return 0

    def _pane_hw(self, name: str) -> tuple[int, int]:
        return super()._pane_hw(name)

    def _pane_pixels(self, name: str, *, full: bool = False) -> Pixels:
        axis = self._pane_axis(name)
        projection = self._scan.array.max(axis=axis, keepdims=True)
        shown = self._display_slice(projection, name, full=full)
        labels = self._sources.get("labels")
        outline = None
        if labels is not None:
            outline = self._display_slice(labels.max(axis=axis, keepdims=True), name,
                                          labels=True, full=full)
        return compose(shown, self.window, cmap=self.cmap, labels=outline, contour=True)

    def _shown_planes(self) -> list[tuple[int, int]]:
        return []  # the whole volume is needed before anything can be drawn


def volume_view(scan: Any, *, labels: Any = None,
                window: Window | tuple[float, float] | None = None, preset: str | None = None,
                cmap: str = "gray", render_mode: str = "mip", display_size: int = 400,
                note: str = "") -> VolumeView:
    """The offline 3-D rendering of a volume (see :class:`VolumeView`).

    Parameters
    ----------
    scan : Scan or array_like
        A 3-D volume.
    labels : array_like of int, optional
        A label volume of the same shape, tinted in the rendering.
    window, preset, cmap
        Display window and colormap, see :func:`~medinteract.display.view`.
    render_mode : {"mip", "composite"}
        Maximum intensity projection, or front-to-back alpha compositing.
    display_size : int
        Side of the square canvas in CSS pixels.
    note : str
        A line shown above the rendering (``view3d`` says why it is used).
    """
    return VolumeView(as_scan(scan), labels=labels, note=note, window=window, preset=preset,
                      cmap=cmap, render_mode=render_mode, display_size=display_size)


def _itk_view(scan: Scan, labels: np.ndarray | None) -> Any:
    import itkwidgets

    label_image = None if labels is None else itkwidgets_image(labels.astype(np.uint16), scan)
    return itkwidgets.view(image=itkwidgets_image(scan.array, scan), label_image=label_image)


def view3d(scan: Any, *, labels: Any = None, window: Window | tuple[float, float] | None = None,
           preset: str | None = None, backend: str = "auto") -> Any:
    """A 3-D view of a volume.

    Parameters
    ----------
    scan : Scan or array_like
        A 3-D volume (spacing and origin are respected).
    labels : array_like of int, optional
        A label volume of the same shape.
    window, preset
        Display window of the offline rendering, see :func:`view`.
    backend : {"auto", "itk", "webgl"}
        ``"auto"`` uses itkwidgets when :func:`itkwidgets_status` allows it and the browser
        reports that its viewer loads, else the offline WebGL rendering (:func:`volume_view`);
        ``"itk"`` insists on itkwidgets (without a browser to ask it may wait for a viewer);
        ``"webgl"`` (or ``"mip"``) always renders offline.

    Returns
    -------
    widget
        An :class:`~medinteract.display.frontends.OnlineView3D` (itkwidgets once the browser
        reports it can load it, else the offline view), or a :class:`VolumeView` with a
        one-line note explaining why the offline view is shown. Never blocks or raises with
        ``"auto"``.
    """
    volume = as_scan(scan)
    if backend not in ("auto", "itk", "webgl", "mip"):
        raise ValueError(f"backend must be 'auto', 'itk' or 'webgl', got {backend!r}")
    checked = check_labels(labels, volume)

    def offline(note: str) -> VolumeView:
        return volume_view(volume, labels=checked, note=note, window=window, preset=preset)

    if backend in ("webgl", "mip"):
        return offline(f"requested with backend={backend!r}")
    if backend == "auto":
        usable, why = itkwidgets_status()
        if not usable:
            return offline(why)
    elif importlib.util.find_spec("itkwidgets") is None:
        raise ImportError("view3d(backend='itk') needs itkwidgets: pip install 'medinteract[itk]'")
    elif not detect_frontend().browser:
        return _itk_view(volume, checked)  # insisted on with no browser to ask: it may wait
    # In a browser, ask it first: itkwidgets holds back every later cell until its viewer,
    # loaded from the internet, answers.
    return OnlineView3D(lambda: _itk_view(volume, checked), offline)
