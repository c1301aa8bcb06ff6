"""A real IPython kernel, started as a front end starts it and spoken to as a browser does.

One driver for every test that goes through a real kernel (viewers, panels, Stop while
training, 3-D front-end detection). The kernel runs in :func:`jupyter_python`
(``$MEDINTERACT_JUPYTER_PYTHON``, e.g. the Binder environment that ``.ci/run`` builds, else this
interpreter), with the environment variables a launcher sets (``JPY_SESSION_NAME`` for
JupyterLab and Notebook, Voila's ``SERVER_SOFTWARE``, nothing for nbclient).

The session plays the browser's part without a page:

- it keeps the state of every widget as a front end holding all its views would see it
  (``comm_open``, then every ``update`` and ``echo_update``): :attr:`KernelSession.widgets`;
- it keeps the ``custom`` messages widgets send (with their binary buffers):
  :attr:`KernelSession.customs`;
- it sends what a browser sends: an ``update`` when the user moves a control
  (:meth:`~KernelSession.send_update`), a ``custom`` message such as a Button's click
  (:meth:`~KernelSession.send_custom`, :meth:`~KernelSession.click`), on the main shell or on a
  subshell as JupyterLab does, also while a cell is still running;
- execute requests carry the cell's id in their metadata, as JupyterLab's do.

Every IOPub message is read by one loop (:meth:`KernelSession.read`), which files it under the
cell that caused it, so cells queued behind a running one (as "Run All" queues them) can be
finished later in any order.
"""

from __future__ import annotations

import json
import os
import queue
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

READY_TIMEOUT_S = 60.0
TIMEOUT_S = 120.0

Message = dict[str, Any]
OnMessage = Callable[[Message], None]


def jupyter_python() -> str:
    """The Python whose Jupyter server and kernels the tests drive."""
    return os.environ.get("MEDINTERACT_JUPYTER_PYTHON") or sys.executable


@dataclass
class CellRun:
    """One execute request and what the kernel published for it, in order."""

    msg_id: str
    sent: float = field(default_factory=time.monotonic)
    #: every IOPub message read from sending the cell to finishing it (also those of comm
    #: messages handled meanwhile, e.g. a click while the cell runs); :attr:`own` are its own
    messages: list[Message] = field(default_factory=list)
    reply: Message | None = None
    seconds: float | None = None  # from sending to the cell's idle
    running: bool = False  # execute_input seen (a cell held back reports idle once before)
    done: bool = False

    @property
    def own(self) -> list[Message]:
        """The messages parented to this cell."""
        return [m for m in self.messages if m["parent_header"].get("msg_id") == self.msg_id]

    def _texts(self, name: str) -> str:
        return "".join(m["content"]["text"] for m in self.own
                       if m["msg_type"] == "stream" and m["content"]["name"] == name)

    @property
    def stdout(self) -> str:
        return self._texts("stdout")

    @property
    def stderr(self) -> str:
        return self._texts("stderr")

    @property
    def error(self) -> str | None:
        """``"Name: value"`` of the error the cell raised, or None."""
        for message in self.own:
            if message["msg_type"] == "error":
                return f"{message['content']['ename']}: {message['content']['evalue']}"
        return None

    @property
    def traceback(self) -> str:
        return "\n".join(line for m in self.own if m["msg_type"] == "error"
                         for line in m["content"]["traceback"])


class KernelSession:
    """A started kernel, its client, and the browser's copy of every widget."""

    def __init__(self, manager: KernelManager) -> None:
        self.manager = manager
        self.client = manager.blocking_client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=READY_TIMEOUT_S)
        self.widgets: dict[str, dict[str, Any]] = {}  # comm id -> state the browser holds
        self.customs: list[tuple[dict[str, Any], list[bytes]]] = []
        self._cells: dict[str, CellRun] = {}  # cells not yet finished, by message id
        self._replies: dict[str, Message] = {}  # shell replies read ahead, by parent id
        self._idle: set[str] = set()  # parents (comm messages) the kernel has handled

    def close(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)

    # -- reading -------------------------------------------------------------------------
    def read(self, until: Callable[[Message], bool], *, timeout_s: float = TIMEOUT_S,
             on_message: OnMessage | None = None, what: str = "the kernel did not answer"
             ) -> None:
        """Read IOPub, filing every message, until ``until(message)`` is true."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                message = self.client.get_iopub_msg(
                    timeout=min(0.2, max(0.01, deadline - time.monotonic())))
            except queue.Empty:
                if time.monotonic() >= deadline:
                    raise TimeoutError(f"{what} within {timeout_s:.0f} s") from None
                continue
            self._file(message)
            if on_message is not None:
                on_message(message)
            if until(message):
                return

    def _file(self, message: Message) -> None:
        kind, content = message["msg_type"], message["content"]
        if kind == "comm_open":
            self.widgets[content["comm_id"]] = dict(content["data"].get("state", {}))
        elif kind == "comm_msg":
            data = content["data"]
            if data.get("method") in ("update", "echo_update"):
                self.widgets.setdefault(content["comm_id"], {}).update(data["state"])
            elif data.get("method") == "custom":
                self.customs.append((data["content"], list(message["buffers"])))
        for pending in self._cells.values():
            pending.messages.append(message)
        parent = message["parent_header"].get("msg_id")
        cell = self._cells.get(parent)
        if cell is not None:
            cell.running |= kind == "execute_input"
            if kind == "status" and content["execution_state"] == "idle" and cell.running:
                cell.done = True
                cell.seconds = time.monotonic() - cell.sent
        elif kind == "status" and content["execution_state"] == "idle" and parent:
            self._idle.add(parent)

    def settle(self, seconds: float = 0.8) -> None:
        """Read what arrives in the next ``seconds`` (results applied after the kernel idled)."""
        try:
            self.read(lambda _message: False, timeout_s=seconds)
        except TimeoutError:
            pass

    # -- cells ---------------------------------------------------------------------------
    def submit(self, code: str, *, cell_id: str | None = None) -> CellRun:
        """Send a cell without waiting for it, as "Run All" queues cells."""
        content = {"code": code, "silent": False, "store_history": True,
                   "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}
        message = self.client.session.msg("execute_request", content)
        if cell_id is not None:
            message["metadata"]["cellId"] = cell_id
        cell = CellRun(message["header"]["msg_id"])
        self._cells[cell.msg_id] = cell
        self.client.shell_channel.send(message)
        return cell

    def finish(self, cell: CellRun, *, timeout_s: float = TIMEOUT_S,
               on_message: OnMessage | None = None) -> CellRun:
        """Read until ``cell`` is idle (``on_message`` sees every message on the way), then
        its shell reply."""
        if not cell.done:
            self.read(lambda _message: cell.done, timeout_s=timeout_s, on_message=on_message,
                      what=f"the cell did not finish: {self._code(cell)}")
        self._cells.pop(cell.msg_id, None)
        cell.reply = self._reply(cell.msg_id, timeout_s)
        return cell

    def _code(self, cell: CellRun) -> str:
        return f"{cell.msg_id}, printed so far {cell.stdout[-300:]!r}"

    def _reply(self, msg_id: str, timeout_s: float) -> Message:
        while msg_id not in self._replies:
            reply = self.client.get_shell_msg(timeout=timeout_s)
            self._replies[reply["parent_header"].get("msg_id")] = reply
        return self._replies.pop(msg_id)

    def execute(self, code: str, *, cell_id: str | None = None, timeout_s: float = TIMEOUT_S,
                on_message: OnMessage | None = None) -> CellRun:
        """Run ``code`` as a cell and wait until the kernel is idle again; errors are kept in
        the result (see :meth:`run` for a cell that must succeed)."""
        return self.finish(self.submit(code, cell_id=cell_id), timeout_s=timeout_s,
                           on_message=on_message)

    def run(self, code: str, *, cell_id: str | None = None, timeout_s: float = TIMEOUT_S,
            on_message: OnMessage | None = None) -> str:
        """Run ``code`` as a cell that must succeed; return what it printed."""
        cell = self.execute(code, cell_id=cell_id, timeout_s=timeout_s, on_message=on_message)
        if cell.error is not None:
            raise AssertionError(f"the cell failed:\n{code}\n{cell.traceback}")
        return cell.stdout

    def value(self, expression: str) -> Any:
        """The value of ``expression`` in the kernel, through JSON."""
        out = self.run(f"print('@@' + __import__('json').dumps({expression}))")
        return json.loads(out.rsplit("@@", 1)[1])

    # -- what a browser sends ------------------------------------------------------------
    def _send_comm(self, comm_id: str, data: dict[str, Any], *, wait: bool,
                   subshell_id: str | None = None, timeout_s: float = TIMEOUT_S) -> str:
        message = self.client.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
        if subshell_id is not None:
            message["header"]["subshell_id"] = subshell_id
        self.client.shell_channel.send(message)
        msg_id = str(message["header"]["msg_id"])
        if wait:
            self.wait_handled(msg_id, timeout_s=timeout_s)
        return msg_id

    def wait_handled(self, msg_id: str, *, timeout_s: float = TIMEOUT_S) -> None:
        """Read until the kernel has handled the comm message ``msg_id`` (its idle)."""
        if msg_id not in self._idle:
            self.read(lambda _message: msg_id in self._idle, timeout_s=timeout_s,
                      what=f"the kernel did not handle {msg_id}")
        self._idle.discard(msg_id)

    def send_update(self, comm_id: str, state: Mapping[str, Any], *, wait: bool = True) -> str:
        """Send the ``update`` a browser sends when the user changes a widget; the browser's
        copy holds the new value at once, as a browser's does. Returns the message id."""
        self.widgets.setdefault(comm_id, {}).update(state)
        return self._send_comm(comm_id, {"method": "update", "state": dict(state),
                                         "buffer_paths": []}, wait=wait)

    def send_custom(self, comm_id: str, content: Mapping[str, Any], *, wait: bool = True,
                    subshell_id: str | None = None) -> str:
        """Send what a widget's ``model.send(content)`` sends from the browser."""
        return self._send_comm(comm_id, {"method": "custom", "content": dict(content)},
                               wait=wait, subshell_id=subshell_id)

    def click(self, comm_id: str, *, subshell_id: str | None = None) -> str:
        """Send what a browser sends when a Button is clicked (without waiting: the kernel may
        be running a cell)."""
        return self.send_custom(comm_id, {"event": "click"}, wait=False, subshell_id=subshell_id)

    def create_subshell(self) -> str:
        """A kernel subshell (ipykernel 7), as JupyterLab creates one for widget messages."""
        request = self.client.session.msg("create_subshell_request", {})
        self.client.control_channel.send(request)
        while True:
            reply = self.client.control_channel.get_msg(timeout=TIMEOUT_S)
            if reply["parent_header"].get("msg_id") == request["header"]["msg_id"]:
                return str(reply["content"]["subshell_id"])

    # -- what the browser holds ----------------------------------------------------------
    def wait_customs(self, count: int, *, timeout_s: float = TIMEOUT_S
                     ) -> list[tuple[dict[str, Any], list[bytes]]]:
        """Read until ``count`` custom messages arrived (a widget may answer from another
        thread, after the kernel's idle)."""
        if len(self.customs) < count:
            self.read(lambda _message: len(self.customs) >= count, timeout_s=timeout_s,
                      what=f"fewer than {count} custom messages arrived")
        return self.customs

    def last_widget(self, **state: Any) -> str:
        """The comm id of the newest widget whose state has these values."""
        for comm_id, held in reversed(list(self.widgets.items())):
            if all(held.get(key) == value for key, value in state.items()):
                return comm_id
        raise LookupError(f"no widget with {state}")

    def widget_updates(self, cell: CellRun, comm_id: str) -> list[dict[str, Any]]:
        """The state updates the kernel sent for ``comm_id`` while ``cell`` ran."""
        return [m["content"]["data"]["state"] for m in cell.messages
                if m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == comm_id
                and m["content"]["data"].get("method") == "update"]

    def rss_mb(self) -> float:
        """The kernel process's resident memory."""
        pid = self.manager.provisioner.process.pid  # type: ignore[union-attr]
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")


@contextmanager
def kernel_session(env: Mapping[str, str] | None = None, *, python: str | None = None,
                   setup: str | None = None) -> Iterator[KernelSession]:
    """Start a kernel in ``python`` with ``env`` added to this process's environment (launcher
    variables removed), run ``setup`` in it, and shut it down at the end."""
    python = python or jupyter_python()
    with tempfile.TemporaryDirectory() as folder:
        spec_dir = Path(folder) / "kernels" / "medinteract-test"
        spec_dir.mkdir(parents=True)
        spec = {"argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "medinteract test kernel", "language": "python"}
        (spec_dir / "kernel.json").write_text(json.dumps(spec))
        specs = KernelSpecManager(kernel_dirs=[str(spec_dir.parent)])
        manager = KernelManager(kernel_name="medinteract-test", kernel_spec_manager=specs)
        kernel_env = {key: value for key, value in os.environ.items()
                      if key not in ("JPY_SESSION_NAME", "SERVER_SOFTWARE", "VOILA_BASE_URL")}
        kernel_env["PATH"] = os.pathsep.join([str(Path(python).parent),
                                              kernel_env.get("PATH", "")])
        kernel_env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
        kernel_env["TF_CPP_MIN_LOG_LEVEL"] = "2"  # TensorFlow's start-up lines are not tested
        kernel_env.update(env or {})
        manager.start_kernel(env=kernel_env, cwd=folder)
        session = None
        try:
            session = KernelSession(manager)
            if setup is not None:
                session.run(setup)
            yield session
        finally:
            if session is not None:
                session.client.stop_channels()
            manager.shutdown_kernel(now=True)
