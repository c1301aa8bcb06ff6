"""The vocabulary of op parameters: markers used in ``typing.Annotated`` signatures.

An op declares each tunable parameter *keyword-only with a default*, annotated with one of
these markers (in the spirit of magicgui); :mod:`medinteract.params` turns the annotation into
a :class:`~medinteract.params.Param` of a parameter kind. Nothing is guessed from names.

:class:`Range`
    Numeric bounds, step, unit and log scale, for ``int`` or ``float``.
:class:`Choice`
    A fixed set of string options (a ``Literal[...]`` annotation gives the same).
:class:`FromImage`
    The bounds come from the input image (its values, or their spread), e.g. a threshold in HU.
:class:`Point`
    A position in array-index order ``(z, y, x)`` or ``(y, x)``, e.g. a seed picked by a click.
:class:`Region`
    A box ``((start, stop), ...)`` in array-index order, e.g. a crop.
:class:`Data`
    An array input (``"image"``, ``"mask"`` or ``"labels"``).

Ready-made annotations: :data:`ImageIn`, :data:`MaskIn`, :data:`LabelsIn`, :data:`Spacing`,
:data:`Seed`, :data:`Box`; return types :data:`Image` (float32), :data:`Mask` (bool),
:data:`Labels` (int32), :data:`Overlap` (uint8).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal, Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["Range", "Choice", "FromImage", "Point", "Region", "Data", "ImageIn", "MaskIn",
           "LabelsIn", "Spacing", "Seed", "Box", "Image", "Mask", "Labels", "Overlap"]


# -- markers -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Range:
    """Bounds of a numeric parameter, for a slider.

    Parameters
    ----------
    min, max : float
        Inclusive bounds.
    step : float, optional
        Slider step; ``None`` lets the panel choose (1 for ``int``, 1/100 of the span for
        ``float``).
    unit : str, optional
        Physical unit shown next to the value: ``"mm"``, ``"px"``, ``"HU"``, ``"%"``, ...
        ``"mm^d"`` means mm² for a 2-D image and mm³ for a volume (see :func:`format_unit`).
    log : bool
        True when the slider should move on a logarithmic scale (``min`` must be > 0).
    """

    min: float
    max: float
    step: float | None = None
    unit: str | None = None
    log: bool = False

    def __post_init__(self) -> None:
        if not self.min <= self.max:
            raise ValueError(f"Range min {self.min} is larger than max {self.max}")
        if self.step is not None and self.step <= 0:
            raise ValueError(f"Range step must be positive, got {self.step}")
        if self.log and self.min <= 0:
            raise ValueError("a log Range needs min > 0")


class Choice:
    """A fixed set of string options.

    Parameters
    ----------
    *options : str
        The allowed values, in display order.

    Examples
    --------
    >>> Choice("otsu", "li").options
    ('otsu', 'li')
    """

    __slots__ = ("options",)

    def __init__(self, *options: str) -> None:
        if not options:
            raise ValueError("Choice needs at least one option")
        self.options: tuple[str, ...] = tuple(options)

    def __repr__(self) -> str:
        return f"Choice{self.options!r}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Choice) and other.options == self.options

    def __hash__(self) -> int:
        return hash(self.options)


@dataclass(frozen=True)
class FromImage:
    """A numeric parameter whose bounds come from the input image, in the image's units.

    Parameters
    ----------
    span : {"values", "spread"}
        ``"values"``: from the image minimum to its maximum (a threshold, a window centre).
        ``"spread"``: from 0 to ``max - min`` (a tolerance, a window width, a colour sigma).
    """

    span: Literal["values", "spread"] = "values"


@dataclass(frozen=True)
class Point:
    """A position in array-index order (``(z, y, x)`` or ``(y, x)``), e.g. picked by a click."""


@dataclass(frozen=True)
class Region:
    """A box ``((start, stop), ...)``, one pair per array axis, in array-index units."""


@dataclass(frozen=True)
class Data:
    """An array input.

    Parameters
    ----------
    role : {"image", "mask", "labels"}
        What the array holds: intensities, a boolean mask or an integer label image.
    """

    role: Literal["image", "mask", "labels"] = "image"


# -- ready-made annotations --------------------------------------------------------------------
#: An intensity image (or a :class:`~medinteract.scan.Scan`).
ImageIn = Annotated[npt.ArrayLike, Data("image")]
#: A boolean mask (non-zero is foreground).
MaskIn = Annotated[npt.ArrayLike, Data("mask")]
#: An integer label image (0 is background).
LabelsIn = Annotated[npt.ArrayLike, Data("labels")]
#: Millimetres per array axis; ``None`` means 1 mm per pixel (so mm and pixels coincide).
Spacing = Sequence[float] | None
#: A seed position in array-index order; ``None`` means the centre of the image.
Seed = Annotated[tuple[int, ...] | None, Point()]
#: A box ``((start, stop), ...)`` in array-index order; ``None`` means the whole image.
Box = Annotated[tuple[tuple[int, int], ...] | None, Region()]

#: float32 intensity image returned by an op.
Image = npt.NDArray[np.float32]
#: bool mask returned by an op.
Mask = npt.NDArray[np.bool_]
#: int32 label image returned by an op.
Labels = npt.NDArray[np.int32]
#: uint8 overlap image (0 background, 1 TP, 2 FP, 3 FN).
Overlap = npt.NDArray[np.uint8]
