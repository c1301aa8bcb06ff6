"""A label overlay that follows a compare view's slice: the mask, TP/FP/FN, selected objects."""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from medinteract.display import Compare, render_png
from medinteract.display.geometry import display_hw, slice_geometry, take_slice
from medinteract.display.image import SliceImage

__all__ = ["Overlay"]


class Overlay(widgets.VBox):
    """The *before* image of ``view`` with a label image painted over it, on the same slice.

    Parameters
    ----------
    view : Compare
        Supplies the scan, window, slice axis and index; the overlay re-renders when they
        change.
    title : str
        HTML shown above the image (e.g. a colour legend).
    opacity : float
        Opacity of the filled labels.
    """

    def __init__(self, view: Compare, *, title: str = "", opacity: float = 0.5) -> None:
        self.opacity = opacity
        self.labels: np.ndarray | None = None
        self.image = SliceImage()
        self.image.add_class("mi-overlay")
        self.title = widgets.HTML(title)
        super().__init__([self.title, self.image])
        self.add_class("mi-overlay-box")
        self._key: tuple | None = None
        self.set_view(view)

    def set_view(self, view: Compare) -> None:
        """Follow another view (a chained panel rebuilt its view)."""
        self.view = view
        self._key = None
        view.observe(self._view_changed, ["index", "axis", "window_center", "window_width",
                                          "cmap"])
        self.refresh()

    def _view_changed(self, change: dict) -> None:
        if change["owner"] is self.view:
            self.refresh()

    def show(self, labels: np.ndarray | None) -> None:
        """Paint ``labels`` (same shape as the scan; 0 = background; bool allowed)."""
        if labels is not None:
            labels = np.asarray(labels)
            if labels.dtype == bool:
                labels = labels.astype(np.uint8)
        self.labels = labels
        self._key = None
        self.refresh()

    def current_slice(self) -> np.ndarray | None:
        """The 2-D label slice shown (display orientation)."""
        if self.labels is None:
            return None
        scan = self.view.before
        geometry = slice_geometry(scan, self.view.axis)
        return take_slice(self.labels, geometry, self.view.index)

    def refresh(self) -> None:
        """Re-render if the slice, window or labels changed."""
        scan = self.view.before
        key = (self.view.axis, self.view.index, tuple(self.view.window), self.view.cmap)
        if key == self._key:
            return
        geometry = slice_geometry(scan, self.view.axis)
        values = take_slice(scan.array, geometry, self.view.index)
        labels = self.current_slice()
        if labels is not None:
            labels = np.asarray(labels, dtype=np.int64)
            labels = np.where(labels > 0, (labels - 1) % 255 + 1, 0).astype(np.uint8)
        png = render_png(values, self.view.window, cmap=self.view.cmap, labels=labels,
                         opacity=self.opacity)
        shape = scan.shape
        height, width = display_hw(geometry, (shape[geometry.row_axis], shape[geometry.col_axis]),
                                   self.view.display_size / max(scan.extent))
        self.image.show(png, height, width)
        self._key = key
