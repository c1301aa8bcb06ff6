"""Pipelines: an ordered list of ops with their parameters, run, saved as JSON, exported as code.

A :class:`Pipeline` is what a panel session leaves behind: the parameter choices a user trusts,
in a form that runs without widgets, on one scan (:meth:`Pipeline.run`) or on a whole dataset
(:mod:`medinteract.batch`), and that can be read as plain Python (:meth:`Pipeline.to_code`).

Data flow
---------
Each step receives the previous step's output (the pipeline's input for the first step) in its
first mask or labels input if it has one, else in its first input; its other image inputs
(such as the intensity image of :func:`~medinteract.ops.region_table`) receive the pipeline's
input image, so a pipeline ``threshold -> label -> region_table`` measures the HU of the
scan it started from.

Geometry
--------
Geometry flows with the data. The pipeline knows the :class:`~medinteract.scan.Geometry`
(shape, spacing, origin, direction) of the grid each step's input lies on, starting from the
input Scan's (or, for an array, ``spacing`` or 1 mm), and gives every step that grid's
``spacing``. A step whose op moves voxels to another grid (``resample_isotropic``, ``crop``,
``flip``, ``rotate90``) declares its output geometry (the rule is in :mod:`medinteract.ops`);
the steps after it get the new one, and the pipeline's input image is carried onto the new
grid too (the same op applied to it), so a later ``region_table`` reads the HU of the very
voxels it measures. A step that changes an array's shape without declaring its geometry is
an error, never a silent guess.

:meth:`Pipeline.run` on a Scan returns a Scan on the last step's geometry (an image, or a mask
``dtype=bool`` / label image ``dtype=int32``), on an array it returns an array; a step that
returns a table returns the table. So region tables, metrics,
:func:`~medinteract.io.write_nifti` and batch outputs after a resampling or a crop are in
correct millimetres and carry the right affine. :meth:`Pipeline.to_code` writes the same
steps, the geometry included, as plain Python that needs only the input scan.

>>> import numpy as np
>>> p = Pipeline([Step("gaussian", {"sigma": 1.0}), Step("threshold", {"low": 0.5})])
>>> p.run(np.eye(8)).dtype
dtype('bool')
>>> Pipeline.from_json(p.to_json()) == p
True
>>> from medinteract import Scan
>>> scan = Scan(np.zeros((10, 32, 32)), spacing=(2.5, 0.5, 0.5))
>>> out = Pipeline().append("resample_isotropic", new_spacing=1.0).run(scan)
>>> out.shape, out.spacing
((25, 16, 16), (1.0, 1.0, 1.0))
"""

from __future__ import annotations

import importlib
import inspect
import json
import textwrap
from collections import deque
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, NamedTuple, Sequence

import numpy as np

from medinteract._atomic import write_atomic
from medinteract.errors import LoadError, ParameterError
from medinteract.ops.registry import declared_geometry, get_op, output_geometry
from medinteract.params import describe, inputs, output_kind, validate_params
from medinteract.scan import Geometry, Scan

__all__ = ["Step", "Pipeline", "StepResult", "FORMAT_VERSION", "op_name", "resolve_op"]

#: Version number written into saved pipelines (``"medinteract_pipeline"`` key).
FORMAT_VERSION = 1

#: Output kinds (:func:`~medinteract.params.output_kind`) that are arrays on a grid.
_ARRAY_OUTPUTS = ("image", "mask", "labels", "same", "overlap")


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

    @property
    def changes_geometry(self) -> bool:
        """True when the op declares that its output lies on another grid (it resamples,
        crops, flips, rotates: see :mod:`medinteract.ops`)."""
        return declared_geometry(self._func) is not None

    def output_geometry(self, geometry: Geometry) -> Geometry:
        """Where this step's output lies for an input on ``geometry`` (see
        :func:`medinteract.ops.output_geometry`)."""
        return output_geometry(self._func, geometry, self.params)

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

    def code_line(self, target: str = "result", current: str = "result",
                  original: str = "image", spacing: str = "geometry.spacing") -> str:
        """The Python line that performs this step: ``target = op(current, ...)``."""
        names = {"current": current, "original": original}
        args = [names[origin] for origin in _input_sources(self._func)]
        if _takes_spacing(self._func):
            args.append(f"spacing={spacing}")
        args += [f"{k}={v!r}" for k, v in self.params.items()]
        return f"{target} = {self.code_name}({', '.join(args)})"

    def geometry_line(self, geometry: str = "geometry") -> str:
        """The Python line that moves ``geometry`` to this step's output grid (for a step that
        :attr:`changes_geometry`)."""
        declared = declared_geometry(self._func)
        if declared is None:
            raise ValueError(f"{self.op} keeps its input's grid: it has no geometry line")
        accepted = inspect.signature(declared).parameters
        args = [geometry] + [f"{k}={v!r}" for k, v in self.params.items() if k in accepted]
        return f"{geometry} = {declared.__name__}({', '.join(args)})"

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
    >>> print(p.to_code(), end="")
    from medinteract.ops import gaussian, threshold_auto
    <BLANKLINE>
    # `image`: the input Scan, e.g. image = medinteract.load("scan.nii.gz")
    geometry = image.geometry  # shape, spacing (mm), origin and direction of its voxels
    result = gaussian(image, spacing=geometry.spacing, sigma=2.0)
    result = threshold_auto(result, spacing=geometry.spacing, method='otsu')
    result = geometry.scan(result, like=image)  # the result on its grid, as a Scan
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
                     ) -> Iterator[StepResult]:
        """Run the steps in order, yielding a :class:`StepResult` after each one.

        The one stepping loop behind :meth:`run`; use it to keep intermediate results (the
        batch runner saves the last image/mask/labels of a pipeline that ends in a table).

        Parameters
        ----------
        image : Scan or array_like
            The input; a Scan's geometry is used (with ``spacing`` instead of its own when
            given).
        spacing : sequence of float, optional
            mm per array axis of the input.

        Yields
        ------
        StepResult
            Each step, what it returned, the geometry of an array result, and the input image
            carried onto that geometry.

        Raises
        ------
        Exception
            Whatever a step raises, with a note naming the step (``add_note``); a ValueError
            for a step that changes an array's shape without declaring its geometry.
        """
        geometry = Geometry.of(image, spacing)
        current = reference = image
        reference_is_current = True  # the data flowing on is still the input image (moved)
        for number, step in enumerate(self._steps, start=1):
            try:
                result = step.call(current, reference, geometry.spacing)
                grid = None
                if isinstance(result, np.ndarray):
                    grid = step.output_geometry(geometry)
                    _check_grid(step, result, geometry, grid)
                    if step.changes_geometry:  # the input image follows onto the new grid
                        moved = result if reference_is_current else step.call(
                            reference, reference, geometry.spacing)
                        reference = grid.scan(moved, like=image, window=image.window) \
                            if isinstance(image, Scan) else moved
                elif isinstance(result, Scan):
                    raise TypeError(f"{step.op} returned a Scan; an op returns an array (and "
                                    "declares a new geometry with @op(..., geometry=...))")
            except Exception as error:
                error.add_note(f"in pipeline step {number} ({step.op})")
                raise
            yield StepResult(step, result, grid, reference)
            reference_is_current = reference_is_current and step.changes_geometry
            current = result
            geometry = grid or geometry

    def run(self, image: Any, *, spacing: Sequence[float] | None = None) -> Any:
        """Run every step in order.

        Parameters
        ----------
        image : Scan or array_like
            The input; a Scan's geometry is used (with ``spacing`` instead of its own when
            given).
        spacing : sequence of float, optional
            mm per array axis of the input.

        Returns
        -------
        Scan or ndarray or DataFrame or value
            The last step's output: for a Scan input, an array output as a Scan on the last
            geometry (an image; a mask with ``dtype=bool``; a label image with
            ``dtype=numpy.int32``), for an array input the array; tables and values as they
            are. An empty pipeline returns a copy of the input.

        Raises
        ------
        Exception
            Whatever a step raises, with a note naming the step (``add_note``).
        """
        last = deque(self.iter_results(image, spacing=spacing), maxlen=1)
        if not last:
            if isinstance(image, Scan):
                changes = {} if spacing is None else {"spacing": tuple(spacing)}
                return image.with_array(image.array.copy(), **changes)
            return np.array(image)
        outcome = last[0]
        if outcome.geometry is None or not isinstance(image, Scan):
            return outcome.result
        window = image.window if self._moves_only() else None  # the input's values, moved
        return outcome.geometry.scan(outcome.result, like=outcome.image, window=window)

    def _moves_only(self) -> bool:
        """True when every step only moves voxels to another grid (the result holds the
        input's values, so it keeps the input's display window)."""
        return all(step.changes_geometry for step in self._steps)

    __call__ = run

    # -- code --------------------------------------------------------------------------------
    def to_code(self, *, path: str | PathLike[str] | None = None,
                extra_imports: Sequence[Callable[..., Any]] = ()) -> str:
        """Plain Python that reproduces :meth:`run` without widgets.

        The code works on a Scan named ``image``: bound before the code runs (say, pasted
        into a notebook where ``image`` is the scan), or loaded from ``path``. It leaves
        exactly what ``run(image)`` returns in ``result``: a Scan on the geometry of the last
        step (the geometry steps' ``*_geometry`` functions carry it along) or a table.

        Parameters
        ----------
        path : path-like, optional
            A scan the code loads first (``image = medinteract.load(path)``).
        extra_imports : sequence of callable, optional
            Functions that code appended to this code calls (imported with the steps' ops).

        Examples
        --------
        >>> p = Pipeline().append("resample_isotropic", new_spacing=1.0).append("label")
        >>> print(p.to_code(path="chest.nii.gz"), end="")
        import medinteract
        from medinteract.ops import label, resample_isotropic, resample_isotropic_geometry
        <BLANKLINE>
        image = medinteract.load('chest.nii.gz')
        geometry = image.geometry  # shape, spacing (mm), origin and direction of its voxels
        result = resample_isotropic(image, spacing=geometry.spacing, new_spacing=1.0)
        geometry = resample_isotropic_geometry(geometry, new_spacing=1.0)
        result = label(result, spacing=geometry.spacing)
        result = geometry.scan(result, like=image)  # the result on its grid, as a Scan
        """
        functions: list[Callable[..., Any]] = list(extra_imports)
        for step in self._steps:
            functions.append(step.func)
            declared = declared_geometry(step.func)
            if declared is not None:
                functions.append(declared)
        lines = _import_lines(functions)
        if path is not None:
            lines.insert(0, "import medinteract")
        lines.append("")
        if path is not None:
            lines.append(f"image = medinteract.load({str(path)!r})")
        else:
            lines.append('# `image`: the input Scan, e.g. image = medinteract.load("scan.nii.gz")')
        if not self._steps:
            lines.append("result = image.with_array(image.array.copy())")
            return "\n".join(lines) + "\n"
        lines.append("geometry = image.geometry  # shape, spacing (mm), origin and direction "
                     "of its voxels")
        uses_image = [any(source == "original" for source in _input_sources(step.func))
                      for step in self._steps]
        reference_is_current = True
        for number, step in enumerate(self._steps):
            needed_later = any(uses_image[number + 1:])
            lines.append(step.code_line(current="image" if number == 0 else "result"))
            if step.changes_geometry:
                if needed_later and not reference_is_current:  # carry the input image along
                    moved = step.code_line(target="moved", current="image")
                    lines += [moved, step.geometry_line(),
                              "image = geometry.scan(moved, like=image, window=image.window)"]
                else:
                    lines.append(step.geometry_line())
                    if needed_later:
                        lines.append("image = geometry.scan(result, like=image, "
                                     "window=image.window)")
            reference_is_current = reference_is_current and step.changes_geometry
        output = self.output
        if output in _ARRAY_OUTPUTS and self._moves_only():
            lines.append("result = geometry.scan(result, like=image, window=image.window)")
        elif output in _ARRAY_OUTPUTS:
            lines.append("result = geometry.scan(result, like=image)  # the result on its "
                         "grid, as a Scan")
        elif output == "object":  # a function of the user's without a return annotation
            lines += ["if isinstance(result, numpy.ndarray):",
                      "    result = geometry.scan(result, like=image)"]
            lines.insert(0, "import numpy")
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


class StepResult(NamedTuple):
    """What :meth:`Pipeline.iter_results` yields after each step.

    Attributes
    ----------
    step : Step
        The step that ran.
    result : object
        What its op returned (an array, a table, a value).
    geometry : Geometry or None
        Where an array result's voxels lie (None for tables and values).
    image : Scan or array
        The pipeline's input image on the current grid (moved by every geometry step so
        far): what the other image inputs of the following steps receive.
    """

    step: Step
    result: Any
    geometry: Geometry | None
    image: Any


def _check_grid(step: Step, result: np.ndarray, before: Geometry, after: Geometry) -> None:
    """Refuse an array result that does not lie on the geometry the step declares."""
    spatial = result.shape[:after.ndim]
    if spatial == after.shape and result.ndim in (after.ndim, after.ndim + 1):
        return
    if step.changes_geometry:
        raise ValueError(f"{step.op} returned an array of shape {result.shape}, but its "
                         f"declared geometry has shape {after.shape}")
    raise ValueError(f"{step.op} turned an input on a grid of shape {before.shape} into an "
                     f"array of shape {result.shape} without declaring where its voxels lie; "
                     "an op that changes the grid declares its output geometry with "
                     "@op(..., geometry=...) (see medinteract.ops)")


def _import_lines(functions: Sequence[Callable[..., Any]]) -> list[str]:
    """``from module import a, b`` lines for the functions generated code calls, in order of
    first use, plus a note for each function of the user's own that cannot be imported."""
    imports: dict[str, list[str]] = {}
    notes = []
    for func in functions:
        module = _import_module(func)
        name = func.__name__
        if module is None:
            note = f"# `{name}` is your own function: define it first"
            if note not in notes:
                notes.append(note)
            continue
        names = imports.setdefault(module, [])
        if name not in names:
            names.append(name)
    lines = []
    for module, names in imports.items():
        line = f"from {module} import {', '.join(sorted(names))}"
        if len(line) > 99:  # wrapped as black and isort do
            body = textwrap.fill(", ".join(sorted(names)) + ",", width=95,
                                 initial_indent="    ", subsequent_indent="    ")
            line = f"from {module} import (\n{body}\n)"
        lines.append(line)
    return lines + notes


def _import_module(func: Callable[..., Any]) -> str | None:
    """The module generated code imports a function from (None: the user's own code in a
    notebook, which cannot be imported)."""
    import medinteract.ops

    module, name = func.__module__, func.__name__
    if module.startswith("medinteract.ops") and getattr(medinteract.ops, name, None) is func:
        return "medinteract.ops"
    if module == "__main__" or "<locals>" in func.__qualname__:
        return None
    return module
