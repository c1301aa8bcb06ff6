"""Handle widget messages that wait behind a running cell, from inside that cell.

While a cell runs (``model.fit(...)``, a long loop), the kernel's main thread is busy: the
messages a browser sends in the meantime, a button click included, wait in the main shell's
queue until the cell ends. :class:`PendingComms` lets long-running code give those messages a
turn at points it chooses (between two training batches, say):

- comm messages (``comm_open``, ``comm_msg``, ``comm_close``: every widget event) are
  dispatched at once, on the main thread, exactly as ipykernel itself dispatches them while an
  ``async`` cell awaits (``Kernel.dispatch_shell(..., concurrent=True)``: no busy/idle status,
  no SIGINT handler swap, the running cell's parent header restored afterwards, so the cell's
  output keeps going to the cell);
- every other message (above all ``execute_request``: the next cells of a "Run All") is never
  run re-entrantly: it is handed to the stream's own receive callback, exactly as the kernel's
  event loop would have handed it on reading it (so it queues behind the running cell in
  arrival order, with the messages the loop read before and after it).

Why this and not something else:

- ipykernel >= 7 has no ``do_one_iteration`` any more, so ``jupyter-ui-poll`` (which calls it
  and swallows the ``AttributeError``) silently does nothing there;
- subshells do not help: JupyterLab sends widget messages on a subshell, but ipykernel routes a
  comm's messages to the shell that last published on that comm, which for a widget the cell
  updates is the busy main shell;
- running the work off the main thread would change the user's code (``model.fit`` is called by
  the user) and would send widget updates from a worker thread.

Without a kernel (scripts, tests) or with a kernel that lacks what this needs (ipykernel < 7.4),
:meth:`PendingComms.for_running_cell` returns ``None`` and the caller carries on without it.
Only the main thread may poll (the shell socket belongs to it).
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import sys
import threading
from typing import Any

__all__ = ["COMM_MESSAGES", "PendingComms"]

#: The message types dispatched while the cell runs (those ipykernel dispatches concurrently).
COMM_MESSAGES = frozenset({"comm_open", "comm_msg", "comm_close"})


class PendingComms:
    """Dispatch the comm messages waiting for the busy main shell of an ipykernel.

    Use :meth:`for_running_cell` to get one (or ``None`` outside a capable kernel), then call
    :meth:`poll` from the running cell as often as is useful.
    """

    def __init__(self, kernel: Any, stream: Any) -> None:
        self._kernel = kernel
        self._stream = stream
        self._socket = stream.socket
        self._polling = False

    @classmethod
    def for_running_cell(cls) -> PendingComms | None:
        """A poller for the current kernel's main shell, or ``None`` when it is not possible.

        ``None`` outside an ipykernel, off the main thread, and with a kernel that cannot
        dispatch comm messages concurrently (ipykernel < 7.4).
        """
        if threading.current_thread() is not threading.main_thread():
            return None
        kernel = _current_kernel()
        if kernel is None:
            return None
        try:
            from ipykernel.eventloops import get_shell_stream

            stream = get_shell_stream(kernel)
            concurrent = "concurrent" in inspect.signature(kernel.dispatch_shell).parameters
        except (ImportError, AttributeError, TypeError, ValueError):
            return None
        if (stream is None or not concurrent or getattr(stream, "_recv_callback", None) is None
                or not hasattr(stream, "_run_callback")):
            return None
        return cls(kernel, stream)

    def poll(self) -> int:
        """Dispatch every comm message waiting now; hand the others back in order.

        Returns the number of comm messages dispatched. Safe to call from a comm handler that
        it dispatched (it then does nothing) and cheap when nothing waits.
        """
        import zmq

        if self._polling or threading.current_thread() is not threading.main_thread():
            return 0
        self._polling = True
        handled = 0
        try:
            while self._socket.getsockopt(zmq.EVENTS) & zmq.POLLIN:
                try:
                    frames = self._socket.recv_multipart(zmq.NOBLOCK,
                                                         copy=self._stream._recv_copy)
                except zmq.Again:
                    break
                if self._message_type(frames) in COMM_MESSAGES:
                    self._dispatch_now(frames)
                    handled += 1
                else:
                    self._hand_back(frames)
        finally:
            self._polling = False
        return handled

    # -- the two ways a message goes --------------------------------------------------------
    def _message_type(self, frames: list[Any]) -> str | None:
        session = self._kernel.session
        try:
            _idents, rest = session.feed_identities(frames, copy=False)
            return str(session.deserialize(rest, content=False, copy=False)["header"]["msg_type"])
        except Exception:  # noqa: BLE001 - not ours to judge: the kernel reports it
            return None

    def _dispatch_now(self, frames: list[Any]) -> None:
        """Run the comm handler now, as ipykernel does for comms while an async cell awaits."""
        kernel = self._kernel
        parent = kernel.get_parent("shell")
        ident = kernel._parent_ident["shell"]
        for stream in (sys.stdout, sys.stderr):  # the cell's pending output stays the cell's
            if stream is not None:
                stream.flush()
        coroutine = kernel.dispatch_shell(frames, subshell_id=None, concurrent=True)
        try:
            # The comm handlers are synchronous: the coroutine ends at its first step.
            contextvars.copy_context().run(coroutine.send, None)
        except StopIteration:
            pass
        else:  # it awaited something after all: let the kernel's loop finish it later
            asyncio.ensure_future(_resume(coroutine))
        finally:
            kernel.set_parent(ident, parent, channel="shell")

    def _hand_back(self, frames: list[Any]) -> None:
        """Give the message to the stream's callback, as the event loop would have on reading it.

        Going through the very same path (same wrapping, same number of task hops) keeps the
        kernel's arrival order with messages the loop read before or reads after this one.
        """
        self._stream._run_callback(self._stream._recv_callback, frames)


async def _resume(coroutine: Any) -> None:
    """Drive a coroutine suspended at its first step to its end on the running event loop."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            awaited = coroutine.throw(error) if error is not None else coroutine.send(value)
        except StopIteration:
            return
        value, error = None, None
        try:  # a bare ``yield`` (asyncio.sleep(0)) gives None; an await gives its future
            value = await (awaited if awaited is not None else asyncio.sleep(0))
        except BaseException as exc:  # noqa: BLE001 - thrown back into the coroutine
            error = exc


def _current_kernel() -> Any:
    """The running ipykernel kernel, or ``None`` (no IPython, or IPython without a kernel)."""
    if "IPython" not in sys.modules:
        return None
    from IPython import get_ipython

    shell = get_ipython()
    return getattr(shell, "kernel", None) if shell is not None else None
