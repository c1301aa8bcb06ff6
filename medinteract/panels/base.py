"""The one panel mechanism: an op's annotated parameters -> widgets -> op -> live before/after.

:func:`panel` builds a :class:`Panel` for any op, registered or a user's own annotated function;
the specific panels (:mod:`medinteract.panels.denoise`, ``segment``, ...) are thin subclasses
adding readouts. State lives in traitlets (``params``, ``result``, ``status``, ``error``,
``busy``, ``runtime_ms``), so it can be observed, linked and saved.

Scheduling
----------
Cheap ops run at once in the caller (a slider change returns with the new result shown).
An op whose last full run took longer than :data:`BACKGROUND_MS` runs in one background thread
with *latest value wins* (:class:`~medinteract.panels.worker.LatestWins`): a change while it
runs marks that run stale, its result is dropped, and only the newest parameters run next.
When the last full run took longer than :data:`PREVIEW_MS`, a fast preview (a downsampled
2-D image, or only the displayed slice of a volume) is shown first and the full result follows.
:meth:`Panel.wait` blocks until the panel is idle (for scripts and tests).
"""

from __future__ import annotations

import base64
import html
import json
import time
from os import PathLike
from pathlib import Path
from typing import Any, Callable, Sequence

import ipywidgets as widgets
import numpy as np
import pandas as pd
import traitlets

from medinteract._atomic import write_atomic
from medinteract.display import Compare, compare
from medinteract.display.base import as_scan
from medinteract.display.encode import downsample, encode_png
from medinteract.errors import LoadError, ParameterError
from medinteract.params import describe, output_kind, validate_params
from medinteract.panels.worker import LatestWins
from medinteract.pipeline import Pipeline, Step, resolve_op
from medinteract.scan import Scan

__all__ = ["Panel", "panel", "BACKGROUND_MS", "PREVIEW_MS", "summarize"]

#: Ops whose last full run took longer than this (ms) run in the background thread.
BACKGROUND_MS = 50.0
#: Ops whose last full run took longer than this (ms) show a fast preview first.
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


class _Request:
    """Parameters of one requested computation and whether a preview should come first."""

    __slots__ = ("params", "preview")

    def __init__(self, params: dict[str, Any], preview: bool) -> None:
        self.params = params
        self.preview = preview


class Panel(widgets.VBox):
    """An interactive panel for one op: parameter widgets, live before/after, status line.

    Create it with :func:`panel`. Traitlets: ``params`` (dict of the tunable parameters),
    ``result`` (the last good full result), ``status`` (text of the status line), ``error``
    (the last error message, ``""`` when the last run succeeded), ``busy``, ``runtime_ms``
    (of the last full run), ``showing_preview``, ``run_count`` (full results shown) and
    ``dropped_count`` (stale full results dropped).
    """

    params = traitlets.Dict(help="The op's tunable parameters (a plain dict).")
    result = traitlets.Any(None, allow_none=True, help="The last good full result.")
    status = traitlets.Unicode("", help="The status line as text.")
    error = traitlets.Unicode("", help="Message of the last failed run ('' when it succeeded).")
    busy = traitlets.Bool(False, help="True while a computation is pending or running.")
    runtime_ms = traitlets.Float(0.0, help="Duration of the last full run in ms.")
    showing_preview = traitlets.Bool(False, help="True while the view shows a preview.")
    run_count = traitlets.Int(0, help="Full results delivered so far.")
    dropped_count = traitlets.Int(0, help="Stale results dropped so far.")

    def __init__(self, image: Any, op: str | Callable[..., Any], *, reference: Any = None,
                 spacing: Sequence[float] | None = None, background: bool | None = None,
                 preview: bool | None = None, mode: str = "side-by-side",
                 display_size: int = 400, title: str | None = None,
                 **params: Any) -> None:
        self.func = resolve_op(op) if isinstance(op, str) else op
        self.source: Panel | None = image if isinstance(image, Panel) else None
        if self.source is not None:
            self._original: Any = self.source._original
            self.scan, self._op_input = self._from_source()
        else:
            self.scan = _input_scan(image, spacing)
            self._original = self._op_input = self.scan
        self.reference = reference
        self._background = background
        self._preview_mode = preview
        self._described = [p for p in describe(self.func) if p.is_tunable]
        self._syncing = False
        self._dependents: list[Panel] = []
        self._worker = LatestWins(self._work, name=f"medinteract-{self.func.__name__}",
                                  on_idle=self._idle)
        super().__init__()
        self.add_class("mi-panel")
        self.add_class(f"mi-panel-{self.func.__name__}")
        start = {p.name: p.default for p in self._described}
        start.update(params)
        with self.hold_trait_notifications():
            self.params = start

        self.controls: dict[str, widgets.Widget] = {}
        for p in self._described:
            control = p.widget(self.params[p.name], self.scan)
            if control is not None:
                control.observe(self._control_changed(p.name), "value")
                self.controls[p.name] = control
        self._point_names = [p.name for p in self._described if p.kind == "point"]
        self._point_target = None
        if len(self._point_names) > 1:
            self._point_target = widgets.ToggleButtons(options=self._point_names,
                                                       description="click sets")
            self._point_target.add_class("mi-point-target")

        self._status = widgets.HTML()
        self._status.add_class("mi-status")
        self.view: Compare = compare(self.scan, self.scan.array, mode=mode,
                                     display_size=display_size)
        self._readout = widgets.HTML(layout=widgets.Layout(overflow="auto", max_width="100%"))
        self._readout.add_class("mi-output-readout")
        self.readouts = widgets.VBox([self._readout])
        self.readouts.add_class("mi-readouts")
        label = title or getattr(getattr(self.func, "op_info", None), "label", None) \
            or self.func.__name__.replace("_", " ")
        heading = widgets.HTML(f"<b>{html.escape(label)}</b>")
        heading.add_class("mi-panel-title")
        control_box = widgets.VBox([*([self._point_target] if self._point_target else []),
                                    *self.controls.values()])
        control_box.add_class("mi-controls")
        self.children = [heading, control_box, self._status, self.view, self.readouts]
        self._connect_clicks()
        self.observe(self._on_params, "params")
        if self.source is not None:
            self.source.observe(self._on_source_result, "result")
            self.source._dependents.append(self)
        if background:
            self._schedule(dict(self.params))
        else:
            self._run_now(dict(self.params))

    # -- parameters ------------------------------------------------------------------------
    @traitlets.validate("params")
    def _valid_params(self, proposal: dict) -> dict:
        merged = {**self.params, **proposal["value"]}
        return validate_params(self.func, merged, image=self.scan)

    def _control_changed(self, name: str) -> Callable[[dict], None]:
        def changed(change: dict) -> None:
            if not self._syncing:
                self.params = {**self.params, name: change["new"]}
        return changed

    def _on_params(self, change: dict) -> None:
        self._syncing = True
        try:
            for name, control in self.controls.items():
                value = change["new"].get(name)
                if control.value != value:
                    control.value = value
        finally:
            self._syncing = False
        self._schedule(dict(change["new"]))

    def set(self, **params: Any) -> Panel:
        """Change some parameters (as moving their widgets would), wait for the result, and
        return the panel: ``panel.set(sigma=2).result``.

        Assigning :attr:`params` (or moving a slider) does not wait: a heavy op then runs in
        the background; use :meth:`wait` before reading :attr:`result`.
        """
        self.params = {**self.params, **params}
        return self.wait(None)

    # -- scheduling ------------------------------------------------------------------------
    def _heavy(self) -> bool:
        if self._background is not None:
            return self._background
        return self.runtime_ms > BACKGROUND_MS

    def _wants_preview(self) -> bool:
        if self._preview_mode is False or not self._preview_possible():
            return False
        return bool(self._preview_mode) or self.runtime_ms > PREVIEW_MS

    def _preview_possible(self) -> bool:
        """A preview on a smaller input means the same only when no parameter is an index."""
        kinds = {p.kind for p in self._described}
        output = output_kind(self.func)
        return not kinds & {"point", "region"} and output in ("image", "mask", "labels", "same")

    def _schedule(self, params: dict[str, Any]) -> None:
        if self._heavy() or self._worker.busy:
            self.busy = True
            self._show_status("computing…", busy=True)
            self._worker.submit(_Request(params, self._wants_preview()))
        else:
            self._run_now(params)

    def _run_now(self, params: dict[str, Any]) -> None:
        generation = self._worker.next_generation()
        self.busy = True
        try:
            self._compute(params, generation, preview=False)
        finally:
            self.busy = self._worker.busy

    def _idle(self) -> None:
        self.busy = False

    def _work(self, request: _Request, generation: int) -> None:
        if request.preview:
            self._compute(request.params, generation, preview=True)
            if not self._worker.is_current(generation):
                return
        self._compute(request.params, generation, preview=False)

    def wait(self, timeout: float | None = 60.0) -> Panel:
        """Block until no computation is pending or running (here and in panels chained to
        this one); return the panel.

        Raises
        ------
        TimeoutError
            When ``timeout`` seconds pass first.
        """
        if not self._worker.wait(timeout):
            raise TimeoutError(f"the {self.func.__name__} panel was still busy after "
                               f"{timeout} s")
        for panel in self._dependents:  # chained panels follow this one's result
            panel.wait(timeout)
        return self

    # -- computing -------------------------------------------------------------------------
    def _compute(self, params: dict[str, Any], generation: int, *, preview: bool) -> None:
        step = Step(self.func, params)
        started = time.perf_counter()
        try:
            if preview:
                shown = self._preview(step)
            else:
                out = step.call(self._op_input, self._original, self.scan.spacing)
        except Exception as error:  # the panel shows any op error and keeps its result
            if preview:
                return  # no preview then; the full run reports its own error
            if self._worker.is_current(generation):
                self._fail(error)
            else:
                self.dropped_count += 1
            return
        elapsed = (time.perf_counter() - started) * 1000
        if not self._worker.is_current(generation):
            if not preview:
                self.dropped_count += 1
            return
        if preview:
            if shown is not None and self._show(shown):
                self.showing_preview = True
            self._show_status(f"preview ({elapsed:.0f} ms), full result follows…", busy=True)
            return
        self._deliver(out, elapsed)

    def _deliver(self, out: Any, elapsed: float) -> None:
        with self.hold_trait_notifications():
            self.runtime_ms = elapsed
            self.error = ""
            self.result = out
            self.run_count += 1
            self.showing_preview = False
        note = ""
        if not self._show(out) and isinstance(out, np.ndarray) and out.shape != self.scan.shape:
            note = " (not shown: the result's shape differs from the input's)"
        self._readout.value = _readout_html(out)
        self.on_result(out)
        self._show_status(f"{elapsed:.0f} ms · {summarize(out, self.scan.spacing)}{note}")

    def _fail(self, error: Exception) -> None:
        message = f"{type(error).__name__}: {error}"
        self.error = message
        self.showing_preview = False
        if self.result is not None:
            self._show(self.result)
        self._show_status(message + " (showing the last good result)"
                          if self.result is not None else message, error=True)

    def _preview(self, step: Step) -> np.ndarray | None:
        """The op on a reduced input (a downsampled 2-D image, or the shown slice of a volume),
        as an output of the input's shape for display (None when it is not an array)."""
        array = np.asarray(getattr(self._op_input, "array", self._op_input))
        spacing = self.scan.spacing
        if self.scan.is_volume:
            axis, index = self.view.axis, self.view.index
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

    def _show(self, out: Any) -> bool:
        """Show an output in the *after* pane (one render); False when it cannot be shown.

        With :meth:`display_labels` the input is shown with the labels drawn over it;
        otherwise :meth:`display_array` gives the image.
        """
        labels = self.display_labels(out)
        if labels is not None:
            with self.view.batch():
                if self.view.after is not self.scan:
                    self.view.after = self.scan
                self.view.after_labels = labels
            return True
        shown = self.display_array(out)
        if shown is None:
            return False
        self.view.after = shown
        return True

    def display_labels(self, out: Any) -> np.ndarray | None:
        """Labels to draw over the input in the *after* pane instead of showing ``out`` as an
        image (None: show :meth:`display_array`). Subclasses showing masks override this."""
        return None

    def display_array(self, out: Any) -> np.ndarray | None:
        """The array shown as *after* for an op output (None when it cannot be shown).

        Masks and label images are shown white on black in the view's window; display values
        in [0, 1] (enhancement ops) are mapped onto the window; other images are shown as is.
        """
        if not isinstance(out, np.ndarray) or out.shape != self.scan.array.shape:
            return None
        low, high = self.view.window.low, self.view.window.high
        if out.dtype == bool or np.issubdtype(out.dtype, np.integer):
            return np.where(out != 0, np.float32(high), np.float32(low)).astype(np.float32)
        out = out.astype(np.float32, copy=False)
        if _is_unit_range(out) and not _is_unit_range(self.scan.array):
            return (np.float32(low) + out * np.float32(high - low)).astype(np.float32)
        return out

    def on_result(self, result: Any) -> None:
        """Called with every full result shown (subclasses update their readouts here)."""

    # -- status ----------------------------------------------------------------------------
    def _show_status(self, text: str, *, error: bool = False, busy: bool = False) -> None:
        name = self.func.__name__
        self.status = f"{name} · {text}"
        colour = "#c62828" if error else ("#555" if busy else "#2e7d32")
        self._status.value = (f"<span style='color:{colour}'><code>{html.escape(name)}</code> · "
                              f"{html.escape(text)}</span>")
        if error:
            self._status.add_class("mi-status-error")
        else:
            self._status.remove_class("mi-status-error")

    # -- clicks ----------------------------------------------------------------------------
    def _connect_clicks(self) -> None:
        if self._point_names:
            self.view.on_click(self._on_click)

    def _on_click(self, found: dict) -> None:
        target = self._point_target.value if self._point_target else self._point_names[0]
        self.params = {**self.params, target: tuple(found["index"])}

    def click_at(self, x_px: float, y_px: float, *, width_px: float | None = None,
                 height_px: float | None = None) -> tuple[int, ...] | None:
        """Set the point parameter from a position on the *before* image (as a click does).

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
        if not self._point_names:
            return None
        found = self.view.probe_at(x_px, y_px, pane="before", width_px=width_px,
                                   height_px=height_px)
        if not found.get("inside"):
            return None
        self._on_click(found)
        return tuple(found["index"])

    # -- pipeline, code, saving ------------------------------------------------------------
    @property
    def step(self) -> Step:
        """The op and the current parameters as a pipeline :class:`~medinteract.pipeline.Step`."""
        return Step(self.func, self.params)

    @property
    def pipeline(self) -> Pipeline:
        """The :class:`~medinteract.pipeline.Pipeline` from the original image to
        :attr:`result`: the source panels' steps (for a chained panel) and this panel's."""
        before = self.source.pipeline.steps if self.source is not None else ()
        return Pipeline([*before, self.step])

    # -- chaining --------------------------------------------------------------------------
    def _from_source(self) -> tuple[Scan, np.ndarray]:
        """The scan shown as *before* and the array fed to the op, from the source panel."""
        source = self.source
        result = source.result
        shown = source.display_array(result) if isinstance(result, np.ndarray) else None
        if shown is None:
            raise ValueError(f"the {source.func.__name__} panel's result is not an image of "
                             f"the input's shape, so it cannot feed another panel")
        return source.scan.with_array(shown), result

    def _on_source_result(self, change: dict) -> None:
        try:
            scan, op_input = self._from_source()
        except ValueError as error:
            self._fail(error)
            return
        self.scan, self._op_input = scan, op_input
        self.on_input(scan)
        with self.view.batch():  # a cheap op: the new before and after in one render each
            self.view.before = scan
            self._schedule(dict(self.params))

    def on_input(self, scan: Scan) -> None:
        """Called when a chained panel's input changed (``scan`` is the new *before*), before
        the op runs on it; subclasses update what depends on the input here."""

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

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        """The live widget plus a PNG of the before/after view, so saved notebooks show it."""
        return _with_snapshot(super()._repr_mimebundle_(**kwargs), self.view)

    def __repr__(self) -> str:
        return f"<Panel {self.step!r} on {self.scan!r}>"


def _with_snapshot(bundle: dict[str, Any] | None, view: Compare) -> dict[str, Any]:
    bundle = dict(bundle or {})
    bundle["image/png"] = base64.b64encode(encode_png(view.snapshot())).decode("ascii")
    return bundle


def _is_unit_range(array: np.ndarray) -> bool:
    return array.size > 0 and float(array.min()) >= 0.0 and float(array.max()) <= 1.0


def _readout_html(out: Any) -> str:
    if isinstance(out, pd.DataFrame):
        return out.head(50).to_html(float_format=lambda v: f"{v:.4g}", index=False,
                                    classes="mi-table", border=0)
    if isinstance(out, (dict, float, int, np.number)):
        return f"<code>{html.escape(summarize(out))}</code>"
    return ""


def _input_scan(image: Any, spacing: Sequence[float] | None) -> Scan:
    if isinstance(image, Scan):
        return image if spacing is None else image.with_array(image.array, spacing=spacing)
    array = np.asarray(image)
    if spacing is not None:
        return Scan(array, spacing=spacing)
    return as_scan(array)


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
        :mod:`medinteract.ops.params` vocabulary (a user's own too).
    reference : Scan or array_like, optional
        A reference image or mask, for panels that compare against one.
    spacing : sequence of float, optional
        mm per array axis for an array input (overrides a Scan's).
    background : bool, optional
        Run in the background thread always (True), never (False), or when the last run took
        longer than :data:`BACKGROUND_MS` (None).
    preview : bool, optional
        Show a fast preview first always (True), never (False), or when the last run took
        longer than :data:`PREVIEW_MS` (None). Only for ops without index parameters.
    mode : str
        Compare mode of the view (``"side-by-side"``, ``"curtain"``, ``"blend"``,
        ``"difference"``).
    display_size : int
        On-screen size of each image in CSS pixels.
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
