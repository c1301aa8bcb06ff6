"""``compare``: before/after side by side, as a curtain (swipe), blended, or as a difference."""

from __future__ import annotations

from functools import partial
from typing import Any, Callable

import ipywidgets as widgets
import numpy as np
import traitlets

from medinteract.display.base import Pane, SliceDisplay, as_scan, check_labels, slice_slider
from medinteract.display.color import DIFFERENCE_CMAP
from medinteract.display.geometry import ViewState, probe, slice_geometry
from medinteract.display.image import SliceImage
from medinteract.display.rendering import Pixels, compose, to_rgb
from medinteract.scan import Scan, Window

__all__ = ["COMPARE_MODES", "Compare", "compare", "ClickHandler"]

#: ``handler(probe_result)``: called for a click inside a pane's image with the probed voxel
#: (see :func:`medinteract.display.geometry.probe`: ``index``, ``mm``, ``value``, ...).
ClickHandler = Callable[[dict], None]

#: Comparison modes.
COMPARE_MODES: tuple[str, ...] = ("side-by-side", "curtain", "blend", "difference")

_TITLES = {
    "side-by-side": "<b>before</b>",
    "curtain": "<b>before</b> | <b>after</b>",
    "blend": "<b>blend</b> (before → after)",
    "difference": "<b>difference</b> (after − before)",
}


class Compare(SliceDisplay):
    """Before/after comparison widget; create it with :func:`compare`.

    Both images share one slice slider, one axis and one window. Traitlets: ``mode``,
    ``axis``, ``index``, ``curtain`` (0-1, fraction of the width showing *before*),
    ``alpha`` (0 = before, 1 = after), ``difference_width`` (the difference map's own window
    is centred on 0 with this width), ``opacity`` and ``contour`` (of the labels drawn on
    *after*), plus the window/colormap traitlets of every viewer.

    Replace the images with ``compare.after = new_array`` or ``compare.before = new_array``,
    draw labels over *after* with ``compare.after_labels = mask`` (one render each; group
    several changes into one render with ``with compare.batch(): ...``). :meth:`image` gives a
    pane's image widget, :meth:`on_click` calls a function with the voxel clicked, and
    :meth:`probe_at` maps a position on a pane to its voxel.
    """

    mode = traitlets.Enum(COMPARE_MODES, "side-by-side", help="How to compare.")
    curtain = traitlets.Float(0.5, help="Curtain position: fraction of the width showing before.")
    alpha = traitlets.Float(0.5, help="Blend weight of after (0 = before only, 1 = after only).")
    difference_width = traitlets.Float(1.0, help="Width of the symmetric difference window.")
    zoom_center = traitlets.Tuple(traitlets.Float(), traitlets.Float(), default_value=(0.5, 0.5),
                                  help="Centre of the zoomed view as fractions of rows, columns.")
    opacity = traitlets.Float(0.4, help="Opacity of the labels filled over after (0-1).")
    contour = traitlets.Bool(False, help="Draw the after labels as outlines.")

    def __init__(self, before: Scan, after: Any, *, mode: str = "side-by-side",
                 axis: int = 0, index: int | None = None,
                 window: Window | tuple[float, float] | None = None, preset: str | None = None,
                 cmap: str = "gray", difference_width: float | None = None,
                 display_size: int = 400, max_display_pixels: int = 1024) -> None:
        self._after = _check_after(before, after)
        self._after_version = 0
        self._before_version = 0
        self._after_labels: np.ndarray | None = None
        self._labels_version = 0
        self._click_handlers: dict[str, list[ClickHandler]] = {"before": [], "after": []}
        super().__init__(before, window=window, preset=preset, cmap=cmap,
                         display_size=display_size, max_display_pixels=max_display_pixels)
        self.add_class("mi-compare")
        if before.is_volume:
            self.axis = axis
        self.index = index if index is not None else (
            before.shape[self.axis] // 2 if before.is_volume else 0)
        self.difference_width = difference_width or self.window_width
        self.mode = mode
        slider = slice_slider(before.shape[self.axis] - 1, self.index) \
            if before.is_volume else None
        self._slider = slider
        self._panes = [Pane("before", self.axis, title=_TITLES[self.mode]),
                       Pane("after", self.axis, title="<b>after</b>")]
        self._mouse = all([pane.image.on_mouse(partial(self._on_mouse, pane))
                           for pane in self._panes])
        panes = widgets.HBox([pane.box for pane in self._panes],
                             layout=widgets.Layout(flex_flow="row wrap"))
        panes.add_class("mi-panes")
        modes = widgets.ToggleButtons(options=COMPARE_MODES, value=self.mode,
                                      style={"button_width": "100px"})
        traitlets.link((modes, "value"), (self, "mode"))
        modes.add_class("mi-compare-mode")
        self._mode_controls = self._make_mode_controls()
        children: list[widgets.Widget] = [modes, panes]
        if slider is not None:
            slider.add_class("mi-slice-slider")
            traitlets.link((slider, "value"), (self, "index"))
            children += [slider, self._axis_control()]
        children += [widgets.HBox(list(self._mode_controls.values())), self._window_controls()]
        self.children = children
        self._apply_mode_layout()
        self._start()

    # -- the images -----------------------------------------------------------------------
    @property
    def before(self) -> Scan:
        """The reference image; assign an array or Scan of the same shape to replace it."""
        return self._scan

    @before.setter
    def before(self, value: Any) -> None:
        self.set_before(value)

    def set_before(self, before: Any) -> None:
        """Replace the *before* image (same shape as *after*) and re-render once.

        An array takes the geometry of the current *before*. The window, slice and zoom stay
        as they are; in side-by-side mode the *after* pane keeps its pixels.
        """
        scan = before if isinstance(before, Scan) else self._scan.with_array(np.asarray(before))
        _check_after(scan, self._after)
        self._scan = scan
        self._before_version += 1
        self._refresh()

    @property
    def after(self) -> Scan:
        """The compared image; assign an array or Scan of the same shape to replace it."""
        return self._after

    @after.setter
    def after(self, value: Any) -> None:
        self.set_after(value)

    def set_after(self, after: Any) -> None:
        """Replace the *after* image (same shape as *before*) and re-render once.

        Only the views that show *after* are re-rendered (in side-by-side mode the *before*
        pane keeps its pixels).
        """
        self._after = _check_after(self._scan, after)
        self._after_version += 1
        self._refresh()

    @property
    def after_labels(self) -> np.ndarray | None:
        """Labels drawn over *after* (0 = background; a mask shows in the first label colour),
        or None; assign to replace them (one render)."""
        return self._after_labels

    @after_labels.setter
    def after_labels(self, labels: Any) -> None:
        self.set_after_labels(labels)

    def set_after_labels(self, labels: Any) -> None:
        """Draw a label image (or mask) over *after*, wherever *after* is shown, or remove it
        (None); one render of the views showing *after*.

        The labels go through the same overlay path as :func:`view`'s (``opacity``,
        ``contour``); they are not drawn on the difference map.
        """
        if labels is not None and self._scan.is_rgb:
            raise ValueError("label overlays need a greyscale image, not an RGB image")
        self._after_labels = check_labels(labels, self._scan)
        self._labels_version += 1
        self._refresh()

    # -- mouse -----------------------------------------------------------------------------
    def image(self, pane: str = "before") -> SliceImage:
        """The image widget of a pane (``"before"`` or ``"after"``).

        In modes other than side-by-side the *before* pane shows the combined view.
        """
        return self._pane(pane).image

    def probe_at(self, x_px: float, y_px: float, *, pane: str = "before",
                 width_px: float | None = None, height_px: float | None = None) -> dict:
        """The voxel under a position on a pane's image (zoom included).

        Parameters
        ----------
        x_px, y_px : float
            Position relative to the image's top-left corner in CSS pixels.
        pane : {"before", "after"}
        width_px, height_px : float, optional
            On-screen size of the image; defaults to the size the view set.

        Returns
        -------
        dict
            See :func:`medinteract.display.geometry.probe` (``inside``, ``index``, ``mm``,
            ``value`` of *before* ...).
        """
        target = self._pane(pane)
        height, width = self._pane_hw(target)
        state = ViewState(target.axis, self.index, height_px or height, width_px or width,
                          self._region(target))
        return probe(self._scan, state, x_px, y_px)

    def on_click(self, handler: ClickHandler, pane: str = "before") -> bool:
        """Call ``handler(probe_result)`` when the user clicks inside a pane's image.

        ``probe_result`` is :meth:`probe_at`'s dict (``probe_result["index"]`` is the voxel).
        A pane with a click handler no longer re-centres the zoom on clicks (the click is
        the handler's).

        Returns
        -------
        bool
            False when ipyevents is not installed (no mouse events then; :meth:`probe_at`
            still maps positions).
        """
        self._click_handlers[self._pane(pane).name].append(handler)
        return self._mouse

    def _pane(self, name: str) -> Pane:
        for pane in self._panes:
            if pane.name == name:
                return pane
        raise ValueError(f"a compare view has the panes 'before' and 'after', not {name!r}")

    def _on_mouse(self, pane: Pane, kind: str, x_px: float, y_px: float, width_px: float,
                  height_px: float) -> None:
        """A click goes to the pane's click handlers, or else centres the (linked) zoom of
        both images on that point."""
        if kind != "click":
            return
        handlers = self._click_handlers[pane.name]
        if handlers:
            found = self.probe_at(x_px, y_px, pane=pane.name, width_px=width_px or None,
                                  height_px=height_px or None)
            if found.get("inside"):
                for handler in handlers:
                    handler(found)
            return
        height, width = self._pane_hw(pane)
        height, width = height_px or height, width_px or width
        geometry = slice_geometry(self._scan, pane.axis)
        rows, cols = self._scan.shape[geometry.row_axis], self._scan.shape[geometry.col_axis]
        row_start, row_stop, col_start, col_stop = self._region(pane)
        row = row_start + y_px / height * (row_stop - row_start)
        col = col_start + x_px / width * (col_stop - col_start)
        self.zoom_center = (float(np.clip(row / rows, 0, 1)), float(np.clip(col / cols, 0, 1)))

    # -- panes -----------------------------------------------------------------------------
    def _visible_panes(self) -> list[Pane]:
        return self._panes if self.mode == "side-by-side" else self._panes[:1]

    def _labels_key(self) -> tuple | None:
        if self._after_labels is None:
            return None
        return (self._labels_version, self.opacity, self.contour)

    def _pane_key(self, pane: Pane) -> tuple:
        where = (pane.axis, self.index)
        if pane.name == "after":
            return ("after", where, self._window_key(), self._after_version, self._labels_key())
        if self.mode == "side-by-side":
            return ("before", where, self._window_key(), self._before_version)
        if self.mode == "difference":
            return ("difference", where, self.difference_width, self._before_version,
                    self._after_version)
        setting = self.curtain if self.mode == "curtain" else self.alpha
        return (self.mode, where, self._window_key(), self._before_version, self._after_version,
                self._labels_key(), setting)

    def _compose_after(self, pane: Pane, after: np.ndarray) -> Pixels:
        """*after* in the window with its labels (if any) drawn over it."""
        labels = None
        if self._after_labels is not None:
            labels = self._display_slice("after_labels", self._after_labels, pane, self.index,
                                         self._labels_version, labels=True)
        return compose(after, self.window, cmap=self.cmap, labels=labels, opacity=self.opacity,
                       contour=self.contour)

    def _pane_pixels(self, pane: Pane) -> Pixels:
        before = self._display_slice("before", self._scan.array, pane, self.index,
                                     version=self._before_version)
        after = self._display_slice("after", self._after.array, pane, self.index,
                                    version=self._after_version)
        if pane.name == "after":
            return self._compose_after(pane, after)
        if self.mode == "side-by-side":
            return compose(before, self.window, cmap=self.cmap)
        if self.mode == "difference":
            difference = np.subtract(after, before, dtype=np.float32)
            return compose(difference, Window(0.0, self.difference_width), cmap=DIFFERENCE_CMAP)
        shown_before = compose(before, self.window, cmap=self.cmap)
        shown_after = self._compose_after(pane, after)
        if self.mode == "curtain":
            split = int(round(self.curtain * before.shape[1]))
            if shown_after.data.ndim != shown_before.data.ndim:  # labels made after RGB
                shown_before = Pixels(to_rgb(shown_before))
                shown_after = Pixels(to_rgb(shown_after))
            data = shown_before.data.copy()
            data[:, split:] = shown_after.data[:, split:]
            return Pixels(data, shown_before.palette)
        rgb_before = to_rgb(shown_before).astype(np.float32)
        rgb_after = to_rgb(shown_after).astype(np.float32)
        blended = rgb_before + self.alpha * (rgb_after - rgb_before)
        return Pixels(np.round(blended).astype(np.uint8))

    # -- state sync ------------------------------------------------------------------------
    @traitlets.validate("curtain", "alpha", "opacity")
    def _valid_fraction(self, proposal: dict) -> float:
        return float(np.clip(proposal["value"], 0.0, 1.0))

    @traitlets.validate("difference_width")
    def _valid_difference_width(self, proposal: dict) -> float:
        if not proposal["value"] > 0:
            raise traitlets.TraitError("difference_width must be positive")
        return proposal["value"]

    @traitlets.observe("axis")
    def _on_axis(self, change: dict) -> None:
        if not self._panes:
            return
        with self._batched():
            for pane in self._panes:
                pane.axis = change["new"]
            last = self._scan.shape[change["new"]] - 1
            self.index = min(self.index, last)
            if self._slider is not None:
                with self._slider.hold_trait_notifications():
                    self._slider.max = last
                    self._slider.value = self.index

    @traitlets.observe("mode")
    def _on_mode(self, change: dict) -> None:
        if self._panes:
            self._apply_mode_layout()
        self._refresh()

    def _zoom_center(self, pane: Pane, rows: int, cols: int) -> tuple[float, float]:
        return self.zoom_center[0] * rows, self.zoom_center[1] * cols

    @traitlets.observe("index", "curtain", "alpha", "difference_width", "zoom_center", "opacity",
                       "contour")
    def _on_setting(self, change: dict) -> None:
        self._refresh()

    # -- controls --------------------------------------------------------------------------
    def _make_mode_controls(self) -> dict[str, widgets.Widget]:
        curtain = widgets.FloatSlider(min=0.0, max=1.0, step=0.01, description="curtain")
        alpha = widgets.FloatSlider(min=0.0, max=1.0, step=0.01, description="after weight")
        width = widgets.FloatSlider(min=self.difference_width / 100,
                                    max=self.difference_width * 4,
                                    step=self.difference_width / 100, description="± range")
        controls = {"curtain": curtain, "blend": alpha, "difference": width}
        for (_mode, control), trait, css in zip(controls.items(),
                                               ("curtain", "alpha", "difference_width"),
                                               ("mi-curtain", "mi-blend-alpha",
                                                "mi-difference-width")):
            self._link_control(control, trait)
            control.add_class(css)
        return controls

    def _apply_mode_layout(self) -> None:
        """Title, visible panes and the one setting slider of the current mode."""
        self._panes[0].title.value = _TITLES[self.mode]
        self._panes[1].box.layout.display = "" if self.mode == "side-by-side" else "none"
        for mode, control in self._mode_controls.items():
            control.layout.display = "" if mode == self.mode else "none"


def _check_after(before: Scan, after: Any) -> Scan:
    scan = after if isinstance(after, Scan) else before.with_array(np.asarray(after))
    if scan.shape != before.shape:
        raise ValueError(f"after has shape {scan.shape}, before has {before.shape}: "
                         "compare needs images of the same shape")
    return scan


def compare(before: Any, after: Any, *, mode: str = "side-by-side", axis: int = 0,
            index: int | None = None, window: Window | tuple[float, float] | None = None,
            preset: str | None = None, cmap: str = "gray",
            difference_width: float | None = None, display_size: int = 400,
            max_display_pixels: int = 1024) -> Compare:
    """Compare two images of the same shape (e.g. before and after a filter).

    Parameters
    ----------
    before, after : Scan or array_like
        Same shape. An array ``after`` takes the geometry of ``before``.
    mode : {"side-by-side", "curtain", "blend", "difference"}
        Side by side with one linked slice slider and window; a curtain (swipe) showing
        *before* left of the ``curtain`` position and *after* right of it; a blend weighted by
        ``alpha``; or the difference *after − before* in a diverging colormap centred on 0
        (blue negative, neutral zero, red positive) with its own symmetric window.
    axis, index : int
        Slice axis and first slice of volumes.
    window, preset, cmap
        Display window (shared by both images), see :func:`view`.
    difference_width : float, optional
        Width of the difference window (``-w/2`` is full blue, ``+w/2`` full red); defaults
        to the display window's width.
    display_size : int
        On-screen CSS pixels of the longest physical side of each image.
    max_display_pixels : int
        Larger slices are averaged down before encoding.

    Returns
    -------
    Compare
        A widget; ``.after = new_array`` (or ``.before``) replaces an image with one render,
        ``.after_labels = mask`` draws a mask or label image over the after image.
    """
    return Compare(as_scan(before), after, mode=mode, axis=axis, index=index, window=window,
                   preset=preset, cmap=cmap, difference_width=difference_width,
                   display_size=display_size, max_display_pixels=max_display_pixels)
