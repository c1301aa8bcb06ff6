"""The :class:`Scan`: an image array in physical units with its geometry and metadata.

Conventions
-----------
- ``array`` is ``float32`` in physical units (Hounsfield units for CT), shaped ``(z, y, x)`` for
  a volume and ``(y, x)`` for a 2-D image (a colour photograph adds a trailing channel axis).
  A scan made with ``dtype=numpy.float64`` keeps float64 (readers choose it for data that
  float32 cannot hold exactly, such as 32-bit integer pixels).
- ``spacing`` gives millimetres per step along each *spatial* array axis, in array-axis order.
- ``origin`` is the position of the centre of voxel ``[0, 0, 0]`` in patient coordinates
  (DICOM LPS, millimetres), always three numbers.
- ``direction`` has one row per spatial array axis: the unit vector (in LPS) along which that
  axis' index increases. The patient position of an index ``i`` is therefore
  ``origin + sum_k i[k] * spacing[k] * direction[k]`` (see :meth:`Scan.index_to_mm`).
- A :class:`Geometry` is these four without the values (``shape``, ``spacing``, ``origin``,
  ``direction``): where the voxels of an array lie. :attr:`Scan.geometry` gives a scan's;
  :meth:`Geometry.scan` puts values (an image, a mask or a label image) on a geometry.
- A scan made with ``dtype=bool`` holds a mask, with ``dtype=numpy.int32`` a label image (0 is
  background), on the same kind of grid: what a pipeline returns for a segmentation.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Sequence

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:  # pandas is imported on first use, so `import medinteract` stays light
    import pandas as pd

__all__ = ["Scan", "Geometry", "Window", "METADATA_COLUMNS"]

#: Columns of :attr:`Scan.metadata`.
METADATA_COLUMNS = ("tag", "keyword", "VR", "value")
#: Array types of a scan: float32 (or float64) values in physical units, a bool mask, an int32
#: label image.
DTYPES = (np.float32, np.float64, np.bool_, np.int32)
_SEGMENTATION_DTYPES = (np.bool_, np.int32)


class Window(NamedTuple):
    """A display window (level) in the scan's physical units.

    Attributes
    ----------
    center : float
        The value shown as mid-grey.
    width : float
        The range of values spread from black to white.
    """

    center: float
    width: float

    @property
    def low(self) -> float:
        """The value shown as black."""
        return self.center - self.width / 2

    @property
    def high(self) -> float:
        """The value shown as white."""
        return self.center + self.width / 2


def _empty_metadata() -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame({c: pd.Series(dtype=object) for c in METADATA_COLUMNS})


def _segmentation_window(array: np.ndarray) -> Window:
    """Display window of a mask (0 black, 1 white) or label image (0 to the largest label)."""
    high = max(1.0, float(array.max())) if array.size else 1.0
    return Window(high / 2, high)


def _checked_dtype(array: np.ndarray, dtype: Any) -> np.ndarray:
    """The array in ``dtype`` (one of :data:`DTYPES`); masks and labels are never rounded."""
    if array.dtype == dtype:
        return array
    if dtype in (np.float32, np.float64):
        return array.astype(dtype)
    if dtype is np.bool_:
        if not np.isin(array, (0, 1)).all():
            raise ValueError("a mask scan (dtype=bool) holds 0/1 or True/False values only")
        return array.astype(np.bool_)
    if array.dtype.kind not in "biu" and not np.all(np.mod(array, 1) == 0):
        raise ValueError("a label scan (dtype=int32) holds whole numbers only")
    if array.size and (array.min() < 0 or array.max() > np.iinfo(np.int32).max):
        raise ValueError("a label scan (dtype=int32) holds labels from 0 to 2**31 - 1")
    return array.astype(np.int32)


def _checked_grid(n: int, spacing: Sequence[float], origin: Sequence[float],
                  direction: npt.ArrayLike | None,
                  ) -> tuple[tuple[float, ...], tuple[float, float, float], np.ndarray]:
    """Validated ``(spacing, origin, direction)`` for ``n`` spatial axes (spacing ``()``: 1 mm;
    direction ``None``: the axes z -> (0, 0, 1), y -> (0, 1, 0), x -> (1, 0, 0))."""
    given = tuple(spacing)
    values = tuple(float(s) for s in given) if len(given) else (1.0,) * n
    if len(values) != n or not all(np.isfinite(s) and s > 0 for s in values):
        raise ValueError(f"spacing must be {n} positive numbers (mm), got {spacing}")
    point = tuple(float(v) for v in origin)
    if len(point) != 3:
        raise ValueError(f"origin must be 3 numbers (LPS mm), got {origin}")
    axes = np.eye(3)[::-1][3 - n:] if direction is None else np.asarray(direction, dtype=float)
    if axes.shape != (n, 3):
        raise ValueError(f"direction must have shape ({n}, 3), got {axes.shape}")
    axes = axes.copy()
    axes.flags.writeable = False
    return values, point, axes  # type: ignore[return-value]


@dataclass(frozen=True, eq=False)
class Geometry:
    """Where the voxels of an array lie: shape, spacing, origin and direction, without values.

    The same conventions as :class:`Scan` (see the module documentation); ``shape`` holds the
    spatial axes only. Steps that change the grid (resampling, cropping, flipping, rotating)
    declare the geometry of their output as a function of this one (see
    :mod:`medinteract.ops`), so a pipeline knows where every result lies.

    Parameters
    ----------
    shape : sequence of int
        Number of voxels along each spatial array axis (2 or 3 axes).
    spacing : sequence of float, optional
        mm per step along each axis; 1.0 by default.
    origin : sequence of 3 float, optional
        Patient (LPS) position of the centre of voxel ``[0, 0, 0]`` in mm.
    direction : array_like, optional
        ``(n_spatial, 3)`` unit vectors of the array axes in LPS.

    Examples
    --------
    >>> g = Geometry((4, 5, 6), spacing=(2.5, 0.7, 0.7), origin=(10.0, 0.0, 0.0))
    >>> g.index_to_mm((1, 0, 2)).tolist()
    [11.4, 0.0, 2.5]
    >>> mask = g.scan(np.zeros((4, 5, 6), bool))
    >>> mask.array.dtype, mask.spacing
    (dtype('bool'), (2.5, 0.7, 0.7))
    """

    shape: tuple[int, ...]
    spacing: tuple[float, ...] = ()
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)
    direction: np.ndarray = None  # type: ignore[assignment]  # the default axes when None

    def __post_init__(self) -> None:
        shape = tuple(int(n) for n in self.shape)
        if len(shape) not in (2, 3) or min(shape) < 1:
            raise ValueError(f"a geometry has 2 or 3 axes of at least one voxel, got {shape}")
        spacing, origin, direction = _checked_grid(len(shape), self.spacing, self.origin,
                                                   self.direction)
        for name, value in (("shape", shape), ("spacing", spacing), ("origin", origin),
                            ("direction", direction)):
            object.__setattr__(self, name, value)

    @classmethod
    def of(cls, image: Any, spacing: Sequence[float] | None = None) -> Geometry:
        """The geometry of a Scan (``spacing`` overriding its own), or of a 2-D or 3-D array
        (``spacing`` or 1 mm, at the origin, along the default axes). A single spacing value
        applies to every axis."""
        shape = image.geometry.shape if isinstance(image, Scan) else np.shape(image)
        if len(shape) not in (2, 3):
            raise ValueError(f"an image is 2-D (y, x) or 3-D (z, y, x), got shape {shape}")
        values: tuple[float, ...] = ()
        if spacing is not None:
            values = tuple(float(v) for v in np.ravel(np.asarray(spacing, dtype=float)))
            values = values * len(shape) if len(values) == 1 else values
        if isinstance(image, Scan):
            return image.geometry if spacing is None else replace(image.geometry, spacing=values)
        return cls(shape, spacing=values)

    @property
    def ndim(self) -> int:
        """Number of spatial axes (2 or 3)."""
        return len(self.shape)

    @property
    def voxel_volume(self) -> float:
        """Volume of one voxel in mm³ (area of one pixel in mm² for 2-D)."""
        return float(np.prod(self.spacing))

    def index_to_mm(self, index: Sequence[float]) -> np.ndarray:
        """Patient (LPS) position in mm of an array index (fractional indices allowed).

        Returns
        -------
        ndarray of shape (3,)
        """
        idx = np.asarray(index, dtype=float)
        if idx.shape != (self.ndim,):
            raise ValueError(f"index needs {self.ndim} values, got {tuple(index)}")
        return np.asarray(self.origin) + (idx * np.asarray(self.spacing)) @ self.direction

    def isclose(self, other: Geometry, *, atol: float = 1e-4) -> bool:
        """Same shape, and spacing, origin (mm) and direction equal within ``atol``."""
        return (self.shape == other.shape
                and np.allclose(self.spacing, other.spacing, rtol=0, atol=atol)
                and np.allclose(self.origin, other.origin, rtol=0, atol=atol)
                and np.allclose(self.direction, other.direction, rtol=0, atol=atol))

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Geometry) and self.shape == other.shape
                and self.spacing == other.spacing and self.origin == other.origin
                and np.array_equal(self.direction, other.direction))

    __hash__ = None  # type: ignore[assignment]  # mutable-looking (holds an array)

    def scan(self, values: npt.ArrayLike, *, like: Scan | None = None,
             window: Window | tuple[float, float] | None = None) -> Scan:
        """The values as a :class:`Scan` on this geometry.

        Parameters
        ----------
        values : array_like
            Shaped like the geometry. Booleans give a mask scan (``dtype=bool``), integers a
            label image (``dtype=numpy.int32``), other values an image (float64 values stay
            float64, others become float32).
        like : Scan, optional
            The scan the values were derived from: modality, name, metadata and source paths
            are taken from it.
        window : Window or (center, width), optional
            The display window; by default derived from the values (masks: 0 to 1, label
            images: 0 to their largest label).

        Raises
        ------
        ValueError
            When the values' shape is not the geometry's.
        """
        array = np.asarray(values)
        if array.shape[:self.ndim] != self.shape or array.ndim not in (self.ndim,
                                                                        self.ndim + 1):
            raise ValueError(f"values of shape {array.shape} do not lie on a grid of shape "
                             f"{self.shape}")
        if array.dtype == np.bool_:
            dtype: Any = np.bool_
        elif np.issubdtype(array.dtype, np.integer):
            dtype = np.int32
        elif array.dtype == np.float64:
            dtype = np.float64
        else:
            dtype = np.float32
        if window is None and dtype in _SEGMENTATION_DTYPES:
            window = _segmentation_window(array)
        fields: dict[str, Any] = {"spacing": self.spacing, "origin": self.origin,
                                  "direction": self.direction, "dtype": dtype,
                                  "window": window}
        if like is None:
            return Scan(array, **fields)
        return replace(like, array=array, **fields)

    def __repr__(self) -> str:
        shape = "x".join(str(n) for n in self.shape)
        spacing = ", ".join(f"{s:g}" for s in self.spacing)
        origin = ", ".join(f"{v:g}" for v in self.origin)
        return f"<Geometry {shape}, spacing ({spacing}) mm, origin ({origin}) mm>"


@dataclass(frozen=True, eq=False, repr=False)
class Scan:
    """An image in physical units together with its geometry.

    Parameters
    ----------
    array : ndarray
        Pixel values, converted to ``dtype``; ``(z, y, x)``, ``(y, x)`` or ``(y, x, channel)``
        for RGB(A) photographs.
    spacing : sequence of float, optional
        Millimetres per step along each spatial axis, in array-axis order. Defaults to 1.0.
    origin : sequence of 3 float, optional
        Patient (LPS) position of the first voxel's centre in mm. Defaults to zeros.
    direction : array_like, optional
        ``(n_spatial, 3)`` unit vectors of the spatial array axes in LPS. Defaults to the axes
        ``z -> (0, 0, 1)``, ``y -> (0, 1, 0)``, ``x -> (1, 0, 0)``.
    modality : str, optional
        DICOM modality code such as ``"CT"``, ``"MR"``, ``"CR"``; ``"OT"`` (other) by default.
    window : Window or (center, width), optional
        The default display window; when absent, derived from the data's 0.5-99.5 percentiles
        (once for the whole volume, never per slice).
    metadata : DataFrame, optional
        DICOM elements with the columns ``tag``, ``keyword``, ``VR``, ``value``.
    paths : sequence of path, optional
        The source files, in slice order.
    name : str, optional
        A short human-readable label (file or series description).
    dtype : {numpy.float32, numpy.float64, bool, numpy.int32}, optional
        Type of ``array``: float32 values in physical units (the default), float64 for values
        float32 cannot hold exactly; ``bool`` for a mask and ``numpy.int32`` for a label image
        (0 is background), on the same grid. Values are never rounded to fit (a mask holds 0/1
        only). :meth:`with_array` keeps it.

    Examples
    --------
    >>> import numpy as np
    >>> s = Scan(np.zeros((4, 5, 6)), spacing=(2.5, 0.7, 0.7), modality="CT")
    >>> s.shape, s.spacing
    ((4, 5, 6), (2.5, 0.7, 0.7))
    >>> s.index_to_mm((1, 0, 0)).tolist()
    [0.0, 0.0, 2.5]
    """

    array: np.ndarray
    spacing: tuple[float, ...] = ()
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)
    # None (the default) is replaced by the derived value in __post_init__, so after
    # construction both always hold a value.
    direction: np.ndarray = None  # type: ignore[assignment]
    modality: str = "OT"
    window: Window = None  # type: ignore[assignment]
    metadata: pd.DataFrame = field(default_factory=_empty_metadata)
    paths: tuple[Path, ...] = ()
    name: str = ""
    dtype: Any = np.float32

    def __post_init__(self) -> None:
        dtype = np.dtype(self.dtype).type
        if dtype not in DTYPES:
            raise ValueError(f"dtype must be float32 or float64, bool (a mask) or int32 (a "
                             f"label image), got {np.dtype(self.dtype)}")
        array = np.asarray(self.array)
        if array.ndim not in (2, 3, 4) or array.size == 0:
            raise ValueError(f"Scan needs a non-empty 2-D or 3-D array, got shape {array.shape}")
        array = _checked_dtype(array, dtype)
        set_ = object.__setattr__
        set_(self, "dtype", dtype)
        set_(self, "array", array)
        # spatial axes: as many as spacing values given, else the array's dimensions (max 3)
        n = len(self.spacing) if len(self.spacing) else min(array.ndim, 3)
        if n not in (2, 3):
            raise ValueError(f"spacing must give 2 or 3 spatial axes (mm per axis), "
                             f"got {self.spacing}")
        if array.ndim != n and not (array.ndim == n + 1 and array.shape[-1] in (3, 4)):
            raise ValueError(f"array of shape {array.shape} does not fit {n} spatial axes "
                             "(a colour image needs a last axis of 3 or 4 channels)")
        spacing, origin, direction = _checked_grid(n, self.spacing, self.origin, self.direction)
        set_(self, "spacing", spacing)
        set_(self, "origin", origin)
        set_(self, "direction", direction)
        if self.window is None and dtype in _SEGMENTATION_DTYPES:
            set_(self, "window", _segmentation_window(array))
        elif self.window is None:
            lo, hi = (float(v) for v in np.percentile(array, [0.5, 99.5]))
            set_(self, "window", Window((lo + hi) / 2, max(hi - lo, 1e-6)))
        else:
            set_(self, "window", Window(float(self.window[0]), float(self.window[1])))
        set_(self, "paths", tuple(Path(p) for p in self.paths))
        set_(self, "modality", str(self.modality or "OT"))

    # -- shape -------------------------------------------------------------------------------
    @property
    def is_rgb(self) -> bool:
        """True for colour images, whose last array axis holds the channels."""
        return self.array.ndim == self.spatial_ndim + 1

    @property
    def spatial_ndim(self) -> int:
        """Number of spatial axes: 2 for an image, 3 for a volume.

        Taken from the length of ``spacing`` when given, else from the array's dimensions.
        """
        return len(self.spacing)

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of :attr:`array`."""
        return tuple(self.array.shape)

    @property
    def ndim(self) -> int:
        """Number of spatial dimensions (2 or 3)."""
        return self.spatial_ndim

    @property
    def is_volume(self) -> bool:
        """True for a 3-D volume."""
        return self.spatial_ndim == 3

    # -- geometry ----------------------------------------------------------------------------
    @property
    def geometry(self) -> Geometry:
        """Where the voxels lie (shape of the spatial axes, spacing, origin, direction)."""
        return Geometry(self.shape[:self.spatial_ndim], self.spacing, self.origin,
                        self.direction)

    def index_to_mm(self, index: Sequence[float]) -> np.ndarray:
        """Patient (LPS) position in mm of an array index (fractional indices allowed).

        Parameters
        ----------
        index : sequence of float
            One index per spatial array axis.

        Returns
        -------
        ndarray of shape (3,)
        """
        return self.geometry.index_to_mm(index)

    @property
    def voxel_volume(self) -> float:
        """Volume of one voxel in mm³ (area of one pixel in mm² for 2-D)."""
        return float(np.prod(self.spacing))

    @property
    def extent(self) -> tuple[float, ...]:
        """Physical size in mm along each spatial axis (number of samples × spacing)."""
        return tuple(n * s for n, s in zip(self.array.shape, self.spacing))

    # -- convenience -------------------------------------------------------------------------
    def with_array(self, array: np.ndarray, **changes: object) -> Scan:
        """A copy with a new array (same geometry unless ``changes`` say otherwise).

        Parameters
        ----------
        array : ndarray
            The new pixel values; must keep the spatial shape unless ``spacing`` changes.
        **changes
            Other fields to replace, as in :func:`dataclasses.replace`.
        """
        kwargs: dict[str, object] = {"array": array, **changes}
        if "window" not in changes:
            kwargs["window"] = self.window
        return replace(self, **kwargs)  # type: ignore[arg-type]

    def tag(self, keyword: str, default: object = None) -> object:
        """Value of a DICOM element from :attr:`metadata` by keyword (e.g. ``"PatientAge"``)."""
        rows = self.metadata.loc[self.metadata["keyword"] == keyword, "value"]
        return rows.iloc[0] if len(rows) else default

    def __repr__(self) -> str:
        shape = "x".join(str(n) for n in self.array.shape)
        spacing = ", ".join(f"{s:g}" for s in self.spacing)
        w = self.window
        label = f" {self.name!r}" if self.name else ""
        return (f"<Scan{label} {self.modality} {shape} {self.array.dtype}, spacing ({spacing}) mm, "
                f"window C{w.center:g}/W{w.width:g}>")

    def __array__(self, dtype=None, copy=None) -> np.ndarray:  # numpy interop
        return self.array if dtype is None else self.array.astype(dtype)
