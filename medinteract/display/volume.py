"""``view3d``: 3-D rendering with itkwidgets when it can work, else an offline projection view.

itkwidgets 1.0 loads its viewer from the internet in the browser, and while no browser viewer
answers it holds every later cell of a notebook, so a headless run (nbval, nbclient, CI)
would hang. It is therefore an optional extra (``pip install 'medinteract[itk]'``) and only
used when it is installed, a Jupyter front-end started the kernel, and ``MEDINTERACT_OFFLINE``
is not set. Otherwise :func:`view3d` shows maximum-intensity projections along the three axes
(a classic way to see vessels, bone and nodules in 3-D at a glance) with a one-line note
saying why.
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any

import ipywidgets as widgets
import numpy as np

from medinteract.display.base import DisplayBase, Pane, as_scan
from medinteract.display.geometry import AXIS_NAMES
from medinteract.display.rendering import Pixels, compose
from medinteract.display.viewer import _check_labels
from medinteract.scan import Scan, Window

__all__ = ["ProjectionView", "view3d", "itkwidgets_status"]

_PROJECTION_TITLES = ("axial MIP (top)", "coronal MIP (front)", "sagittal MIP (side)")


def itkwidgets_status() -> tuple[bool, str]:
    """Whether :func:`view3d` can use itkwidgets here, and if not, why not (one line)."""
    if os.environ.get("MEDINTERACT_OFFLINE"):
        return False, "MEDINTERACT_OFFLINE is set"
    if importlib.util.find_spec("itkwidgets") is None:
        return False, "itkwidgets is not installed (pip install 'medinteract[itk]')"
    # Kernels started by JupyterLab / Notebook carry a session name; nbclient/nbval runs don't.
    if not os.environ.get("JPY_SESSION_NAME"):
        return False, "no Jupyter front-end is connected (headless run)"
    return True, ""


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


def _itk_view(scan: Scan, labels: np.ndarray | None) -> Any:  # pragma: no cover - optional
    import itk
    import itkwidgets

    def to_itk(array: np.ndarray) -> Any:
        image = itk.image_view_from_array(np.ascontiguousarray(array))
        image.SetSpacing([float(s) for s in scan.spacing[::-1]])  # ITK order is (x, y, z)
        image.SetOrigin([float(v) for v in scan.origin])  # both LPS mm
        # ITK's direction columns are the unit vectors of the (x, y, z) index axes.
        image.SetDirection(itk.matrix_from_array(np.ascontiguousarray(scan.direction[::-1].T)))
        return image

    label_image = None if labels is None else to_itk(labels.astype(np.uint16))
    return itkwidgets.view(image=to_itk(scan.array), label_image=label_image)


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
        An itkwidgets viewer, or a :class:`ProjectionView` with a one-line note explaining
        why the fallback is shown. Never blocks in a headless run with ``"auto"``.
    """
    volume = as_scan(scan)
    if backend not in ("auto", "itk", "mip"):
        raise ValueError(f"backend must be 'auto', 'itk' or 'mip', got {backend!r}")
    usable, why = itkwidgets_status()
    if backend == "itk" or (backend == "auto" and usable):
        return _itk_view(volume, _check_labels(labels, volume))
    note = why if backend == "auto" else "requested with backend='mip'"
    return ProjectionView(volume, labels=labels, note=note, window=window, preset=preset)
