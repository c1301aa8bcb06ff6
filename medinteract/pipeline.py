"""Pipelines: an ordered list of ops with their parameters, run, saved as JSON, exported as code.

A :class:`Pipeline` is what a panel session leaves behind: the parameter choices a user trusts,
in a form that runs without widgets, on one scan (:meth:`Pipeline.run`) or on a whole dataset
(:mod:`medinteract.batch`), and that can be read as plain Python (:meth:`Pipeline.to_code`).

Data flow
---------
Each step receives the previous step's output (the pipeline's input for the first step) in its
first mask or labels input if it has one, else in its first input; its other image inputs
(such as the intensity image of :func:`~medinteract.ops.region_table`) receive the pipeline's
original input, so a pipeline ``threshold -> label -> region_table`` measures the HU of the
scan it started from.
Every step gets the same ``spacing`` (from the input :class:`~medinteract.scan.Scan`, or given).

>>> import numpy as np
>>> p = Pipeline([Step("gaussian", {"sigma": 1.0}), Step("threshold", {"low": 0.5})])
>>> p.run(np.eye(8)).dtype
dtype('bool')
>>> Pipeline.from_json(p.to_json()) == p
True
"""

from __future__ import annotations

import importlib
import inspect
import json
from collections import deque
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np

from medinteract._atomic import write_atomic
from medinteract.errors import LoadError, ParameterError
from medinteract.ops.registry import get_op
from medinteract.params import describe, inputs, output_kind, validate_params
from medinteract.scan import Scan

__all__ = ["Step", "Pipeline", "FORMAT_VERSION", "op_name", "resolve_op"]

#: Version number written into saved pipelines (``"medinteract_pipeline"`` key).
FORMAT_VERSION = 1

_ARRAY_KINDS = ("spacing", "image", "mask", "labels")


# -- naming and resolving ops ------------------------------------------------------------------
def op_name(func: Callable[..., Any]) -> str:
    """The name a step stores for a function.

    A registered op is stored by its registry name (``"gaussian"``); any other function by
    ``"module:qualname"`` so it can be imported again.

    Examples
    --------
    >>> from medinteract.ops import gaussian
    >>> op_name(gaussian)
    'gaussian'
    """
    info = getattr(func, "op_info", None)
    if info is not None and getattr(info, "func", None) is func:
        return info.name
    return f"{func.__module__}:{func.__qualname__}"


def resolve_op(name: str) -> Callable[..., Any]:
    """The function for a step's op name (a registry name or ``"module:qualname"``).

    Raises
    ------
    KeyError
        For an unknown registry name (the message lists the known ops).
    ValueError
        When a ``"module:qualname"`` cannot be imported.
    """
    if ":" not in name:
        return get_op(name)
    module_name, _, qualname = name.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as error:
        raise ValueError(f"cannot import the function {name!r} of this step ({error}); "
                         "define it in an importable module") from None
    if not callable(target):
        raise ValueError(f"{name!r} is not a function")
    return target


def _input_sources(func: Callable[..., Any]) -> tuple[str, ...]:
    """Where each positional input of a step comes from: ``"current"`` or ``"original"``.

    The previous step's output (``"current"``) goes to the op's first mask or labels input
    if it has one, otherwise to its first input; every other image input receives the
    pipeline's original input (``"original"``). So ``threshold -> label -> region_table``
    hands the labels to ``region_table(image, labels)`` and measures the HU of the scan the
    pipeline started from. Any other required array input makes the op unusable as a step.
    """
    roles = inputs(func)
    required = [p.default is inspect.Parameter.empty
                for p in inspect.signature(func).parameters.values()
                if p.kind in (inspect.Parameter.POSITIONAL_ONLY,
                              inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    primary = next((i for i, role in enumerate(roles) if role in ("mask", "labels")), 0)
    sources = []
    for index, (role, needed) in enumerate(zip(roles, required)):
        if index == primary:
            sources.append("current")
        elif role == "image":
            sources.append("original")
        elif needed:
            raise ValueError(f"{getattr(func, '__name__', func)} needs a second {role} input, "
                             "which a pipeline step cannot supply")
        elif index > primary:
            break
    return tuple(sources)


def _takes_spacing(func: Callable[..., Any]) -> bool:
    return "spacing" in inspect.signature(func).parameters


# -- steps -------------------------------------------------------------------------------------
@dataclass(frozen=True, init=False)
class Step:
    """One op with its parameters.

    Parameters
    ----------
    op : str or callable
        A registered op's name (``"gaussian"``), or a function: a registered op is stored by
        its name, any other annotated function by ``"module:qualname"`` (the function object
        itself is kept for running, so a function defined in a notebook works until saved).
    params : mapping, optional
        Keyword parameters; validated against the op's annotations (:func:`describe`).
        Parameters left out take the op's defaults.

    Examples
    --------
    >>> Step("median", {"size": 5})
    Step('median', {'size': 5})
    >>> Step("median", {"sise": 5})
    Traceback (most recent call last):
    ...
    medinteract.errors.ParameterError: median: sise=5 is not a parameter of this op; allowed: ...
    """

    op: str
    params: dict[str, Any]
    _func: Callable[..., Any] = field(repr=False, compare=False)

    def __init__(self, op: str | Callable[..., Any], params: Mapping[str, Any] | None = None,
                 ) -> None:
        if callable(op):
            func, name = op, op_name(op)
        elif isinstance(op, str):
            func, name = resolve_op(op), op
        else:
            raise TypeError(f"a step's op is a name or a function, got {op!r}")
        checked = validate_params(func, dict(params or {}))
        _input_sources(func)
        object.__setattr__(self, "op", name)
        object.__setattr__(self, "params", checked)
        object.__setattr__(self, "_func", func)

    @property
    def func(self) -> Callable[..., Any]:
        """The function this step calls."""
        return self._func

    @property
    def output(self) -> str:
        """What the step returns (see :func:`medinteract.ops.params.output_kind`)."""
        return output_kind(self._func)

    @property
    def code_name(self) -> str:
        """The name the function has in generated code."""
        return self._func.__name__

    def call(self, current: Any, original: Any, spacing: Sequence[float] | None) -> Any:
        """Run this step on ``current`` (``original`` feeds its other image inputs)."""
        given = {"current": current, "original": original}
        args = [given[source] for source in _input_sources(self._func)]
        kwargs = dict(self.params)
        if _takes_spacing(self._func):
            kwargs["spacing"] = spacing
        return self._func(*args, **kwargs)

    def with_params(self, **params: Any) -> Step:
        """A copy with some parameters changed."""
        return Step(self._func, {**self.params, **params})

    def to_dict(self) -> dict[str, Any]:
        """``{"op": name, "params": {...}}`` with JSON-ready values."""
        described = {p.name: p for p in describe(self._func)}
        return {"op": self.op,
                "params": {k: described[k].to_json(v) for k, v in self.params.items()}}

    def code_line(self, target: str = "result", source: str = "result") -> str:
        """The Python line that performs this step."""
        names = {"current": source, "original": "image"}
        args = [names[origin] for origin in _input_sources(self._func)]
        if _takes_spacing(self._func):
            args.append("spacing=spacing")
        args += [f"{k}={v!r}" for k, v in self.params.items()]
        return f"{target} = {self.code_name}({', '.join(args)})"

    def __repr__(self) -> str:
        return f"Step({self.op!r}, {self.params!r})"


# -- pipelines ---------------------------------------------------------------------------------
class Pipeline:
    """An ordered list of :class:`Step` s.

    Parameters
    ----------
    steps : iterable of Step, or of (op, params) pairs, optional

    Examples
    --------
    >>> p = Pipeline().append("gaussian", sigma=2.0).append("threshold_auto", method="otsu")
    >>> len(p), p.output
    (2, 'mask')
    >>> print(p.to_code())  # doctest: +NORMALIZE_WHITESPACE
    from medinteract.ops import gaussian, threshold_auto
    <BLANKLINE>
    # `image`: the input (a Scan or an array); `spacing`: mm per array axis or None
    if spacing is None:
        spacing = getattr(image, "spacing", None)
    result = gaussian(image, spacing=spacing, sigma=2.0)
    result = threshold_auto(result, spacing=spacing, method='otsu')
    """

    def __init__(self, steps: Iterable[Step | tuple[Any, Mapping[str, Any]]] = ()) -> None:
        self._steps: list[Step] = [s if isinstance(s, Step) else Step(*s) for s in steps]

    # -- container ---------------------------------------------------------------------------
    @property
    def steps(self) -> tuple[Step, ...]:
        """The steps, in order."""
        return tuple(self._steps)

    def append(self, step: Step | str | Callable[..., Any],
               params: Mapping[str, Any] | None = None, **kwargs: Any) -> Pipeline:
        """Add a step at the end and return the pipeline (so calls can be chained).

        ``append(Step(...))``, ``append("median", {"size": 5})`` and
        ``append("median", size=5)`` are equivalent.
        """
        if isinstance(step, Step):
            if params or kwargs:
                raise TypeError("give parameters either in the Step or as arguments")
            self._steps.append(step)
        else:
            self._steps.append(Step(step, {**(params or {}), **kwargs}))
        return self

    def __len__(self) -> int:
        return len(self._steps)

    def __iter__(self) -> Iterator[Step]:
        return iter(self._steps)

    def __getitem__(self, index: int) -> Step:
        return self._steps[index]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Pipeline) and self._steps == other._steps

    def __add__(self, other: Pipeline) -> Pipeline:
        return Pipeline([*self._steps, *other._steps])

    def __repr__(self) -> str:
        inner = ", ".join(repr(s) for s in self._steps)
        return f"Pipeline([{inner}])"

    @property
    def output(self) -> str:
        """What :meth:`run` returns: the last step's output kind (``"image"`` when empty)."""
        return self._steps[-1].output if self._steps else "image"

    # -- running -----------------------------------------------------------------------------
    def iter_results(self, image: Any, *, spacing: Sequence[float] | None = None
                     ) -> Iterator[tuple[Step, Any]]:
        """Run the steps in order, yielding ``(step, result)`` after each one.

        The one stepping loop behind :meth:`run`; use it to keep intermediate results (the
        batch runner saves the last image/mask/labels of a pipeline that ends in a table).

        Parameters
        ----------
        image : Scan or array_like
            The input; a Scan's spacing is used unless ``spacing`` is given.
        spacing : sequence of float, optional
            mm per array axis.

        Yields
        ------
        (Step, object)
            Each step and what it returned.

        Raises
        ------
        Exception
            Whatever a step raises, with a note naming the step (``add_note``).
        """
        if spacing is None:
            spacing = getattr(image, "spacing", None)
        result = image
        for number, step in enumerate(self._steps, start=1):
            try:
                result = step.call(result, image, spacing)
            except Exception as error:
                error.add_note(f"in pipeline step {number} ({step.op})")
                raise
            yield step, result

    def run(self, image: Any, *, spacing: Sequence[float] | None = None) -> Any:
        """Run every step in order.

        Parameters
        ----------
        image : Scan or array_like
            The input; a Scan's spacing is used unless ``spacing`` is given.
        spacing : sequence of float, optional
            mm per array axis.

        Returns
        -------
        ndarray or DataFrame or value
            The last step's output (a copy of the input array for an empty pipeline).

        Raises
        ------
        Exception
            Whatever a step raises, with a note naming the step (``add_note``).
        """
        last = deque(self.iter_results(image, spacing=spacing), maxlen=1)
        if not last or last[0][1] is image:
            return np.array(image.array if isinstance(image, Scan) else image)
        return last[0][1]

    __call__ = run

    # -- code --------------------------------------------------------------------------------
    def to_code(self) -> str:
        """Plain Python that reproduces :meth:`run` without widgets.

        The code expects two names to be bound: ``image`` (a Scan or array) and ``spacing``
        (mm per axis, or None), and leaves the output in ``result``.
        ``exec(code, {"image": x, "spacing": None})`` gives exactly ``run(x)``.
        """
        imports: dict[str, list[str]] = {}
        notes = []
        for step in self._steps:
            module = _import_module(step)
            if module is None:
                notes.append(f"# `{step.code_name}` is your own function: define it first")
                continue
            names = imports.setdefault(module, [])
            if step.code_name not in names:
                names.append(step.code_name)
        lines = [f"from {module} import {', '.join(names)}" for module, names in imports.items()]
        lines += notes
        if lines:
            lines.append("")
        lines += ["# `image`: the input (a Scan or an array); `spacing`: mm per array axis or None",
                  "if spacing is None:",
                  '    spacing = getattr(image, "spacing", None)']
        if not self._steps:
            lines.append("import numpy as np")
            lines.append("result = np.array(getattr(image, 'array', image))")
        for number, step in enumerate(self._steps):
            lines.append(step.code_line(source="image" if number == 0 else "result"))
        return "\n".join(lines) + "\n"

    # -- JSON --------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: ``{"medinteract_pipeline": 1, "steps": [...]}``."""
        return {"medinteract_pipeline": FORMAT_VERSION,
                "steps": [step.to_dict() for step in self._steps]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Pipeline:
        """The pipeline described by :meth:`to_dict`'s output (validated)."""
        if not isinstance(data, Mapping) or "steps" not in data:
            raise ValueError("not a medinteract pipeline: expected an object with 'steps'")
        version = data.get("medinteract_pipeline", FORMAT_VERSION)
        if version != FORMAT_VERSION:
            raise ValueError(f"pipeline format {version} is not supported (this medinteract "
                             f"reads format {FORMAT_VERSION})")
        steps = []
        for number, entry in enumerate(data["steps"], start=1):
            if not isinstance(entry, Mapping) or "op" not in entry:
                raise ValueError(f"step {number} is not an object with an 'op'")
            try:
                steps.append(Step(entry["op"], entry.get("params") or {}))
            except ParameterError as error:
                error.add_note(f"in pipeline step {number}")
                raise
            except (KeyError, ValueError, TypeError) as error:
                message = error.args[0] if error.args else str(error)
                raise ValueError(f"step {number}: {message}") from None
        return cls(steps)

    def to_json(self, *, indent: int | None = 2) -> str:
        """The pipeline as JSON text."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> Pipeline:
        """The pipeline saved by :meth:`to_json`."""
        return cls.from_dict(json.loads(text))

    def save(self, path: str | PathLike[str]) -> Path:
        """Write the pipeline as JSON, atomically (a temporary file, then a rename)."""
        return write_atomic(path, self.to_json() + "\n")

    @classmethod
    def load(cls, path: str | PathLike[str]) -> Pipeline:
        """Read a pipeline saved by :meth:`save`.

        Raises
        ------
        LoadError
            Naming the file and what is wrong with it.
        """
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise LoadError(path, f"cannot read the pipeline ({error.strerror or error})") \
                from None
        try:
            return cls.from_json(text)
        except json.JSONDecodeError as error:
            raise LoadError(path, f"not valid JSON ({error.msg}, line {error.lineno})",
                            "save pipelines with Pipeline.save") from None
        except (ValueError, TypeError, KeyError) as error:
            message = str(error.args[0] if error.args else error)
            where = "; ".join(getattr(error, "__notes__", ()))
            raise LoadError(path, f"{message} ({where})" if where else message) from None


def _import_module(step: Step) -> str | None:
    """The module generated code imports a step's function from (None: user's own code)."""
    if ":" not in step.op:
        return "medinteract.ops"
    module = step.op.partition(":")[0]
    if module == "__main__" or "<locals>" in step.op:
        return None
    return module

