"""``view``: a slice viewer or orthogonal three-plane viewer for a scan (with labels).

Everything a user does to the view runs in the browser (see :mod:`medinteract.display.base`):

=====================================  ===================================================
slice                                  slider, arrow keys / PageUp / PageDown on the image,
                                       mouse wheel
window / level                         preset menu, level and width sliders, right-drag on
                                       the image (left-right: width, up-down: level)
zoom / pan                             zoom slider, Ctrl + wheel; Shift + drag or middle
                                       drag to pan
crosshair (orthogonal view)            click or drag in any plane
probe                                  move the mouse: value (HU for CT), voxel and LPS mm
=====================================  ===================================================
"""

from __future__ import annotations

from typing import Any

import numpy as np
import traitlets

from medinteract._arrays import label_counts
from medinteract.display.base import (MouseHandler, SliceDisplay, as_scan, check_labels)
from medinteract.display.color import label_lut
from medinteract.display.geometry import AXIS_NAMES
from medinteract.display.rendering import Pixels, compose
from medinteract.scan import Scan, Window

__all__ = ["Viewer", "view"]

_check_labels = check_labels  # the name view3d used


class Viewer(SliceDisplay):
    """Interactive viewer of a 2-D image or 3-D volume; create it with :func:`view`.

    All viewer state is traitlets, synced with the browser, so it can be observed, linked
    (``ipywidgets.link``) and saved: ``axis``, ``index``, ``position``, ``window_center``,
    ``window_width``, ``preset``, ``cmap``, ``opacity``, ``labels_visible``, ``contour``,
    ``crosshair``, ``zoom``, ``zoom_center``, ``display_size``. ``probe_info`` holds the voxel
    last clicked (or probed with :meth:`probe_at`); ``render_count`` counts data updates.

    Mouse events in voxel coordinates: :meth:`on_click` and :meth:`on_stroke` (press, move,
    release while a button is held: what an annotation tool needs).
    """

    _kind = traitlets.Unicode("viewer").tag(sync=True)
    position = traitlets.Tuple(help="Crosshair voxel (z, y, x); sets the slice of every view.") \
        .tag(sync=True)
    opacity = traitlets.Float(0.4, help="Opacity of filled labels (0-1).").tag(sync=True)
    labels_visible = traitlets.Bool(True, help="Show the label overlay.").tag(sync=True)
    contour = traitlets.Bool(False, help="Draw label outlines instead of filled labels.") \
        .tag(sync=True)
    crosshair = traitlets.Bool(True, help="Draw the crosshair in the orthogonal view.") \
        .tag(sync=True)
    orthogonal = traitlets.Bool(False, help="Three planes (read-only).").tag(sync=True)
    label_names: traitlets.Dict[Any, str] = traitlets.Dict(
        help="Names of label values for the legend, {value: name}.")
    probe_info = traitlets.Dict(help="The voxel last clicked or probed (see `probe_at`).")
    _legend: traitlets.List[Any] = traitlets.List().tag(sync=True)

    def __init__(self, scan: Scan, *, labels: np.ndarray | None = None, axis: int = 0,
                 index: int | None = None, window: Window | tuple[float, float] | None = None,
                 preset: str | None = None, cmap: str = "gray", orthogonal: bool = False,
                 opacity: float = 0.4, contour: bool = False, display_size: int | None = None,
                 max_display_pixels: int = 1024,
                 label_names: dict[int, str] | None = None) -> None:
        if orthogonal and not scan.is_volume:
            raise ValueError("the orthogonal view needs a 3-D volume; this scan is 2-D")
        if scan.is_rgb and labels is not None:
            raise ValueError("label overlays need a greyscale scan, not an RGB image")
        if display_size is None:
            display_size = 320 if orthogonal else 512
        super().__init__(scan, window=window, preset=preset, cmap=cmap,
                         display_size=display_size, max_display_pixels=max_display_pixels)
        self.add_class("mi-viewer")
        if orthogonal:
            self.add_class("mi-orthogonal")
        self.orthogonal = bool(orthogonal)
        spatial = scan.shape[:scan.spatial_ndim]
        centre = tuple(n // 2 for n in spatial) if scan.is_volume else ()
        self.axis = axis
        self.position = centre
        self.index = index if index is not None else (centre[axis] if scan.is_volume else 0)
        self.opacity = opacity
        self.contour = contour
        self.label_names = {int(k): str(v) for k, v in (label_names or {}).items()}
        self._update_mouse()
        with self.batch():
            self._set_layer("values", scan.array)
            self.set_labels(labels)
        self._start()

    # -- panes -----------------------------------------------------------------------------
    def _pane_names(self) -> list[str]:
        return list(AXIS_NAMES) if self.orthogonal else ["slice"]

    def _pane_axis(self, name: str) -> int:
        return AXIS_NAMES.index(name) if name in AXIS_NAMES else self.axis

    def _pane_index(self, name: str) -> int:
        return int(self.position[self._pane_axis(name)]) if self._scan.is_volume else 0

    def _pane_pixels(self, name: str, *, full: bool = False) -> Pixels:
        values = self._display_slice(self._scan.array, name, full=full)
        labels = self.labels
        shown = None
        if labels is not None and self.labels_visible:
            shown = self._display_slice(labels, name, labels=True, full=full)
        return compose(values, self.window, cmap=self.cmap, labels=shown,
                       opacity=self.opacity, contour=self.contour)

    # -- labels ----------------------------------------------------------------------------
    @property
    def labels(self) -> np.ndarray | None:
        """The label overlay (0 = background); assign a new label image to replace it."""
        labels = self._sources.get("labels")
        if labels is None:
            return None
        return labels[0] if not self._scan.is_volume else labels

    @labels.setter
    def labels(self, labels: Any) -> None:
        self.set_labels(labels)

    def set_labels(self, labels: Any, *, changed: int | slice | tuple[int, int] | None = None
                   ) -> None:
        """Replace the label overlay (same spatial shape as the scan, or None).

        Only what changed travels to the browser: give ``changed`` (a slice index, a
        ``slice`` or ``(start, stop)`` along array axis 0) when you edited the label volume
        in place; for a new array of the same shape the changed slices are found by
        comparing with the previous one.

        Parameters
        ----------
        labels : array_like of int, or None
        changed : int, slice or (int, int), optional
        """
        if labels is not None and self._scan.is_rgb:
            raise ValueError("label overlays need a greyscale scan, not an RGB image")
        checked = check_labels(labels, self._scan)
        span = _as_span(changed, self._scan.shape[0])
        self._set_layer("labels", checked, changed=span)
        self._update_legend(checked, span)

    def _update_legend(self, labels: np.ndarray | None, span: tuple[int, int] | None) -> None:
        if labels is None:
            self._legend = []
            return
        part = labels if span is None or not self._scan.is_volume else labels[span[0]:span[1]]
        present = set(_label_values(part))
        if span is not None:
            present |= {entry[0] for entry in self._legend}
        colours = label_lut()
        self._legend = [[value, self.label_names.get(value, f"label {value}"),
                         [int(c) for c in colours[value % 256]]] for value in sorted(present)]

    @traitlets.observe("label_names")
    def _on_label_names(self, change: dict) -> None:
        if self._legend:
            self._legend = [[v, self.label_names.get(v, f"label {v}"), c]
                            for v, _, c in self._legend]

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
        if not self._scan.is_volume or self.position[self.axis] == change["new"]:
            return
        position = list(self.position)
        position[self.axis] = change["new"]
        self.position = tuple(position)

    @traitlets.observe("position", "axis")
    def _on_position(self, change: dict) -> None:
        if self._scan.is_volume and self.position:
            self.index = self.position[self.axis]

    # -- mouse -----------------------------------------------------------------------------
    def on_stroke(self, handler: MouseHandler) -> None:
        """Call ``handler(event)`` for each step of a mouse stroke on the image.

        While a stroke handler is registered, dragging with the left button on a pane draws a
        stroke (instead of moving the crosshair): the browser sends ``press``, then ``move``
        each time the mouse enters another voxel, then ``release``. ``event`` is a dict:
        ``phase``, ``index`` (voxel, array order), ``pane``, ``button``, ``mm``, ``value``.
        """
        self._stroke_handlers.append(handler)
        self._update_mouse()

    def _update_mouse(self) -> None:
        self._mouse = ["click"] + (["stroke"] if self._stroke_handlers else [])

    def _clicked(self, event: dict) -> None:
        self.probe_info = {k: v for k, v in event.items() if k not in ("pane", "button")}

    # -- probe -----------------------------------------------------------------------------
    def probe_at(self, x_px: float, y_px: float, *, pane: int | str = 0,
                 width_px: float | None = None, height_px: float | None = None) -> dict:
        """Probe the voxel under a position on a pane (as the mouse does).

        Parameters
        ----------
        x_px, y_px : float
            Position relative to the pane image's top-left corner in CSS pixels.
        pane : int or str
            Which pane: 0 or ``"slice"`` for a single view; 0, 1, 2 or ``"axial"``,
            ``"coronal"``, ``"sagittal"`` in the orthogonal view.
        width_px, height_px : float, optional
            On-screen size of the image; defaults to the size the viewer set.

        Returns
        -------
        dict
            See :func:`medinteract.display.geometry.probe`.
        """
        name = self._pane_names()[pane] if isinstance(pane, int) else pane
        result = self._probe_pane(name, x_px, y_px, width_px, height_px)
        self.probe_info = result
        return result


def _as_span(changed: int | slice | tuple[int, int] | None, n: int) -> tuple[int, int] | None:
    if changed is None:
        return None
    if isinstance(changed, slice):
        start, stop, _ = changed.indices(n)
        return start, max(start, stop)
    if isinstance(changed, (int, np.integer)):
        return int(changed), int(changed) + 1
    return int(changed[0]), int(changed[1])


def _label_values(labels: np.ndarray) -> list[int]:
    """Non-zero label values present (bincount for small values: no sort of the volume)."""
    if labels.size == 0:
        return []
    high, low = int(labels.max()), int(labels.min())
    if low >= 0 and high < 65536:
        return [int(v) for v in np.flatnonzero(label_counts(labels)) if v != 0]
    return [int(v) for v in np.unique(labels) if v != 0]


def view(scan_or_array: Any, *, labels: Any = None, axis: int = 0, index: int | None = None,
         window: Window | tuple[float, float] | None = None, preset: str | None = None,
         cmap: str = "gray", orthogonal: bool = False, opacity: float = 0.4,
         contour: bool = False, display_size: int | None = None,
         max_display_pixels: int = 1024, label_names: dict[int, str] | None = None) -> Viewer:
    """View a scan, volume or image interactively.

    Slices, window, colormap, zoom, crosshair and probe run in the browser on the scan's
    raw values (sent once, losslessly), so they answer at once however far the kernel is.

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
        :data:`medinteract.windowing.PRESETS`.
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
        Static snapshots (saved output) of larger slices are averaged down to this many
        pixels per side; the live view always shows every voxel.
    label_names : dict of int to str, optional
        Names shown in the label legend (default ``"label N"``).

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
                  display_size=display_size, max_display_pixels=max_display_pixels,
                  label_names=label_names)
