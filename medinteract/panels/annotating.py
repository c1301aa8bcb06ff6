"""The annotate panel: paint, erase and fill labels on a slice; save them aligned with the scan.

Make or correct ground truth by hand: pick a label, drag the brush (radius in mm) over the image,
erase, fill a connected region, undo, and save the label image as NumPy (``.npy``) or NIfTI
(``.nii``/``.nii.gz``, with the scan's geometry so it overlays the scan in any viewer).

>>> import numpy as np
>>> a = annotate(np.zeros((32, 32)))
>>> a.paint((16, 16), radius_mm=2.0)
>>> int(a.labels.sum())
13
>>> a.undo()
True
>>> int(a.labels.sum())
0
"""

from __future__ import annotations

import io
from os import PathLike
from pathlib import Path
from typing import Any, Sequence

import ipywidgets as widgets
import numpy as np
import traitlets
from skimage import segmentation

from medinteract._atomic import write_atomic
from medinteract.display import probe, render_png
from medinteract.display.base import as_scan
from medinteract.display.geometry import ViewState, display_hw, slice_geometry
from medinteract.display.image import SliceImage
from medinteract.errors import LoadError
from medinteract.io import load, write_nifti
from medinteract.scan import Scan

__all__ = ["AnnotatePanel", "annotate", "save_labels", "load_labels"]

_UNDO_DEPTH = 50


def save_labels(labels: np.ndarray, path: str | PathLike[str], scan: Scan) -> Path:
    """Write a label image as ``.npy`` or NIfTI (``.nii``, ``.nii.gz``), atomically.

    NIfTI files carry the scan's geometry (:func:`medinteract.io.write_nifti`), so the labels
    overlay the scan in other tools and load back onto the same grid.
    """
    path = Path(path)
    array = np.asarray(labels).astype(np.int32)
    name = path.name.lower()
    if name.endswith(".npy"):
        buffer = io.BytesIO()
        np.save(buffer, array)
        return write_atomic(path, buffer.getvalue())
    if name.endswith((".nii", ".nii.gz")):
        return write_nifti(array.astype(np.int16) if array.max(initial=0) <= 32767 else array,
                           path, like=scan)
    raise ValueError(f"{path}: save labels as .npy, .nii or .nii.gz")


def load_labels(path: str | PathLike[str], scan: Scan) -> np.ndarray:
    """Read labels saved by :func:`save_labels` (or any label image :func:`medinteract.load`
    reads: ``.npy``, NIfTI, ...) for ``scan``.

    Raises
    ------
    LoadError
        When the file cannot be read, holds fractions, or does not fit the scan's grid (a
        NIfTI file's spacing and origin must be the scan's).
    """
    path = Path(path)
    loaded = load(path)
    if path.name.lower().endswith((".nii", ".nii.gz")) and (
            not np.allclose(loaded.spacing, scan.spacing, rtol=1e-4)
            or not np.allclose(loaded.origin, scan.origin, atol=1e-3)):
        raise LoadError(path, f"geometry (spacing {loaded.spacing}, origin "
                              f"{loaded.origin}) differs from the scan's")
    array = loaded.array
    if array.shape != scan.shape[:scan.spatial_ndim]:
        raise LoadError(path, f"labels of shape {array.shape} do not fit the scan's "
                              f"{scan.shape}")
    if not np.array_equal(array, np.round(array)) or (array.size and array.min() < 0):
        raise LoadError(path, "labels must be non-negative whole numbers")
    return array.astype(np.int32)


class AnnotatePanel(widgets.VBox):
    """Paint labels on a scan; create it with :func:`annotate`.

    Traitlets: ``label`` (painted value, 1-255), ``brush_mm`` (brush radius in mm), ``tool``
    (``"paint"``, ``"erase"``, ``"fill"``), ``index`` (slice of a volume), ``edits`` (number of
    strokes so far; observe it to react to changes). :attr:`labels` is the label image.
    """

    label = traitlets.Int(1, help="Label value painted (1-255).")
    brush_mm = traitlets.Float(2.0, help="Brush radius in mm.")
    tool = traitlets.Enum(("paint", "erase", "fill"), "paint", help="What a stroke does.")
    index = traitlets.Int(0, help="Slice index of a volume (axial).")
    edits = traitlets.Int(0, help="Strokes applied so far.")

    def __init__(self, image: Any, labels: Any = None, *, display_size: int = 512) -> None:
        super().__init__()
        self.add_class("mi-panel")
        self.add_class("mi-panel-annotate")
        self.scan = as_scan(image)
        spatial = self.scan.shape[:self.scan.spatial_ndim]
        self.labels = np.zeros(spatial, np.int32) if labels is None else \
            np.array(getattr(labels, "array", labels), dtype=np.int32)
        if self.labels.shape != spatial:
            raise ValueError(f"labels of shape {self.labels.shape} do not fit the scan's "
                             f"{spatial}")
        self._undo: list[tuple[int, np.ndarray]] = []
        self._pressed = False
        self.display_size = display_size
        self.index = spatial[0] // 2 if self.scan.is_volume else 0
        self.image = SliceImage()
        self.image.add_class("mi-annotate-image")
        controls = self._controls()
        self._status = widgets.HTML()
        self._status.add_class("mi-status")
        self.children = [widgets.HTML("<b>Annotate</b>"), controls, self.image, self._status]
        self._connect_mouse()
        self._render()

    # -- editing ---------------------------------------------------------------------------
    def _plane(self, point: Sequence[int]) -> tuple[int, tuple[int, int]]:
        point = tuple(int(v) for v in point)
        if self.scan.is_volume:
            return point[0], (point[1], point[2])
        return 0, (point[0], point[1])

    def _slice(self, k: int) -> np.ndarray:
        return self.labels[k] if self.scan.is_volume else self.labels

    def _remember(self, k: int) -> None:
        self._undo.append((k, self._slice(k).copy()))
        del self._undo[:-_UNDO_DEPTH]

    def _brush(self, centre: tuple[int, int], radius_mm: float) -> tuple[slice, slice, np.ndarray]:
        sy, sx = self.scan.spacing[-2:]
        rows, cols = self.labels.shape[-2:]
        ry, rx = int(radius_mm / sy), int(radius_mm / sx)
        y0, y1 = max(centre[0] - ry, 0), min(centre[0] + ry + 1, rows)
        x0, x1 = max(centre[1] - rx, 0), min(centre[1] + rx + 1, cols)
        yy, xx = np.ogrid[y0:y1, x0:x1]
        disc = ((yy - centre[0]) * sy) ** 2 + ((xx - centre[1]) * sx) ** 2 <= radius_mm ** 2 + 1e-9
        return slice(y0, y1), slice(x0, x1), disc

    def paint(self, point: Sequence[int], *, radius_mm: float | None = None,
              value: int | None = None, new_stroke: bool = True) -> None:
        """Paint a disc of ``radius_mm`` (default :attr:`brush_mm`) at an array index."""
        k, centre = self._plane(point)
        if new_stroke:
            self._remember(k)
        rows, cols, disc = self._brush(centre, self.brush_mm if radius_mm is None else radius_mm)
        plane = self._slice(k)
        plane[rows, cols][disc] = self.label if value is None else value
        if new_stroke:
            self.edits += 1
        self._render()

    def erase(self, point: Sequence[int], *, radius_mm: float | None = None,
              new_stroke: bool = True) -> None:
        """Set a disc back to 0 (background)."""
        self.paint(point, radius_mm=radius_mm, value=0, new_stroke=new_stroke)

    def fill(self, point: Sequence[int], *, value: int | None = None) -> None:
        """Give the connected region of equal label around ``point`` (in its slice) a label."""
        k, centre = self._plane(point)
        self._remember(k)
        plane = self._slice(k)
        region = segmentation.flood(plane, centre, connectivity=1)
        plane[region] = self.label if value is None else value
        self.edits += 1
        self._render()

    def undo(self) -> bool:
        """Revert the last stroke; False when there is nothing to undo."""
        if not self._undo:
            return False
        k, previous = self._undo.pop()
        self._slice(k)[...] = previous
        self.edits += 1
        self._render()
        return True

    # -- files -----------------------------------------------------------------------------
    def save(self, path: str | PathLike[str]) -> Path:
        """Save the labels as ``.npy`` or NIfTI aligned with the scan (see :func:`save_labels`)."""
        path = save_labels(self.labels, path, self.scan)
        self._status.value = f"<code>saved {Path(path).name}</code>"
        return path

    def load(self, path: str | PathLike[str]) -> AnnotatePanel:
        """Replace the labels by a saved label image (undo restores slice by slice)."""
        self.labels = load_labels(path, self.scan)
        self._undo.clear()
        self.edits += 1
        self._render()
        return self

    # -- view ------------------------------------------------------------------------------
    @traitlets.validate("label")
    def _valid_label(self, proposal: dict) -> int:
        if not 1 <= proposal["value"] <= 255:
            raise traitlets.TraitError("label must be 1..255 (0 is background: use erase)")
        return proposal["value"]

    @traitlets.validate("index")
    def _valid_index(self, proposal: dict) -> int:
        last = self.scan.shape[0] - 1 if self.scan.is_volume else 0
        return int(np.clip(proposal["value"], 0, last))

    @traitlets.observe("index")
    def _on_index(self, change: dict) -> None:
        if hasattr(self, "image"):
            self._render()

    def _hw(self) -> tuple[int, int]:
        geometry = slice_geometry(self.scan, 0)
        shape = self.scan.shape
        return display_hw(geometry, (shape[geometry.row_axis], shape[geometry.col_axis]),
                          self.display_size / max(self.scan.extent))

    def _render(self) -> None:
        plane_values = self.scan.array[self.index] if self.scan.is_volume else self.scan.array
        plane_labels = self._slice(self.index)
        shown = np.where(plane_labels > 0, (plane_labels - 1) % 255 + 1, 0).astype(np.uint8)
        png = render_png(plane_values, self.scan.window, labels=shown, opacity=0.5)
        self.image.show(png, *self._hw())
        present = np.unique(self.labels[self.labels > 0])
        self._status.value = (f"<code>{self.edits} edits · labels present: "
                              f"{', '.join(map(str, present)) or 'none'}</code>")

    def _controls(self) -> widgets.Widget:
        tool = widgets.ToggleButtons(options=["paint", "erase", "fill"], value=self.tool,
                                     description="tool")
        label = widgets.BoundedIntText(value=self.label, min=1, max=255, description="label",
                                       layout=widgets.Layout(width="160px"))
        brush = widgets.FloatSlider(value=self.brush_mm, min=0.5, max=20.0, step=0.5,
                                    description="brush (mm)")
        undo = widgets.Button(description="undo", layout=widgets.Layout(width="70px"))
        undo.on_click(lambda _: self.undo())
        children: list[widgets.Widget] = [tool, label, brush, undo]
        for control, trait, css in ((tool, "tool", "mi-annotate-tool"),
                                    (label, "label", "mi-annotate-label"),
                                    (brush, "brush_mm", "mi-annotate-brush")):
            traitlets.link((control, "value"), (self, trait))
            control.add_class(css)
        undo.add_class("mi-annotate-undo")
        if self.scan.is_volume:
            index = widgets.IntSlider(value=self.index, min=0, max=self.scan.shape[0] - 1,
                                      description="slice")
            traitlets.link((index, "value"), (self, "index"))
            index.add_class("mi-slice-slider")
            children.append(index)
        box = widgets.HBox(children, layout=widgets.Layout(flex_flow="row wrap"))
        box.add_class("mi-controls")
        return box

    # -- mouse -----------------------------------------------------------------------------
    def _connect_mouse(self) -> None:
        try:
            from ipyevents import Event
        except ImportError:
            return
        events = Event(source=self.image, watched_events=["mousedown", "mousemove", "mouseup",
                                                          "mouseleave"],
                       prevent_default_action=True)
        events.on_dom_event(self._on_event)
        self._events = events

    def _on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type", "")
        if kind in ("mouseup", "mouseleave"):
            self._pressed = False
            return
        if kind == "mousemove" and not self._pressed:
            return
        self.stroke_at(float(event.get("relativeX", -1)), float(event.get("relativeY", -1)),
                       width_px=float(event.get("boundingRectWidth", 0) or 0) or None,
                       height_px=float(event.get("boundingRectHeight", 0) or 0) or None,
                       start=kind == "mousedown")

    def stroke_at(self, x_px: float, y_px: float, *, width_px: float | None = None,
                  height_px: float | None = None, start: bool = True) -> tuple[int, ...] | None:
        """Apply the tool at a position on the image (as the mouse does).

        ``start=True`` begins a stroke (one undo step); further positions with ``start=False``
        continue it, as while dragging.
        """
        height, width = self._hw()
        state = ViewState(0, self.index, height_px or height, width_px or width)
        found = probe(self.scan, state, x_px, y_px)
        if not found.get("inside"):
            return None
        point = tuple(found["index"])
        if self.tool == "fill":
            if start:
                self.fill(point)
            return point
        self._pressed = True
        value = 0 if self.tool == "erase" else None
        self.paint(point, value=value, new_stroke=start)
        return point


def annotate(image: Any, labels: Any = None, *, display_size: int = 512) -> AnnotatePanel:
    """A panel to paint labels on a scan.

    Parameters
    ----------
    image : Scan or array_like
        The scan to annotate (a volume is annotated slice by slice, axially).
    labels : array_like, optional
        Starting labels (e.g. a segmentation to correct); zeros otherwise.
    display_size : int
        On-screen size of the image's longest physical side (CSS pixels).
    """
    return AnnotatePanel(image, labels, display_size=display_size)
