"""The annotate panel: paint, erase and fill labels on a slice; save them aligned with the scan.

Make or correct ground truth by hand: pick a label, drag the brush (radius in mm) over the image,
erase, fill a connected region, undo, and save the label image as NumPy (``.npy``) or NIfTI
(``.nii``/``.nii.gz``, with the scan's geometry so it overlays the scan in any viewer).

The panel is headless state like every panel (:class:`AnnotatePanel`: the labels, the tool, the
edits; strokes arrive as voxel positions); its view
(:class:`~medinteract.panels.views.AnnotateView`) is the shared viewer (:func:`medinteract.view`:
zoom, window, downsampling) with the labels drawn over the scan, plus the tool controls.

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

import numpy as np
import traitlets
from skimage import segmentation

from medinteract._atomic import write_atomic
from medinteract.errors import LoadError
from medinteract.io import load, write_nifti
from medinteract.panels.base import _input_scan
from medinteract.panels.model import PanelModel
from medinteract.scan import Scan

__all__ = ["AnnotatePanel", "annotate", "save_labels", "load_labels"]

_UNDO_DEPTH = 50
#: Smallest and largest brush radius (mm).
BRUSH_MIN_MM, BRUSH_MAX_MM = 0.5, 20.0


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


class AnnotatePanel(PanelModel):
    """Paint labels on a scan; create it with :func:`annotate`.

    Traitlets, besides those of :class:`~medinteract.panels.model.PanelModel` (whose
    ``result`` is the label image and ``axis``/``index`` the plane shown and painted on):
    ``label`` (painted value, 1-255), ``brush_mm`` (brush radius in mm), ``tool``
    (``"paint"``, ``"erase"``, ``"fill"``), ``edits`` (strokes so far; observe it to react to
    changes), ``revision`` (every change, a drag's moves too). :attr:`labels` is the label image
    (edited in place).

    A stroke is given in voxels: :meth:`stroke` (what the view's mouse events call),
    :meth:`paint`, :meth:`erase`, :meth:`fill`; :meth:`undo` reverts the last one.
    """

    label = traitlets.Int(1, help="Label value painted (1-255).")
    brush_mm = traitlets.Float(2.0, help="Brush radius in mm.")
    tool = traitlets.Enum(("paint", "erase", "fill"), "paint", help="What a stroke does.")
    edits = traitlets.Int(0, help="Strokes applied so far (an undo counts as one).")
    revision = traitlets.Int(0, help="Increases with every change of the labels (a drag's "
                                     "moves too): views redraw on it.")

    def __init__(self, image: Any, labels: Any = None, *, display_size: int = 512) -> None:
        scan = _input_scan(image, None)
        super().__init__(scan, name="annotate", title="Annotate")
        spatial = scan.shape[:scan.spatial_ndim]
        start = np.zeros(spatial, np.int32) if labels is None else \
            np.array(getattr(labels, "array", labels), dtype=np.int32)
        if start.shape != spatial:
            raise ValueError(f"labels of shape {start.shape} do not fit the scan's {spatial}")
        #: Options of the view (on-screen size of the image's longest side).
        self.view_options: dict[str, Any] = {"display_size": display_size}
        self._undo: list[tuple[int, int, np.ndarray]] = []
        self._stroking = False
        #: The plane edited last, ``(axis, index)`` (views update only what changed).
        self.last_edit: tuple[int, int] | None = None
        self.result = start
        self._report()

    @property
    def labels(self) -> np.ndarray:
        """The label image (0 = background)."""
        return self.result

    @labels.setter
    def labels(self, value: np.ndarray) -> None:
        self.result = value

    # -- editing ---------------------------------------------------------------------------
    def _plane(self, point: Sequence[int], axis: int | None = None
               ) -> tuple[int, int, tuple[int, int]]:
        """(axis, index, in-plane centre) of the plane through ``point`` across ``axis``."""
        point = tuple(int(v) for v in point)
        if len(point) != self.labels.ndim:
            raise ValueError(f"a point of this {self.labels.ndim}-D image has "
                             f"{self.labels.ndim} indices, got {point}")
        if not all(0 <= v < n for v, n in zip(point, self.labels.shape)):
            raise ValueError(f"{point} lies outside the image {self.labels.shape}")
        if not self.scan.is_volume:
            return 0, 0, (point[0], point[1])
        axis = self.axis if axis is None else axis
        rest = tuple(v for k, v in enumerate(point) if k != axis)
        return axis, point[axis], (rest[0], rest[1])

    def _slice(self, axis: int, k: int) -> np.ndarray:
        """The plane ``k`` across ``axis`` (a writable view of :attr:`labels`)."""
        if not self.scan.is_volume:
            return self.labels
        return np.moveaxis(self.labels, axis, 0)[k]

    def _plane_spacing(self, axis: int) -> tuple[float, float]:
        spacing = self.scan.spacing
        if not self.scan.is_volume:
            return spacing[0], spacing[1]
        rest = [s for k, s in enumerate(spacing) if k != axis]
        return rest[0], rest[1]

    def _remember(self, axis: int, k: int) -> None:
        self._undo.append((axis, k, self._slice(axis, k).copy()))
        del self._undo[:-_UNDO_DEPTH]

    def _brush(self, plane: np.ndarray, centre: tuple[int, int], radius_mm: float,
               spacing: tuple[float, float]) -> tuple[slice, slice, np.ndarray]:
        sy, sx = spacing
        rows, cols = plane.shape
        ry, rx = int(radius_mm / sy), int(radius_mm / sx)
        y0, y1 = max(centre[0] - ry, 0), min(centre[0] + ry + 1, rows)
        x0, x1 = max(centre[1] - rx, 0), min(centre[1] + rx + 1, cols)
        yy, xx = np.ogrid[y0:y1, x0:x1]
        disc = ((yy - centre[0]) * sy) ** 2 + ((xx - centre[1]) * sx) ** 2 \
            <= radius_mm ** 2 + 1e-9
        return slice(y0, y1), slice(x0, x1), disc

    def paint(self, point: Sequence[int], *, radius_mm: float | None = None,
              value: int | None = None, new_stroke: bool = True,
              axis: int | None = None) -> None:
        """Paint a disc of ``radius_mm`` (default :attr:`brush_mm`) at a voxel, in the plane
        across ``axis`` (default :attr:`axis`, the plane shown)."""
        axis, k, centre = self._plane(point, axis)
        if new_stroke:
            self._remember(axis, k)
        plane = self._slice(axis, k)
        rows, cols, disc = self._brush(plane, centre,
                                       self.brush_mm if radius_mm is None else radius_mm,
                                       self._plane_spacing(axis))
        plane[rows, cols][disc] = self.label if value is None else value
        self._edited(axis, k, new_stroke)

    def erase(self, point: Sequence[int], *, radius_mm: float | None = None,
              new_stroke: bool = True, axis: int | None = None) -> None:
        """Set a disc back to 0 (background)."""
        self.paint(point, radius_mm=radius_mm, value=0, new_stroke=new_stroke, axis=axis)

    def fill(self, point: Sequence[int], *, value: int | None = None,
             axis: int | None = None) -> None:
        """Give the connected region of equal label around ``point`` (in its plane) a label."""
        axis, k, centre = self._plane(point, axis)
        self._remember(axis, k)
        plane = self._slice(axis, k)
        region = segmentation.flood(plane, centre, connectivity=1)
        plane[region] = self.label if value is None else value
        self._edited(axis, k, True)

    def undo(self) -> bool:
        """Revert the last stroke; False when there is nothing to undo."""
        if not self._undo:
            return False
        axis, k, previous = self._undo.pop()
        self._slice(axis, k)[...] = previous
        self._edited(axis, k, True)
        return True

    def _edited(self, axis: int, k: int, new_stroke: bool) -> None:
        self.last_edit = (axis, k)
        with self.hold_trait_notifications():
            self.error = ""
            if new_stroke:
                self.edits += 1
            self.revision += 1
            self._report()

    def _report(self) -> None:
        present = np.unique(self.labels[self.labels > 0])
        self._set_status(f"{self.edits} edits · labels present: "
                         f"{', '.join(map(str, present)) or 'none'}")

    def stroke(self, phase: str, index: Sequence[int], axis: int | None = None) -> None:
        """Apply the tool for one mouse event in voxels (what the view's mouse calls).

        Parameters
        ----------
        phase : {"press", "move", "release"}
            ``"press"`` starts a stroke (one undo step), ``"move"`` continues it while the
            button is held, ``"release"`` ends it.
        index : sequence of int
            The voxel under the mouse, in array order.
        axis : int, optional
            The axis across the plane the stroke is on (default :attr:`axis`).
        """
        if phase == "release":
            self._stroking = False
            return
        if phase not in ("press", "move"):
            raise ValueError(f"unknown stroke phase {phase!r}")
        if phase == "move" and not self._stroking:
            return
        if self.tool == "fill":
            if phase == "press":
                self.fill(index, axis=axis)
            return
        self._stroking = True
        self.paint(index, value=0 if self.tool == "erase" else None,
                   new_stroke=phase == "press", axis=axis)

    def stroke_at(self, x_px: float, y_px: float, *, width_px: float | None = None,
                  height_px: float | None = None, start: bool = True) -> tuple[int, ...] | None:
        """Apply the tool at a position on the view's image, as the mouse does (builds the
        view if needed); ``start=True`` begins a stroke, ``start=False`` continues it.

        Returns
        -------
        tuple of int or None
            The voxel, or None outside the image.
        """
        found = self.widget.viewer.probe_at(x_px, y_px, pane=0, width_px=width_px,
                                            height_px=height_px)
        if not found.get("inside"):
            return None
        point = tuple(int(v) for v in found["index"])
        self.stroke("press" if start else "move", point)
        return point

    # -- files -----------------------------------------------------------------------------
    def save(self, path: str | PathLike[str]) -> Path:
        """Save the labels as ``.npy`` or NIfTI aligned with the scan (see :func:`save_labels`)."""
        path = save_labels(self.labels, path, self.scan)
        self._set_status(f"saved {Path(path).name}")
        return path

    def load(self, path: str | PathLike[str]) -> AnnotatePanel:
        """Replace the labels by a saved label image (undo forgets earlier strokes)."""
        loaded = load_labels(path, self.scan)
        self._undo.clear()
        self.last_edit = None
        with self.hold_trait_notifications():
            self.labels = loaded
            self.edits += 1
            self.revision += 1
            self._report()
        return self

    # -- checks ----------------------------------------------------------------------------
    @traitlets.validate("label")
    def _valid_label(self, proposal: dict) -> int:
        if not 1 <= proposal["value"] <= 255:
            raise traitlets.TraitError("label must be 1..255 (0 is background: use erase)")
        return proposal["value"]

    @traitlets.validate("brush_mm")
    def _valid_brush(self, proposal: dict) -> float:
        if not BRUSH_MIN_MM <= proposal["value"] <= BRUSH_MAX_MM:
            raise traitlets.TraitError(f"brush_mm must be {BRUSH_MIN_MM:g} to {BRUSH_MAX_MM:g} "
                                       f"mm, got {proposal['value']}")
        return float(proposal["value"])

    def _make_view(self) -> Any:
        from medinteract.panels.views import AnnotateView

        return AnnotateView(self)

    def __repr__(self) -> str:
        return f"<AnnotatePanel {self.edits} edits on {self.scan!r}>"


def annotate(image: Any, labels: Any = None, *, display_size: int = 512) -> AnnotatePanel:
    """A panel to paint labels on a scan.

    Parameters
    ----------
    image : Scan or array_like
        The scan to annotate (a volume is annotated plane by plane).
    labels : array_like, optional
        Starting labels (e.g. a segmentation to correct); zeros otherwise.
    display_size : int
        On-screen size of the image's longest physical side (CSS pixels).
    """
    return AnnotatePanel(image, labels, display_size=display_size)
