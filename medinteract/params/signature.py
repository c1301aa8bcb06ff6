"""Reading an op's signature: its parameters (:func:`describe`), its array inputs
(:func:`inputs`), its output (:func:`output_kind`), and checking a set of parameter values
against it (:func:`validate_params`).
"""

from __future__ import annotations

import inspect
import types
import typing
from typing import Annotated, Any, Callable, Mapping, Union

import numpy as np
import pandas as pd

from medinteract.errors import ParameterError
from medinteract.params.kinds import Param, kind_for
from medinteract.params.markers import Choice, Data, FromImage, Point, Range, Region

__all__ = ["describe", "inputs", "output_kind", "validate_params", "op_label"]

_TUNABLE_MARKERS = (Range, Choice, FromImage, Point, Region)


def _strip_optional(tp: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(tp)
    if origin is Union or origin is types.UnionType:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        optional = len(args) < len(typing.get_args(tp))
        if len(args) == 1:
            return args[0], optional
        return Union[tuple(args)], optional  # type: ignore[return-value]  # noqa: UP007
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


def _param_docs(func: Callable[..., Any]) -> dict[str, str]:
    """Parameter name -> first paragraph of its description in the numpydoc docstring."""
    from docstring_parser import DocstringStyle, ParseError, parse

    try:
        parsed = parse(inspect.getdoc(func) or "", style=DocstringStyle.NUMPYDOC)
    except ParseError:
        return {}
    docs = {}
    for item in parsed.params:
        first = " ".join((item.description or "").split("\n\n")[0].split())
        for name in item.arg_name.split(","):
            docs[name.strip().lstrip("*")] = first
    return docs


def _hints(func: Callable[..., Any]) -> dict[str, Any]:
    return typing.get_type_hints(func, include_extras=True)


def op_label(func: Callable[..., Any]) -> str:
    """The name messages use for an op: its registry name, else its function name."""
    info = getattr(func, "op_info", None)
    return str(getattr(info, "name", None) or getattr(func, "__name__", repr(func)))


def describe(func: Callable[..., Any]) -> list[Param]:
    """One :class:`~medinteract.params.Param` per keyword-only parameter of ``func``, each of
    the kind (:data:`~medinteract.params.KINDS`) that describes its annotation.

    Works on any annotated function (a user's own too), registered as an op or not.

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
        When a keyword-only parameter has no default, a tunable annotation sits on a
        positional parameter, or a default is not allowed by its own declaration.

    Examples
    --------
    >>> from medinteract.ops import gaussian
    >>> p = describe(gaussian)[1]
    >>> p.name, p.kind, p.min, p.max, p.step, p.unit
    ('sigma', 'number', 0.0, 10.0, 0.1, 'mm')
    """
    hints = _hints(func)
    docs = _param_docs(func)
    name = op_label(func)
    params: list[Param] = []
    for p in inspect.signature(func).parameters.values():
        if p.kind is not inspect.Parameter.KEYWORD_ONLY:
            _, metadata, _ = _unpack(hints.get(p.name, Any))
            if any(isinstance(m, _TUNABLE_MARKERS) for m in metadata):
                raise TypeError(f"{name}: parameter {p.name!r} is annotated as tunable but is "
                                "not keyword-only; put it after a bare '*' in the signature")
            continue
        if p.default is inspect.Parameter.empty:
            raise TypeError(f"{name}: keyword-only parameter {p.name!r} needs a default")
        base, metadata, optional = _unpack(hints.get(p.name, Any))
        try:
            kind, fields = kind_for(p.name, base, metadata)
        except TypeError as error:
            raise TypeError(f"{name}: {error}") from None
        param = Param(name=p.name, kind=kind.name, default=p.default,
                      optional=optional or p.default is None, doc=docs.get(p.name, ""),
                      annotation=hints.get(p.name), **fields)
        try:
            kind.check_declaration(param)
        except TypeError as error:
            raise TypeError(f"{name}: {error}") from None
        params.append(param)
    return params


def inputs(func: Callable[..., Any]) -> tuple[str, ...]:
    """The roles (``"image"``, ``"mask"``, ``"labels"``) of an op's positional array inputs.

    Parameters without a :class:`~medinteract.params.Data` annotation count as ``"image"``.

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
        roles.append(next((m.role for m in metadata if isinstance(m, Data)), "image"))
    return tuple(roles)


_DTYPE_KINDS = {np.float32: "image", np.bool_: "mask", np.int32: "labels", np.uint8: "overlap"}


def output_kind(func: Callable[..., Any]) -> str:
    """What an op returns, from its return annotation.

    ``"image"`` (:data:`~medinteract.params.Image`), ``"mask"``, ``"labels"``, ``"overlap"``,
    ``"table"`` (DataFrame), ``"value"`` (float or int), ``"values"`` (dict), ``"same"`` (a
    plain ``ndarray``: same dtype and role as the input, as for crop/flip), else ``"object"``.

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


def validate_params(func: Callable[..., Any], params: Mapping[str, Any], *,
                    image: Any = None) -> dict[str, Any]:
    """Check parameter values against ``func``'s declaration; their canonical form.

    The one check behind ops' saved parameters, pipeline steps, ``Pipeline.from_json`` and
    panels: only stored (tunable) parameters are accepted (``spacing`` comes from the scan and
    array inputs from the caller); each value is checked by its kind
    (:meth:`~medinteract.params.Param.validate`); JSON lists become tuples, whole floats ints
    for integer parameters, NumPy scalars Python scalars.

    Parameters
    ----------
    func : callable
        The op.
    params : mapping
        Keyword values; missing ones keep their defaults (and are not added).
    image : array_like or Scan, optional
        The image the values are for, so image-dependent kinds check against it too.

    Returns
    -------
    dict

    Raises
    ------
    ParameterError
        Naming the op, the parameter, the value and what is allowed.

    Examples
    --------
    >>> from medinteract.ops import region_grow, gaussian
    >>> validate_params(region_grow, {"seed": [3, 4], "tolerance": 50})
    {'seed': (3, 4), 'tolerance': 50.0}
    >>> validate_params(gaussian, {"sigma": 20})
    Traceback (most recent call last):
    ...
    medinteract.errors.ParameterError: gaussian: sigma=20 is out of range; allowed: ... 0 to 10 mm
    """
    name = op_label(func)
    described = {p.name: p for p in describe(func)}
    out: dict[str, Any] = {}
    for key, value in params.items():
        p = described.get(key)
        if p is None or not p.is_tunable:
            tunable = [n for n, q in described.items() if q.is_tunable]
            problem = ("is not a parameter of this op" if p is None else
                       "is supplied by the pipeline (the scan's spacing or an array input), "
                       "not stored as a parameter")
            raise ParameterError(name, key, value, problem,
                                 "one of " + (", ".join(tunable) or "(none)"))
        out[key] = p.validate(value, op=name, image=image)
    return out
