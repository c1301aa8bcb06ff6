"""``view``: a slice viewer or orthogonal three-plane viewer for a scan (with labels)."""

from __future__ import annotations

from functools import partial
from typing import Any

import ipywidgets as widgets
import numpy as np
import traitlets

from medinteract.display.base import Pane, SliceDisplay, as_scan, slice_slider
from medinteract.display.base import check_labels as _check_labels
from medinteract.display.geometry import AXIS_NAMES, ViewState, probe, slice_geometry
from medinteract.display.rendering import Pixels, compose
from medinteract.scan import Scan, Window

__all__ = ["Viewer", "view"]


class Viewer(SliceDisplay):
    """Interactive viewer of a 2-D image or 3-D volume; create it with :func:`view`.

    All viewer state is traitlets, so it can be observed, linked (``ipywidgets.link``) and
    saved: ``axis``, ``index``, ``position``, ``window_center``, ``window_width``, ``preset``,
    ``cmap``, ``opacity``, ``labels_visible``, ``contour``, ``crosshair``, ``display_size``.
    ``render_count`` counts renders; ``probe_info`` holds the last probed voxel.
    """

    position = traitlets.Tuple(help="Crosshair voxel (z, y, x); sets the slice of every view.")
    opacity = traitlets.Float(0.4, help="Opacity of filled labels (0-1).")
    labels_visible = traitlets.Bool(True, help="Show the label overlay.")
    contour = traitlets.Bool(False, help="Draw label outlines instead of filled labels.")
    crosshair = traitlets.Bool(True, help="Draw the crosshair in the orthogonal view.")
    probe_info = traitlets.Dict(help="The voxel last under the mouse (see `probe`).")

    def __init__(self, scan: Scan, *, labels: np.ndarray | None = None, axis: int = 0,
                 index: int | None = None, window: Window | tuple[float, float] | None = None,
                 preset: str | None = None, cmap: str = "gray", orthogonal: bool = False,
                 opacity: float = 0.4, contour: bool = False, display_size: int | None = None,
                 max_display_pixels: int = 1024) -> None:
        if orthogonal and not scan.is_volume:
            raise ValueError("the orthogonal view needs a 3-D volume; this scan is 2-D")
        if scan.is_rgb and labels is not None:
            raise ValueError("label overlays need a greyscale scan, not an RGB image")
        self._labels = _check_labels(labels, scan)
        self._labels_version = 0
        self._syncing = False  # set while the viewer moves its own sliders
        self._label_box: widgets.HBox | None = None
        self._orthogonal = bool(orthogonal)
        if display_size is None:
            display_size = 320 if orthogonal else 512
        super().__init__(scan, window=window, preset=preset, cmap=cmap,
                         display_size=display_size, max_display_pixels=max_display_pixels)
        self.add_class("mi-viewer")
        spatial = scan.shape[:scan.spatial_ndim]
        centre = tuple(n // 2 for n in spatial) if scan.is_volume else ()
        self.axis = axis
        self.position = centre
        if index is not None:
            self.index = index
        else:
            self.index = centre[axis] if scan.is_volume else 0
        self.opacity = opacity
        self.contour = contour
        self._panes = self._make_panes()
        self._probe = widgets.HTML("")
        self._probe.add_class("mi-probe")
        mouse = all([pane.image.on_mouse(partial(self._on_mouse, pane)) for pane in self._panes])
        if not mouse:
            self._probe.value = "<i>pixel probe off: install ipyevents</i>"
        panes = widgets.HBox([pane.box for pane in self._panes],
                             layout=widgets.Layout(flex_flow="row wrap"))
        panes.add_class("mi-panes")
        children: list[widgets.Widget] = [panes]
        if scan.is_volume and not orthogonal:
            children.append(self._axis_control())
        children.append(self._window_controls())
        if self._labels is not None:
            self._label_box = self._label_controls()
            children.append(self._label_box)
        children.append(self._probe)
        self.children = children
        if orthogonal:
            self.add_class("mi-orthogonal")
        self._start()

    # -- panes -----------------------------------------------------------------------------
    def _make_panes(self) -> list[Pane]:
        scan = self._scan
        if not scan.is_volume:
            return [Pane("slice", 0)]
        axes = (0, 1, 2) if self._orthogonal else (self.axis,)
        panes = []
        for axis in axes:
            name = AXIS_NAMES[axis] if self._orthogonal else "slice"
            slider = slice_slider(scan.shape[axis] - 1, self.position[axis],
                                  AXIS_NAMES[axis] if self._orthogonal else "slice")
            pane = Pane(name, axis, title=f"<b>{AXIS_NAMES[axis]}</b>", slider=slider)
            slider.observe(partial(self._on_slider, pane), "value")
            panes.append(pane)
        return panes

    def _visible_panes(self) -> list[Pane]:
        return self._panes

    def _pane_index(self, pane: Pane) -> int:
        return int(self.position[pane.axis]) if self._scan.is_volume else 0

    def _pane_key(self, pane: Pane) -> tuple:
        show_labels = self._labels is not None and self.labels_visible
        return (self._window_key(), pane.axis, self._pane_index(pane),
                (self.opacity, self.contour, self._labels_version) if show_labels else None,
                self._crosshair_at(pane))

    def _crosshair_rc(self, pane: Pane) -> tuple[int, int]:
        """Full-resolution display (row, col) of the crosshair voxel in ``pane``."""
        geometry = slice_geometry(self._scan, pane.axis)
        if not self._scan.is_volume:
            return 0, 0
        row = int(self.position[geometry.row_axis])
        if geometry.flip_rows:
            row = self._scan.shape[geometry.row_axis] - 1 - row
        return row, int(self.position[geometry.col_axis])

    def _zoom_center(self, pane: Pane, rows: int, cols: int) -> tuple[float, float]:
        """Zoom in around the crosshair (click to move it) for volumes."""
        if not self._scan.is_volume:
            return rows / 2, cols / 2
        row, col = self._crosshair_rc(pane)
        return row + 0.5, col + 0.5

    def _crosshair_at(self, pane: Pane) -> tuple[int, int] | None:
        """Pixel (row, col) of the crosshair in ``pane``'s image, or None when not drawn."""
        if not (self._orthogonal and self.crosshair):
            return None
        region = self._region(pane)
        factor = self._factor(region)
        row, col = self._crosshair_rc(pane)
        return (row - region[0]) // factor, (col - region[2]) // factor

    def _pane_pixels(self, pane: Pane) -> Pixels:
        index = self._pane_index(pane)
        values = self._display_slice("scan", self._scan.array, pane, index)
        labels = None
        if self._labels is not None and self.labels_visible:
            labels = self._display_slice("labels", self._labels, pane, index,
                                         self._labels_version, labels=True)
        return compose(values, self.window, cmap=self.cmap, labels=labels,
                       opacity=self.opacity, contour=self.contour,
                       crosshair=self._crosshair_at(pane))

    # -- labels ----------------------------------------------------------------------------
    @property
    def labels(self) -> np.ndarray | None:
        """The label overlay (0 = background); assign a new label image to replace it."""
        return self._labels

    @labels.setter
    def labels(self, labels: Any) -> None:
        self.set_labels(labels)

    def set_labels(self, labels: Any) -> None:
        """Replace the label overlay (same spatial shape as the scan, or None); one render.

        For panels that segment live: only the panes showing labels re-render.
        """
        if labels is not None and self._scan.is_rgb:
            raise ValueError("label overlays need a greyscale scan, not an RGB image")
        self._labels = _check_labels(labels, self._scan)
        self._labels_version += 1
        if self._labels is not None and self._label_box is None:
            self._label_box = self._label_controls()
            self.children = (*self.children[:-1], self._label_box, self.children[-1])
        self._refresh()

    # -- state sync ------------------------------------------------------------------------
    @traitlets.validate("position")
    def _valid_position(self, proposal: dict) -> tuple:
        spatial = self._scan.shape[:self._scan.spatial_ndim] if self._scan.is_volume else ()
        value = tuple(proposal["value"])
        if len(value) != len(spatial):
            raise traitlets.TraitError(f"position needs {len(spatial)} indices, got {value}")
        return tuple(min(max(int(v), 0), n - 1) for v, n in zip(value, spatial))

    @traitlets.validate("opacity")
    def _valid_opacity(self, proposal: dict) -> float:
        return float(np.clip(proposal["value"], 0.0, 1.0))

    @traitlets.observe("index")
    def _on_index(self, change: dict) -> None:
        if not self._scan.is_volume:
            return
        with self._batched():
            position = list(self.position)
            position[self.axis] = change["new"]
            self.position = tuple(position)

    @traitlets.observe("position")
    def _on_position(self, change: dict) -> None:
        with self._batched():
            if self._scan.is_volume:
                self.index = self.position[self.axis]
            self._sync_sliders()

    @traitlets.observe("axis")
    def _on_axis(self, change: dict) -> None:
        if not self._panes or self._orthogonal:
            return
        with self._batched():
            pane = self._panes[0]
            pane.axis = change["new"]
            pane.title.value = f"<b>{AXIS_NAMES[pane.axis]}</b>"
            self.index = self.position[pane.axis]
            self._sync_sliders()

    @traitlets.observe("opacity", "labels_visible", "contour", "crosshair")
    def _on_overlay(self, change: dict) -> None:
        self._refresh()

    def _sync_sliders(self) -> None:
        """Make the slice sliders show ``position`` without feeding back."""
        self._syncing = True
        try:
            for pane in self._panes:
                if pane.slider is None:
                    continue
                with pane.slider.hold_trait_notifications():
                    pane.slider.max = self._scan.shape[pane.axis] - 1
                    pane.slider.value = self.position[pane.axis]
        finally:
            self._syncing = False

    def _on_slider(self, pane: Pane, change: dict) -> None:
        if self._syncing:
            return
        position = list(self.position)
        position[pane.axis] = change["new"]
        self.position = tuple(position)

    # -- controls --------------------------------------------------------------------------
    def _label_controls(self) -> widgets.HBox:
        toggle = widgets.Checkbox(description="labels", indent=False,
                                  layout=widgets.Layout(width="90px"))
        opacity = widgets.FloatSlider(min=0.0, max=1.0, step=0.05, description="opacity")
        contour = widgets.Checkbox(description="outline only", indent=False)
        for control, trait, css in ((toggle, "labels_visible", "mi-labels-toggle"),
                                    (opacity, "opacity", "mi-opacity"),
                                    (contour, "contour", "mi-contour")):
            self._link_control(control, trait)
            control.add_class(css)
        box = widgets.HBox([toggle, opacity, contour])
        box.add_class("mi-label-controls")
        return box

    # -- probe -----------------------------------------------------------------------------
    def probe_at(self, x_px: float, y_px: float, *, pane: int = 0,
                 width_px: float | None = None, height_px: float | None = None) -> dict:
        """Probe the voxel under a position on a pane (as the mouse does) and show it.

        Parameters
        ----------
        x_px, y_px : float
            Position relative to the pane image's top-left corner in CSS pixels.
        pane : int
            Which pane (0 for a single view; 0, 1, 2 = axial, coronal, sagittal).
        width_px, height_px : float, optional
            On-screen size of the image; defaults to the size the viewer set.

        Returns
        -------
        dict
            See :func:`medinteract.display.geometry.probe`.
        """
        target = self._panes[pane]
        height, width = self._pane_hw(target)
        state = ViewState(target.axis, self._pane_index(target), height_px or height,
                          width_px or width, self._region(target))
        result = probe(self._scan, state, x_px, y_px)
        self.probe_info = result
        self._probe.value = _probe_text(result)
        return result

    def _on_mouse(self, pane: Pane, kind: str, x_px: float, y_px: float, width_px: float,
                  height_px: float) -> None:
        if kind == "mouseleave":
            self._probe.value = ""
            return
        result = self.probe_at(x_px, y_px, pane=self._panes.index(pane),
                               width_px=width_px or None, height_px=height_px or None)
        if kind == "click" and result["inside"] and self._scan.is_volume:
            self.position = result["index"]


def _probe_text(result: dict) -> str:
    if not result.get("inside"):
        return ""
    value = result["value"]
    shown = (", ".join(f"{v:g}" for v in value) if isinstance(value, tuple) else f"{value:g}")
    unit = f" {result['unit']}" if result["unit"] else ""
    index = ", ".join(str(i) for i in result["index"])
    mm = ", ".join(f"{v:.1f}" for v in result["mm"])
    return (f"<code>value {shown}{unit} &nbsp;·&nbsp; voxel ({index}) &nbsp;·&nbsp; "
            f"LPS ({mm}) mm</code>")


def view(scan_or_array: Any, *, labels: Any = None, axis: int = 0, index: int | None = None,
         window: Window | tuple[float, float] | None = None, preset: str | None = None,
         cmap: str = "gray", orthogonal: bool = False, opacity: float = 0.4,
         contour: bool = False, display_size: int | None = None,
         max_display_pixels: int = 1024) -> Viewer:
    """View a scan, volume or image interactively.

    Parameters
    ----------
    scan_or_array : Scan or array_like
        A :class:`~medinteract.Scan` (spacing, modality and window are used) or a 2-D/3-D
        array (spacing 1 mm).
    labels : array_like of int, optional
        Label image of the same spatial shape, drawn over the scan (0 = background).
    axis : int
        Slice axis of the single view: 0 axial, 1 coronal, 2 sagittal.
    index : int, optional
        First slice shown (default: the middle).
    window : Window or (center, width), optional
        Display window in physical units (HU for CT). Wins over ``preset``.
    preset : str, optional
        ``"file"`` (the scan's own window, the default) or a CT preset from
        :data:`medinteract.display.PRESETS`.
    cmap : str
        Colormap name.
    orthogonal : bool
        Show axial, coronal and sagittal planes with a linked crosshair (click to move it).
    opacity : float
        Opacity of filled labels.
    contour : bool
        Draw label outlines instead of filled labels.
    display_size : int, optional
        On-screen CSS pixels of the longest physical side of the scan (default 512, or 320
        per plane in the orthogonal view); the aspect ratio follows the voxel spacing.
    max_display_pixels : int
        Larger slices are averaged down to at most this many pixels per side before encoding.

    Returns
    -------
    Viewer
        An ipywidgets widget; display it, or compose it in a VBox/HBox.

    Examples
    --------
    >>> import numpy as np, medinteract as mi
    >>> viewer = mi.view(np.zeros((10, 32, 32)), orthogonal=True)
    >>> viewer.position
    (5, 16, 16)
    """
    scan = as_scan(scan_or_array)
    return Viewer(scan, labels=labels, axis=axis, index=index, window=window, preset=preset,
                  cmap=cmap, orthogonal=orthogonal, opacity=opacity, contour=contour,
                  display_size=display_size, max_display_pixels=max_display_pixels)
