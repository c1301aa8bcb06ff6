"""The op registry: :func:`op` registers a function as an op, :func:`list_ops` lists them,
:func:`get_op` looks one up, :func:`output_geometry` says where an op's output lies.

The parameters of an op are described by :mod:`medinteract.params` (the vocabulary and the
table of parameter kinds); registering an op checks its declaration there at import time.
An op that changes the grid (spacing, shape, origin or direction) declares the geometry of its
output with ``@op(..., geometry=...)``; see :mod:`medinteract.ops`.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence, TypeVar

import pandas as pd

from medinteract.params import describe, inputs, output_kind
from medinteract.scan import Geometry

__all__ = ["OpInfo", "op", "list_ops", "get_op", "declared_geometry", "output_geometry"]

F = TypeVar("F", bound=Callable[..., Any])


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
    geometry : callable or None
        For an op that changes the grid: ``geometry(input_geometry, **params) -> Geometry``,
        the :class:`~medinteract.scan.Geometry` of its output (see :func:`output_geometry`).
        None: the output lies on the input's grid.
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
    geometry: Callable[..., Geometry] | None = field(default=None, repr=False, compare=False)

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
       dims: Sequence[int] = (2, 3), heavy: bool = False,
       geometry: Callable[..., Geometry] | None = None) -> Callable[[F], F]:
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
    geometry : callable, optional
        For an op whose output lies on another grid than its input (it resamples, crops,
        flips, rotates): ``geometry(input_geometry, **params)`` returning the output's
        :class:`~medinteract.scan.Geometry`. It takes the op's parameters that it needs as
        keywords, with the op's defaults.

    Examples
    --------
    >>> import numpy as np
    >>> from medinteract.params import Image, ImageIn, Spacing
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
                      dims=tuple(sorted(dims)), summary=summary, func=func, heavy=heavy,
                      geometry=geometry)
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


def declared_geometry(func: Callable[..., Any]) -> Callable[..., Geometry] | None:
    """The geometry function an op declares (``@op(..., geometry=...)``), or None when its
    output lies on its input's grid (and for functions that are not registered ops)."""
    return getattr(getattr(func, "op_info", None), "geometry", None)


def output_geometry(func: Callable[..., Any], geometry: Geometry,
                    params: Mapping[str, Any] | None = None) -> Geometry:
    """Where the output of ``func(input, **params)`` lies, for an input on ``geometry``.

    The input's geometry, unless the op declares another (``@op(..., geometry=...)``); the
    declared function gets the op's parameters it takes, defaults filled in.

    Parameters
    ----------
    func : callable
        An op (registered or not: an unregistered function keeps the grid).
    geometry : Geometry
        The input's geometry.
    params : mapping, optional
        The op's parameters (validated values, e.g. a pipeline step's ``params``).

    Examples
    --------
    >>> from medinteract.ops import crop
    >>> g = Geometry((10, 20, 30), spacing=(2.0, 0.5, 0.5))
    >>> output_geometry(crop, g, {"region": ((2, 6), (0, 20), (10, 30))})
    <Geometry 4x20x20, spacing (2, 0.5, 0.5) mm, origin (5, 0, 4) mm>
    """
    declared = declared_geometry(func)
    if declared is None:
        return geometry
    values = {p.name: p.default for p in describe(func) if p.is_tunable}
    values.update(params or {})
    accepted = inspect.signature(declared).parameters
    return declared(geometry, **{k: v for k, v in values.items() if k in accepted})
