"""The one mechanism behind every panel: headless state, scheduling, and a thin view.

A panel is a :class:`PanelModel`: a :class:`traitlets.HasTraits` object holding everything the
panel knows (``result``, ``status``, ``error``, ``busy``, ``runtime_ms``, counts, the slice its
views show) and doing all of its work, with no widget in sight. Scripts, tests and batch jobs
use it as is (``ipywidgets`` is never imported for that); in a notebook, displaying it builds
its view (:attr:`PanelModel.widget`, an ipywidgets box from :mod:`medinteract.panels.views`),
which renders the state and turns what the user does into changes of the state. Nothing the
view shows is kept anywhere else.

Scheduling
----------
A panel computes through :meth:`PanelModel._schedule`: at once on the calling thread, or, for a
slow computation, in one background thread with *latest value wins*
(:class:`~medinteract.panels.worker.LatestWins`): a newer request makes the running one stale,
its result is dropped, and only the newest request runs next. Whatever runs where, results,
status and errors are applied on the panel's home thread (:class:`~medinteract.panels.worker.Home`:
the kernel's main thread and its event loop in Jupyter), never from a worker thread; in a
script, or while a cell waits, :meth:`PanelModel.wait` applies them on the waiting thread.

Errors
------
An exception anywhere (the computation, a preview, an observer of ``result``, a panel chained to
this one, a view) ends up in ``error`` and ``status``, and the last good result stays.
"""

from __future__ import annotations

import time
from functools import partial
from typing import TYPE_CHECKING, Any, Callable

import traitlets

from medinteract.panels.worker import Home, LatestWins
from medinteract.scan import Scan

if TYPE_CHECKING:  # pragma: no cover
    import ipywidgets

__all__ = ["HasView", "PanelModel"]


class HasView(traitlets.HasTraits):
    """State that shows itself as an ipywidgets view, built on first use.

    Subclasses implement :meth:`_make_view`; displaying the object in a notebook shows
    :attr:`widget`, which is built once and then rendered from the state.
    """

    _widget: ipywidgets.Widget | None = None

    @property
    def widget(self) -> ipywidgets.Widget:
        """The ipywidgets view (built on first use; display the object to show it).

        Put it into your own layouts: ``ipywidgets.HBox([a.widget, b.widget])``.
        """
        if self._widget is None:
            self._widget = self._make_view()
        return self._widget

    def _make_view(self) -> ipywidgets.Widget:
        raise NotImplementedError

    def close(self) -> None:
        """Close the view (its widgets leave the front end); the state stays usable and a
        new view is built when it is shown again."""
        widget, self._widget = self._widget, None
        if widget is not None:
            _close_tree(widget)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """Displaying the object shows its view (plus a PNG for saved notebooks)."""
        return self.widget._repr_mimebundle_(**kwargs)


def _close_tree(widget: Any) -> None:
    """Close a widget and every widget inside it (boxes, their children, a view's viewer)."""
    todo, seen = [widget], set()
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        todo.extend(getattr(current, "children", ()))
        viewer = getattr(current, "viewer", None)
        if viewer is not None:
            todo.append(viewer)
        current.close()


class PanelModel(HasView):
    """State and work of a panel, without widgets (the base of every panel).

    Traitlets: ``result`` (the last good result), ``status`` (the status line as text),
    ``error`` (the last error, ``""`` after a success), ``busy`` (a computation is pending or
    running), ``runtime_ms`` (of the last full run), ``run_count`` (results delivered),
    ``dropped_count`` (stale results dropped), ``axis`` and ``index`` (the slice of a volume
    its views show). All of them can be observed, linked and saved.

    Subclasses implement :meth:`_compute` (pure: may run in the worker thread) and
    :meth:`_deliver` (applies a result: runs on the home thread), and :meth:`_make_view`.
    """

    result = traitlets.Any(None, allow_none=True, help="The last good result.")
    status = traitlets.Unicode("", help="The status line as text.")
    error = traitlets.Unicode("", help="Message of the last failure ('' when the last "
                                       "computation succeeded).")
    busy = traitlets.Bool(False, help="True while a computation is pending or running.")
    runtime_ms = traitlets.Float(0.0, help="Duration of the last full run in ms.")
    run_count = traitlets.Int(0, help="Results delivered so far.")
    dropped_count = traitlets.Int(0, help="Stale results dropped so far.")
    axis = traitlets.Int(0, help="Slice axis its views show (0 axial, 1 coronal, 2 sagittal).")
    index = traitlets.Int(0, help="Slice index its views show (the slice a preview computes).")
    scan = traitlets.Instance(Scan, help="The input image (for a chained panel: the source's "
                                         "result, on the source's grid).")

    def __init__(self, scan: Scan, *, name: str, title: str) -> None:
        super().__init__()
        #: Short name used in the status line and CSS classes.
        self.name = name
        #: Heading shown by views.
        self.title = title
        self._home = Home()
        self._worker = LatestWins(self._work, self._crashed, name=f"medinteract-{name}")
        self._wanted = 0  # the generation whose result is awaited (home thread only)
        self._dependents: list[PanelModel] = []
        self.source: PanelModel | None = None
        self.scan = scan
        self.index = scan.shape[0] // 2 if scan.is_volume else 0

    # -- the slice views show ----------------------------------------------------------------
    @traitlets.validate("axis")
    def _valid_axis(self, proposal: dict) -> int:
        axes = range(3) if self.scan.is_volume else range(1)
        if proposal["value"] not in axes:
            raise traitlets.TraitError(f"axis must be one of {list(axes)}, "
                                       f"got {proposal['value']}")
        return int(proposal["value"])

    @traitlets.validate("index")
    def _valid_index(self, proposal: dict) -> int:
        if not self.scan.is_volume:
            return 0
        return min(max(int(proposal["value"]), 0), self.scan.shape[self.axis] - 1)

    # -- computing (subclasses) --------------------------------------------------------------
    def _compute(self, request: Any) -> Any:
        """The result for ``request`` (pure; may run in the worker thread)."""
        raise NotImplementedError

    def _deliver(self, request: Any, out: Any, elapsed_ms: float) -> None:
        """Apply a full result (home thread)."""
        raise NotImplementedError

    def _in_background(self, request: Any) -> bool:
        """Whether ``request`` runs in the worker thread (default: never)."""
        return False

    def _preview_for(self, request: Any) -> Any:
        """A fast approximation shown while the full result is computed (None: no preview);
        runs in the worker thread before :meth:`_compute` when :meth:`_wants_preview`."""
        return None

    def _wants_preview(self, request: Any) -> bool:
        return False

    def _show_preview(self, request: Any, out: Any, elapsed_ms: float) -> None:
        """Apply a preview (home thread)."""

    # -- scheduling --------------------------------------------------------------------------
    def _schedule(self, request: Any) -> None:
        """Compute ``request``: now on this thread, or in the worker (latest value wins).

        Called from another thread than home (a user's own thread), the request is posted
        home first, so all state changes happen there.
        """
        if not self._home.here and self._home.loop is not None:
            self._home.post(partial(self._schedule, request))
            return
        if self._in_background(request) or self._worker.busy:
            self._wanted = self._worker.submit((request, self._wants_preview(request)))
            self.busy = True
            self._set_status("computing…")
            return
        self._wanted = generation = self._worker.next_generation()
        self.busy = True
        started = time.perf_counter()
        try:
            out = self._compute(request)
        except Exception as error:  # the panel shows any error and keeps its result
            self._failed(generation, error)
            return
        self._delivered(generation, request, out, (time.perf_counter() - started) * 1000)

    def _work(self, item: tuple[Any, bool], generation: int) -> None:
        """Worker thread: a preview (if wanted) and the full result, each posted home."""
        request, preview = item
        if preview:
            started = time.perf_counter()
            try:
                shown = self._preview_for(request)
            except Exception as error:  # noqa: BLE001 - shown, and the full run follows
                self._home.post(partial(self._preview_failed, generation, error))
            else:
                if shown is not None:
                    elapsed = (time.perf_counter() - started) * 1000
                    self._home.post(partial(self._previewed, generation, request, shown,
                                            elapsed))
            if not self._worker.is_current(generation):
                self._home.post(partial(self._stale, generation))
                return
        started = time.perf_counter()
        try:
            out = self._compute(request)
        except Exception as error:  # noqa: BLE001 - posted home, shown in the panel
            self._home.post(partial(self._failed, generation, error))
            return
        elapsed = (time.perf_counter() - started) * 1000
        self._home.post(partial(self._delivered, generation, request, out, elapsed))

    def _crashed(self, item: Any, generation: int, error: BaseException) -> None:
        """Worker thread: the work itself raised (a bug): report it like any failure."""
        self._home.post(partial(self._failed, generation, error))

    # -- applying (home thread) --------------------------------------------------------------
    def _current(self, generation: int) -> bool:
        return generation == self._wanted

    def _stale(self, generation: int) -> None:
        if not self._current(generation):
            self.dropped_count += 1

    def _delivered(self, generation: int, request: Any, out: Any, elapsed: float) -> None:
        if not self._current(generation):
            self.dropped_count += 1
            return
        self.busy = False
        self.guard(lambda: self._deliver(request, out, elapsed))

    def _previewed(self, generation: int, request: Any, out: Any, elapsed: float) -> None:
        if self._current(generation) and self.busy:
            self.guard(lambda: self._show_preview(request, out, elapsed))

    def _preview_failed(self, generation: int, error: BaseException) -> None:
        if self._current(generation) and self.busy:
            self._set_status(f"preview failed ({type(error).__name__}: {error}); "
                             "full result follows…")

    def _failed(self, generation: int, error: BaseException) -> None:
        if not self._current(generation):
            self.dropped_count += 1
            return
        self.busy = False
        self.fail(error)

    def guard(self, action: Callable[[], Any]) -> Any:
        """Run ``action``; an exception is shown in ``error`` and ``status`` (and the last good
        result stays) instead of escaping. Returns what ``action`` returned (None on error)."""
        try:
            return action()
        except Exception as error:  # noqa: BLE001 - shown in the panel
            self.fail(error)
            return None

    def fail(self, error: BaseException, context: str = "") -> None:
        """Show ``error`` in ``error`` and ``status``; the last good result stays."""
        message = f"{context}{type(error).__name__}: {error}"
        with self.hold_trait_notifications():
            self.error = message
            self._on_failure()
            self._set_status(message + (" (showing the last good result)"
                                        if self.result is not None else ""))

    def _on_failure(self) -> None:
        """Called when a failure is shown (subclasses drop a preview shown, ...)."""

    def _set_status(self, text: str) -> None:
        self.status = f"{self.name} · {text}"

    # -- waiting -----------------------------------------------------------------------------
    def wait(self, timeout: float | None = 60.0) -> PanelModel:
        """Block until nothing is pending or running here, in the panels this one is chained to
        and in those chained to it; results are applied meanwhile. Returns the panel.

        On the panel's home thread (a notebook cell, a script) the results are applied right
        here; on another thread, this waits for the home thread's event loop to apply them.

        Raises
        ------
        TimeoutError
            When ``timeout`` seconds pass first.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        root: PanelModel = self
        while root.source is not None:
            root = root.source
        root._settle_tree(deadline, timeout)
        return self

    def _settle_tree(self, deadline: float | None, timeout: float | None) -> None:
        self._settle(deadline, timeout)
        for panel in list(self._dependents):
            panel._settle_tree(deadline, timeout)

    def _settle(self, deadline: float | None, timeout: float | None) -> None:
        home = self._home

        def left() -> float | None:
            return None if deadline is None else max(0.0, deadline - time.monotonic())

        def done() -> bool:
            return not self.busy and not home.pending

        while True:
            if home.here or home.loop is None or not home.loop.is_running():
                home.process()
                if done():
                    return
                if not home.wait_for_post(left()) and not home.pending:
                    break
            else:
                if home.wait_until(done, left()):
                    return
                break
        raise TimeoutError(f"the {self.name} panel was still busy after {timeout} s")

    # -- chaining ----------------------------------------------------------------------------
    def _follow(self, source: PanelModel) -> None:
        """Re-run whenever ``source`` delivers a result (its result feeds this panel)."""
        self.source = source
        source._dependents.append(self)
        source.observe(self._source_changed, "result")

    def _source_changed(self, change: dict) -> None:
        self.guard(lambda: self._on_source_result(change["new"]))

    def _on_source_result(self, result: Any) -> None:
        """The source delivered ``result`` (home thread); subclasses re-run."""

    # -- the view ----------------------------------------------------------------------------
    @property
    def view(self) -> Any:
        """The image of the panel's view (a :func:`~medinteract.display.compare` or
        :func:`~medinteract.display.view` widget); builds the view if needed."""
        return self.widget.viewer
