"""What every display widget shares: window/colormap state, render bookkeeping, snapshots.

Rendering is driven by *render keys*: each pane describes everything its pixels depend on as
a tuple, and a pane is re-rendered only when its key differs from the key of the pixels it
shows. State changes are batched (linked traitlets, a preset setting centre and width) and
the panes are refreshed once at the end of the outermost change. So a slider moved in the
browser renders exactly once, panes that do not depend on the change are not touched, and a
linked update that sets a value to what it already is costs nothing.
"""

from __future__ import annotations

import base64
from contextlib import contextmanager
from typing import Any, ContextManager, Iterator

import ipywidgets as widgets
import numpy as np
import traitlets

from medinteract.display.color import COLORMAPS, colormap_lut
from medinteract.display.encode import display_factor, downsample, encode_png, resize_nearest
from medinteract.display.geometry import (AXIS_NAMES, display_hw, slice_geometry, take_slice,
                                          zoom_region)
from medinteract.display.image import SliceImage
from medinteract.display.rendering import Pixels, to_rgb
from medinteract.display.window import (CUSTOM_PRESET, FILE_PRESET, PRESETS, preset_for,
                                        resolve_window)
from medinteract.scan import Scan, Window

__all__ = ["DisplayBase", "SliceDisplay", "Pane", "as_scan", "slice_slider", "check_labels"]

_SNAPSHOT_GAP = 4  # px of white between panes in a static snapshot


def as_scan(data: Any, *, name: str = "") -> Scan:
    """A :class:`Scan` from a Scan, an array-like, or anything with ``__array__``."""
    if isinstance(data, Scan):
        return data
    array = np.asarray(data)
    if array.ndim not in (2, 3):
        raise ValueError(f"can only display 2-D images and 3-D volumes, got shape {array.shape}")
    return Scan(array, name=name)


def check_labels(labels: Any, scan: Scan) -> np.ndarray | None:
    """A label image for overlaying on ``scan`` (None stays None).

    Booleans become uint8, whole-number floats int32; the spatial shape must be the scan's.

    Raises
    ------
    ValueError
        For another shape or fractional values.
    """
    if labels is None:
        return None
    array = np.asarray(labels.array if isinstance(labels, Scan) else labels)
    spatial = scan.shape[:scan.spatial_ndim]
    if array.shape != spatial:
        raise ValueError(f"labels of shape {array.shape} do not match the scan's {spatial}")
    if array.dtype == bool:
        array = array.astype(np.uint8)
    if not np.issubdtype(array.dtype, np.integer):
        if not np.array_equal(array, np.round(array)):
            raise ValueError("labels must be integers (0 = background)")
        array = array.astype(np.int32)
    return array


def _value_range(array: np.ndarray) -> tuple[float, float]:
    """Smallest and largest finite value (one pass each, no copy of the volume)."""
    with np.errstate(invalid="ignore"):
        low, high = float(np.nanmin(array)), float(np.nanmax(array))
    if not (np.isfinite(low) and np.isfinite(high)):  # infinities or all-NaN: rare, so copy
        finite = array[np.isfinite(array)]
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    return low, high


class Pane:
    """One image of a display widget, with an optional title and slice slider.

    Parameters
    ----------
    name : str
        Used in CSS classes: ``mi-image-NAME``, ``mi-slice-slider-NAME``, ``mi-pane-NAME``.
    axis : int
        Array axis the pane slices along.
    slider : ipywidgets.IntSlider, optional
        Shown under the image.
    """

    def __init__(self, name: str, axis: int, *, title: str = "",
                 slider: widgets.IntSlider | None = None) -> None:
        self.name = name
        self.axis = axis
        self.image = SliceImage()
        self.image.add_class(f"mi-image-{name}")
        self.title = widgets.HTML(title)
        self.title.add_class("mi-pane-title")
        self.slider = slider
        children: list[widgets.Widget] = [self.title, self.image]
        if slider is not None:
            slider.add_class("mi-slice-slider")
            slider.add_class(f"mi-slice-slider-{name}")
            children.append(slider)
        self.box = widgets.VBox(children)
        self.box.add_class("mi-pane")
        self.box.add_class(f"mi-pane-{name}")
        self.last_key: tuple | None = None

    @property
    def render_count(self) -> int:
        """Renders of this pane so far."""
        return self.image.render_count


def slice_slider(maximum: int, value: int, description: str = "slice") -> widgets.IntSlider:
    """A slice slider that updates while dragging (one render per distinct value)."""
    return widgets.IntSlider(value=value, min=0, max=maximum, description=description,
                             continuous_update=True,
                             layout=widgets.Layout(width="100%", min_width="160px"))


class DisplayBase(widgets.VBox):
    """Base of the viewers: shared traitlets, batched refresh, window controls, snapshots.

    Subclasses set ``self._panes``, implement :meth:`_visible_panes`, :meth:`_pane_key`
    (everything the pane's pixels depend on besides zoom region and display resolution) and
    :meth:`_pane_pixels`, and call :meth:`_start` at the end of ``__init__``.
    """

    window_center = traitlets.Float(0.0, help="Window centre (level) in physical units.")
    window_width = traitlets.Float(1.0, help="Window width in physical units (> 0).")
    preset = traitlets.Unicode(FILE_PRESET, help="Window preset name, 'file' or 'custom'.")
    cmap = traitlets.Unicode("gray", help="Colormap name (matplotlib).")
    display_size = traitlets.Int(512, help="On-screen CSS pixels of the longest physical side.")
    max_display_pixels = traitlets.Int(
        1024, help="Slices larger than this (pixels per side) are downsampled for display.")
    zoom = traitlets.Float(1.0, help="Magnification: 1 shows whole slices, 2 half their width.")
    render_count = traitlets.Int(0, help="Renders so far (all panes).")

    def __init__(self, scan: Scan, *, window: Window | tuple[float, float] | None = None,
                 preset: str | None = None, cmap: str = "gray", display_size: int = 512,
                 max_display_pixels: int = 1024, **kwargs: Any) -> None:
        self._scan = scan
        self._ready = False
        self._batch_depth = 0
        self._slice_cache: dict[tuple, tuple[tuple, np.ndarray]] = {}
        self._panes: list[Pane] = []
        start = resolve_window(scan, window, preset)
        super().__init__(**kwargs)
        self.add_class("mi-display")
        self.window_center, self.window_width = start
        self.preset = preset_for(start, scan.window, prefer=preset or FILE_PRESET)
        self.cmap = cmap
        self.display_size = display_size
        self.max_display_pixels = max_display_pixels

    # -- state ---------------------------------------------------------------------------
    @property
    def scan(self) -> Scan:
        """The displayed scan."""
        return self._scan

    @property
    def window(self) -> Window:
        """The current window as a :class:`~medinteract.Window`."""
        return Window(self.window_center, self.window_width)

    @window.setter
    def window(self, value: Window | tuple[float, float]) -> None:
        with self._batched(), self.hold_trait_notifications():
            self.window_center, self.window_width = float(value[0]), float(value[1])

    @property
    def view_sizes(self) -> dict[str, tuple[int, int]]:
        """On-screen ``(height, width)`` in CSS pixels of each visible image, by pane name.

        Pane names are ``"slice"`` (single view), ``"axial"``, ``"coronal"``, ``"sagittal"``
        (orthogonal view), ``"before"``, ``"after"`` (compare) and ``"mip-axial"``, ...
        (3-D fallback); the images carry the CSS class ``mi-image-NAME``.
        """
        return {pane.name: self._pane_hw(pane) for pane in self._visible_panes()}

    def preset_names(self) -> list[str]:
        """Presets offered: the file's window, the CT presets (CT only), and "custom"."""
        ct = self._scan.modality.upper() == "CT"
        return [FILE_PRESET, *(PRESETS if ct else ()), CUSTOM_PRESET]

    @traitlets.validate("window_width")
    def _valid_width(self, proposal: dict) -> float:
        if not proposal["value"] > 0:
            raise traitlets.TraitError(f"window width must be positive, got {proposal['value']}")
        return proposal["value"]

    @traitlets.validate("cmap")
    def _valid_cmap(self, proposal: dict) -> str:
        try:
            colormap_lut(proposal["value"])
        except ValueError as error:
            raise traitlets.TraitError(str(error)) from None
        return proposal["value"]

    @traitlets.validate("preset")
    def _valid_preset(self, proposal: dict) -> str:
        if proposal["value"] not in self.preset_names():
            raise traitlets.TraitError(f"unknown preset {proposal['value']!r}; choose one of "
                                       f"{', '.join(self.preset_names())}")
        return proposal["value"]

    @traitlets.observe("window_center", "window_width")
    def _on_window(self, change: dict) -> None:
        with self._batched():
            self.preset = preset_for(self.window, self._scan.window, prefer=self.preset)

    @traitlets.observe("preset")
    def _on_preset(self, change: dict) -> None:
        if change["new"] == CUSTOM_PRESET:
            return
        self.window = resolve_window(self._scan, preset=change["new"])

    @traitlets.validate("zoom")
    def _valid_zoom(self, proposal: dict) -> float:
        return float(np.clip(proposal["value"], 1.0, 64.0))

    @traitlets.observe("cmap", "display_size", "max_display_pixels", "zoom")
    def _on_display_setting(self, change: dict) -> None:
        self._refresh()

    # -- rendering -----------------------------------------------------------------------
    def batch(self) -> ContextManager[None]:
        """Group changes so the panes re-render once, when the block ends.

        Examples
        --------
        >>> import numpy as np, medinteract as mi
        >>> view = mi.compare(np.zeros((8, 8)), np.ones((8, 8)))
        >>> count = view.render_count
        >>> with view.batch():
        ...     view.after = np.full((8, 8), 2.0)
        ...     view.window = (1.0, 4.0)
        >>> view.render_count - count  # the after pane once, the before pane (new window) once
        2
        """
        return self._batched()

    @contextmanager
    def _batched(self) -> Iterator[None]:
        """Group state changes; panes are refreshed once when the outermost group ends."""
        self._batch_depth += 1
        try:
            yield
        finally:
            self._batch_depth -= 1
            if self._batch_depth == 0:
                self._refresh()

    def _refresh(self) -> None:
        """Re-render each visible pane whose render key changed."""
        if self._batch_depth or not self._ready:
            return
        for pane in self._visible_panes():
            height, width = self._pane_hw(pane)
            key = (self._region(pane), self.max_display_pixels, self._pane_key(pane))
            if key == pane.last_key:
                pane.image.set_size(height, width)
                continue
            pixels = self._pane_pixels(pane)
            pane.image.show(encode_png(pixels.data, palette=pixels.palette), height, width)
            pane.last_key = key
            self.render_count += 1

    def _window_key(self) -> tuple:
        return (self.window_center, self.window_width, self.cmap)

    def _region(self, pane: Pane) -> tuple[int, int, int, int]:
        """Rows and columns of the full-resolution slice that ``pane`` shows (zoom)."""
        geometry = slice_geometry(self._scan, pane.axis)
        rows = self._scan.shape[geometry.row_axis]
        cols = self._scan.shape[geometry.col_axis]
        if self.zoom == 1:
            return 0, rows, 0, cols
        return zoom_region(rows, cols, self.zoom, *self._zoom_center(pane, rows, cols))

    def _zoom_center(self, pane: Pane, rows: int, cols: int) -> tuple[float, float]:
        """Display row and column the zoomed view is centred on (the middle by default)."""
        return rows / 2, cols / 2

    def _factor(self, region: tuple[int, int, int, int]) -> int:
        """Downsampling factor of a region so it fits ``max_display_pixels``."""
        return display_factor((region[1] - region[0], region[3] - region[2]),
                              self.max_display_pixels)

    def _display_slice(self, source: str, array: np.ndarray, pane: Pane, index: int,
                       version: int = 0, *, labels: bool = False) -> np.ndarray:
        """What ``pane`` shows of ``array`` at ``index``: the zoom region at display
        resolution. Downsampled slices are cached per source and axis."""
        region = self._region(pane)
        raw = take_slice(array, slice_geometry(self._scan, pane.axis), index)
        raw = raw[region[0]:region[1], region[2]:region[3]]
        factor = self._factor(region)
        if factor == 1:
            return raw
        tag = (index, region, factor, version)
        hit = self._slice_cache.get((source, pane.axis))
        if hit is not None and hit[0] == tag:
            return hit[1]
        small = downsample(raw, factor, method="nearest" if labels else "area")
        self._slice_cache[(source, pane.axis)] = (tag, small)
        return small

    def _visible_panes(self) -> list[Pane]:
        raise NotImplementedError

    def _pane_key(self, pane: Pane) -> tuple:
        raise NotImplementedError

    def _pane_pixels(self, pane: Pane) -> Pixels:
        raise NotImplementedError

    def _pane_hw(self, pane: Pane) -> tuple[int, int]:
        """On-screen size of a pane at one common scale: the longest physical side of the
        scan fills ``display_size``, so every pane shows a millimetre equally large."""
        geometry = slice_geometry(self._scan, pane.axis)
        shape = self._scan.shape
        return display_hw(geometry, (shape[geometry.row_axis], shape[geometry.col_axis]),
                          self.display_size / max(self._scan.extent))

    def _start(self) -> None:
        """Call at the end of a subclass' ``__init__``: enables and performs the first render."""
        self._ready = True
        self._refresh()

    # -- controls ------------------------------------------------------------------------
    def _window_controls(self) -> widgets.HBox:
        """Preset menu, centre and width sliders and the colormap menu, linked to the traits."""
        low, high = _value_range(self._scan.array)
        windows = [self._scan.window, self.window]
        if FILE_PRESET in self.preset_names() and len(self.preset_names()) > 2:
            windows += list(PRESETS.values())
        low = min([low] + [w.center for w in windows])
        high = max([high] + [w.center for w in windows])
        span = max(high - low, 1e-6)
        max_width = max([2 * span] + [w.width for w in windows])
        step = 1.0 if span > 50 else span / 1000
        low, high = np.floor(low / step) * step, np.ceil(high / step) * step  # on the step grid
        preset = widgets.Dropdown(options=self.preset_names(), description="preset",
                                  layout=widgets.Layout(width="190px"))
        center = widgets.FloatSlider(min=low, max=high, step=step, description="level",
                                     continuous_update=True)
        width = widgets.FloatSlider(min=step, max=max_width, step=step, description="width",
                                    continuous_update=True)
        cmap_options = list(COLORMAPS) + ([self.cmap] if self.cmap not in COLORMAPS else [])
        cmap = widgets.Dropdown(options=cmap_options, description="colormap",
                                layout=widgets.Layout(width="190px"))
        zoom = widgets.FloatSlider(min=1.0, max=8.0, step=0.25, description="zoom",
                                   continuous_update=True)
        for control, trait, css in ((preset, "preset", "mi-preset"),
                                    (center, "window_center", "mi-window-center"),
                                    (width, "window_width", "mi-window-width"),
                                    (cmap, "cmap", "mi-cmap"), (zoom, "zoom", "mi-zoom")):
            self._link_control(control, trait)
            control.add_class(css)
        box = widgets.HBox([preset, center, width, cmap, zoom],
                           layout=widgets.Layout(flex_flow="row wrap"))
        box.add_class("mi-window-controls")
        return box

    def _link_control(self, control: widgets.Widget, trait: str) -> None:
        """Link a control's value and a trait both ways.

        A float slider in the browser snaps its value to ``min + k * step`` and sends the
        snapped value back (e.g. a window centre of -600 comes back as -600.16). Such echoes,
        smaller than half a step, are ignored, so showing a viewer never changes its state
        and never renders; a user's move is at least a whole step and always goes through.
        """
        control.value = getattr(self, trait)
        step = getattr(control, "step", None)
        if not isinstance(control, widgets.FloatSlider) or not step:
            traitlets.link((control, "value"), (self, trait))
            return

        def to_trait(change: dict) -> None:
            if abs(change["new"] - getattr(self, trait)) >= step / 2:
                setattr(self, trait, change["new"])

        def to_control(change: dict) -> None:
            if control.value != change["new"]:
                control.value = change["new"]

        control.observe(to_trait, "value")
        self.observe(to_control, trait)

    # -- static output -------------------------------------------------------------------
    def snapshot(self) -> np.ndarray:
        """The visible panes as one RGB image at their on-screen size (for saved output)."""
        images = []
        for pane in self._visible_panes():
            height, width = self._pane_hw(pane)
            images.append(resize_nearest(to_rgb(self._pane_pixels(pane)), height, width))
        rows = max(image.shape[0] for image in images)
        cols = sum(image.shape[1] for image in images) + _SNAPSHOT_GAP * (len(images) - 1)
        canvas = np.full((rows, cols, 3), 255, dtype=np.uint8)
        left = 0
        for image in images:
            canvas[:image.shape[0], left:left + image.shape[1]] = image
            left += image.shape[1] + _SNAPSHOT_GAP
        return canvas

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        """The live widget plus a PNG snapshot, so saved notebooks show a picture."""
        bundle = super()._repr_mimebundle_(**kwargs) or {}
        bundle["image/png"] = base64.b64encode(encode_png(self.snapshot())).decode("ascii")
        return bundle


class SliceDisplay(DisplayBase):
    """A display that cuts slices: adds the ``axis`` and ``index`` traitlets."""

    axis = traitlets.Int(0, help="Slice axis: 0 axial, 1 coronal, 2 sagittal (0 for 2-D).")
    index = traitlets.Int(0, help="Slice index along `axis`.")

    @traitlets.validate("axis")
    def _valid_axis(self, proposal: dict) -> int:
        axes = range(3) if self._scan.is_volume else range(1)
        if proposal["value"] not in axes:
            raise traitlets.TraitError(f"axis must be one of {list(axes)}, got {proposal['value']}")
        return proposal["value"]

    @traitlets.validate("index")
    def _valid_index(self, proposal: dict) -> int:
        if not self._scan.is_volume:
            return 0
        return min(max(int(proposal["value"]), 0), self._scan.shape[self.axis] - 1)

    def _axis_control(self) -> widgets.ToggleButtons:
        """Axial / coronal / sagittal buttons linked to ``axis`` (CSS class ``mi-axis``)."""
        control = widgets.ToggleButtons(options=[(n, i) for i, n in enumerate(AXIS_NAMES)],
                                        value=self.axis, description="view",
                                        style={"button_width": "80px"})
        traitlets.link((control, "value"), (self, "axis"))
        control.add_class("mi-axis")
        return control
