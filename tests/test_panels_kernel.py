"""Panels through a real kernel, spoken to with the comm messages a browser sends.

A real ``python3`` kernel (jupyter_client) runs the cells; the test plays the browser: it keeps
the state of every widget as a front end would (``comm_open``, then every ``update`` and
``echo_update``), moves sliders and picks list rows with the ``update`` message a browser sends
(also while a cell is still running), and checks that the kernel's panels follow, that results,
status and errors arrive (a slow op's result after the kernel went idle, applied by the
kernel's event loop), that nothing is applied from a worker thread, and that the front end's
copy ends equal to the kernel's.
"""

from __future__ import annotations

import json
import queue
import time
from collections.abc import Iterator
from typing import Any, Callable

import pytest
from jupyter_client.manager import start_new_kernel

TIMEOUT_S = 60.0

SETUP = """
import json, threading, time
from typing import Annotated

import numpy as np
from IPython.display import display

import medinteract as mi
from medinteract.params import Image, ImageIn, Range

scan = mi.data.phantom(shape=(64, 64), n_nodules=2, nodule_hu=2500.0, seed=2).scan


def slow_scale(image: ImageIn, *, k: Annotated[float, Range(0.0, 10.0, step=1.0)] = 1.0) -> Image:
    '''Multiply by k, slowly (fails for k = 3).'''
    time.sleep(0.3)
    if k == 3.0:
        raise ValueError("k = 3 is unlucky")
    return np.asarray(image, dtype=np.float32) * np.float32(k)


def thread_log(panel, names=("result", "status", "error", "busy", "params")):
    log = []
    panel.observe(lambda change: log.append(threading.current_thread().name), list(names))
    return log


def ids(panel, *names):
    view = panel.widget
    found = {name: view.controls[name].model_id for name in names}
    found["status"] = view.status_line.model_id
    print(json.dumps(found))
"""


class Kernel:
    """A real kernel, and every widget's state as a browser holding all its views would see it."""

    def __init__(self) -> None:
        self.manager, self.client = start_new_kernel(kernel_name="python3")
        self.front: dict[str, dict[str, Any]] = {}  # comm id -> state the front end holds

    def close(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)

    def _take(self, message: dict) -> str:
        kind, content = message["msg_type"], message["content"]
        if kind == "comm_open":
            self.front[content["comm_id"]] = dict(content["data"]["state"])
        elif kind == "comm_msg" and content["data"].get("method") in ("update", "echo_update"):
            self.front.setdefault(content["comm_id"], {}).update(content["data"]["state"])
        elif kind == "stream":
            return content["text"]
        elif kind == "error":
            raise AssertionError("\n".join(content["traceback"]))
        return ""

    def read(self, until: Callable[[dict], bool], timeout: float = TIMEOUT_S) -> str:
        """Read IOPub (updating the front end's state) until ``until(message)``."""
        out = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                message = self.client.get_iopub_msg(timeout=0.2)
            except queue.Empty:
                continue
            out.append(self._take(message))
            if until(message):
                return "".join(out)
        raise TimeoutError("the kernel did not answer")

    def idle_for(self, msg_id: str) -> Callable[[dict], bool]:
        return lambda m: (m["msg_type"] == "status" and m["content"]["execution_state"] == "idle"
                          and m["parent_header"].get("msg_id") == msg_id)

    def start(self, code: str) -> str:
        """Send a cell without waiting for it; returns its message id."""
        return self.client.execute(code)

    def run(self, code: str) -> str:
        """Execute a cell; return its stdout once the kernel is idle again."""
        return self.read(self.idle_for(self.start(code)))

    def value(self, expression: str) -> Any:
        """The value of an expression in the kernel, through JSON."""
        out = self.run(f"print('@@' + json.dumps({expression}))")
        return json.loads(out.rsplit("@@", 1)[1])

    def send(self, comm_id: str, state: dict[str, Any], *, wait: bool = True) -> str:
        """Send the ``update`` a browser sends when the user changes a widget; the front end
        holds the new value at once (as a browser does). Returns the message id."""
        self.front.setdefault(comm_id, {}).update(state)
        content = {"comm_id": comm_id,
                   "data": {"method": "update", "state": state, "buffer_paths": []}}
        message = self.client.session.msg("comm_msg", content)
        self.client.shell_channel.send(message)
        msg_id = message["header"]["msg_id"]
        if wait:
            self.read(self.idle_for(msg_id))
        return msg_id

    def settle(self, seconds: float = 0.8) -> None:
        """Read what arrives in the next ``seconds`` (results applied after idle)."""
        try:
            self.read(lambda m: False, timeout=seconds)
        except TimeoutError:
            pass


@pytest.fixture(scope="module")
def kernel() -> Iterator[Kernel]:
    k = Kernel()
    try:
        k.run(SETUP)
        yield k
    finally:
        k.close()


def status(kernel: Kernel, ids: dict[str, str]) -> str:
    """The status line as the front end shows it (HTML)."""
    return kernel.front[ids["status"]].get("value", "")


def test_a_slider_update_from_the_browser_reaches_the_panel(kernel: Kernel) -> None:
    ids = json.loads(kernel.run("p = mi.panels.panel(scan, 'gaussian', sigma=1.0)\n"
                                "display(p)\nlog = thread_log(p)\nids(p, 'sigma')"))
    kernel.send(ids["sigma"], {"value": 2.5})
    assert kernel.value("p.params") == {"sigma": 2.5}
    assert kernel.value("bool(np.array_equal(p.result, mi.ops.gaussian(scan, sigma=2.5)))")
    assert "gaussian" in status(kernel, ids) and " ms " in status(kernel, ids)
    assert kernel.front[ids["sigma"]]["value"] == 2.5 == kernel.value("p.controls['sigma'].value")
    assert kernel.value("sorted(set(log))") == ["MainThread"]


def test_a_slow_result_arrives_after_idle_from_the_event_loop(kernel: Kernel) -> None:
    ids = json.loads(kernel.run(
        "q = mi.panels.panel(scan, slow_scale, background=True, preview=False).wait()\n"
        "display(q)\nqlog = thread_log(q)\nids(q, 'k')"))
    kernel.send(ids["k"], {"value": 4.0})  # returns once the kernel handled the message
    assert "computing" in status(kernel, ids)  # the op runs in the background
    # no cell runs now: the kernel's event loop applies the result and sends it
    kernel.read(lambda m: " ms · " in status(kernel, ids))
    assert kernel.value("q.params") == {"k": 4.0} and not kernel.value("q.busy")
    assert kernel.value("bool(np.array_equal(q.result, scan.array * 4))")
    assert kernel.value("sorted(set(qlog))") == ["MainThread"]


def test_an_op_error_shows_in_the_status_and_the_last_result_stays(kernel: Kernel) -> None:
    ids = json.loads(kernel.run(
        "e = mi.panels.panel(scan, slow_scale, k=2.0, background=True, preview=False).wait()\n"
        "display(e)\nids(e, 'k')"))
    kernel.send(ids["k"], {"value": 3.0})
    kernel.read(lambda m: "unlucky" in status(kernel, ids))
    kernel.settle()
    assert "mi-status-error" in kernel.front[ids["status"]]["_dom_classes"]
    assert kernel.value("e.error") == "ValueError: k = 3 is unlucky"
    assert kernel.value("bool(np.array_equal(e.result, scan.array * 2))")
    assert kernel.front[ids["k"]]["value"] == 3.0 == kernel.value("e.params['k']")


def test_an_observer_that_raises_shows_in_the_status(kernel: Kernel) -> None:
    ids = json.loads(kernel.run(
        "o = mi.panels.panel(scan, slow_scale, background=True, preview=True).wait()\n"
        "display(o)\n"
        "def fussy(change):\n"
        "    if change['new'] is not None and change['new'].max() > 20000:\n"
        "        raise RuntimeError('observer broke')\n"
        "o.observe(fussy, 'result')\nids(o, 'k')"))
    kernel.send(ids["k"], {"value": 9.0})
    kernel.read(lambda m: "observer broke" in status(kernel, ids))
    assert kernel.value("[o.error, o.busy, o.showing_preview]") == [
        "RuntimeError: observer broke", False, False]
    assert "follows" not in status(kernel, ids)


def test_updates_sent_while_a_cell_runs_end_equal(kernel: Kernel) -> None:
    ids = json.loads(kernel.run("r = mi.panels.panel(scan, 'gaussian', sigma=1.0)\n"
                                "display(r)\nids(r, 'sigma')"))
    cell = kernel.start("time.sleep(1.0)\nfor s in (0.5, 1.5, 0.7):\n    r.set(sigma=s)")
    time.sleep(0.2)  # the cell is running: the user moves the slider meanwhile
    moves = [kernel.send(ids["sigma"], {"value": v}, wait=False) for v in (2.0, 3.0, 4.0)]
    kernel.read(kernel.idle_for(cell))
    kernel.read(kernel.idle_for(moves[-1]))
    kernel.settle()
    # the kernel read the moves after the cell: the user's last move is the last value set
    assert kernel.value("r.params") == {"sigma": 4.0}
    assert kernel.front[ids["sigma"]]["value"] == 4.0
    assert kernel.value("bool(np.array_equal(r.result, mi.ops.gaussian(scan, sigma=4.0)))")
    assert "sigma" not in kernel.value("r.error")


def test_code_sets_while_user_moves_queue_behind(kernel: Kernel) -> None:
    ids = json.loads(kernel.run("u = mi.panels.panel(scan, 'gaussian', sigma=1.0)\n"
                                "display(u)\nids(u, 'sigma')"))
    move = kernel.send(ids["sigma"], {"value": 2.0}, wait=False)
    cell = kernel.start("u.set(sigma=0.5)")  # queued after the move: the code wins
    kernel.read(kernel.idle_for(move))
    kernel.read(kernel.idle_for(cell))
    kernel.settle()
    assert kernel.value("u.params") == {"sigma": 0.5}
    assert kernel.front[ids["sigma"]]["value"] == 0.5


def test_a_measure_list_selection_from_the_browser_and_from_code(kernel: Kernel) -> None:
    found = kernel.value(
        "[(m := mi.panels.measure(scan, mi.ops.threshold(scan, low=825.0))) and None,"
        " display(m), m.widget.region_list.model_id, list(m.result['label'])][2:]")
    list_id, labels = found
    assert len(labels) == 2
    kernel.send(list_id, {"index": 2})  # the user picks the second object
    assert kernel.value("m.selected") == labels[1]
    kernel.run(f"m.selected = {labels[0]}")  # code selects the first
    assert kernel.front[list_id]["index"] == 1 == kernel.value("m.widget.region_list.index")
    kernel.run("m.filter('area_mm2', minimum=1e9)")  # nothing kept: the selection goes
    assert kernel.value("m.selected") == 0 and kernel.front[list_id]["index"] == 0


def test_the_op_menu_from_the_browser_and_from_code(kernel: Kernel) -> None:
    menu, stack, options = kernel.value(
        "[(c := mi.panels.choose(scan, 'denoise')) and None, display(c),"
        " c.widget.menu.model_id, c.widget.stack.model_id,"
        " [value for _, value in c.widget.menu.options]][2:]")
    median = options.index("median")
    kernel.send(menu, {"index": median})  # the user picks median in the menu
    assert kernel.value("c.op") == "median"
    shown = kernel.value("c.widget.stack.children[c.widget.stack.selected_index]"
                         " is c.panel.widget")
    assert shown and kernel.front[stack]["selected_index"] == kernel.value(
        "c.widget.stack.selected_index")
    kernel.run("c.op = 'gaussian'")  # code goes back: the menu and the stack follow
    assert kernel.front[menu]["index"] == options.index("gaussian")
    assert kernel.front[stack]["selected_index"] == 0
    assert len(kernel.front[stack]["children"]) == 2  # views are only ever added
