"""The viewers through a real kernel, spoken to with the messages a browser sends.

A real ``python3`` kernel (jupyter_client) runs the cells as JupyterLab does, with the cell's
id in the execute request's metadata. The test then plays viewer.js: it reads the widget's
state from ``comm_open``, asks for slabs with the custom messages the front end sends,
decodes the answers, sets traits with ``update`` messages, and measures the kernel's memory
when a viewer cell is run again and again.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import numpy as np
import pytest

from kernel_session import KernelSession, kernel_session
from medinteract.display.transfer import decode_values


@pytest.fixture(scope="module")
def kernel() -> Iterator[KernelSession]:
    with kernel_session(setup="import numpy as np, medinteract as mi") as session:
        yield session


def viewer_id(kernel: KernelSession) -> str:
    """The newest viewer the kernel opened."""
    return kernel.last_widget(_model_name="AnyModel", _kind="viewer")


def test_browser_messages_fetch_values_and_set_state(kernel: KernelSession) -> None:
    kernel.run("scan = mi.Scan(np.arange(6 * 20 * 30, dtype=np.float32).reshape(6, 20, 30) - 900,"
               " spacing=(3, 1, 1), modality='CT', window=(40, 400))\n"
               "viewer = mi.view(scan)\nviewer", cell_id=str(uuid.uuid4()))
    comm_id = viewer_id(kernel)
    state = kernel.widgets[comm_id]
    assert state["_layers"]["values"]["shape"] == [6, 20, 30] and state["index"] == 3
    kernel.customs.clear()
    kernel.send_custom(comm_id, {"type": "fetch", "layer": "values", "start": 0, "stop": 6,
                                 "version": 1})
    (answer, buffers), = kernel.wait_customs(1)
    assert answer["type"] == "slab" and answer["dtype"] == "int16"
    values = decode_values(answer, buffers[0])
    expected = np.arange(6 * 20 * 30).reshape(6, 20, 30) - 900
    assert np.array_equal(values, expected)
    # the user steps two slices and drags the window: the kernel holds it
    kernel.send_update(comm_id, {"index": 5, "position": [5, 10, 15], "window_center": -100.0,
                                 "preset": "custom"})
    assert kernel.run("print(viewer.index, viewer.position, viewer.window_center, "
                      "viewer.preset)").split() == ["5", "(5,", "10,", "15)", "-100.0", "custom"]
    # a click in voxels reaches the kernel's handler
    kernel.run("clicked = []\nviewer.on_click(lambda e: clicked.append(e['index']))")
    kernel.send_custom(comm_id, {"type": "mouse", "event": "click", "pane": "slice",
                                 "button": 0, "index": [5, 2, 4]})
    assert kernel.run("print(clicked, viewer.probe_info['value'])").split() == \
        ["[(5,", "2,", "4)]", str(float(expected[5, 2, 4]))]


def test_rerunning_a_viewer_cell_keeps_kernel_memory_flat(kernel: KernelSession) -> None:
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
