"""``view3d``: 3-D rendering with itkwidgets when it can work, else an offline projection view.

itkwidgets 1.0 loads its viewer from the internet in the browser, and while no browser viewer
answers it holds every later cell of a notebook, so a headless run (nbval, nbclient, CI)
would hang. It is therefore an optional extra (``pip install 'medinteract[itk]'``) and only
used when it is installed, a Jupyter front-end started the kernel, ``MEDINTERACT_OFFLINE`` is
not set, and the browser reports that the viewer loads (see :mod:`.frontends`). Otherwise
:func:`view3d` shows maximum-intensity projections along the three axes (a classic way to
see vessels, bone and nodules in 3-D at a glance) with a one-line note saying why.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import ipywidgets as widgets
import numpy as np

from medinteract.display.base import DisplayBase, Pane, as_scan
from medinteract.display.frontends import (OnlineView3D, detect_frontend, itkwidgets_image,
                                           itkwidgets_status)
from medinteract.display.geometry import AXIS_NAMES
from medinteract.display.rendering import Pixels, compose
from medinteract.display.viewer import _check_labels
from medinteract.scan import Scan, Window

__all__ = ["ProjectionView", "view3d", "itkwidgets_status"]

_PROJECTION_TITLES = ("axial MIP (top)", "coronal MIP (front)", "sagittal MIP (side)")


class ProjectionView(DisplayBase):
    """Maximum-intensity projections of a volume along its three axes (offline 3-D view).

    Shares the window/colormap traitlets of every viewer. Labels are projected too and drawn
    as outlines. ``note`` says why this is shown instead of an interactive 3-D rendering.
    """

    def __init__(self, scan: Scan, *, labels: np.ndarray | None = None, note: str = "",
                 window: Window | tuple[float, float] | None = None, preset: str | None = None,
                 cmap: str = "gray", display_size: int = 300) -> None:
        if not scan.is_volume:
            raise ValueError("view3d needs a 3-D volume; this scan is 2-D")
        checked = _check_labels(labels, scan)
        # keepdims: a projection is a one-slice volume, sliced and oriented like any other.
        self._projections = [scan.array.max(axis=a, keepdims=True) for a in range(3)]
        self._label_projections = (None if checked is None else
                                   [checked.max(axis=a, keepdims=True) for a in range(3)])
        super().__init__(scan, window=window, preset=preset, cmap=cmap,
                         display_size=display_size)
        self.add_class("mi-view3d")
        self._panes = [Pane(f"mip-{AXIS_NAMES[a]}", a, title=f"<b>{_PROJECTION_TITLES[a]}</b>")
                       for a in range(3)]
        self.note = note
        message = widgets.HTML(f"<i>3-D view: maximum-intensity projections; {note}.</i>"
                               if note else "")
        message.add_class("mi-view3d-note")
        panes = widgets.HBox([pane.box for pane in self._panes],
                             layout=widgets.Layout(flex_flow="row wrap"))
        panes.add_class("mi-panes")
        self.children = [message, panes, self._window_controls()]
        self._start()

    def _visible_panes(self) -> list[Pane]:
        return self._panes

    def _pane_key(self, pane: Pane) -> tuple:
        return (self._window_key(), pane.axis)

    def _pane_pixels(self, pane: Pane) -> Pixels:
        values = self._display_slice("mip", self._projections[pane.axis], pane, 0)
        labels = None
        if self._label_projections is not None:
            labels = self._display_slice("labels", self._label_projections[pane.axis], pane, 0,
                                         labels=True)
        return compose(values, self.window, cmap=self.cmap, labels=labels, contour=True)


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
        Display window of the projection fallback, see :func:`view`.
    backend : {"auto", "itk", "mip"}
        ``"auto"`` uses itkwidgets when :func:`itkwidgets_status` allows it, else the
        maximum-intensity projections; ``"itk"`` insists on itkwidgets (it may wait for a
        browser viewer); ``"mip"`` always shows the projections.

    Returns
    -------
    widget
        An :class:`~medinteract.display.frontends.OnlineView3D` (itkwidgets once the browser
        reports it can load it, else the projections), or a :class:`ProjectionView` with a
        one-line note explaining why the fallback is shown. Never blocks or raises with
        ``"auto"``.
    """
    volume = as_scan(scan)
    if backend not in ("auto", "itk", "mip"):
        raise ValueError(f"backend must be 'auto', 'itk' or 'mip', got {backend!r}")
    checked = _check_labels(labels, volume)

    def offline(note: str) -> ProjectionView:
        return ProjectionView(volume, labels=checked, note=note, window=window, preset=preset)

    if backend == "mip":
        return offline("requested with backend='mip'")
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
