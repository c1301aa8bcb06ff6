"""The parameter vocabulary of ops: ranges, choices and inputs declared once, in the signature.

An op declares every tunable parameter as *keyword-only with a default*, annotated with
:data:`typing.Annotated` (in the spirit of magicgui). The panel builder reads these annotations
through :func:`describe`; nothing is guessed from parameter names.

>>> from typing import Annotated
>>> def smooth(image: ImageIn, *, spacing: Spacing = None,
...            sigma: Annotated[float, Range(0.0, 10.0, step=0.1, unit="mm")] = 1.0) -> Image:
...     '''Smooth.
...
...     Parameters
...     ----------
...     image : array_like
...         The image.
...     sigma : float
...         Standard deviation in mm.
...     '''
...     return image
>>> [(p.name, p.kind, p.min, p.max, p.step, p.unit) for p in describe(smooth)]
[('spacing', 'spacing', None, None, None, None), ('sigma', 'float', 0.0, 10.0, 0.1, 'mm')]

Vocabulary
----------
:class:`Range`
    Numeric slider bounds, step, unit and log scale, for ``int`` or ``float``.
:class:`Choice`
    A fixed set of string options (a ``Literal[...]`` annotation gives the same).
:class:`FromImage`
    The bounds come from the input image (its values, or their spread), e.g. a threshold in HU.
:class:`Point`
    A position in array-index order ``(z, y, x)`` or ``(y, x)``, e.g. a seed picked by a click.
:class:`Region`
    A box ``((start, stop), ...)`` in array-index order, e.g. a crop.
:class:`Data`
    An array input (``"image"``, ``"mask"`` or ``"labels"``); used for the positional inputs and
    for keyword array parameters such as watershed markers.

Ready-made annotations: :data:`ImageIn`, :data:`MaskIn`, :data:`LabelsIn`, :data:`Spacing`,
:data:`Seed`, :data:`Box`; return types :data:`Image` (float32), :data:`Mask` (bool),
:data:`Labels` (int32), :data:`Overlap` (uint8).

Reading a signature: :func:`describe` (one :class:`Param` per keyword-only parameter),
:func:`inputs` (roles of the positional arrays), :func:`output_kind`; for widgets and saved
parameters: :func:`slider_bounds`, :func:`format_unit`, :func:`check_params`.

The registry: decorate an op with :func:`op` (the function is returned unchanged, with an
``op_info`` attribute), list ops with :func:`list_ops`, look one up with :func:`get_op`.
"""

from __future__ import annotations

import inspect
import re
import types
import typing
from dataclasses import dataclass, field
from typing import Annotated, Any, Callable, Literal, Sequence, TypeVar, Union

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = [
    "Range",
    "Choice",
    "FromImage",
    "Point",
    "Region",
    "Data",
    "Param",
    "OpInfo",
    "ImageIn",
    "MaskIn",
    "LabelsIn",
    "Spacing",
    "Seed",
    "Box",
    "Image",
    "Mask",
    "Labels",
    "Overlap",
    "describe",
    "inputs",
    "output_kind",
    "op",
    "list_ops",
    "get_op",
    "format_unit",
    "slider_bounds",
    "check_params",
]

F = TypeVar("F", bound=Callable[..., Any])


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
Spacing = Union[Sequence[float], None]
#: A seed position in array-index order; ``None`` means the centre of the image.
Seed = Annotated[Union[tuple[int, ...], None], Point()]
#: A box ``((start, stop), ...)`` in array-index order; ``None`` means the whole image.
Box = Annotated[Union[tuple[tuple[int, int], ...], None], Region()]

#: float32 intensity image returned by an op.
Image = npt.NDArray[np.float32]
#: bool mask returned by an op.
Mask = npt.NDArray[np.bool_]
#: int32 label image returned by an op.
Labels = npt.NDArray[np.int32]
#: uint8 overlap image (0 background, 1 TP, 2 FP, 3 FN).
Overlap = npt.NDArray[np.uint8]

_SPACING_NAMES = ("spacing",)
_TUNABLE_MARKERS = (Range, Choice, FromImage, Point, Region)


# -- describing a signature --------------------------------------------------------------------
@dataclass(frozen=True)
class Param:
    """One keyword-only parameter of an op, as the panel builder needs it.

    Attributes
    ----------
    name : str
        The keyword.
    kind : str
        ``"float"``, ``"int"``, ``"bool"``, ``"choice"``, ``"str"``, ``"point"``, ``"region"``,
        ``"spacing"`` (the scan's voxel spacing, filled from the scan, never a widget), or an
        array role ``"image"``, ``"mask"``, ``"labels"`` (supplied from elsewhere, never a slider).
    default : object
        The default value.
    optional : bool
        True when ``None`` is allowed (it means "automatic" or "not set"; the docstring says which).
    min, max, step : float or None
        Slider bounds from :class:`Range`.
    unit : str or None
        Unit from :class:`Range` (``"mm^d"``: see :func:`format_unit`); for :class:`FromImage`
        parameters ``"image"``, meaning the image's own unit (HU for CT).
    log : bool
        Logarithmic slider.
    options : tuple of str
        For ``"choice"``.
    from_image : {"values", "spread"} or None
        Bounds come from the image (see :class:`FromImage`).
    doc : str
        The parameter's description from the numpydoc "Parameters" section (first paragraph).
    annotation : object
        The full annotation, for anything else.
    """

    name: str
    kind: str
    default: Any
    optional: bool = False
    min: float | None = None
    max: float | None = None
    step: float | None = None
    unit: str | None = None
    log: bool = False
    options: tuple[str, ...] = ()
    from_image: str | None = None
    doc: str = ""
    annotation: Any = field(default=None, repr=False, compare=False)

    @property
    def is_tunable(self) -> bool:
        """True when a widget should be made for this parameter."""
        return self.kind not in ("spacing", "image", "mask", "labels")


def format_unit(unit: str | None, ndim: int, image_unit: str | None = None) -> str | None:
    """The display unit of a parameter for an image of ``ndim`` spatial dimensions.

    Parameters
    ----------
    unit : str or None
        :attr:`Param.unit`.
    ndim : int
        Spatial dimensions of the image (``"mm^d"`` becomes mm² or mm³).
    image_unit : str, optional
        The image's own unit for :class:`FromImage` parameters (``unit == "image"``), e.g.
        ``"HU"`` for CT; without it such parameters show no unit.

    Examples
    --------
    >>> format_unit("mm^d", 2), format_unit("mm^d", 3), format_unit("HU", 3)
    ('mm²', 'mm³', 'HU')
    >>> format_unit("image", 2, image_unit="HU"), format_unit("image", 2)
    ('HU', None)
    """
    if unit == "mm^d":
        return {1: "mm", 2: "mm²", 3: "mm³"}.get(ndim, f"mm^{ndim}")
    if unit == "image":
        return image_unit
    return unit


def _strip_optional(tp: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(tp)
    if origin is Union or origin is types.UnionType:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        optional = len(args) < len(typing.get_args(tp))
        if len(args) == 1:
            return args[0], optional
        return Union[tuple(args)], optional  # type: ignore[return-value]
    return tp, False


def _unpack(tp: Any) -> tuple[Any, tuple[Any, ...], bool]:
    """(base type, Annotated metadata, optional) for ``Annotated[T | None, ...]`` and
    ``Annotated[T, ...] | None`` alike."""
    tp, optional = _strip_optional(tp)
    metadata: tuple[Any, ...] = ()
    if typing.get_origin(tp) is Annotated:
        metadata = tuple(tp.__metadata__)
        tp = typing.get_args(tp)[0]
    tp, optional_inner = _strip_optional(tp)
    return tp, metadata, optional or optional_inner


def _doc_sections(func: Callable[..., Any]) -> dict[str, str]:
    """Parameter name -> first paragraph of its description in the numpydoc docstring."""
    doc = inspect.getdoc(func) or ""
    match = re.search(r"^Parameters\n-+\n(.*?)(?=^\S[^\n]*\n-+\n|\Z)", doc, re.S | re.M)
    if not match:
        return {}
    result: dict[str, str] = {}
    names: list[str] = []
    lines: list[str] = []
    ended = False
    for line in match.group(1).splitlines() + ["end"]:
        if line and not line[0].isspace():
            for n in names:
                result[n] = " ".join(lines)
            names = [n.strip().lstrip("*") for n in line.split(" : ")[0].split(",")]
            lines, ended = [], False
        elif not line.strip():
            ended = ended or bool(lines)  # the first paragraph is enough
        elif not ended:
            lines.append(line.strip())
    return result


def _hints(func: Callable[..., Any]) -> dict[str, Any]:
    return typing.get_type_hints(func, include_extras=True)


def _kind(name: str, base: Any, metadata: tuple[Any, ...]) -> dict[str, Any]:
    info: dict[str, Any] = {}
    for m in metadata:
        if isinstance(m, Range):
            info.update(min=float(m.min), max=float(m.max),
                        step=None if m.step is None else float(m.step), unit=m.unit, log=m.log)
        elif isinstance(m, Choice):
            info.update(kind="choice", options=m.options)
        elif isinstance(m, FromImage):
            info.update(from_image=m.span, unit="image")
        elif isinstance(m, Point):
            info["kind"] = "point"
        elif isinstance(m, Region):
            info["kind"] = "region"
        elif isinstance(m, Data):
            info["kind"] = m.role
    if "kind" in info:
        return info
    if name in _SPACING_NAMES:
        info["kind"] = "spacing"
    elif typing.get_origin(base) is Literal:
        info.update(kind="choice", options=tuple(str(a) for a in typing.get_args(base)))
    elif base is bool:
        info["kind"] = "bool"
    elif base is int:
        info["kind"] = "int"
    elif base is float:
        info["kind"] = "float"
    elif base is str:
        info["kind"] = "str"
    else:
        info["kind"] = "object"
    return info


def describe(func: Callable[..., Any]) -> list[Param]:
    """One :class:`Param` per keyword-only parameter of ``func``, read from its annotations.

    Works on any annotated function (a user's own too), registered with :func:`op` or not.

    Parameters
    ----------
    func : callable
        A function whose tunable parameters are keyword-only with defaults.

    Returns
    -------
    list of Param
        In signature order.

    Raises
    ------
    TypeError
        When a keyword-only parameter has no default, or a default lies outside its
        :class:`Range` or :class:`Choice`.

    Examples
    --------
    >>> from medinteract.ops import gaussian
    >>> p = describe(gaussian)[1]
    >>> p.name, p.kind, p.min, p.max, p.step, p.unit
    ('sigma', 'float', 0.0, 10.0, 0.1, 'mm')
    """
    hints = _hints(func)
    docs = _doc_sections(func)
    params: list[Param] = []
    for p in inspect.signature(func).parameters.values():
        if p.kind is not inspect.Parameter.KEYWORD_ONLY:
            _, metadata, _ = _unpack(hints.get(p.name, Any))
            if any(isinstance(m, _TUNABLE_MARKERS) for m in metadata):
                raise TypeError(f"{func.__name__}: parameter {p.name!r} is annotated as tunable "
                                "but is not keyword-only; put it after a bare '*' in the "
                                "signature")
            continue
        if p.default is inspect.Parameter.empty:
            raise TypeError(f"{func.__name__}: keyword-only parameter {p.name!r} needs a default")
        base, metadata, optional = _unpack(hints.get(p.name, Any))
        info = _kind(p.name, base, metadata)
        if info["kind"] == "choice" and typing.get_origin(base) is Literal:
            literal = tuple(str(a) for a in typing.get_args(base))
            if set(literal) != set(info["options"]):
                raise TypeError(f"{func.__name__}: Choice {info['options']} of {p.name!r} does not "
                                f"match its Literal {literal}")
        if info["kind"] == "int":
            info.update({k: int(info[k]) for k in ("min", "max", "step")
                         if info.get(k) is not None})
        param = Param(name=p.name, default=p.default, optional=optional or p.default is None,
                      doc=docs.get(p.name, ""), annotation=hints.get(p.name), **info)
        _check_default(func, param)
        params.append(param)
    return params


def _check_default(func: Callable[..., Any], p: Param) -> None:
    if p.default is None:
        return
    if p.kind in ("float", "int") and p.min is not None and p.max is not None:
        if not p.min <= p.default <= p.max:
            raise TypeError(f"{func.__name__}: default {p.default} of {p.name!r} lies outside "
                            f"its Range [{p.min}, {p.max}]")
    if p.kind == "choice" and p.default not in p.options:
        raise TypeError(f"{func.__name__}: default {p.default!r} of {p.name!r} is not one of "
                        f"{p.options}")


def inputs(func: Callable[..., Any]) -> tuple[str, ...]:
    """The roles (``"image"``, ``"mask"``, ``"labels"``) of an op's positional array inputs.

    Parameters without a :class:`Data` annotation count as ``"image"``.

    Examples
    --------
    >>> from medinteract.ops import dice
    >>> inputs(dice)
    ('mask', 'mask')
    """
    hints = _hints(func)
    roles = []
    for p in inspect.signature(func).parameters.values():
        if p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            continue
        _, metadata, _ = _unpack(hints.get(p.name, Any))
        role = next((m.role for m in metadata if isinstance(m, Data)), "image")
        roles.append(role)
    return tuple(roles)


_DTYPE_KINDS = {np.float32: "image", np.bool_: "mask", np.int32: "labels", np.uint8: "overlap"}


def output_kind(func: Callable[..., Any]) -> str:
    """What an op returns, from its return annotation.

    ``"image"`` (:data:`Image`), ``"mask"`` (:data:`Mask`), ``"labels"`` (:data:`Labels`),
    ``"overlap"`` (:data:`Overlap`), ``"table"`` (DataFrame), ``"value"`` (float or int),
    ``"values"`` (dict), ``"same"`` (a plain ``ndarray``: same dtype and role as the input, as
    for crop/flip), else ``"object"``.

    Examples
    --------
    >>> from medinteract.ops import gaussian, region_table
    >>> output_kind(gaussian), output_kind(region_table)
    ('image', 'table')
    """
    ret = _hints(func).get("return", Any)
    if ret is pd.DataFrame:
        return "table"
    if ret in (float, int):
        return "value"
    if ret is dict or typing.get_origin(ret) is dict:
        return "values"
    if ret is np.ndarray:
        return "same"
    if typing.get_origin(ret) is np.ndarray:
        dtype_arg = typing.get_args(typing.get_args(ret)[1])
        if dtype_arg and dtype_arg[0] in _DTYPE_KINDS:
            return _DTYPE_KINDS[dtype_arg[0]]
    return "object"


# -- using the description ---------------------------------------------------------------------
def _nice_step(raw: float) -> float:
    """The 1-2-5 number nearest above ``raw`` (slider steps like 0.1, 0.2, 0.5, 1, 2, 5...)."""
    if raw <= 0 or not np.isfinite(raw):
        return 1.0
    exponent = np.floor(np.log10(raw))
    for factor in (1.0, 2.0, 5.0, 10.0):
        if factor * 10 ** exponent >= raw * (1 - 1e-9):
            return float(factor * 10 ** exponent)
    return float(10 ** (exponent + 1))  # pragma: no cover


def slider_bounds(param: Param, image: Any = None) -> tuple[float, float, float]:
    """``(min, max, step)`` for a numeric parameter's slider.

    :class:`Range` bounds are returned as declared (a missing step becomes 1 for ``int`` and a
    1-2-5 step near 1/100 of the span for ``float``). :class:`FromImage` bounds are computed
    from ``image`` (an array or Scan): its minimum..maximum for ``"values"``, 0..(max - min)
    for ``"spread"``, with a 1-2-5 step near 1/500 of the span (1 HU for typical CT).

    Parameters
    ----------
    param : Param
        A ``"float"`` or ``"int"`` parameter from :func:`describe`.
    image : array_like or Scan, optional
        Needed for :class:`FromImage` parameters.

    Raises
    ------
    ValueError
        When the parameter has no bounds (a plain ``float`` without Range), or needs an image.

    Examples
    --------
    >>> import numpy as np
    >>> from medinteract.ops import describe, threshold, gaussian
    >>> low = describe(threshold)[1]
    >>> slider_bounds(low, np.array([[-1000.0, 400.0]]))
    (-1000.0, 400.0, 5.0)
    >>> slider_bounds(describe(gaussian)[1])
    (0.0, 10.0, 0.1)
    """
    if param.from_image:
        if image is None:
            raise ValueError(f"parameter {param.name!r} takes its range from the image; "
                             "pass the image")
        array = getattr(image, "array", image)
        low, high = float(np.min(array)), float(np.max(array))
        span = high - low
        step = _nice_step(span / 500) if span > 0 else 1.0
        return (low, high, step) if param.from_image == "values" else (0.0, span, step)
    if param.min is None or param.max is None:
        raise ValueError(f"parameter {param.name!r} has no Range; annotate it with "
                         "Annotated[float, Range(min, max, step)]")
    if param.step is not None:
        step = float(param.step)
    elif param.kind == "int":
        step = 1.0
    else:
        step = _nice_step((param.max - param.min) / 100)
    return float(param.min), float(param.max), step


def check_params(func: Callable[..., Any], params: dict[str, Any]) -> dict[str, Any]:
    """Validate and normalise keyword parameters (e.g. loaded from JSON) against ``func``'s
    annotations.

    Unknown names, values outside a :class:`Range` or not among a :class:`Choice`, and
    wrong types raise; JSON lists become tuples for points and regions, whole floats become
    ints for ``int`` parameters. ``FromImage`` values are not bounded (they depend on the
    image). Array parameters and ``spacing`` pass through unchanged.

    Parameters
    ----------
    func : callable
        The op.
    params : dict
        Keyword arguments; missing ones keep their defaults (and are not added).

    Returns
    -------
    dict
        The normalised parameters.

    Raises
    ------
    ValueError
        Naming the parameter and what is wrong.

    Examples
    --------
    >>> from medinteract.ops import region_grow, gaussian
    >>> check_params(region_grow, {"seed": [3, 4], "tolerance": 50})
    {'seed': (3, 4), 'tolerance': 50.0}
    >>> check_params(gaussian, {"sigma": 20})
    Traceback (most recent call last):
    ...
    ValueError: gaussian: sigma = 20.0 is outside [0.0, 10.0] mm
    """
    by_name = {p.name: p for p in describe(func)}
    name = getattr(func, "__name__", "op")
    out: dict[str, Any] = {}
    for key, value in params.items():
        if key not in by_name:
            raise ValueError(f"{name}: unknown parameter {key!r}; expected one of "
                             f"{sorted(by_name)}")
        p = by_name[key]
        if value is None:
            if not p.optional:
                raise ValueError(f"{name}: {key} cannot be None")
            out[key] = None
            continue
        if p.kind in ("float", "int"):
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
                raise ValueError(f"{name}: {key} must be a number, got {value!r}")
            if p.kind == "int":
                if float(value) != int(value):
                    raise ValueError(f"{name}: {key} must be a whole number, got {value!r}")
                value = int(value)
            else:
                value = float(value)
            if p.min is not None and p.max is not None and not p.min <= value <= p.max:
                unit = f" {p.unit}" if p.unit else ""
                raise ValueError(f"{name}: {key} = {value} is outside [{p.min}, {p.max}]{unit}")
        elif p.kind == "bool":
            if not isinstance(value, (bool, np.bool_)):
                raise ValueError(f"{name}: {key} must be true or false, got {value!r}")
            value = bool(value)
        elif p.kind == "choice":
            if value not in p.options:
                raise ValueError(f"{name}: {key} must be one of {p.options}, got {value!r}")
        elif p.kind == "point":
            value = tuple(int(v) if float(v) == int(v) else float(v) for v in value)
        elif p.kind == "region":
            value = tuple(tuple(None if v is None else int(v) for v in pair) for pair in value)
        elif p.kind == "str" and not isinstance(value, str):
            raise ValueError(f"{name}: {key} must be a string, got {value!r}")
        out[key] = value
    return out


# -- registry ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class OpInfo:
    """What the registry knows about an op (also stored as ``func.op_info``).

    Attributes
    ----------
    name : str
        The function name, unique in the registry.
    category : str
        ``"denoise"``, ``"preprocess"``, ``"enhance"``, ``"segment"``, ``"morphology"``,
        ``"measure"`` or ``"metrics"``.
    label : str
        A short human-readable title for a panel.
    inputs : tuple of str
        Roles of the positional array inputs (see :func:`inputs`).
    output : str
        See :func:`output_kind`.
    dims : tuple of int
        Supported numbers of spatial dimensions (2 and/or 3).
    summary : str
        The first line of the docstring.
    func : callable
        The op itself.
    heavy : bool
        True for ops that can take hundreds of ms on a 512x512 slice (median, bilateral, TV,
        non-local means): a panel should preview them on a smaller image while a slider moves.
    """

    name: str
    category: str
    label: str
    inputs: tuple[str, ...]
    output: str
    dims: tuple[int, ...]
    summary: str
    func: Callable[..., Any] = field(repr=False, compare=False)
    heavy: bool = False

    @property
    def import_path(self) -> str:
        """Dotted path for generated code, e.g. ``"medinteract.ops.gaussian"`` for built-in ops
        (re-exported by :mod:`medinteract.ops`), else ``"module.function"``."""
        module = self.func.__module__
        if module.startswith("medinteract.ops."):
            return f"medinteract.ops.{self.name}"
        return f"{module}.{self.func.__qualname__}"


_REGISTRY: dict[str, OpInfo] = {}


def op(category: str, label: str | None = None, *,
       dims: Sequence[int] = (2, 3), heavy: bool = False) -> Callable[[F], F]:
    """Register a function as an op; the function itself is returned unchanged.

    The decorator validates the signature with :func:`describe` (so a bad annotation fails at
    import time, not in a panel) and attaches ``func.op_info`` (an :class:`OpInfo`).

    Parameters
    ----------
    category : str
        Group in :func:`list_ops` and in the panel menu.
    label : str, optional
        Human-readable title; defaults to the function name with spaces.
    dims : sequence of int
        Supported spatial dimensions.
    heavy : bool
        Slow on a full slice; panels preview it (see :attr:`OpInfo.heavy`).

    Examples
    --------
    >>> @op(category="demo", label="Invert")
    ... def invert(image: ImageIn, *, spacing: Spacing = None) -> Image:
    ...     '''Invert intensities.'''
    ...     return -np.asarray(image, dtype=np.float32)
    >>> invert.op_info.label, invert.op_info.output
    ('Invert', 'image')
    >>> _ = _REGISTRY.pop("invert")
    """

    def register(func: F) -> F:
        describe(func)
        name = func.__name__
        existing = _REGISTRY.get(name)
        if existing is not None and (existing.func.__module__, existing.func.__qualname__) != (
                func.__module__, func.__qualname__):
            raise ValueError(f"an op named {name!r} is already registered from "
                             f"{existing.func.__module__}")
        summary = (inspect.getdoc(func) or "").strip().split("\n")[0]
        info = OpInfo(name=name, category=category, label=label or name.replace("_", " "),
                      inputs=inputs(func), output=output_kind(func),
                      dims=tuple(sorted(dims)), summary=summary, func=func, heavy=heavy)
        func.op_info = info  # type: ignore[attr-defined]
        _REGISTRY[name] = info
        return func

    return register


def list_ops(category: str | None = None) -> pd.DataFrame:
    """The registered ops as a table, one row per op.

    Parameters
    ----------
    category : str, optional
        Keep only this category.

    Returns
    -------
    DataFrame
        Columns ``name``, ``category``, ``label``, ``inputs``, ``output``, ``dims``,
        ``heavy``, ``summary``, ``func``; indexed 0..n-1, sorted by category then name.

    Examples
    --------
    >>> import medinteract.ops
    >>> "gaussian" in set(list_ops("denoise")["name"])
    True
    """
    import medinteract.ops  # noqa: F401  (registers every built-in op)

    columns = ["name", "category", "label", "inputs", "output", "dims", "heavy", "summary",
               "func"]
    rows = [{c: getattr(info, c) for c in columns} for info in _REGISTRY.values()
            if category is None or info.category == category]
    table = pd.DataFrame(rows, columns=columns)
    return table.sort_values(["category", "name"], ignore_index=True)


def get_op(name: str) -> Callable[..., Any]:
    """The registered op called ``name``.

    Raises
    ------
    KeyError
        With the list of known names.
    """
    import medinteract.ops  # noqa: F401

    try:
        return _REGISTRY[name].func
    except KeyError:
        raise KeyError(f"no op named {name!r}; known ops: {', '.join(sorted(_REGISTRY))}") from None
