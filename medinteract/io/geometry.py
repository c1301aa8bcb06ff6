"""Slice geometry: order a stack of DICOM slices (files or frames) in space.

One mechanism serves a folder of single-frame files and the frames of one enhanced multi-frame
file: every slice is described by a :class:`SlicePlacement`, and :func:`plan_stack` decides the
slice order, the slice spacing, the origin and the direction, and collects warnings about gaps,
duplicates and uneven spacing. Inconsistent stacks (mixed image sizes, orientations or pixel
spacings) raise :class:`~medinteract.errors.SeriesError` naming the odd slices.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from os import PathLike
from typing import Any, Callable, Hashable, Iterable, Sequence

import numpy as np

from medinteract.errors import SeriesError, SeriesWarning
from medinteract.io.notices import issue, name_list

__all__ = [
    "SlicePlacement",
    "StackPlan",
    "plan_stack",
    "slice_normal",
    "warn_series",
    "DUPLICATE_TOLERANCE_MM",
    "GAP_FACTOR",
]

#: Two slices whose positions along the normal differ by less than this are duplicates.
DUPLICATE_TOLERANCE_MM = 0.01
#: A step larger than this multiple of the median step means slices are missing.
GAP_FACTOR = 1.5
#: Relative step variation tolerated before an "uneven spacing" warning.
UNEVEN_TOLERANCE = 0.1
#: Direction cosines that differ by more than this mean a different orientation.
ORIENTATION_TOLERANCE = 1e-3
#: Pixel spacings that differ by more than this fraction are different.
PIXEL_SPACING_TOLERANCE = 1e-3

_DEFAULT_ORIENTATION = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


@dataclass(frozen=True)
class SlicePlacement:
    """What is known about where one 2-D slice sits.

    Attributes
    ----------
    label : str
        How to name the slice in messages (a file name, or "file.dcm frame 3").
    shape : tuple of int
        Rows, columns (and samples per pixel for colour).
    position : tuple of 3 float or None
        ImagePositionPatient: LPS position of the first pixel's centre, mm.
    orientation : tuple of 6 float or None
        ImageOrientationPatient: row direction then column direction cosines.
    pixel_spacing : tuple of 2 float or None
        (row spacing, column spacing) = (y, x) in mm.
    instance_number : int or None
        InstanceNumber (used only as a tie-breaker or when positions are missing).
    """

    label: str
    shape: tuple[int, ...]
    position: tuple[float, float, float] | None = None
    orientation: tuple[float, ...] | None = None
    pixel_spacing: tuple[float, float] | None = None
    instance_number: int | None = None


@dataclass
class StackPlan:
    """The outcome of :func:`plan_stack`.

    Attributes
    ----------
    order : list of int
        Indices (into the input) of the slices kept, in slice order.
    slice_spacing : float or None
        Median step between kept slices along the normal (mm); None for a single slice or when
        the slices carry no positions.
    pixel_spacing : tuple of 2 float or None
        Common (y, x) pixel spacing in mm.
    origin : tuple of 3 float
        Position of the first kept slice (zeros when unknown).
    direction : ndarray of shape (3, 3)
        Rows: slice normal, column direction (y), row direction (x).
    warnings : list of str
        Problems the user should hear about (gaps, duplicates, uneven spacing, no positions).
    """

    order: list[int]
    slice_spacing: float | None
    pixel_spacing: tuple[float, float] | None
    origin: tuple[float, float, float]
    direction: np.ndarray
    warnings: list[str] = field(default_factory=list)


def slice_normal(orientation: Sequence[float]) -> np.ndarray:
    """Unit normal ``cross(row, column)`` of an ImageOrientationPatient.

    Parameters
    ----------
    orientation : sequence of 6 float
        Row direction cosines followed by column direction cosines.

    Returns
    -------
    ndarray of shape (3,)
    """
    row, col = _unit(orientation[:3]), _unit(orientation[3:6])
    return _unit(np.cross(row, col))


def direction_matrix(orientation: Sequence[float] | None) -> np.ndarray:
    """Rows ``(normal, column direction, row direction)`` for array axes ``(z, y, x)``.

    ImageOrientationPatient gives first the direction in which the *column index* grows (along
    a row, array axis x) and then the direction in which the *row index* grows (down a column,
    array axis y).
    """
    iop = _DEFAULT_ORIENTATION if orientation is None else tuple(orientation)
    row, col = _unit(iop[:3]), _unit(iop[3:6])
    return np.stack([slice_normal(iop), col, row])


_UNPOSITIONED_NOTE = ("slices carry no ImagePositionPatient/ImageOrientationPatient; they are "
                      "ordered by InstanceNumber and the slice spacing is not measured")


def plan_stack(slices: Sequence[SlicePlacement], source: str | PathLike[str], *,
               unpositioned_note: str | None = _UNPOSITIONED_NOTE) -> StackPlan:
    """Decide the order and geometry of a stack of slices.

    Parameters
    ----------
    slices : sequence of SlicePlacement
        One entry per slice, in any order.
    source : path
        The folder or file the slices come from, named in errors.
    unpositioned_note : str or None, optional
        Warning to give when slices lack positions (None: no warning, e.g. for the frames of
        a multi-frame file, whose stored order is meaningful).

    Returns
    -------
    StackPlan

    Raises
    ------
    SeriesError
        Mixed image sizes, orientations or pixel spacings; the message names the odd slices.

    Notes
    -----
    - Slices are sorted by their position along the normal ``cross(row, column)`` of
      ImageOrientationPatient; InstanceNumber and label only break ties.
    - Positions closer than :data:`DUPLICATE_TOLERANCE_MM` are duplicates: the first (by
      InstanceNumber, then label) is kept and a warning names the others.
    - A step larger than :data:`GAP_FACTOR` times the median step is reported as missing
      slices; the slice spacing is the median step.
    - When some slice lacks ImagePositionPatient or ImageOrientationPatient, slices are ordered by
      InstanceNumber (then label) and a warning says so.
    """
    if not slices:
        raise SeriesError(source, "no image slices to stack")
    _check_same(slices, source, "image size", lambda s: s.shape, _format_shape)
    pixel_spacing = _common_pixel_spacing(slices, source)
    tiebreak = sorted(range(len(slices)), key=lambda i: _tiebreak_key(slices[i]))
    if any(s.position is None or s.orientation is None for s in slices):
        notes = [unpositioned_note] if unpositioned_note and len(slices) > 1 else []
        return StackPlan(tiebreak, None, pixel_spacing, _origin(slices[tiebreak[0]]),
                         direction_matrix(slices[tiebreak[0]].orientation), notes)
    _check_orientation(slices, source)
    direction = direction_matrix(slices[0].orientation)
    normal = direction[0]
    positions = np.array([s.position for s in slices], dtype=float)
    along = positions @ normal
    rank = {index: r for r, index in enumerate(tiebreak)}
    order = sorted(range(len(slices)), key=lambda i: (along[i], rank[i]))
    kept, notes = _drop_duplicates(order, along, slices)
    steps = np.diff(along[kept])
    slice_spacing = float(np.median(steps)) if len(steps) else None
    if slice_spacing is not None:
        notes += _gap_warnings(kept, along, steps, slice_spacing, slices)
        notes += _shear_warnings(kept, positions, along, normal, pixel_spacing)
    first = slices[kept[0]]
    return StackPlan(kept, slice_spacing, pixel_spacing, _origin(first), direction, notes)


def warn_series(messages: Sequence[str], source: str | PathLike[str]) -> None:
    """Issue each message as a :class:`SeriesWarning` pointing at the user's code.

    Parameters
    ----------
    messages : sequence of str
        Problems found in a stack (e.g. :attr:`StackPlan.warnings`).
    source : path-like
        The folder or file they concern; it starts each message.
    """
    for message in messages:
        issue(SeriesWarning, source, message)


# -- checks -----------------------------------------------------------------------------------
def _check_same(slices: Sequence[SlicePlacement], source: str | PathLike[str], what: str,
                key: Callable[[SlicePlacement], Hashable],
                fmt: Callable[[Any], str]) -> None:
    values = [key(s) for s in slices]
    common, _ = Counter(values).most_common(1)[0]
    odd = [s.label for s, v in zip(slices, values) if v != common]
    if odd:
        kinds = ", ".join(sorted({fmt(v) for v in values if v != common}))
        raise SeriesError(
            source,
            f"mixed {what}s: {name_list(odd)} ({kinds}) differ from the other "
            f"{len(slices) - len(odd)} slice(s) ({fmt(common)})",
            "load the odd files separately or remove them from the folder",
        )


def _check_orientation(slices: Sequence[SlicePlacement], source: str | PathLike[str]) -> None:
    rounded = [tuple(np.round(np.asarray(s.orientation, float), 3)) for s in slices]
    common = np.asarray(Counter(rounded).most_common(1)[0][0])
    odd = [s.label for s in slices
           if np.max(np.abs(np.asarray(s.orientation, float) - common)) > ORIENTATION_TOLERANCE]
    if odd:
        raise SeriesError(
            source,
            f"mixed orientations: {name_list(odd)} are not oriented like the other "
            f"{len(slices) - len(odd)} slice(s) (ImageOrientationPatient "
            f"{_format_floats(common)})",
            "a series must be one stack of parallel slices; load the odd files separately",
        )


def _common_pixel_spacing(slices: Sequence[SlicePlacement],
                          source: str | PathLike[str]) -> tuple[float, float] | None:
    known = [s for s in slices if s.pixel_spacing is not None]
    if not known:
        return None
    reference = np.asarray(Counter(s.pixel_spacing for s in known).most_common(1)[0][0])
    odd = [s.label for s in known
           if np.max(np.abs(np.asarray(s.pixel_spacing) - reference) / reference)
           > PIXEL_SPACING_TOLERANCE]
    if odd:
        raise SeriesError(
            source,
            f"mixed pixel spacings: {name_list(odd)} differ from the other "
            f"{len(slices) - len(odd)} slice(s) (PixelSpacing {_format_floats(reference)} mm)",
            "load the odd files separately or remove them from the folder",
        )
    return (float(reference[0]), float(reference[1]))


def _drop_duplicates(order: list[int], along: np.ndarray,
                     slices: Sequence[SlicePlacement]) -> tuple[list[int], list[str]]:
    kept: list[int] = [order[0]]
    dropped: dict[int, list[int]] = {}
    for index in order[1:]:
        if abs(along[index] - along[kept[-1]]) < DUPLICATE_TOLERANCE_MM:
            dropped.setdefault(kept[-1], []).append(index)
        else:
            kept.append(index)
    notes = [
        f"duplicate slice position {along[keep]:.3f} mm along the slice normal in "
        f"{name_list([slices[keep].label] + [slices[i].label for i in extra])}: kept "
        f"{slices[keep].label}, dropped {name_list([slices[i].label for i in extra])}"
        for keep, extra in dropped.items()
    ]
    return kept, notes


def _gap_warnings(kept: list[int], along: np.ndarray, steps: np.ndarray, spacing: float,
                  slices: Sequence[SlicePlacement]) -> list[str]:
    notes = []
    for k, step in enumerate(steps):
        if step > GAP_FACTOR * spacing:
            before, after = slices[kept[k]].label, slices[kept[k + 1]].label
            missing = max(int(round(step / spacing)) - 1, 1)
            notes.append(
                f"gap of {step:.3f} mm between {before} (at {along[kept[k]]:.3f} mm) and "
                f"{after} (at {along[kept[k + 1]]:.3f} mm) where the usual step is "
                f"{spacing:.3f} mm: about {missing} slice(s) missing; slices are stacked "
                f"without filling the gap and the slice spacing is {spacing:.3f} mm"
            )
    regular = steps[steps <= GAP_FACTOR * spacing]
    if len(regular) and np.max(np.abs(regular - spacing)) > UNEVEN_TOLERANCE * spacing:
        notes.append(
            f"uneven slice spacing: steps range from {regular.min():.3f} to "
            f"{regular.max():.3f} mm; the median {spacing:.3f} mm is used"
        )
    return notes


def _shear_warnings(kept: list[int], positions: np.ndarray, along: np.ndarray,
                    normal: np.ndarray, pixel_spacing: tuple[float, float] | None) -> list[str]:
    offsets = positions[kept] - positions[kept[0]] - np.outer(along[kept] - along[kept[0]], normal)
    largest = float(np.max(np.linalg.norm(offsets, axis=1)))
    half_pixel = 0.5 * (min(pixel_spacing) if pixel_spacing else 1.0)
    if largest <= half_pixel:
        return []
    return [
        f"slices are shifted in-plane by up to {largest:.3f} mm (gantry tilt or a sheared "
        "stack); the scan's geometry assumes slices stacked along the normal, so positions "
        "away from the first slice are approximate"
    ]


# -- small helpers ----------------------------------------------------------------------------
def _unit(vector: Sequence[float] | np.ndarray) -> np.ndarray:
    v = np.asarray(vector, dtype=float)
    norm = np.linalg.norm(v)
    return v / norm if norm > 0 else v


def _origin(s: SlicePlacement) -> tuple[float, float, float]:
    if s.position is None:
        return (0.0, 0.0, 0.0)
    return (float(s.position[0]), float(s.position[1]), float(s.position[2]))


def _tiebreak_key(s: SlicePlacement) -> tuple[bool, int, str]:
    number = s.instance_number
    return (number is None, number if number is not None else 0, s.label)


def _format_shape(shape: tuple[int, ...]) -> str:
    return "x".join(str(n) for n in shape)


def _format_floats(values: Iterable[float]) -> str:
    return "(" + ", ".join(f"{float(v):g}" for v in values) + ")"
