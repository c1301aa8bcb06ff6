"""``compare``: before/after side by side, as a curtain (swipe), blended, or as a difference.

Like :func:`~medinteract.display.view`, the comparison is drawn in the browser from the raw
values of both images; switching modes, moving the curtain (slider, or drag on the image in
curtain mode), the blend weight and the difference range need no kernel round trip.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import traitlets

from medinteract.display.base import SliceDisplay, as_scan, check_labels
from medinteract.display.color import DIFFERENCE_CMAP
from medinteract.display.rendering import Pixels, compose, to_rgb
from medinteract.scan import Scan, Window

__all__ = ["COMPARE_MODES", "Compare", "compare", "ClickHandler"]

#: ``handler(event)``: called for a click inside a pane's image with the voxel clicked
#: (``index``, ``mm``, ``value``, ``pane``, ``button``; see ``DisplayWidget.on_click``).
ClickHandler = Callable[[dict], None]

#: Comparison modes.
COMPARE_MODES: tuple[str, ...] = ("side-by-side", "curtain", "blend", "difference")


class Compare(SliceDisplay):
    """Before/after comparison widget; create it with :func:`compare`.

    Both images share one slice slider, one axis and one window. Traitlets (synced with the
    browser): ``mode``, ``axis``, ``index``, ``curtain`` (0-1, fraction of the width showing
    *before*), ``alpha`` (0 = before, 1 = after), ``difference_width`` (the difference map's
    own window is centred on 0 with this width), ``opacity`` and ``contour`` (of the labels
    drawn on *after*), plus the window/colormap/zoom traitlets of every viewer.

    Replace the images with ``compare.after = new_array`` or ``compare.before = new_array``,
    draw labels over *after* with ``compare.after_labels = mask`` (only the slices that
    changed travel to the browser; group several changes into one message with
    ``with compare.batch(): ...``). :meth:`image` gives what a pane shows, :meth:`on_click`
    calls a function with the voxel clicked, and :meth:`probe_at` maps a position on a pane
    to its voxel.
    """

    _kind = traitlets.Unicode("compare").tag(sync=True)
    mode = traitlets.Enum(COMPARE_MODES, "side-by-side", help="How to compare.").tag(sync=True)
    curtain = traitlets.Float(0.5, help="Curtain position: fraction of the width showing before.") \
        .tag(sync=True)
    alpha = traitlets.Float(0.5, help="Blend weight of after (0 = before only, 1 = after only).") \
        .tag(sync=True)
    difference_width = traitlets.Float(1.0, help="Width of the symmetric difference window.") \
        .tag(sync=True)
    opacity = traitlets.Float(0.4, help="Opacity of the labels filled over after (0-1).") \
        .tag(sync=True)
    contour = traitlets.Bool(False, help="Draw the after labels as outlines.").tag(sync=True)

    def __init__(self, before: Scan, after: Any, *, mode: str = "side-by-side",
                 axis: int = 0, index: int | None = None,
                 window: Window | tuple[float, float] | None = None, preset: str | None = None,
                 cmap: str = "gray", difference_width: float | None = None,
                 display_size: int = 400, max_display_pixels: int = 1024) -> None:
        after_scan = _check_after(before, after)
        super().__init__(before, window=window, preset=preset, cmap=cmap,
                         display_size=display_size, max_display_pixels=max_display_pixels)
        self._after = after_scan
        self.add_class("mi-compare")
        if before.is_volume:
            self.axis = axis
        self.index = index if index is not None else (
            before.shape[self.axis] // 2 if before.is_volume else 0)
        self.difference_width = difference_width or self.window_width
        self.mode = mode
        self._update_mouse()
        with self.batch():
            self._set_layer("before", before.array)
            self._set_layer("after", after_scan.array)
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
        """Replace the *before* image (same shape as *after*).

        An array takes the geometry of the current *before*. The window, slice and zoom stay
        as they are.
        """
        scan = before if isinstance(before, Scan) else self._scan.with_array(np.asarray(before))
        _check_after(scan, self._after)
        self._scan = scan
        self._set_layer("before", scan.array)

    @property
    def after(self) -> Scan:
        """The compared image; assign an array or Scan of the same shape to replace it."""
        return self._after

    @after.setter
    def after(self, value: Any) -> None:
        self.set_after(value)

    def set_after(self, after: Any) -> None:
        """Replace the *after* image (same shape as *before*); only the slices that differ
        from the previous *after* are sent to the browser."""
        self._after = _check_after(self._scan, after)
        self._set_layer("after", self._after.array)

    @property
    def after_labels(self) -> np.ndarray | None:
        """Labels drawn over *after* (0 = background; a mask shows in the first label colour),
        or None; assign to replace them."""
        labels = self._sources.get("after_labels")
        if labels is None:
            return None
        return labels if self._scan.is_volume else labels[0]

    @after_labels.setter
    def after_labels(self, labels: Any) -> None:
        self.set_after_labels(labels)

    def set_after_labels(self, labels: Any) -> None:
        """Draw a label image (or mask) over *after*, wherever *after* is shown, or remove it
        (None).

        The labels go through the same overlay path as :func:`view`'s (``opacity``,
        ``contour``); they are not drawn on the difference map.
        """
        if labels is not None and self._scan.is_rgb:
            raise ValueError("label overlays need a greyscale image, not an RGB image")
        self._set_layer("after_labels", check_labels(labels, self._scan))

    # -- mouse -----------------------------------------------------------------------------
    def on_click(self, handler: ClickHandler, pane: str | None = "before") -> bool:
        """Call ``handler(event)`` when the user clicks inside a pane's image.

        ``event`` has :meth:`probe_at`'s keys (``event["index"]`` is the voxel) plus ``pane``
        and ``button``. In modes other than side-by-side the combined view is the
        ``"before"`` pane. ``pane=None`` listens to both panes.

        Returns
        -------
        bool
            True (mouse events always work).
        """
        if pane is not None:
            self._check_pane(pane)
        return super().on_click(handler, pane)

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
        self._check_pane(pane)
        return self._probe_pane(pane, x_px, y_px, width_px, height_px)

    def _check_pane(self, name: str) -> None:
        if name not in ("before", "after"):
            raise ValueError(f"a compare view has the panes 'before' and 'after', not {name!r}")

    # -- panes -----------------------------------------------------------------------------
    def _pane_names(self) -> list[str]:
        return ["before", "after"] if self.mode == "side-by-side" else ["before"]

    def _all_pane_names(self) -> list[str]:
        return ["before", "after"]

    def _pane_axis(self, name: str) -> int:
        return self.axis

    def _pane_index(self, name: str) -> int:
        return self.index

    def _compose_after(self, name: str, after: np.ndarray, full: bool) -> Pixels:
        """*after* in the window with its labels (if any) drawn over it."""
        labels = self._sources.get("after_labels")
        shown = None
        if labels is not None:
            shown = self._display_slice(labels if self._scan.is_volume else labels[0], name,
                                        labels=True, full=full)
        return compose(after, self.window, cmap=self.cmap, labels=shown, opacity=self.opacity,
                       contour=self.contour)

    def _pane_pixels(self, name: str, *, full: bool = False) -> Pixels:
        before = self._display_slice(self._scan.array, name, full=full)
        after = self._display_slice(self._after.array, name, full=full)
        if name == "after":
            return self._compose_after(name, after, full)
        if self.mode == "side-by-side":
            return compose(before, self.window, cmap=self.cmap)
        if self.mode == "difference":
            difference = np.subtract(after, before, dtype=np.float32)
            return compose(difference, Window(0.0, self.difference_width), cmap=DIFFERENCE_CMAP)
        shown_before = compose(before, self.window, cmap=self.cmap)
        shown_after = self._compose_after(name, after, full)
        rgb_before, rgb_after = to_rgb(shown_before), to_rgb(shown_after)
        if self.mode == "curtain":
            split = int(round(self.curtain * before.shape[1]))
            data = rgb_before.copy()
            data[:, split:] = rgb_after[:, split:]
            return Pixels(data)
        weight = np.float32(self.alpha)
        blended = rgb_before.astype(np.float32)
        blended += weight * (rgb_after.astype(np.float32) - blended)
        return Pixels(np.round(blended).astype(np.uint8))

    def _shown_planes(self) -> list[tuple[int, int]]:
        return [(self.axis, self.index)]

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
        self.index = min(self.index, self._scan.shape[change["new"]] - 1)


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
        Static snapshots of larger slices are averaged down to this many pixels per side.

    Returns
    -------
    Compare
        A widget; ``.after = new_array`` (or ``.before``) replaces an image,
        ``.after_labels = mask`` draws a mask or label image over the after image.
    """
    return Compare(as_scan(before), after, mode=mode, axis=axis, index=index, window=window,
                   preset=preset, cmap=cmap, difference_width=difference_width,
                   display_size=display_size, max_display_pixels=max_display_pixels)
