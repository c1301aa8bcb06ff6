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
import time
from collections.abc import Iterator

import pytest

from kernel_session import KernelSession, kernel_session

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


@pytest.fixture(scope="module")
def kernel() -> Iterator[KernelSession]:
    with kernel_session(setup=SETUP) as session:
        yield session


def status(kernel: KernelSession, ids: dict[str, str]) -> str:
    """The status line as the front end shows it (HTML)."""
    return kernel.widgets[ids["status"]].get("value", "")


def test_a_slider_update_from_the_browser_reaches_the_panel(kernel: KernelSession) -> None:
    ids = json.loads(kernel.run("p = mi.panels.panel(scan, 'gaussian', sigma=1.0)\n"
                                "display(p)\nlog = thread_log(p)\nids(p, 'sigma')"))
    kernel.send_update(ids["sigma"], {"value": 2.5})
    assert kernel.value("p.params") == {"sigma": 2.5}
    assert kernel.value("bool(np.array_equal(p.result, mi.ops.gaussian(scan, sigma=2.5)))")
    assert "gaussian" in status(kernel, ids) and " ms " in status(kernel, ids)
    assert kernel.widgets[ids["sigma"]]["value"] == 2.5 == kernel.value("p.controls['sigma'].value")
    assert kernel.value("sorted(set(log))") == ["MainThread"]


def test_a_slow_result_arrives_after_idle_from_the_event_loop(kernel: KernelSession) -> None:
    ids = json.loads(kernel.run(
        "q = mi.panels.panel(scan, slow_scale, background=True, preview=False).wait()\n"
        "display(q)\nqlog = thread_log(q)\nids(q, 'k')"))
    kernel.send_update(ids["k"], {"value": 4.0})  # returns once the kernel handled the message
    assert "computing" in status(kernel, ids)  # the op runs in the background
    # no cell runs now: the kernel's event loop applies the result and sends it
    kernel.read(lambda m: " ms · " in status(kernel, ids))
    assert kernel.value("q.params") == {"k": 4.0} and not kernel.value("q.busy")
    assert kernel.value("bool(np.array_equal(q.result, scan.array * 4))")
    assert kernel.value("sorted(set(qlog))") == ["MainThread"]


def test_an_op_error_shows_in_the_status_and_the_last_result_stays(kernel: KernelSession) -> None:
    ids = json.loads(kernel.run(
        "e = mi.panels.panel(scan, slow_scale, k=2.0, background=True, preview=False).wait()\n"
        "display(e)\nids(e, 'k')"))
    kernel.send_update(ids["k"], {"value": 3.0})
    kernel.read(lambda m: "unlucky" in status(kernel, ids))
    kernel.settle()
    assert "mi-status-error" in kernel.widgets[ids["status"]]["_dom_classes"]
    assert kernel.value("e.error") == "ValueError: k = 3 is unlucky"
    assert kernel.value("bool(np.array_equal(e.result, scan.array * 2))")
    assert kernel.widgets[ids["k"]]["value"] == 3.0 == kernel.value("e.params['k']")


def test_an_observer_that_raises_shows_in_the_status(kernel: KernelSession) -> None:
    ids = json.loads(kernel.run(
        "o = mi.panels.panel(scan, slow_scale, background=True, preview=True).wait()\n"
        "display(o)\n"
        "def fussy(change):\n"
        "    if change['new'] is not None and change['new'].max() > 20000:\n"
        "        raise RuntimeError('observer broke')\n"
        "o.observe(fussy, 'result')\nids(o, 'k')"))
    kernel.send_update(ids["k"], {"value": 9.0})
    kernel.read(lambda m: "observer broke" in status(kernel, ids))
    assert kernel.value("[o.error, o.busy, o.showing_preview]") == [
        "RuntimeError: observer broke", False, False]
    assert "follows" not in status(kernel, ids)


def test_updates_sent_while_a_cell_runs_end_equal(kernel: KernelSession) -> None:
    ids = json.loads(kernel.run("r = mi.panels.panel(scan, 'gaussian', sigma=1.0)\n"
                                "display(r)\nids(r, 'sigma')"))
    cell = kernel.submit("time.sleep(1.0)\nfor s in (0.5, 1.5, 0.7):\n    r.set(sigma=s)")
    time.sleep(0.2)  # the cell is running: the user moves the slider meanwhile
    moves = [kernel.send_update(ids["sigma"], {"value": v}, wait=False) for v in (2.0, 3.0, 4.0)]
    kernel.finish(cell)
    kernel.wait_handled(moves[-1])
    kernel.settle()
    # the kernel read the moves after the cell: the user's last move is the last value set
    assert kernel.value("r.params") == {"sigma": 4.0}
    assert kernel.widgets[ids["sigma"]]["value"] == 4.0
    assert kernel.value("bool(np.array_equal(r.result, mi.ops.gaussian(scan, sigma=4.0)))")
    assert "sigma" not in kernel.value("r.error")


def test_code_sets_while_user_moves_queue_behind(kernel: KernelSession) -> None:
    ids = json.loads(kernel.run("u = mi.panels.panel(scan, 'gaussian', sigma=1.0)\n"
                                "display(u)\nids(u, 'sigma')"))
    move = kernel.send_update(ids["sigma"], {"value": 2.0}, wait=False)
    cell = kernel.submit("u.set(sigma=0.5)")  # queued after the move: the code wins
    kernel.wait_handled(move)
    kernel.finish(cell)
    kernel.settle()
    assert kernel.value("u.params") == {"sigma": 0.5}
    assert kernel.widgets[ids["sigma"]]["value"] == 0.5


def test_a_measure_list_selection_from_the_browser_and_from_code(kernel: KernelSession) -> None:
    found = kernel.value(
        "[(m := mi.panels.measure(scan, mi.ops.threshold(scan, low=825.0))) and None,"
        " display(m), m.widget.region_list.model_id, list(m.result['label'])][2:]")
    list_id, labels = found
    assert len(labels) == 2
    kernel.send_update(list_id, {"index": 2})  # the user picks the second object
    assert kernel.value("m.selected") == labels[1]
    kernel.run(f"m.selected = {labels[0]}")  # code selects the first
    assert kernel.widgets[list_id]["index"] == 1 == kernel.value("m.widget.region_list.index")
    kernel.run("m.filter('area_mm2', minimum=1e9)")  # nothing kept: the selection goes
    assert kernel.value("m.selected") == 0 and kernel.widgets[list_id]["index"] == 0


def shown_children(kernel: KernelSession, box: str) -> list[int]:
    """Which children of ``box`` the browser shows (their layout's ``display`` is not none)."""
    children = [ref.removeprefix("IPY_MODEL_") for ref in kernel.widgets[box]["children"]]
    layouts = [kernel.widgets[child]["layout"].removeprefix("IPY_MODEL_") for child in children]
    return [i for i, layout in enumerate(layouts)
            if kernel.widgets[layout].get("display") != "none"]


def test_the_op_menu_from_the_browser_and_from_code(kernel: KernelSession) -> None:
    menu, stack, options = kernel.value(
        "[(c := mi.panels.choose(scan, 'denoise')) and None, display(c),"
        " c.widget.menu.model_id, c.widget.stack.model_id,"
        " [value for _, value in c.widget.menu.options]][2:]")
    median = options.index("median")
    kernel.send_update(menu, {"index": median})  # the user picks median in the menu
    assert kernel.value("c.op") == "median"
    shown = kernel.value("c.widget.stack.children[c.widget.stack.selected_index]"
                         " is c.panel.widget")
    assert shown and shown_children(kernel, stack) == [1]
    kernel.run("c.op = 'gaussian'")  # code goes back: the menu and the deck follow
    assert kernel.widgets[menu]["index"] == options.index("gaussian")
    assert shown_children(kernel, stack) == [0]
    assert len(kernel.widgets[stack]["children"]) == 2  # views are only ever added
    kernel.run("for op in ('median', 'mean', 'gaussian', 'median'):\n    c.op = op")
    assert shown_children(kernel, stack) == [1] and len(kernel.widgets[stack]["children"]) == 3
