"""The viewers through a real kernel, spoken to with the messages a browser sends.

A real ``python3`` kernel (jupyter_client) runs the cells as JupyterLab does, with the cell's
id in the execute request's metadata. The test then plays viewer.js: it reads the widget's
state from ``comm_open``, asks for slabs with the custom messages the front end sends,
decodes the answers, sets traits with ``update`` messages, and measures the kernel's memory
when a viewer cell is run again and again.
"""

from __future__ import annotations

import queue
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from jupyter_client.manager import start_new_kernel

from medinteract.display.transfer import decode_values

TIMEOUT_S = 60.0


class Kernel:
    """A real kernel and the comm messages it sent, as a front end sees them."""

    def __init__(self) -> None:
        self.manager, self.client = start_new_kernel(kernel_name="python3")
        self.comms: dict[str, dict] = {}  # comm id -> state of comm_open
        self.customs: list[tuple[dict, list[bytes]]] = []

    def close(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)

    def run(self, code: str, *, cell_id: str | None = None) -> str:
        """Execute ``code`` as a cell (with ``cellId`` metadata); return its stdout."""
        content = {"code": code, "silent": False, "store_history": True,
                   "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}
        message = self.client.session.msg("execute_request", content)
        if cell_id is not None:
            message["metadata"]["cellId"] = cell_id
        self.client.shell_channel.send(message)
        return self.collect(message["header"]["msg_id"])

    def collect(self, msg_id: str) -> str:
        """Read IOPub until the kernel is idle for ``msg_id``; keep comm traffic."""
        return self._read_until(lambda message: message["msg_type"] == "status"
                                and message["content"]["execution_state"] == "idle"
                                and message["parent_header"].get("msg_id") == msg_id,
                                f"no idle for {msg_id}")

    def _read_until(self, done: Callable[[dict], bool], what: str) -> str:
        """Read IOPub, keeping comm traffic and stdout, until ``done(message)``."""
        out = []
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                message = self.client.get_iopub_msg(timeout=1)
            except queue.Empty:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "comm_open":
                self.comms[content["comm_id"]] = content["data"]["state"]
            elif kind == "comm_msg" and content["data"].get("method") == "custom":
                self.customs.append((content["data"]["content"], message["buffers"]))
            elif kind == "comm_msg" and content["data"].get("method") in ("update", "echo_update"):
                self.comms.setdefault(content["comm_id"], {}).update(content["data"]["state"])
            elif kind == "stream":
                out.append(content["text"])
            elif kind == "error":
                raise AssertionError("\n".join(content["traceback"]))
            if done(message):
                return "".join(out)
        raise TimeoutError(what)

    def comm_send(self, comm_id: str, data: dict) -> None:
        """Send a comm message as the browser does; wait until the kernel handled it."""
        message = self.client.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
        self.client.shell_channel.send(message)
        self.collect(message["header"]["msg_id"])

    def wait_customs(self, count: int) -> list[tuple[dict, list[bytes]]]:
        """Read IOPub until ``count`` custom messages arrived (the viewer answers fetches from
        an encoder thread, so the answer may follow the kernel's idle)."""
        if len(self.customs) < count:
            self._read_until(lambda _message: len(self.customs) >= count,
                             f"fewer than {count} custom messages")
        return self.customs

    def widget(self, model_name: str = "AnyModel", kind: str = "viewer") -> str:
        for comm_id, state in reversed(list(self.comms.items())):
            if state.get("_model_name") == model_name and state.get("_kind") == kind:
                return comm_id
        raise LookupError(kind)

    def rss_mb(self) -> float:
        pid = self.manager.provisioner.process.pid  # type: ignore[union-attr]
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")


@pytest.fixture(scope="module")
def kernel() -> Iterator[Kernel]:
    running = Kernel()
    try:
        running.run("import numpy as np, medinteract as mi")
        yield running
    finally:
        running.close()


def test_browser_messages_fetch_values_and_set_state(kernel: Kernel) -> None:
    kernel.run("scan = mi.Scan(np.arange(6 * 20 * 30, dtype=np.float32).reshape(6, 20, 30) - 900,"
               " spacing=(3, 1, 1), modality='CT', window=(40, 400))\n"
               "viewer = mi.view(scan)\nviewer", cell_id=str(uuid.uuid4()))
    comm_id = kernel.widget()
    state = kernel.comms[comm_id]
    assert state["_layers"]["values"]["shape"] == [6, 20, 30] and state["index"] == 3
    kernel.customs.clear()
    kernel.comm_send(comm_id, {"method": "custom", "content": {
        "type": "fetch", "layer": "values", "start": 0, "stop": 6, "version": 1}})
    (answer, buffers), = kernel.wait_customs(1)
    assert answer["type"] == "slab" and answer["dtype"] == "int16"
    values = decode_values(answer, buffers[0])
    expected = np.arange(6 * 20 * 30).reshape(6, 20, 30) - 900
    assert np.array_equal(values, expected)
    # the user steps two slices and drags the window: the kernel holds it
    kernel.comm_send(comm_id, {"method": "update", "buffer_paths": [], "state": {
        "index": 5, "position": [5, 10, 15], "window_center": -100.0, "preset": "custom"}})
    assert kernel.run("print(viewer.index, viewer.position, viewer.window_center, "
                      "viewer.preset)").split() == ["5", "(5,", "10,", "15)", "-100.0", "custom"]
    # a click in voxels reaches the kernel's handler
    kernel.run("clicked = []\nviewer.on_click(lambda e: clicked.append(e['index']))")
    kernel.comm_send(comm_id, {"method": "custom", "content": {
        "type": "mouse", "event": "click", "pane": "slice", "button": 0, "index": [5, 2, 4]}})
    assert kernel.run("print(clicked, viewer.probe_info['value'])").split() == \
        ["[(5,", "2,", "4)]", str(float(expected[5, 2, 4]))]


def test_rerunning_a_viewer_cell_keeps_kernel_memory_flat(kernel: Kernel) -> None:
    """Issue 10: three re-runs of a viewer cell took the kernel from 0.3 to 1.45 GB."""
    cell = ("big = mi.Scan(np.full((64, 512, 512), -1000, np.float32), modality='CT', "
            "window=(40, 400))\nbig_viewer = mi.view(big, orthogonal=True)\nbig_viewer")
    cell_id = str(uuid.uuid4())
    kernel.run(cell, cell_id=cell_id)
    kernel.run("import gc; gc.collect()")
    after_first = kernel.rss_mb()
    for _ in range(3):
        kernel.run(cell, cell_id=cell_id)
    kernel.run("import gc; gc.collect()")
    after_reruns = kernel.rss_mb()
    volume_mb = 64 * 512 * 512 * 4 / 2**20
    assert after_reruns < after_first * 1.10, (after_first, after_reruns, volume_mb)
    closed = kernel.run("print([o.closed for o in Out.values() if isinstance(o, mi.display.Viewer)]"
                        "[-4:])")
    assert closed.strip() == "[True, True, True, False]"  # the cell's earlier viewers closed
