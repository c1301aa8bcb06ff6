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
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Sequence

import numpy as np

if TYPE_CHECKING:  # pandas is imported on first use, so `import medinteract` stays light
    import pandas as pd

__all__ = ["Scan", "Window", "METADATA_COLUMNS"]

#: Columns of :attr:`Scan.metadata`.
METADATA_COLUMNS = ("tag", "keyword", "VR", "value")


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


@dataclass(frozen=True, eq=False, repr=False)
class Scan:
    """An image in physical units together with its geometry.

    Parameters
    ----------
    array : ndarray
        Pixel values, converted to ``float32``; ``(z, y, x)``, ``(y, x)`` or ``(y, x, channel)``
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
    dtype : {numpy.float32, numpy.float64}, optional
        Data type of ``array``: float32 by default; float64 for values float32 cannot hold
        exactly. :meth:`with_array` keeps it.

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
    dtype: type | np.dtype = np.float32

    def __post_init__(self) -> None:
        dtype = np.dtype(self.dtype)
        if dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {dtype}")
        object.__setattr__(self, "dtype", dtype.type)
        array = np.asarray(self.array)
        if array.dtype != dtype:
            array = array.astype(dtype)
        if array.ndim not in (2, 3, 4) or array.size == 0:
            raise ValueError(f"Scan needs a non-empty 2-D or 3-D array, got shape {array.shape}")
        set_ = object.__setattr__
        set_(self, "array", array)
        # spatial axes: as many as spacing values given, else the array's dimensions (max 3)
        n = len(self.spacing) if len(self.spacing) else min(array.ndim, 3)
        if n not in (2, 3):
            raise ValueError(f"spacing must give 2 or 3 spatial axes (mm per axis), "
                             f"got {self.spacing}")
        if array.ndim != n and not (array.ndim == n + 1 and array.shape[-1] in (3, 4)):
            raise ValueError(f"array of shape {array.shape} does not fit {n} spatial axes "
                             "(a colour image needs a last axis of 3 or 4 channels)")
        spacing = tuple(float(s) for s in self.spacing) if len(self.spacing) else (1.0,) * n
        if len(spacing) != n or not all(np.isfinite(s) and s > 0 for s in spacing):
            raise ValueError(f"spacing must be {n} positive numbers (mm), got {self.spacing}")
        set_(self, "spacing", spacing)
        origin = tuple(float(v) for v in self.origin)
        if len(origin) != 3:
            raise ValueError(f"origin must be 3 numbers (LPS mm), got {self.origin}")
        set_(self, "origin", origin)
        if self.direction is None:
            direction = np.eye(3)[::-1][3 - n:]
        else:
            direction = np.asarray(self.direction, dtype=float)
        if direction.shape != (n, 3):
            raise ValueError(f"direction must have shape ({n}, 3), got {direction.shape}")
        direction = direction.copy()
        direction.flags.writeable = False
        set_(self, "direction", direction)
        if self.window is None:
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
        idx = np.asarray(index, dtype=float)
        if idx.shape != (self.spatial_ndim,):
            raise ValueError(f"index needs {self.spatial_ndim} values, got {tuple(index)}")
        steps = idx * np.asarray(self.spacing)
        return np.asarray(self.origin) + steps @ self.direction

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
