"""The op registry: :func:`op` registers a function as an op, :func:`list_ops` lists them,
:func:`get_op` looks one up.

The parameters of an op are described by :mod:`medinteract.params` (the vocabulary and the
table of parameter kinds); registering an op checks its declaration there at import time.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence, TypeVar

import pandas as pd

from medinteract.params import describe, inputs, output_kind

__all__ = ["OpInfo", "op", "list_ops", "get_op"]

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
