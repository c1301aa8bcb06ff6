"""Parameter kinds: one entry per kind owns its validation, its bounds for an image, its widget
and its JSON form; the table :data:`KINDS` holds them and a user can extend it.

Every place that touches a parameter value goes through its kind: ops validating saved
parameters, :class:`~medinteract.pipeline.Step` and ``Pipeline.from_json``, the panels' widgets
and their bounds, and any checker. So a value is refused (or accepted) the same way
everywhere, with a :class:`~medinteract.errors.ParameterError` that names the op, the
parameter and what is allowed.

Built-in kinds
--------------
========== ===================================================== ===========================
kind       annotation                                            widget
========== ===================================================== ===========================
number     ``int``/``float``, optionally with :class:`Range`     slider (log slider), or a
                                                                 number box when unbounded
from_image ``float``/``int`` with :class:`FromImage`             slider over the image's values
choice     :class:`Choice` or ``Literal[...]``                   dropdown
flag       ``bool``                                              checkbox
text       ``str``                                               text box
point      :class:`Point` (e.g. :data:`Seed`)                    readout set by a click
region     :class:`Region` (e.g. :data:`Box`)                    readout
spacing    the ``spacing`` keyword                               none: filled from the scan
data       :class:`Data` (array inputs)                          none: supplied by the caller
object     anything else (stored, JSON-serialisable)             none
========== ===================================================== ===========================

Widgets never clamp or round a value: a value set from code that is not allowed raises
:class:`~medinteract.errors.ParameterError`, and an allowed value is shown exactly as held.

Adding a kind
-------------
Subclass :class:`ParamKind`, implement :meth:`ParamKind.describe` (which annotations it claims)
and :meth:`ParamKind.check`, optionally :meth:`~ParamKind.bounds`, :meth:`~ParamKind.widget`,
:meth:`~ParamKind.to_json` / :meth:`~ParamKind.from_json`, and :func:`register_kind` it; kinds
registered later are asked first, so a new kind can take over an annotation from a built-in.

>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Odd:
...     '''Marker: an odd kernel size.'''
>>> class OddKind(ParamKind):
...     name = "odd"
...     def describe(self, name, base, metadata):
...         return {} if any(isinstance(m, Odd) for m in metadata) else None
...     def check(self, param, value, image=None):
...         if isinstance(value, bool) or not isinstance(value, int) or value % 2 == 0:
...             raise ValueError("is not an odd whole number")
...         return int(value)
...     def allowed(self, param, image=None):
...         return "an odd whole number"
>>> register_kind(OddKind())
>>> from typing import Annotated
>>> kind, fields = kind_for("size", int, (Odd(),))
>>> kind.name
'odd'
>>> unregister_kind("odd")
"""

from __future__ import annotations

import math
import typing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np

from medinteract.errors import ParameterError
from medinteract.params.markers import Choice, Data, FromImage, Point, Range, Region

if TYPE_CHECKING:  # pragma: no cover
    import ipywidgets

__all__ = ["Bounds", "Param", "ParamKind", "KINDS", "register_kind", "unregister_kind",
           "kind_for", "nice_step", "value_bounds", "range_bounds", "format_unit", "image_unit"]

#: Names that always mean the scan's voxel spacing (filled from the scan, never a widget).
SPACING_NAMES = ("spacing",)


# -- bounds ------------------------------------------------------------------------------------
class Bounds(NamedTuple):
    """Slider bounds of a numeric parameter.

    Attributes
    ----------
    min, max : float
        Inclusive bounds, in the parameter's unit.
    step : float
        The widget's step (a user's move lands on ``min + k * step``).
    log : bool
        The slider moves on a logarithmic scale.
    """

    min: float
    max: float
    step: float
    log: bool = False


def nice_step(raw: float) -> float:
    """The 1-2-5 number nearest above ``raw`` (steps like 0.1, 0.2, 0.5, 1, 2, 5 ...).

    Examples
    --------
    >>> nice_step(0.03), nice_step(4.0), nice_step(0.0)
    (0.05, 5.0, 1.0)
    """
    if raw <= 0 or not math.isfinite(raw):
        return 1.0
    exponent = math.floor(math.log10(raw))
    for factor in (1.0, 2.0, 5.0, 10.0):
        value = factor * 10.0 ** exponent
        if value >= raw * (1 - 1e-9):
            return float(round(value, 12))
    return float(10.0 ** (exponent + 1))  # pragma: no cover


def _finite_range(values: Any) -> tuple[float, float]:
    array = np.asarray(getattr(values, "array", values))
    if array.size == 0:
        return 0.0, 1.0
    if array.dtype.kind in "biu":
        return float(array.min()), float(array.max())
    finite = array[np.isfinite(array)]
    if finite.size == 0:
        return 0.0, 1.0
    return float(finite.min()), float(finite.max())


def value_bounds(values: Any, span: Literal["values", "spread"] = "values") -> Bounds:
    """Bounds of a parameter measured in an image's own units: the one formula.

    The step is the 1-2-5 number near 1/1000 of the image's finite value range (5 HU for a
    typical CT, 0.001 for an image in [0, 1]); the bounds are widened to whole steps.

    Parameters
    ----------
    values : array_like or Scan
        The image (NaN and infinities are ignored).
    span : {"values", "spread"}
        ``"values"``: from the minimum to the maximum value (a threshold, a window centre).
        ``"spread"``: from 0 to ``max - min`` (a tolerance, a window width).

    Returns
    -------
    Bounds

    Examples
    --------
    >>> value_bounds(np.array([-1024.0, 3071.0]))
    Bounds(min=-1025.0, max=3075.0, step=5.0, log=False)
    >>> value_bounds(np.array([0.0, 1.0]), "spread")
    Bounds(min=0.0, max=1.0, step=0.001, log=False)
    """
    low, high = _finite_range(values)
    if not high > low:  # a constant image: a slider one unit wide
        high = low + 1.0
    spread = high - low
    step = nice_step(spread / 1000)
    if span == "spread":
        return Bounds(0.0, _on_grid(math.ceil(spread / step - 1e-9) * step, step), step)
    return Bounds(_on_grid(math.floor(low / step + 1e-9) * step, step),
                  _on_grid(math.ceil(high / step - 1e-9) * step, step), step)


def _on_grid(value: float, step: float) -> float:
    """``value`` rounded to the decimals of ``step`` (so 0.30000000000000004 becomes 0.3)."""
    decimals = max(0, -math.floor(math.log10(step))) + 2 if step > 0 else 6
    return float(round(value, decimals))


def range_bounds(minimum: float, maximum: float, step: float | None = None, *,
                 integer: bool = False, log: bool = False) -> Bounds:
    """Bounds of a declared :class:`Range`: as declared; a missing step is 1 for integers and a
    1-2-5 number near 1/100 of the span for floats (1/100 of the decades for a log range).

    Examples
    --------
    >>> range_bounds(0.0, 10.0)
    Bounds(min=0.0, max=10.0, step=0.1, log=False)
    >>> range_bounds(1, 15, integer=True)
    Bounds(min=1.0, max=15.0, step=1.0, log=False)
    """
    if step is None:
        if integer:
            step = 1.0
        elif log:
            step = nice_step((math.log10(maximum) - math.log10(minimum)) / 100)
        else:
            step = nice_step((maximum - minimum) / 100)
    return Bounds(float(minimum), float(maximum), float(step), log)


def format_unit(unit: str | None, ndim: int, image_unit: str | None = None) -> str | None:
    """The display unit of a parameter for an image of ``ndim`` spatial dimensions.

    ``"mm^d"`` means mm² for a 2-D image and mm³ for a volume; ``"image"`` means the image's
    own unit (``image_unit``, e.g. ``"HU"`` for CT; no unit without it).

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


def image_unit(image: Any) -> str | None:
    """The unit of an image's values: ``"HU"`` for a CT Scan, else None (unknown)."""
    modality = getattr(image, "modality", "")
    return "HU" if isinstance(modality, str) and modality.upper() == "CT" else None


def _number(value: float) -> str:
    return f"{value:g}"


# -- parameters --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Param:
    """One keyword-only parameter of an op, described by its kind.

    Attributes
    ----------
    name : str
        The keyword.
    kind : str
        The name of its entry in :data:`KINDS` (``"number"``, ``"from_image"``, ``"choice"``,
        ``"flag"``, ``"text"``, ``"point"``, ``"region"``, ``"spacing"``, ``"data"``,
        ``"object"`` or a user's own kind).
    default : object
        The default value.
    optional : bool
        True when ``None`` is allowed (it means "automatic" or "not set"; the docstring says
        which).
    dtype : type or None
        ``int`` or ``float`` for numeric kinds.
    min, max, step : float or None
        Declared :class:`Range` bounds and step.
    unit : str or None
        Unit from :class:`Range` (``"mm^d"``: see :func:`format_unit`); ``"image"`` for
        :class:`FromImage` parameters (the image's own unit, HU for CT).
    log : bool
        Logarithmic slider.
    options : tuple of str
        For ``"choice"``.
    from_image : {"values", "spread"} or None
        For ``"from_image"``: which image span bounds it.
    role : str or None
        For ``"data"``: ``"image"``, ``"mask"`` or ``"labels"``.
    doc : str
        The parameter's description from the numpydoc "Parameters" section.
    annotation : object
        The full annotation.
    """

    name: str
    kind: str
    default: Any
    optional: bool = False
    dtype: type | None = None
    min: float | None = None
    max: float | None = None
    step: float | None = None
    unit: str | None = None
    log: bool = False
    options: tuple[str, ...] = ()
    from_image: str | None = None
    role: str | None = None
    doc: str = ""
    annotation: Any = field(default=None, repr=False, compare=False)

    @property
    def entry(self) -> ParamKind:
        """This parameter's kind (its entry in :data:`KINDS`)."""
        try:
            return KINDS[self.kind]
        except KeyError:
            raise KeyError(f"parameter {self.name!r} is of kind {self.kind!r}, which is not "
                           "registered") from None

    @property
    def is_tunable(self) -> bool:
        """True when the parameter is a stored, user-set value (not the scan's spacing or an
        array input)."""
        return self.entry.tunable

    def validate(self, value: Any, *, op: str = "op", image: Any = None) -> Any:
        """The value in canonical form, or a :class:`~medinteract.errors.ParameterError`.

        Parameters
        ----------
        value : object
            A Python or JSON value (NumPy scalars and lists are accepted).
        op : str
            The op's name, for the error message.
        image : array_like or Scan, optional
            The image the value is for; image-dependent kinds (``from_image``, ``point``,
            ``region``) then check against it too.
        """
        if value is None:
            if self.optional:
                return None
            raise ParameterError(op, self.name, value, "cannot be None",
                                 self.allowed(image))
        try:
            return self.entry.check(self, _plain(value), image)
        except (TypeError, ValueError) as error:
            if isinstance(error, ParameterError):
                raise
            raise ParameterError(op, self.name, value, str(error), self.allowed(image)) \
                from None

    def allowed(self, image: Any = None) -> str:
        """What values are allowed, in words (with the range and unit)."""
        text = self.entry.allowed(self, image)
        return f"{text}, or None" if self.optional else text

    def bounds(self, image: Any = None) -> Bounds | None:
        """Slider bounds (None for kinds without them)."""
        return self.entry.bounds(self, image)

    def display_unit(self, image: Any = None) -> str | None:
        """The unit shown next to the value for ``image`` (mm², HU, ...)."""
        ndim = getattr(image, "spatial_ndim", None) or (np.ndim(image) if image is not None
                                                        else 2)
        return format_unit(self.unit, ndim, image_unit(image))

    def label(self, image: Any = None) -> str:
        """``"name (unit)"`` for a widget description; the unit is stated whenever known."""
        unit = self.display_unit(image)
        return f"{self.name} ({unit})" if unit else self.name

    def widget(self, value: Any, image: Any = None) -> ipywidgets.Widget | None:
        """A widget whose ``value`` trait holds this parameter (None for kinds without one).

        The widget carries the CSS classes ``mi-param`` and ``mi-param-NAME``.
        """
        control = self.entry.widget(self, value, image)
        if control is not None:
            control.add_class("mi-param")
            control.add_class(f"mi-param-{self.name}")
        return control

    def to_json(self, value: Any) -> Any:
        """The value as JSON-ready data."""
        return None if value is None else self.entry.to_json(self, value)

    def from_json(self, data: Any, *, op: str = "op") -> Any:
        """The value saved by :meth:`to_json`, validated."""
        if data is None:
            return self.validate(None, op=op)
        try:
            value = self.entry.from_json(self, data)
        except (TypeError, ValueError) as error:
            raise ParameterError(op, self.name, data, str(error), self.allowed()) from None
        return self.validate(value, op=op)


def _plain(value: Any) -> Any:
    """NumPy scalars -> Python scalars, arrays and lists -> tuples, recursively."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, (list, tuple)):
        return tuple(_plain(v) for v in value)
    return value


# -- the kind interface ------------------------------------------------------------------------
class ParamKind:
    """One kind of parameter: which annotations it describes, and how its values are checked,
    bounded, shown and saved.

    Subclasses set :attr:`name` and implement :meth:`describe` and :meth:`check`; the other
    methods have sensible defaults. Register an instance with :func:`register_kind`.
    """

    #: The kind's name in :data:`KINDS` and in :attr:`Param.kind`.
    name: str = ""
    #: False for values the caller supplies (spacing, arrays), never stored or shown.
    tunable: bool = True

    def describe(self, name: str, base: Any, metadata: tuple[Any, ...]
                 ) -> dict[str, Any] | None:
        """The :class:`Param` fields for a parameter this kind describes, else None.

        Parameters
        ----------
        name : str
            The keyword.
        base : type
            The annotation without ``Annotated`` and ``None`` (e.g. ``float``).
        metadata : tuple
            The ``Annotated`` metadata (markers).
        """
        raise NotImplementedError

    def check(self, param: Param, value: Any, image: Any = None) -> Any:
        """The value in canonical form; raise ``ValueError`` or ``TypeError`` with what is
        wrong (the caller adds the op, the parameter and :meth:`allowed`). ``value`` is never
        None and has NumPy types and lists turned into Python scalars and tuples."""
        raise NotImplementedError

    def allowed(self, param: Param, image: Any = None) -> str:
        """What values are allowed, in words."""
        return f"a {self.name} value"

    def bounds(self, param: Param, image: Any = None) -> Bounds | None:
        """Slider bounds for ``image`` (None: the kind has none)."""
        return None

    def widget(self, param: Param, value: Any, image: Any = None) -> ipywidgets.Widget | None:
        """A widget whose ``value`` is the parameter (None: not shown)."""
        return None

    def to_json(self, param: Param, value: Any) -> Any:
        """JSON-ready data for a canonical value (tuples become lists)."""
        return _jsonable(value)

    def from_json(self, param: Param, data: Any) -> Any:
        """A value from JSON data (validated afterwards by :meth:`check`)."""
        return data

    def check_declaration(self, param: Param) -> None:
        """Raise ``TypeError`` when a declaration is inconsistent (e.g. a default outside its
        range); called once when an op is described."""
        if param.default is not None and param.is_tunable:
            try:
                self.check(param, _plain(param.default), None)
            except (TypeError, ValueError) as error:
                raise TypeError(f"default {param.default!r} of {param.name!r} {error}; "
                                f"allowed: {self.allowed(param)}") from None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _as_number(param: Param, value: Any) -> float | int:
    if not _is_number(value):
        raise TypeError("is not a number")
    if not math.isfinite(value):
        raise ValueError("is not finite")
    if param.dtype is int:
        if value != int(value):
            raise ValueError("is not a whole number")
        return int(value)
    return float(value)


def _widgets() -> Any:
    from medinteract.params import widgets

    return widgets


# -- built-in kinds ----------------------------------------------------------------------------
class NumberKind(ParamKind):
    """``int`` or ``float``, bounded by a :class:`Range` (a slider) or unbounded (a box)."""

    name = "number"

    def describe(self, name: str, base: Any, metadata: tuple[Any, ...]
                 ) -> dict[str, Any] | None:
        ranges = [m for m in metadata if isinstance(m, Range)]
        if base not in (int, float) or any(isinstance(m, FromImage) for m in metadata):
            return None
        info: dict[str, Any] = {"dtype": base}
        if ranges:
            r = ranges[0]
            cast = int if base is int else float
            info.update(min=cast(r.min), max=cast(r.max),
                        step=None if r.step is None else cast(r.step), unit=r.unit, log=r.log)
        return info

    def check(self, param: Param, value: Any, image: Any = None) -> Any:
        number = _as_number(param, value)
        if param.min is not None and param.max is not None \
                and not param.min <= number <= param.max:
            raise ValueError("is out of range")
        return number

    def allowed(self, param: Param, image: Any = None) -> str:
        what = "a whole number" if param.dtype is int else "a number"
        if param.min is None or param.max is None:
            return what
        unit = param.display_unit(image)
        return (f"{what} from {_number(param.min)} to {_number(param.max)}"
                + (f" {unit}" if unit else ""))

    def bounds(self, param: Param, image: Any = None) -> Bounds | None:
        if param.min is None or param.max is None:
            return None
        return range_bounds(param.min, param.max, param.step, integer=param.dtype is int,
                            log=param.log)

    def widget(self, param: Param, value: Any, image: Any = None) -> ipywidgets.Widget | None:
        return _widgets().number_control(param, value, image)


class FromImageKind(ParamKind):
    """A number in the image's own units (HU for CT), bounded by the image's values."""

    name = "from_image"

    def describe(self, name: str, base: Any, metadata: tuple[Any, ...]
                 ) -> dict[str, Any] | None:
        marker = next((m for m in metadata if isinstance(m, FromImage)), None)
        if marker is None:
            return None
        if base not in (int, float):
            raise TypeError(f"FromImage needs an int or float parameter, not {base!r}")
        return {"dtype": base, "from_image": marker.span, "unit": "image"}

    def check(self, param: Param, value: Any, image: Any = None) -> Any:
        number = _as_number(param, value)
        bounds = self.bounds(param, image)
        if bounds is not None and not bounds.min <= number <= bounds.max:
            raise ValueError("is outside the image's range")
        return number

    def allowed(self, param: Param, image: Any = None) -> str:
        bounds = self.bounds(param, image)
        what = "a whole number" if param.dtype is int else "a number"
        if bounds is None:
            return f"{what} in the image's units"
        unit = param.display_unit(image)
        return (f"{what} from {_number(bounds.min)} to {_number(bounds.max)}"
                + (f" {unit}" if unit else "") + " (the image's range)")

    def bounds(self, param: Param, image: Any = None) -> Bounds | None:
        if image is None:
            return None
        bounds = value_bounds(image, "spread" if param.from_image == "spread" else "values")
        if param.dtype is int:
            return Bounds(math.floor(bounds.min), math.ceil(bounds.max),
                          max(1.0, round(bounds.step)))
        return bounds

    def widget(self, param: Param, value: Any, image: Any = None) -> ipywidgets.Widget | None:
        return _widgets().number_control(param, value, image)


class ChoiceKind(ParamKind):
    """One of a fixed set of strings (:class:`Choice` or ``Literal[...]``): a dropdown."""

    name = "choice"

    def describe(self, name: str, base: Any, metadata: tuple[Any, ...]
                 ) -> dict[str, Any] | None:
        choice = next((m for m in metadata if isinstance(m, Choice)), None)
        literal = (tuple(str(a) for a in typing.get_args(base))
                   if typing.get_origin(base) is Literal else None)
        if choice is None and literal is None:
            return None
        if choice is not None and literal is not None and set(choice.options) != set(literal):
            raise TypeError(f"Choice {choice.options} of {name!r} does not match its Literal "
                            f"{literal}")
        options = choice.options if choice is not None else literal
        return {"options": options}

    def check(self, param: Param, value: Any, image: Any = None) -> Any:
        if value not in param.options:
            raise ValueError("is not one of the choices")
        return value

    def allowed(self, param: Param, image: Any = None) -> str:
        return "one of " + ", ".join(repr(o) for o in param.options)

    def widget(self, param: Param, value: Any, image: Any = None) -> ipywidgets.Widget | None:
        return _widgets().choice_control(param, value, image)


class FlagKind(ParamKind):
    """True or False: a checkbox."""

    name = "flag"

    def describe(self, name: str, base: Any, metadata: tuple[Any, ...]
                 ) -> dict[str, Any] | None:
        return {} if base is bool else None

    def check(self, param: Param, value: Any, image: Any = None) -> Any:
        if not isinstance(value, bool):
            raise TypeError("is not True or False")
        return value

    def allowed(self, param: Param, image: Any = None) -> str:
        return "True or False"

    def widget(self, param: Param, value: Any, image: Any = None) -> ipywidgets.Widget | None:
        return _widgets().flag_control(param, value, image)


class TextKind(ParamKind):
    """A free string: a text box."""

    name = "text"

    def describe(self, name: str, base: Any, metadata: tuple[Any, ...]
                 ) -> dict[str, Any] | None:
        return {} if base is str else None

    def check(self, param: Param, value: Any, image: Any = None) -> Any:
        if not isinstance(value, str):
            raise TypeError("is not a string")
        return value

    def allowed(self, param: Param, image: Any = None) -> str:
        return "a string"

    def widget(self, param: Param, value: Any, image: Any = None) -> ipywidgets.Widget | None:
        return _widgets().text_control(param, value, image)


def _spatial_shape(image: Any) -> tuple[int, ...] | None:
    if image is None:
        return None
    shape = tuple(np.shape(getattr(image, "array", image)))
    ndim = getattr(image, "spatial_ndim", None) or len(shape)
    return shape[:ndim]


class PointKind(ParamKind):
    """A position in array-index order, set by clicking the image: a readout."""

    name = "point"

    def describe(self, name: str, base: Any, metadata: tuple[Any, ...]
                 ) -> dict[str, Any] | None:
        return {} if any(isinstance(m, Point) for m in metadata) else None

    def check(self, param: Param, value: Any, image: Any = None) -> Any:
        if not isinstance(value, tuple) or not value or not all(_is_number(v) for v in value):
            raise TypeError("is not a tuple of indices")
        point = tuple(int(v) if float(v) == int(v) else float(v) for v in value)
        shape = _spatial_shape(image)
        if shape is not None:
            if len(point) != len(shape):
                raise ValueError(f"has {len(point)} indices for a {len(shape)}-D image")
            if not all(0 <= v <= n - 1 for v, n in zip(point, shape)):
                raise ValueError("lies outside the image")
        return point

    def allowed(self, param: Param, image: Any = None) -> str:
        shape = _spatial_shape(image)
        if shape is None:
            return "a tuple of array indices"
        return "array indices inside " + "×".join(str(n) for n in shape)

    def widget(self, param: Param, value: Any, image: Any = None) -> ipywidgets.Widget | None:
        return _widgets().readout_control(param, value, image, hint="click the image to set")


class RegionKind(ParamKind):
    """A box ``((start, stop), ...)`` in array indices: a readout."""

    name = "region"

    def describe(self, name: str, base: Any, metadata: tuple[Any, ...]
                 ) -> dict[str, Any] | None:
        return {} if any(isinstance(m, Region) for m in metadata) else None

    def check(self, param: Param, value: Any, image: Any = None) -> Any:
        if not isinstance(value, tuple) or not all(
                isinstance(pair, tuple) and len(pair) == 2
                and all(v is None or (_is_number(v) and float(v) == int(v)) for v in pair)
                for pair in value):
            raise TypeError("is not ((start, stop), ...) of whole numbers per axis")
        region = tuple(tuple(None if v is None else int(v) for v in pair) for pair in value)
        shape = _spatial_shape(image)
        if shape is not None:
            if len(region) != len(shape):
                raise ValueError(f"has {len(region)} axes for a {len(shape)}-D image")
            for (start, stop), n in zip(region, shape):
                lo = 0 if start is None else start
                hi = n if stop is None else stop
                if not 0 <= lo < hi <= n:
                    raise ValueError("does not lie inside the image")
        return region

    def allowed(self, param: Param, image: Any = None) -> str:
        shape = _spatial_shape(image)
        inside = "" if shape is None else " inside " + "×".join(str(n) for n in shape)
        return f"((start, stop), ...) per axis, start < stop{inside}"

    def widget(self, param: Param, value: Any, image: Any = None) -> ipywidgets.Widget | None:
        return _widgets().readout_control(param, value, image)


class SpacingKind(ParamKind):
    """The scan's voxel spacing, filled in from the scan: never stored or shown."""

    name = "spacing"
    tunable = False

    def describe(self, name: str, base: Any, metadata: tuple[Any, ...]
                 ) -> dict[str, Any] | None:
        return {} if name in SPACING_NAMES else None

    def check(self, param: Param, value: Any, image: Any = None) -> Any:
        raise ValueError("comes from the scan, not from the parameters")

    def allowed(self, param: Param, image: Any = None) -> str:
        return "the scan's spacing (not a parameter)"

    def check_declaration(self, param: Param) -> None:
        return None


class DataKind(ParamKind):
    """An array input (image, mask or labels), supplied by the caller: never stored."""

    name = "data"
    tunable = False

    def describe(self, name: str, base: Any, metadata: tuple[Any, ...]
                 ) -> dict[str, Any] | None:
        data = next((m for m in metadata if isinstance(m, Data)), None)
        return None if data is None else {"role": data.role}

    def check(self, param: Param, value: Any, image: Any = None) -> Any:
        raise ValueError("is an array input, not a parameter")

    def allowed(self, param: Param, image: Any = None) -> str:
        return f"an array ({param.role})"

    def check_declaration(self, param: Param) -> None:
        return None


class ObjectKind(ParamKind):
    """Anything else: stored as given when it can be saved as JSON; no widget."""

    name = "object"

    def describe(self, name: str, base: Any, metadata: tuple[Any, ...]
                 ) -> dict[str, Any] | None:
        return {}

    def check(self, param: Param, value: Any, image: Any = None) -> Any:
        import json

        try:
            json.dumps(_jsonable(value), allow_nan=False)
        except (TypeError, ValueError):
            raise TypeError("cannot be saved as JSON") from None
        return value

    def allowed(self, param: Param, image: Any = None) -> str:
        return "a value that can be saved as JSON"


# -- the table ---------------------------------------------------------------------------------
#: The parameter kinds by name, in the order they are asked to describe an annotation (the
#: last registered first; ``object`` always last).
KINDS: dict[str, ParamKind] = {}
_BUILT_IN = (SpacingKind(), DataKind(), PointKind(), RegionKind(), FromImageKind(),
             ChoiceKind(), FlagKind(), NumberKind(), TextKind(), ObjectKind())


def register_kind(kind: ParamKind) -> None:
    """Add a parameter kind (or replace the one of the same name); it is asked first.

    Raises
    ------
    ValueError
        When the kind has no name.
    """
    if not kind.name:
        raise ValueError(f"{kind!r} needs a name")
    KINDS.pop(kind.name, None)
    user = {k: v for k, v in KINDS.items() if v not in _BUILT_IN}
    built_in = {k: v for k, v in KINDS.items() if v in _BUILT_IN}
    KINDS.clear()
    KINDS.update({kind.name: kind, **user, **built_in})


def unregister_kind(name: str) -> None:
    """Remove a kind added with :func:`register_kind` (built-in kinds come back)."""
    KINDS.pop(name, None)
    for kind in _BUILT_IN:
        KINDS.setdefault(kind.name, kind)


def kind_for(name: str, base: Any, metadata: tuple[Any, ...]
             ) -> tuple[ParamKind, dict[str, Any]]:
    """The kind that describes a parameter (the first in :data:`KINDS` that claims it) and the
    :class:`Param` fields it gives."""
    for kind in KINDS.values():
        fields = kind.describe(name, base, metadata)
        if fields is not None:
            return kind, fields
    raise TypeError(f"no parameter kind describes {name!r}")  # pragma: no cover


for _kind in _BUILT_IN:
    KINDS[_kind.name] = _kind
