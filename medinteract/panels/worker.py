"""Where panel work runs and where its results land.

- :class:`LatestWins`: one background thread that runs the most recent request only. While a
  computation runs, new requests replace each other in a single slot; a slider dragged through
  50 values while a 500 ms filter runs costs two runs, not 50.
- :class:`Home`: the thread a panel lives on (the kernel's main thread in Jupyter) and its event
  loop. Work done elsewhere is *posted* home as a callable; the home thread's event loop runs
  it, or, where there is no event loop (a script, a test) or the loop is busy in the very cell
  that waits, :meth:`Home.process` runs it on the waiting thread. So results, status and
  errors are never applied from a worker thread, and widgets (which have no lock) are only
  ever touched from one thread.

Neither class knows about panels or widgets.
"""

from __future__ import annotations

import asyncio
import collections
import threading
from typing import Any, Callable

__all__ = ["LatestWins", "Home"]


class Home:
    """A thread with an optional event loop to which other threads post callables.

    Created on the thread that owns the state (the panel's constructor); if an asyncio event
    loop runs there (ipykernel, Voila, any asyncio application), posted callables are run by
    that loop, in order. :meth:`process` runs the pending ones at once, on the calling thread
    (for :meth:`~medinteract.panels.Panel.wait` and for scripts without an event loop).

    Examples
    --------
    >>> home = Home()
    >>> home.post(lambda: print("applied"))
    >>> home.process()
    applied
    1
    """

    def __init__(self) -> None:
        self.thread = threading.current_thread()
        self.loop: asyncio.AbstractEventLoop | None = asyncio._get_running_loop()
        self._pending: collections.deque[Callable[[], None]] = collections.deque()
        self._changed = threading.Condition()
        self._processing = threading.RLock()  # one thread runs posted callables at a time

    @property
    def here(self) -> bool:
        """True on the home thread."""
        return threading.current_thread() is self.thread

    def post(self, callback: Callable[[], None]) -> None:
        """Queue ``callback`` to run at home; safe from any thread."""
        with self._changed:
            self._pending.append(callback)
            self._changed.notify_all()
        loop = self.loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self.process)
            except RuntimeError:  # the loop closed meanwhile: process() in wait() takes over
                pass

    def process(self) -> int:
        """Run the callables posted so far, in order, on this thread; return how many ran.

        A callable that raises does not stop the others: the first exception is raised again
        once all have run (callables report their own errors; this is the last resort).
        """
        ran = 0
        first_error: BaseException | None = None
        with self._processing:
            while True:
                with self._changed:
                    if not self._pending:
                        self._changed.notify_all()
                        break
                    callback = self._pending.popleft()
                try:
                    callback()
                except BaseException as error:  # noqa: BLE001 - re-raised below
                    first_error = first_error or error
                ran += 1
        if first_error is not None:
            raise first_error
        return ran

    @property
    def pending(self) -> int:
        """Callables posted and not yet run."""
        with self._changed:
            return len(self._pending)

    def wait_for_post(self, timeout: float | None) -> bool:
        """Block until something is posted (True) or ``timeout`` seconds pass (False)."""
        with self._changed:
            return self._changed.wait_for(lambda: bool(self._pending), timeout)

    def wait_until(self, predicate: Callable[[], bool], timeout: float | None) -> bool:
        """Block until ``predicate()`` holds, re-checking whenever something is posted or run
        (for threads other than home, whose loop does the running)."""
        with self._changed:
            return self._changed.wait_for(predicate, timeout)


class LatestWins:
    """A single worker thread that runs the most recent request only.

    Parameters
    ----------
    work : callable
        ``work(request, generation)``, run in the worker thread for each request taken. It
        calls :meth:`is_current` with ``generation`` to know whether its result is still
        wanted. It must report its own errors (by posting them home); an exception that
        escapes it anyway is passed to ``on_crash``.
    on_crash : callable
        ``on_crash(request, generation, error)``, called in the worker thread when ``work``
        raised; the worker goes on with the next request.
    name : str
        Thread name (shown in debuggers).
    """

    def __init__(self, work: Callable[[Any, int], None],
                 on_crash: Callable[[Any, int, BaseException], None],
                 name: str = "medinteract-worker") -> None:
        self._work = work
        self._on_crash = on_crash
        self._name = name
        self._cond = threading.Condition()
        self._pending: tuple[Any, int] | None = None
        self._generation = 0
        self._thread: threading.Thread | None = None

    @property
    def generation(self) -> int:
        """The latest generation handed out."""
        with self._cond:
            return self._generation

    def next_generation(self) -> int:
        """Mark every request so far stale (e.g. before computing synchronously)."""
        with self._cond:
            self._generation += 1
            self._pending = None
            return self._generation

    def submit(self, request: Any) -> int:
        """Make ``request`` the latest; start the worker if idle. Returns its generation."""
        with self._cond:
            self._generation += 1
            self._pending = (request, self._generation)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name=self._name,
                                                daemon=True)
                self._thread.start()
            return self._generation

    def is_current(self, generation: int) -> bool:
        """True when no newer request was submitted since ``generation``."""
        with self._cond:
            return generation == self._generation

    @property
    def busy(self) -> bool:
        """True while a request is running or waiting."""
        with self._cond:
            return self._thread is not None

    def _loop(self) -> None:
        while True:
            with self._cond:
                if self._pending is None:
                    self._thread = None
                    self._cond.notify_all()
                    return
                request, generation = self._pending
                self._pending = None
            try:
                self._work(request, generation)
            except BaseException as error:  # noqa: BLE001 - reported, never swallowed
                self._on_crash(request, generation, error)
