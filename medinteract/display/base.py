"""What every viewer shares: the browser front end, its state, the values it holds, snapshots.

The viewers are `anywidget <https://anywidget.dev>`_ widgets. Their front end
(``static/viewer.js``, a plain ES module shipped in the package, no build step) receives the
scan's raw values once (see :mod:`medinteract.display.transfer`) and then does everything a
user does to a view in the browser, with no round trip to the kernel: slice steps (keys,
slider, mouse wheel), window/level (sliders, presets, right-drag), colormap, overlay opacity
and outline, zoom and pan, the orthogonal crosshair and the probe readout. It paints exactly
the pixels the Python reference (:func:`~medinteract.display.rendering.compose`) computes.

The kernel stays the source of truth. The view state is traitlets, synced both ways: what
the user changes comes back at once, with ipywidgets' flow control (one message in flight,
later changes merged into the next, so a drag sends a message per kernel reply, not per mouse
move, and the kernel's echo of an older message never undoes a newer change), and
``observe``, ``link`` and saved widget state work; what code sets moves the browser view.

**Data.** Each widget holds named *layers* (``values`` and ``labels`` of a viewer; ``before``,
``after`` and ``after_labels`` of a comparison): arrays the widget references, never copies.
Replacing a layer bumps its version and sends the slices currently shown right away (with
the state, so they arrive even before the front end has loaded: the first image needs no
round trip), or only the changed slices when few changed. The browser then pulls the rest,
slab by slab, nearest to the shown slice first.

**Browser memory budget.** The browser keeps at most :data:`BROWSER_BUDGET_BYTES` of values
per widget (about 2 bytes per voxel for CT, whose values travel as int16: a 300x512x512 CT
takes 150 MiB). A larger volume is not downsampled (that would not be lossless): the browser
holds the slabs nearest the shown slice up to the budget, drops the farthest when the user
moves on, and fetches the slabs or planes it lacks on demand (one round trip each).

**Lifetime.** Re-running the cell that made a viewer closes the viewers that cell made
before (found from the ``cellId`` JupyterLab, Notebook 7 and VS Code put in every execute
request), and a closed viewer drops its references to the data, so kernel memory does not
grow with re-runs; :meth:`DisplayWidget.close` does the same by hand. Set
:data:`CLOSE_ON_RERUN` to False to keep them.
"""

from __future__ import annotations

import base64
import weakref
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, ContextManager, Iterator

import anywidget
import numpy as np
import traitlets

from medinteract.display.color import COLORMAPS, DIFFERENCE_CMAP, colormap_lut, label_lut
from medinteract.display.encode import display_factor, downsample, encode_png, resize_nearest
from medinteract.display.geometry import (AXIS_NAMES, SliceGeometry, ViewState, display_hw,
                                          probe, slice_geometry, take_slice, zoom_region)
from medinteract.display.rendering import Pixels, to_rgb
from medinteract.display.transfer import encode_values, slab_ranges
from medinteract.display.window import (CUSTOM_PRESET, FILE_PRESET, PRESETS, preset_for,
                                        resolve_window)
from medinteract.scan import Scan, Window

__all__ = ["DisplayWidget", "SliceDisplay", "PaneImage", "as_scan", "check_labels",
           "BROWSER_BUDGET_BYTES", "CLOSE_ON_RERUN", "MouseHandler"]

_STATIC = Path(__file__).parent / "static"
_SNAPSHOT_GAP = 4  # px of white between panes in a static snapshot

#: Most bytes of values one widget keeps in the browser (see the module docstring).
BROWSER_BUDGET_BYTES = 512 * 1024 * 1024
#: Close the viewers a cell made when the same cell runs again (see the module docstring).
CLOSE_ON_RERUN = True
#: Changed slices sent as a patch with the state when at most this many bytes (raw); more,
#: and the new version is announced and pulled by the browser like a new volume.
_PATCH_BYTES = 8 * 1024 * 1024

_ENCODERS: ThreadPoolExecutor | None = None

#: ``handler(event)``: called with a dict describing a mouse event on a pane (see
#: :meth:`DisplayWidget.on_click` and :meth:`Viewer.on_stroke`).
MouseHandler = Callable[[dict], None]


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

    Booleans become uint8, whole-number floats int32; integer arrays are used as they are
    (no copy). The spatial shape must be the scan's.

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
        array = array.view(np.uint8)
    if not np.issubdtype(array.dtype, np.integer):
        if not np.array_equal(array, np.round(array)):
            raise ValueError("labels must be integers (0 = background)")
        array = array.astype(np.int32)
    return array


def _value_range(array: np.ndarray, max_samples: int = 1 << 20) -> tuple[float, float]:
    """Smallest and largest finite value, for slider ranges: read from an evenly strided
    sample of at most about ``max_samples`` voxels (a view, no copy), so a large volume opens
    without a pass over all of it."""
    step = max(1, int(np.ceil((array.size / max_samples) ** (1 / max(1, min(array.ndim, 3))))))
    sample = array[(slice(None, None, step),) * min(array.ndim, 3)]
    with np.errstate(invalid="ignore"):
        low, high = float(np.nanmin(sample)), float(np.nanmax(sample))
    if not (np.isfinite(low) and np.isfinite(high)):  # infinities or all-NaN: rare, so copy
        finite = sample[np.isfinite(sample)]
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    return low, high


def _as_volume(array: np.ndarray, spatial_ndim: int) -> np.ndarray:
    """A 2-D image (with channels) as a one-slice volume (a view), so all layers are 3-D."""
    return array[np.newaxis] if spatial_ndim == 2 else array


class _Layout:
    """``width`` and ``height`` in CSS pixels, as ``"Npx"`` strings (like a widget layout)."""

    def __init__(self, height: int, width: int) -> None:
        self.height, self.width = f"{int(height)}px", f"{int(width)}px"


class PaneImage:
    """What one pane of a viewer shows, computed by the Python reference renderer.

    The browser paints the same pixels; this object lets scripts and tests read them without
    a browser. ``value`` is the pane's PNG (lossless), ``pixels`` its RGB array at data
    resolution, ``layout.width``/``layout.height`` its on-screen size.
    """

    def __init__(self, display: DisplayWidget, name: str) -> None:
        self._display = display
        self.name = name

    def _pixels(self) -> Pixels:
        full = self._display._pane_pixels(self.name, full=True)
        row_start, row_stop, col_start, col_stop = self._display._region(self.name)
        return Pixels(full.data[row_start:row_stop, col_start:col_stop], full.palette)

    @property
    def pixels(self) -> np.ndarray:
        """``(rows, cols, 3)`` uint8: the pane's pixels at data resolution (zoom applied)."""
        return np.ascontiguousarray(to_rgb(self._pixels()))

    @property
    def value(self) -> bytes:
        """The pane's pixels as PNG bytes."""
        pixels = self._pixels()
        return encode_png(np.ascontiguousarray(pixels.data), palette=pixels.palette)

    @property
    def layout(self) -> _Layout:
        """On-screen size of the pane's image."""
        return _Layout(*self._display._pane_hw(self.name))

    @property
    def render_count(self) -> int:
        """Data updates sent for the widget so far (see ``DisplayWidget.render_count``)."""
        return self._display.render_count


# -- release on re-run -----------------------------------------------------------------------
_CELL_WIDGETS: dict[str, tuple[str, list[weakref.ReferenceType]]] = {}


def _execution() -> tuple[str | None, str | None]:
    """The ``cellId`` and message id of the execute request running now (None, None outside
    a kernel or when the front end sends no cell id)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        return None, None
    shell = get_ipython()
    kernel = getattr(shell, "kernel", None)
    if kernel is None or not hasattr(kernel, "get_parent"):
        return None, None
    try:
        parent = kernel.get_parent() or {}
    except Exception:  # noqa: BLE001 - an unusual kernel: no re-run tracking
        return None, None
    cell = (parent.get("metadata") or {}).get("cellId")
    return cell, (parent.get("header") or {}).get("msg_id")


def _register_for_rerun(widget: DisplayWidget) -> None:
    """Remember ``widget`` as made by the running cell; close what an earlier run of the same
    cell made."""
    cell, msg_id = _execution()
    if cell is None or msg_id is None:
        return
    previous = _CELL_WIDGETS.get(cell)
    if previous is not None and previous[0] != msg_id:
        del _CELL_WIDGETS[cell]
        if CLOSE_ON_RERUN:
            for ref in previous[1]:
                old = ref()
                if old is not None:
                    old.close()
        previous = None
    if previous is None:
        previous = (msg_id, [])
        _CELL_WIDGETS[cell] = previous
    previous[1].append(weakref.ref(widget))


class DisplayWidget(anywidget.AnyWidget):
    """Base of the viewers: state traitlets, layers of values, data transfer, snapshots.

    Subclasses describe their panes (:meth:`_pane_names`, :meth:`_pane_axis`,
    :meth:`_pane_index`, :meth:`_pane_pixels`) and which layer slices are on screen
    (:meth:`_shown_planes`), add their layers with :meth:`_set_layer` and call
    :meth:`_start` at the end of ``__init__``.
    """

    _esm = _STATIC / "viewer.js"
    _css = _STATIC / "viewer.css"

    _kind = traitlets.Unicode("").tag(sync=True)
    window_center = traitlets.Float(0.0, help="Window centre (level) in physical units.") \
        .tag(sync=True)
    window_width = traitlets.Float(1.0, help="Window width in physical units (> 0).") \
        .tag(sync=True)
    preset = traitlets.Unicode(FILE_PRESET, help="Window preset name, 'file' or 'custom'.") \
        .tag(sync=True)
    cmap = traitlets.Unicode("gray", help="Colormap name (matplotlib).").tag(sync=True)
    display_size = traitlets.Int(512, help="On-screen CSS pixels of the longest physical side.") \
        .tag(sync=True)
    zoom = traitlets.Float(1.0, help="Magnification: 1 shows whole slices, 2 half their width.") \
        .tag(sync=True)
    zoom_center = traitlets.Tuple(
        help="Centre of the zoomed view as fractions (0-1) along each spatial array axis.") \
        .tag(sync=True)
    max_display_pixels = traitlets.Int(
        1024, help="Static snapshots of larger slices are averaged down to this many pixels "
                   "per side (the browser always shows full resolution).")
    render_count = traitlets.Int(
        0, help="Image data updates sent to the browser so far (new or changed layers; "
                "window, slice and zoom changes are drawn in the browser and send none).")

    # front-end support data (kernel -> browser only)
    _layers = traitlets.Dict().tag(sync=True)
    _seed: traitlets.List[Any] = traitlets.List().tag(sync=True)
    _geometry = traitlets.Dict().tag(sync=True)
    _luts = traitlets.Dict().tag(sync=True)
    _presets: traitlets.List[Any] = traitlets.List().tag(sync=True)
    _ranges = traitlets.Dict().tag(sync=True)
    _budget = traitlets.Int(BROWSER_BUDGET_BYTES).tag(sync=True)
    _mouse: traitlets.List[Any] = traitlets.List().tag(sync=True)
    _title = traitlets.Unicode("").tag(sync=True)

    def __init__(self, scan: Scan, *, window: Window | tuple[float, float] | None = None,
                 preset: str | None = None, cmap: str = "gray", display_size: int = 512,
                 max_display_pixels: int = 1024, **kwargs: Any) -> None:
        self._scan: Scan = scan
        self._ready = False
        self._batch_depth = 0
        self._sources: dict[str, np.ndarray] = {}
        self._versions: dict[str, int] = {}
        self._pending: dict[str, tuple[int, int] | None] = {}  # layer -> changed slab or None
        self._click_handlers: dict[str, list[MouseHandler]] = {}
        self._stroke_handlers: list[MouseHandler] = []
        self._answering: list = []  # answers being encoded (futures)
        start = resolve_window(scan, window, preset)
        super().__init__(**kwargs)
        # everything set until _start() reaches the front end as one state message
        self._creation = self.hold_sync()
        self._creation.__enter__()
        self.window_center, self.window_width = start
        self.preset = preset_for(start, scan.window, prefer=preset or FILE_PRESET)
        self.cmap = cmap
        self.display_size = display_size
        self.max_display_pixels = max_display_pixels
        self.zoom_center = (0.5,) * scan.spatial_ndim
        self._luts = {name: colormap_lut(name).tobytes()
                      for name in (*COLORMAPS, DIFFERENCE_CMAP, cmap)} | \
            {"__labels__": label_lut().tobytes()}
        self.on_msg(self._on_front_end_message)
        self._describe_scan()
        _register_for_rerun(self)

    # -- state -----------------------------------------------------------------------------
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
        with self.hold_trait_notifications():
            self.window_center, self.window_width = float(value[0]), float(value[1])

    @property
    def view_sizes(self) -> dict[str, tuple[int, int]]:
        """On-screen ``(height, width)`` in CSS pixels of each visible pane, by pane name.

        Pane names are ``"slice"`` (single view), ``"axial"``, ``"coronal"``, ``"sagittal"``
        (orthogonal view), ``"before"``, ``"after"`` (compare); the canvases carry the CSS
        class ``mi-image-NAME``.
        """
        return {name: self._pane_hw(name) for name in self._pane_names()}

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
            lut = colormap_lut(proposal["value"])
        except ValueError as error:
            raise traitlets.TraitError(str(error)) from None
        if proposal["value"] not in self._luts:  # a colormap the browser does not have yet
            self._luts = {**self._luts, proposal["value"]: lut.tobytes()}
        return proposal["value"]

    @traitlets.validate("preset")
    def _valid_preset(self, proposal: dict) -> str:
        if proposal["value"] not in self.preset_names():
            raise traitlets.TraitError(f"unknown preset {proposal['value']!r}; choose one of "
                                       f"{', '.join(self.preset_names())}")
        return proposal["value"]

    @traitlets.observe("window_center", "window_width")
    def _on_window(self, change: dict) -> None:
        self.preset = preset_for(self.window, self._scan.window, prefer=self.preset)

    @traitlets.observe("preset")
    def _on_preset(self, change: dict) -> None:
        if change["new"] == CUSTOM_PRESET:
            return
        self.window = resolve_window(self._scan, preset=change["new"])

    @traitlets.validate("zoom")
    def _valid_zoom(self, proposal: dict) -> float:
        return float(np.clip(proposal["value"], 1.0, 64.0))

    @traitlets.validate("zoom_center")
    def _valid_zoom_center(self, proposal: dict) -> tuple:
        value = tuple(float(np.clip(v, 0.0, 1.0)) for v in proposal["value"])
        if len(value) != self._scan.spatial_ndim:
            raise traitlets.TraitError(f"zoom_center needs {self._scan.spatial_ndim} fractions, "
                                       f"got {proposal['value']}")
        return value

    @traitlets.observe("display_size")
    def _on_display_size(self, change: dict) -> None:
        self._describe_scan()

    # -- layers and data transfer ----------------------------------------------------------
    def batch(self) -> ContextManager[None]:
        """Group changes so the browser gets them in one message, when the block ends.

        Examples
        --------
        >>> import numpy as np, medinteract as mi
        >>> view = mi.compare(np.zeros((8, 8)), np.ones((8, 8)))
        >>> count = view.render_count
        >>> with view.batch():
        ...     view.after = np.full((8, 8), 2.0)
        ...     view.window = (1.0, 4.0)
        >>> view.render_count - count  # one data update; the window is drawn in the browser
        1
        """
        return self._batched()

    @contextmanager
    def _batched(self) -> Iterator[None]:
        self._batch_depth += 1
        try:
            with self.hold_sync():
                yield
        finally:
            self._batch_depth -= 1
            if self._batch_depth == 0:
                self._flush()

    def _set_layer(self, name: str, array: np.ndarray | None, *,
                   changed: tuple[int, int] | None = None) -> None:
        """Show ``array`` as layer ``name`` (None removes it); send it when the batch ends.

        ``changed`` (start, stop) along array axis 0 says that only those slices differ from
        the array shown before (same object edited in place, or a new one); without it a new
        array of the same shape is compared with the old one slab by slab.
        """
        old = self._sources.get(name)
        if array is None:
            self._sources.pop(name, None)
            self._pending[name] = None
        else:
            volume = _as_volume(array, self._scan.spatial_ndim)
            if name in self._pending or old is None or old.shape != volume.shape:
                changed = None  # new, reshaped, or changed twice in one batch: send it whole
            elif changed is not None:
                changed = (0, 1) if self._scan.spatial_ndim == 2 else changed
            elif old is not volume:
                changed = _changed_slabs(old, volume)
            self._sources[name] = volume
            self._pending[name] = changed
        self._versions[name] = self._versions.get(name, 0) + 1
        if self._batch_depth == 0:
            self._flush()

    def _flush(self) -> None:
        """Send what changed in the layers: the state and the data seed in one message."""
        if not self._pending or not self._ready:
            return
        pending, self._pending = self._pending, {}
        seed: list[dict] = []
        layers = dict(self._layers)
        for name, changed in pending.items():
            array = self._sources.get(name)
            version = self._versions[name]
            if array is None:
                layers.pop(name, None)
                continue
            layers[name] = {"version": version, "shape": [int(n) for n in array.shape],
                            "labels": name.endswith("labels")}
            patch = changed is not None and changed != (0, 0) and \
                array[changed[0]:changed[1]].nbytes <= _PATCH_BYTES
            if changed == (0, 0):  # nothing changed: the browser re-stamps what it holds
                seed.append({"type": "patch", "layer": name, "version": version,
                             "base": version - 1, "start": 0, "stop": 0})
            elif patch and changed is not None:
                seed += self._slab_messages(name, changed[0], changed[1], base=version - 1)
            else:
                seed += self._seed_messages(name)
        with self.hold_sync():
            self._layers = layers
            self._seed = seed
        self.render_count += 1

    def _seed_messages(self, name: str) -> list[dict]:
        """The planes of layer ``name`` the panes show now."""
        messages: list[dict] = []
        done: set[tuple[int, int]] = set()
        for axis, index in self._shown_planes():
            if (axis, index) in done:
                continue
            done.add((axis, index))
            if axis == 0:
                messages += self._slab_messages(name, index, index + 1)
            else:
                messages.append(self._plane_message(name, axis, index))
        return messages

    def _slab_messages(self, name: str, start: int, stop: int, *,
                       base: int | None = None) -> list[dict]:
        return _slab_messages(name, self._sources[name], self._versions[name], start, stop,
                              base=base)

    def _plane_message(self, name: str, axis: int, index: int) -> dict:
        return _plane_message(name, self._sources[name], self._versions[name], axis, index)

    def _send_message(self, message: dict) -> None:
        data = message.pop("data", None)
        self.send(message, [data] if data is not None else None)

    def _on_front_end_message(self, _widget: Any, content: dict, buffers: list) -> None:
        kind = content.get("type")
        name = content.get("layer")
        if kind in ("fetch", "plane") and name in self._sources:
            future = _encoders().submit(self._answer, dict(content), self._sources[name],
                                        self._versions[name])
            self._answering = [f for f in self._answering if not f.done()] + [future]
        elif kind == "mouse":
            self._on_mouse_event(content)

    def _answer(self, request: dict, array: np.ndarray, version: int) -> None:
        """Encode and send what the browser asked for (on an encoder thread: compressing
        never holds up the kernel, and zlib runs beside it on another core). Only data
        travel from here; no trait is touched."""
        name = request["layer"]
        try:
            if request["type"] == "fetch":
                messages = _slab_messages(name, array, version, int(request["start"]),
                                          int(request["stop"]))
            else:
                messages = [_plane_message(name, array, version, int(request["axis"]),
                                           int(request["index"]))]
            for message in messages:
                if self.comm is None:  # closed meanwhile
                    return
                self._send_message(message)
        except Exception:  # noqa: BLE001 - a closed comm or a vanished kernel: nothing to tell
            return

    # -- mouse -----------------------------------------------------------------------------
    def on_click(self, handler: MouseHandler, pane: str | None = None) -> bool:
        """Call ``handler(event)`` when the user clicks inside a pane.

        ``event`` is :func:`~medinteract.display.geometry.probe`'s dict for the voxel clicked
        (``index``, ``mm``, ``value``, ``unit``) plus ``pane`` and ``button`` (0 left,
        1 middle, 2 right).

        Parameters
        ----------
        handler : callable
        pane : str, optional
            Only clicks on this pane (a name from :attr:`view_sizes`); default all panes.

        Returns
        -------
        bool
            True (kept for compatibility: mouse events always work).
        """
        self._click_handlers.setdefault(pane or "*", []).append(handler)
        self._update_mouse()
        return True

    def _update_mouse(self) -> None:
        wanted = []
        if any(self._click_handlers.values()):
            wanted.append("click")
        if self._stroke_handlers:
            wanted.append("stroke")
        self._mouse = wanted

    def _on_mouse_event(self, content: dict) -> None:
        event = self._voxel_event(content)
        if event is None:
            return
        if content.get("event") == "click":
            self._clicked(event)
            for key in ("*", event["pane"]):
                for handler in list(self._click_handlers.get(key, ())):
                    handler(event)
        elif content.get("event") == "stroke":
            event["phase"] = content.get("phase", "move")
            for handler in list(self._stroke_handlers):
                handler(event)

    def _voxel_event(self, content: dict) -> dict | None:
        index = tuple(int(i) for i in content.get("index", ()))
        spatial = self._scan.shape[:self._scan.spatial_ndim]
        if len(index) != len(spatial) or not all(0 <= i < n for i, n in zip(index, spatial)):
            return None
        value = self._scan.array[index]
        return {"inside": True, "index": index, "pane": str(content.get("pane", "")),
                "button": int(content.get("button", 0)),
                "mm": tuple(float(v) for v in self._scan.index_to_mm(index)),
                "value": tuple(float(v) for v in value) if np.ndim(value) else float(value),
                "unit": "HU" if self._scan.modality.upper() == "CT" else ""}

    def _clicked(self, event: dict) -> None:
        """A click on a pane (subclasses move their crosshair)."""

    # -- geometry ----------------------------------------------------------------------------
    def _describe_scan(self) -> None:
        """Send the scan's geometry, window presets and control ranges to the front end."""
        scan = self._scan
        px_per_mm = self.display_size / max(scan.extent[:scan.spatial_ndim])
        axes = []
        for axis in range(3 if scan.is_volume else 1):
            geometry = slice_geometry(scan, axis)
            height, width = display_hw(geometry, (scan.shape[geometry.row_axis],
                                                  scan.shape[geometry.col_axis]), px_per_mm)
            axes.append({"axis": geometry.axis if scan.is_volume else 0,
                         "row_axis": geometry.row_axis + (0 if scan.is_volume else 1),
                         "col_axis": geometry.col_axis + (0 if scan.is_volume else 1),
                         "flip_rows": geometry.flip_rows, "height": height, "width": width})
        spatial = list(scan.shape[:scan.spatial_ndim])
        self._geometry = {
            "shape": ([1] if not scan.is_volume else []) + spatial,
            "channels": scan.shape[-1] if scan.is_rgb else 0,
            "spacing": list(scan.spacing), "origin": list(scan.origin),
            "direction": scan.direction.tolist(), "volume": scan.is_volume,
            "unit": "HU" if scan.modality.upper() == "CT" else "", "axes": axes,
            "axis_names": list(AXIS_NAMES),
        }
        presets: list[list[Any]] = [[FILE_PRESET, scan.window.center, scan.window.width]]
        presets += [[name, w.center, w.width] for name, w in PRESETS.items()
                    if name in self.preset_names()]
        self._presets = presets
        windows = [self.window, *(Window(float(c), float(w)) for _, c, w in presets)]
        self._ranges = _window_ranges(scan, windows)

    def _geometry_of(self, axis: int) -> SliceGeometry:
        return slice_geometry(self._scan, axis)

    def _pane_hw(self, name: str) -> tuple[int, int]:
        """On-screen size of a pane at one common scale: the longest physical side of the
        scan fills ``display_size``, so every pane shows a millimetre equally large."""
        geometry = self._geometry_of(self._pane_axis(name))
        shape = self._scan.shape
        return display_hw(geometry, (shape[geometry.row_axis], shape[geometry.col_axis]),
                          self.display_size / max(self._scan.extent[:self._scan.spatial_ndim]))

    def _region(self, name: str) -> tuple[int, int, int, int]:
        """Rows and columns of the full-resolution slice that pane ``name`` shows (zoom)."""
        geometry = self._geometry_of(self._pane_axis(name))
        rows = self._scan.shape[geometry.row_axis]
        cols = self._scan.shape[geometry.col_axis]
        if self.zoom == 1:
            return 0, rows, 0, cols
        center = self.zoom_center
        row_fraction = center[geometry.row_axis] if self._scan.is_volume else center[0]
        col_fraction = center[geometry.col_axis] if self._scan.is_volume else center[1]
        if geometry.flip_rows:
            row_fraction = 1.0 - row_fraction
        return zoom_region(rows, cols, self.zoom, row_fraction * rows, col_fraction * cols)

    def _probe_pane(self, name: str, x_px: float, y_px: float, width_px: float | None,
                    height_px: float | None) -> dict:
        height, width = self._pane_hw(name)
        state = ViewState(self._pane_axis(name), self._pane_index(name), height_px or height,
                          width_px or width, self._region(name))
        return probe(self._scan, state, x_px, y_px)

    def _display_slice(self, array: np.ndarray, name: str, *, labels: bool = False,
                       full: bool = False) -> np.ndarray:
        """What pane ``name`` shows of a layer array: the whole slice when ``full`` (as the
        browser composes it, before cropping to the zoom region), else the zoom region
        averaged down to ``max_display_pixels`` (static snapshots)."""
        raw = take_slice(array, self._geometry_of(self._pane_axis(name)),
                         self._pane_index(name))
        if full:
            return raw
        region = self._region(name)
        raw = raw[region[0]:region[1], region[2]:region[3]]
        factor = display_factor(raw.shape, self.max_display_pixels)
        return downsample(raw, factor, method="nearest" if labels else "area")

    # -- to implement ------------------------------------------------------------------------
    def _pane_names(self) -> list[str]:
        raise NotImplementedError

    def _pane_axis(self, name: str) -> int:
        raise NotImplementedError

    def _pane_index(self, name: str) -> int:
        raise NotImplementedError

    def _pane_pixels(self, name: str, *, full: bool = False) -> Pixels:
        raise NotImplementedError

    def _shown_planes(self) -> list[tuple[int, int]]:
        """(axis, index) of every plane on screen (their values are sent first)."""
        return [(self._pane_axis(n), self._pane_index(n)) for n in self._pane_names()]

    def _start(self) -> None:
        """Call at the end of a subclass' ``__init__``: sends the first data."""
        self._ready = True
        self._flush()
        self._creation.__exit__(None, None, None)

    # -- lifetime ----------------------------------------------------------------------------
    def close(self) -> None:
        """Close the widget (its views disappear) and release the data it references (the
        scan too: a closed viewer cannot be shown again)."""
        self._sources = {}
        for name in ("_scan", "_after", "_full"):
            if hasattr(self, name):
                setattr(self, name, None)
        self._pending = {}
        # answers not started yet are dropped: nobody reads them, and the viewer a re-run
        # cell makes gets the encoder threads at once
        for answer in getattr(self, "_answering", ()):  # also when __init__ failed early
            answer.cancel()
        self._answering = []
        self._click_handlers = {}
        self._stroke_handlers = []
        super().close()

    @property
    def closed(self) -> bool:
        """True once the widget was closed (by :meth:`close` or a re-run of its cell)."""
        return self.comm is None

    # -- static output -----------------------------------------------------------------------
    def image(self, pane: str | None = None) -> PaneImage:
        """What a pane shows (pixels, PNG, size) computed in Python; see :class:`PaneImage`."""
        names = self._pane_names()
        if pane is None:
            pane = names[0]
        if pane not in self._all_pane_names():
            raise ValueError(f"no pane {pane!r}; this view has {', '.join(self._all_pane_names())}")
        return PaneImage(self, pane)

    def _all_pane_names(self) -> list[str]:
        return self._pane_names()

    def snapshot(self) -> np.ndarray:
        """The visible panes as one RGB image at their on-screen size (for saved output)."""
        return to_rgb(self._snapshot_pixels())

    def _snapshot_pixels(self) -> Pixels:
        """:meth:`snapshot` as :class:`Pixels`: one byte per pixel (grey levels) when every
        pane is grey, so the saved PNG is a third of the size and quick to encode (it is part
        of the cell's output message, which the browser needs before it shows the viewer)."""
        panes = [(self._pane_pixels(name), self._pane_hw(name)) for name in self._pane_names()]
        grey = all(pixels.data.ndim == 2 and pixels.palette is None for pixels, _ in panes)
        images = [resize_nearest(pixels.data if grey else to_rgb(pixels), height, width)
                  for pixels, (height, width) in panes]
        rows = max(image.shape[0] for image in images)
        cols = sum(image.shape[1] for image in images) + _SNAPSHOT_GAP * (len(images) - 1)
        canvas = np.full((rows, cols, *images[0].shape[2:]), 255, dtype=np.uint8)  # white gaps
        left = 0
        for image in images:
            canvas[:image.shape[0], left:left + image.shape[1]] = image
            left += image.shape[1] + _SNAPSHOT_GAP
        return Pixels(canvas)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The live widget plus a PNG snapshot, so saved notebooks show a picture."""
        bundle = super()._repr_mimebundle_(**kwargs)
        if self.closed or not self._sources:
            return bundle
        png = base64.b64encode(encode_png(self._snapshot_pixels().data)).decode("ascii")
        if isinstance(bundle, tuple):  # (data, metadata)
            data, metadata = bundle
            return {**(data or {}), "image/png": png}, metadata
        return {**(bundle or {}), "image/png": png}


class SliceDisplay(DisplayWidget):
    """A display that cuts slices: adds the ``axis`` and ``index`` traitlets."""

    axis = traitlets.Int(0, help="Slice axis: 0 axial, 1 coronal, 2 sagittal (0 for 2-D).") \
        .tag(sync=True)
    index = traitlets.Int(0, help="Slice index along `axis`.").tag(sync=True)

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


def _encoders() -> ThreadPoolExecutor:
    global _ENCODERS
    if _ENCODERS is None:
        _ENCODERS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="medinteract-encode")
    return _ENCODERS


def _slab_messages(name: str, array: np.ndarray, version: int, start: int, stop: int, *,
                   base: int | None = None) -> list[dict]:
    """Slices ``start:stop`` of a layer along axis 0, as slab messages of bounded size."""
    start, stop = max(0, start), min(array.shape[0], stop)
    slice_bytes = int(np.prod(array.shape[1:])) * 2
    messages = []
    for a, b in slab_ranges(stop - start, slice_bytes):
        header, data = encode_values(array[start + a:start + b])
        message = {"type": "slab", "layer": name, "version": version, "start": start + a,
                   "stop": start + b, **header, "data": data}
        if base is not None:
            message["base"] = base
        messages.append(message)
    if not messages and base is not None:
        messages.append({"type": "patch", "layer": name, "version": version, "base": base,
                         "start": start, "stop": start})
    return messages


def _plane_message(name: str, array: np.ndarray, version: int, axis: int, index: int) -> dict:
    """The plane at ``index`` along ``axis`` of a layer, as one message."""
    index = min(max(int(index), 0), array.shape[axis] - 1)
    header, data = encode_values(np.take(array, index, axis=axis))
    return {"type": "plane", "layer": name, "version": version, "axis": axis, "index": index,
            **header, "data": data}


def _changed_slabs(old: np.ndarray, new: np.ndarray) -> tuple[int, int]:
    """The range of axis-0 slices in which ``new`` differs from ``old`` ((0, 0): none).

    Compares slab by slab, so the temporary is one slab, never the volume.
    """
    first, last = -1, -1
    step = max(1, (4 * 1024 * 1024) // max(1, old[0].nbytes))
    for start in range(0, old.shape[0], step):
        differs = np.any((old[start:start + step] != new[start:start + step])
                         .reshape(min(step, old.shape[0] - start), -1), axis=1)
        hits = np.flatnonzero(differs)
        if hits.size:
            if first < 0:
                first = start + int(hits[0])
            last = start + int(hits[-1])
    return (0, 0) if first < 0 else (first, last + 1)


def _window_ranges(scan: Scan, windows: list[Window]) -> dict[str, list[float]]:
    """Ranges and steps of the level and width sliders: the data range and every window."""
    low, high = _value_range(scan.array)
    low = min([low] + [w.center for w in windows])
    high = max([high] + [w.center for w in windows])
    span = max(high - low, 1e-6)
    max_width = max([2 * span] + [w.width for w in windows])
    step = 1.0 if span > 50 else span / 1000
    low, high = float(np.floor(low / step) * step), float(np.ceil(high / step) * step)
    return {"level": [low, high, step], "width": [step, float(max_width), step]}
