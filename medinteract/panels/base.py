"""The op panel: an op's annotated parameters -> live results, as headless state plus a view.

:func:`panel` builds a :class:`Panel` for any op, registered or a user's own annotated function;
the specific panels (:mod:`~medinteract.panels.denoising`, ``segmentation``, ...) are thin
subclasses adding readouts. The panel is a :class:`~medinteract.panels.model.PanelModel`: its
state is traitlets (``params``, ``result``, ``status``, ``error``, ``busy``, ``runtime_ms``,
``preview``, ...) usable in a script without any widget; displayed in a notebook it shows its
view (:class:`~medinteract.panels.views.OpPanelView`: parameter widgets, before/after, status,
readouts), which only renders that state.

Scheduling
----------
Cheap ops run at once on the calling thread (a slider change returns with the new result).
With an event loop to hand results to (a Jupyter kernel), an op whose last full run took longer
than :data:`BACKGROUND_MS` runs in the background thread with *latest value wins*; when it took
longer than :data:`PREVIEW_MS` and the panel is shown, a fast preview (a downsampled 2-D image,
or only the shown slice of a volume) comes first and the full result follows. Results are
applied on the kernel's main thread. :meth:`Panel.wait` (and :meth:`Panel.set`) block until the
panel is idle, applying results on the waiting thread.
"""

from __future__ import annotations

import json
from os import PathLike
from pathlib import Path
from typing import Any, Callable, Sequence, cast

import numpy as np
import pandas as pd
import traitlets

from medinteract._atomic import write_atomic
from medinteract.errors import LoadError, ParameterError
from medinteract.panels.model import PanelModel
from medinteract.params import describe, output_kind, validate_params
from medinteract.pipeline import Pipeline, Step, resolve_op
from medinteract.scan import Scan, Window

__all__ = ["Panel", "panel", "BACKGROUND_MS", "PREVIEW_MS", "summarize", "display_array"]

#: With an event loop, ops whose last full run took longer than this (ms) run in the background.
BACKGROUND_MS = 50.0
#: Ops whose last full run took longer than this (ms) show a fast preview first (when shown).
PREVIEW_MS = 100.0
#: Longest side (pixels) of the downsampled 2-D preview input.
PREVIEW_SIZE = 256


def summarize(value: Any, spacing: Sequence[float] | None = None) -> str:
    """A one-line description of an op's output for the status line.

    Examples
    --------
    >>> summarize(np.zeros((4, 5), bool), spacing=(0.5, 0.5))
    'mask 4×5: 0 px (0.0 mm²)'
    """
    if isinstance(value, pd.DataFrame):
        return f"table: {len(value)} rows × {len(value.columns)} columns"
    if isinstance(value, dict):
        return ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                         for k, v in value.items())
    if isinstance(value, (float, int, np.number)):
        return f"{float(value):.4g}"
    array = np.asarray(value)
    shape = "×".join(str(n) for n in array.shape)
    if array.dtype == bool:
        count = int(np.count_nonzero(array))
        size = count * float(np.prod(spacing)) if spacing is not None else float(count)
        unit = "mm³" if array.ndim == 3 else "mm²"
        return f"mask {shape}: {count} px ({size:.1f} {unit})"
    if np.issubdtype(array.dtype, np.integer):
        return f"labels {shape}: {len(np.unique(array[array != 0]))} objects"
    if array.size == 0:
        return f"{array.dtype} {shape}"
    return f"{array.dtype} {shape}, range [{float(array.min()):.4g}, {float(array.max()):.4g}]"


def display_array(out: Any, like: np.ndarray, window: Window) -> np.ndarray | None:
    """An op output as values to show in ``window`` next to an input ``like`` (None when it is
    not an image of the input's shape).

    Masks and label images become white (the window's top) on black (its bottom); display
    values in [0, 1] (enhancement ops) are spread over the window; other images are as they are.

    Examples
    --------
    >>> display_array(np.array([[True, False]]), np.zeros((1, 2)), Window(0.0, 100.0))
    array([[ 50., -50.]], dtype=float32)
    """
    if not isinstance(out, np.ndarray) or out.shape != like.shape:
        return None
    low, high = window.low, window.high
    if out.dtype == bool or np.issubdtype(out.dtype, np.integer):
        return np.where(out != 0, np.float32(high), np.float32(low)).astype(np.float32)
    out = out.astype(np.float32, copy=False)
    if _is_unit_range(out) and not _is_unit_range(like):
        return (np.float32(low) + out * np.float32(high - low)).astype(np.float32)
    return out


def scan_window(scan: Scan) -> Window:
    """A scan's display window (every Scan has one once made)."""
    return cast(Window, scan.window)


def _is_unit_range(array: np.ndarray) -> bool:
    return array.size > 0 and float(array.min()) >= 0.0 and float(array.max()) <= 1.0


class Panel(PanelModel):
    """An interactive panel for one op: its parameters, its live result, its status.

    Create it with :func:`panel`. This object is the panel's state and works without widgets
    (scripts, tests, batch); displaying it shows its view (:attr:`widget`). Traitlets, besides
    those of :class:`~medinteract.panels.model.PanelModel` (``result``, ``status``, ``error``,
    ``busy``, ``runtime_ms``, ``run_count``, ``dropped_count``, ``axis``, ``index``):
    ``params`` (a plain dict of the op's tunable parameters), ``preview`` (the fast preview
    shown while a slow full result is computed, else None), ``showing_preview`` and
    ``point_target`` (which point parameter a click on the image sets).
    """

    params = traitlets.Dict(help="The op's tunable parameters (a plain dict).")
    preview = traitlets.Any(None, allow_none=True,
                            help="The preview on show while the full result runs (else None).")
    showing_preview = traitlets.Bool(False, help="True while the view shows a preview.")
    point_target = traitlets.Unicode("", help="The point parameter a click on the image sets.")

    def __init__(self, image: Any, op: str | Callable[..., Any], *, reference: Any = None,
                 spacing: Sequence[float] | None = None, background: bool | None = None,
                 preview: bool | None = None, mode: str = "side-by-side",
                 display_size: int = 400, title: str | None = None,
                 **params: Any) -> None:
        self.func = resolve_op(op) if isinstance(op, str) else op
        source = image if isinstance(image, Panel) else None
        if source is not None and source.result is None:  # it is still computing
            scan, self._op_input = source.scan, None
            self._original: Any = source._original
        elif source is not None:
            scan, self._op_input = _chained_input(source, source.result)
            self._original = source._original
        else:
            scan = _input_scan(image, spacing)
            self._original = self._op_input = scan
        name = self.func.__name__
        label = title or getattr(getattr(self.func, "op_info", None), "label", None) \
            or name.replace("_", " ")
        super().__init__(scan, name=name, title=label)
        self.reference = reference
        self._background = background
        self._preview_mode = preview
        #: The op's tunable parameters, described by their kinds.
        self.described = [p for p in describe(self.func) if p.is_tunable]
        #: Options of the view (compare mode and on-screen size).
        self.view_options: dict[str, Any] = {"mode": mode, "display_size": display_size}
        self.point_names = [p.name for p in self.described if p.kind == "point"]
        if self.point_names:
            self.point_target = self.point_names[0]
        start = {p.name: p.default for p in self.described}
        start.update(params)
        self.params = start
        self.observe(self._on_params, "params")
        if source is not None:
            self._follow(source)
        self.on_input(self.scan)
        if source is not None and self._op_input is None:
            self._set_status(f"waiting for the {source.name} panel's result…")
        else:
            self._schedule(dict(self.params))

    # -- parameters ------------------------------------------------------------------------
    @traitlets.validate("params")
    def _valid_params(self, proposal: dict) -> dict:
        merged = {**self.params, **proposal["value"]}
        return validate_params(self.func, merged, image=self.scan)

    @traitlets.validate("point_target")
    def _valid_point_target(self, proposal: dict) -> str:
        if proposal["value"] not in self.point_names:
            raise traitlets.TraitError(f"{self.name} has no point parameter "
                                       f"{proposal['value']!r}; it has {self.point_names}")
        return proposal["value"]

    def _on_params(self, change: dict) -> None:
        if self._op_input is not None:
            self._schedule(dict(change["new"]))

    def set(self, **params: Any) -> Panel:
        """Change some parameters (as moving their widgets would), wait for the result, and
        return the panel: ``panel.set(sigma=2).result``.

        Assigning :attr:`params` (or moving a slider) does not wait: a heavy op then runs in
        the background; use :meth:`wait` before reading :attr:`result`.
        """
        self.params = {**self.params, **params}
        self.wait(None)
        return self

    def pick(self, index: Sequence[int], name: str | None = None) -> tuple[int, ...]:
        """Set a point parameter to a voxel (what a click on the image does).

        Parameters
        ----------
        index : sequence of int
            The voxel in array order.
        name : str, optional
            The point parameter (default: :attr:`point_target`).
        """
        if not self.point_names:
            raise ValueError(f"{self.name} has no point parameter to set by clicking")
        point = tuple(int(v) for v in index)
        self.params = {**self.params, (name or self.point_target): point}
        return point

    # -- scheduling ------------------------------------------------------------------------
    def _in_background(self, request: Any) -> bool:
        if self._background is not None:
            return self._background
        return self.runtime_ms > BACKGROUND_MS and self._home.loop is not None

    def _wants_preview(self, request: Any) -> bool:
        if self._preview_mode is False or not self._preview_possible():
            return False
        return bool(self._preview_mode) or (self.runtime_ms > PREVIEW_MS
                                            and self._widget is not None)

    def _preview_possible(self) -> bool:
        """A preview on a smaller input means the same only when no parameter is an index."""
        kinds = {p.kind for p in self.described}
        output = output_kind(self.func)
        return not kinds & {"point", "region"} and output in ("image", "mask", "labels", "same")

    # -- computing -------------------------------------------------------------------------
    def _compute(self, params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        out = Step(self.func, params).call(self._op_input, self._original, self.scan.spacing)
        return out, self._readouts(out)

    def _readouts(self, out: Any) -> dict[str, Any]:
        """Values of the readout traitlets for a result (pure; computed with the result and
        applied together with it). Subclasses add theirs."""
        return {}

    def _deliver(self, request: Any, computed: tuple[Any, dict[str, Any]],
                 elapsed_ms: float) -> None:
        out, readouts = computed
        with self.hold_trait_notifications():
            self.runtime_ms = elapsed_ms
            self.error = ""
            self.preview = None
            self.showing_preview = False
            self.result = out
            for name, value in readouts.items():
                setattr(self, name, value)
            self.run_count += 1
            note = ""
            if isinstance(out, np.ndarray) and out.shape != self.scan.shape and \
                    output_kind(self.func) != "table":
                note = " (not shown: the result's shape differs from the input's)"
            self._set_status(f"{elapsed_ms:.0f} ms · {summarize(out, self.scan.spacing)}{note}")

    def _on_failure(self) -> None:
        self.preview = None
        self.showing_preview = False

    def _preview_for(self, params: dict[str, Any]) -> np.ndarray | None:
        """The op on a reduced input (a downsampled 2-D image, or the shown slice of a volume),
        as an output of the input's shape for display (None when it is not an array)."""
        from medinteract.display.encode import downsample  # the display's own downsampling

        step = Step(self.func, params)
        array = np.asarray(getattr(self._op_input, "array", self._op_input))
        spacing = self.scan.spacing
        if self.scan.is_volume:
            axis, index = self.axis, self.index
            plane = np.take(array, index, axis=axis)
            plane_spacing = tuple(s for k, s in enumerate(spacing) if k != axis)
            out = np.asarray(step.call(plane, plane, plane_spacing))
            if out.shape != plane.shape:
                return None
            last = self.result
            base = last if isinstance(last, np.ndarray) and last.shape == array.shape \
                else np.zeros(array.shape, out.dtype)
            full = base.astype(np.result_type(base.dtype, out.dtype))  # a copy
            slicer: list[Any] = [slice(None)] * 3
            slicer[axis] = index
            full[tuple(slicer)] = out
            return full
        factor = max(1, int(np.ceil(max(array.shape[:2]) / PREVIEW_SIZE)))
        small = downsample(array, factor, method="area" if array.dtype.kind == "f"
                           else "nearest")
        out = np.asarray(step.call(small, small, tuple(s * factor for s in spacing)))
        if out.shape[:2] != small.shape[:2]:
            return None
        big = np.repeat(np.repeat(out, factor, axis=0), factor, axis=1)
        return big[:array.shape[0], :array.shape[1]]

    def _show_preview(self, request: Any, out: Any, elapsed_ms: float) -> None:
        with self.hold_trait_notifications():
            self.preview = out
            self.showing_preview = True
            self._set_status(f"preview ({elapsed_ms:.0f} ms), full result follows…")

    def display_labels(self, out: Any) -> np.ndarray | None:
        """Labels to draw over the input instead of showing ``out`` as an image (None: show
        it as an image). Subclasses showing masks override this."""
        return None

    def display_array(self, out: Any) -> np.ndarray | None:
        """``out`` as values to show in the scan's window (see :func:`display_array`)."""
        return display_array(out, self.scan.array, scan_window(self.scan))

    # -- pipeline, code, saving ------------------------------------------------------------
    @property
    def step(self) -> Step:
        """The op and the current parameters as a pipeline :class:`~medinteract.pipeline.Step`."""
        return Step(self.func, self.params)

    @property
    def pipeline(self) -> Pipeline:
        """The :class:`~medinteract.pipeline.Pipeline` from the original image to
        :attr:`result`: the source panels' steps (for a chained panel) and this panel's."""
        before = self.source.pipeline.steps if isinstance(self.source, Panel) else ()
        return Pipeline([*before, self.step])

    def to_code(self, *, path: str | PathLike[str] | None = None) -> str:
        """Plain Python reproducing :attr:`result` without widgets: :attr:`pipeline`'s code
        (:meth:`medinteract.pipeline.Pipeline.to_code`).

        It runs as pasted where ``image`` is the scan this panel (or the first panel of a
        chain) was made on, or loads ``path``; ``result`` is then a Scan holding exactly
        :attr:`result` (a table for a measuring op).
        """
        return self.pipeline.to_code(path=path)

    def save_params(self, path: str | PathLike[str]) -> Path:
        """Write ``{"op": ..., "params": {...}}`` as JSON, atomically."""
        return write_atomic(path, json.dumps(self.step.to_dict(), indent=2) + "\n")

    def load_params(self, path: str | PathLike[str]) -> Panel:
        """Set the parameters saved by :meth:`save_params` (for the same op).

        Raises
        ------
        LoadError
            When the file is unreadable, not JSON, for another op, or holds invalid values.
        """
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise LoadError(path, f"cannot read the parameters ({error.strerror or error})") \
                from None
        except json.JSONDecodeError as error:
            raise LoadError(path, f"not valid JSON ({error.msg}, line {error.lineno})") \
                from None
        if not isinstance(data, dict) or not isinstance(data.get("params"), dict):
            raise LoadError(path, "not saved panel parameters (no 'params' object)",
                            "save them with Panel.save_params")
        if data.get("op") != self.step.op:
            raise LoadError(path, f"parameters of {data.get('op')!r}, this panel runs "
                            f"{self.step.op!r}")
        try:
            self.params = {**self.params, **data["params"]}
        except ParameterError as error:
            raise LoadError(path, str(error)) from None
        return self

    # -- chaining --------------------------------------------------------------------------
    def _on_source_result(self, result: Any) -> None:
        self.scan, self._op_input = _chained_input(self.source, result)  # type: ignore[arg-type]
        self.on_input(self.scan)
        self._schedule(dict(self.params))

    def on_input(self, scan: Scan) -> None:
        """Called with the input before the first run and whenever a chained panel's input
        changed, before the op runs on it; subclasses update what depends on the input here."""

    # -- the view --------------------------------------------------------------------------
    def _make_view(self) -> Any:
        from medinteract.panels.views import OpPanelView

        return OpPanelView(self)

    @property
    def controls(self) -> dict[str, Any]:
        """The view's parameter widgets by name; builds the view if needed."""
        return self.widget.controls

    def click_at(self, x_px: float, y_px: float, *, width_px: float | None = None,
                 height_px: float | None = None) -> tuple[int, ...] | None:
        """Set the point parameter from a position on the view's *before* image, as a click
        does (see :meth:`pick` to set it from a voxel index).

        Parameters
        ----------
        x_px, y_px : float
            Position relative to the image's top-left corner in CSS pixels.
        width_px, height_px : float, optional
            On-screen size of the image; defaults to the size the view set.

        Returns
        -------
        tuple of int or None
            The index set, or None when outside the image or the op has no point parameter.
        """
        if not self.point_names:
            return None
        found = self.view.probe_at(x_px, y_px, pane="before", width_px=width_px,
                                   height_px=height_px)
        if not found.get("inside"):
            return None
        return self.pick(found["index"])

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.step!r} on {self.scan!r}>"


def _chained_input(source: Panel, result: Any) -> tuple[Scan, Any]:
    """The scan (what a chained panel shows as its input, in the source's window) and the
    array fed to its op, from a source panel's result."""
    shown = source.display_array(result) if isinstance(result, np.ndarray) else None
    if shown is None:
        raise ValueError(f"the {source.name} panel's result is not an image of the input's "
                         "shape, so it cannot feed another panel")
    return source.scan.with_array(shown), result


def _input_scan(image: Any, spacing: Sequence[float] | None) -> Scan:
    if isinstance(image, Scan):
        return image if spacing is None else image.with_array(image.array, spacing=spacing)
    array = np.asarray(image)
    if array.ndim not in (2, 3):
        raise ValueError(f"a panel needs a 2-D image or a 3-D volume, got shape {array.shape}")
    return Scan(array) if spacing is None else Scan(array, spacing=tuple(spacing))


def panel(image: Any, op: str | Callable[..., Any], *, reference: Any = None,
          spacing: Sequence[float] | None = None, background: bool | None = None,
          preview: bool | None = None, mode: str = "side-by-side", display_size: int = 400,
          **params: Any) -> Panel:
    """An interactive panel for an op: widgets from its annotations, live before/after.

    Parameters
    ----------
    image : Scan or array_like or Panel
        The input; a Scan's spacing fills the op's ``spacing`` and its modality the units.
        A panel chains: this panel works on its result (and re-runs when it changes), and
        :attr:`Panel.pipeline` / :meth:`Panel.to_code` cover the whole chain.
    op : str or callable
        A registered op's name (``"gaussian"``) or any function annotated with the
        :mod:`medinteract.params` vocabulary (a user's own too).
    reference : Scan or array_like, optional
        A reference image or mask, for panels that compare against one.
    spacing : sequence of float, optional
        mm per array axis for an array input (overrides a Scan's).
    background : bool, optional
        Run in the background thread always (True), never (False), or, in a kernel, when the
        last run took longer than :data:`BACKGROUND_MS` (None).
    preview : bool, optional
        Show a fast preview first always (True), never (False), or when the panel is shown
        and the last run took longer than :data:`PREVIEW_MS` (None). Only for ops without
        index parameters.
    mode : str
        Compare mode of the view (``"side-by-side"``, ``"curtain"``, ``"blend"``,
        ``"difference"``).
    display_size : int
        On-screen size of each image of the view in CSS pixels.
    **params
        Starting parameter values (the op's defaults otherwise).

    Returns
    -------
    Panel

    Examples
    --------
    >>> import numpy as np
    >>> p = panel(np.eye(16), "gaussian", sigma=2.0)
    >>> p.params
    {'sigma': 2.0}
    >>> p.set(sigma=0.0).result.sum()
    np.float32(16.0)
    """
    return Panel(image, op, reference=reference, spacing=spacing, background=background,
                 preview=preview, mode=mode, display_size=display_size, **params)
