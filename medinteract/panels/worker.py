"""Latest-value-wins scheduling: one background thread, never a queue of stale requests.

While a computation runs, new requests replace each other in a single slot; when the running
computation finishes it can ask :meth:`LatestWins.is_current` whether its request is still the
latest (if not, its result is stale and is dropped) and the worker then runs only the newest
request. A slider dragged through 50 values while a 500 ms filter runs costs two runs, not 50.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

__all__ = ["LatestWins"]


class LatestWins:
    """A single worker thread that runs the most recent request only.

    Parameters
    ----------
    work : callable
        ``work(request, generation)``, run in the worker thread for each request taken. It
        calls :meth:`is_current` with ``generation`` to know whether its result is still
        wanted.
    on_idle : callable, optional
        Called (in the worker thread, holding the lock) when the last request is done.
    name : str
        Thread name (shown in debuggers).
    """

    def __init__(self, work: Callable[[Any, int], None], name: str = "medinteract-worker",
                 on_idle: Callable[[], None] | None = None) -> None:
        self._work = work
        self._on_idle = on_idle
        self._name = name
        self._cond = threading.Condition()
        self._pending: tuple[Any, int] | None = None
        self._generation = 0
        self._thread: threading.Thread | None = None

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

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the worker is idle; False if ``timeout`` seconds passed first."""
        with self._cond:
            return self._cond.wait_for(lambda: self._thread is None, timeout)

    def _loop(self) -> None:
        while True:
            with self._cond:
                if self._pending is None:
                    self._thread = None
                    if self._on_idle is not None:
                        self._on_idle()
                    self._cond.notify_all()
                    return
                request, generation = self._pending
                self._pending = None
            try:
                self._work(request, generation)
            except BaseException:  # the work function reports its own errors
                pass
