"""Stop works while ``model.fit`` runs, through a real kernel driven as a browser drives it.

A real ipykernel (``jupyter_client``) runs ``model.fit(..., callbacks=[dash])`` in a cell; while
that cell is still executing, the test sends the comm message a browser sends for a Button
click (``{"method": "custom", "content": {"event": "click"}}``), on the main shell as Notebook,
Voila or VS Code send it and on a subshell as JupyterLab does, and reads what the kernel
publishes on IOPub: the dashboard must say "stopping" before the cell ends, training must end
within one epoch of the click, and a cell queued behind the fit (as "Run All" queues them) must
run after it, never inside it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from kernel_session import CellRun, KernelSession, kernel_session

pytestmark = pytest.mark.slow

TIMEOUT_S = 300.0
EPOCHS = 200  # far more than a test can wait for: only Stop ends these fits in time

SETUP = """
import numpy as np, keras
from medinteract.learn.dashboard import TrainingDashboard
keras.utils.set_random_seed(0)
x = np.random.default_rng(0).random((256, 4)).astype("float32")
y = (x.sum(axis=1) > 2).astype(int)
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
dash = TrainingDashboard(display=True)
"""

FIT = f"""
history = model.fit(x, y, batch_size=8, epochs={EPOCHS}, validation_data=(x[:32], y[:32]),
                    verbose=0, callbacks=[dash])
print("fit returned after", len(history.history["loss"]), "epochs")
"""


@pytest.fixture(scope="module")
def kernel() -> Iterator[KernelSession]:
    with kernel_session(setup=SETUP) as session:
        yield session


def fit(kernel: KernelSession, cell: CellRun, clicker: ClickDuringFit | None = None
        ) -> CellRun:
    """Finish ``cell`` (watching it with ``clicker``); it must have succeeded."""
    kernel.finish(cell, timeout_s=TIMEOUT_S, on_message=clicker)
    assert cell.error is None, cell.traceback
    return cell


class ClickDuringFit:
    """Watches the dashboard's status on IOPub and clicks Stop once epoch 3 has begun."""

    def __init__(self, kernel: KernelSession, button: str, status: str,
                 subshell_id: str | None = None, queue_after_click: str | None = None) -> None:
        self.kernel, self.button, self.status = kernel, button, status
        self.subshell_id = subshell_id
        self.queue_after_click = queue_after_click
        self.epoch_at_click: int | None = None
        self.queued: CellRun | None = None

    def __call__(self, message: dict[str, Any]) -> None:
        if self.epoch_at_click is not None or message["msg_type"] != "comm_msg":
            return
        content = message["content"]
        state = content["data"].get("state", {})
        text = state.get("value") if content["comm_id"] == self.status else None
        if isinstance(text, str) and text.startswith("epoch "):
            epoch = int(text.split()[1].split("/")[0])
            if epoch >= 3:
                self.epoch_at_click = epoch
                if self.queue_after_click is not None:  # "Run All" has queued the next cell
                    self.queued = self.kernel.submit(self.queue_after_click)
                self.kernel.click(self.button, subshell_id=self.subshell_id)


def ids(kernel: KernelSession) -> tuple[str, str]:
    return (kernel.value("dash.stop_button.model_id"), kernel.value("dash.status.model_id"))


def check_stopped_within_one_epoch(kernel: KernelSession, run: CellRun,
                                   clicker: ClickDuringFit) -> None:
    button, status = clicker.button, clicker.status
    assert clicker.epoch_at_click is not None, "the fit never reached epoch 3"
    epochs_run = kernel.value("len(history.history['loss'])")
    # the click was sent during epoch k (as the browser last saw it): the fit ends in k or k+1
    assert clicker.epoch_at_click <= epochs_run <= clicker.epoch_at_click + 1 < EPOCHS
    assert f"fit returned after {epochs_run} epochs" in run.stdout
    # the dashboard said so while the cell was still running, and at the end
    updates = kernel.widget_updates(run, button)
    assert {"description": "Stopping"} in [
        {k: v for k, v in u.items() if k == "description"} for u in updates]
    texts = [u["value"] for u in kernel.widget_updates(run, status) if "value" in u]
    assert any(t.startswith("stopping after epoch") for t in texts)
    assert texts[-1].startswith(f"stopped by user after epoch {epochs_run}, batch ")
    stopped_at = kernel.value("dash.stopped_at")
    assert stopped_at[0] == epochs_run and kernel.value("dash.stop_requested") is True
    assert kernel.value("(dash.stop_button.description, dash.stop_button.disabled)") == [
        "Stopped", True]
    # nothing but the fit's own print went to the cell: no warnings, no log lines
    assert run.stderr == ""


def test_stop_click_on_the_main_shell_ends_fit_within_one_epoch(kernel) -> None:
    button, status = ids(kernel)
    clicker = ClickDuringFit(kernel, button, status,
                             queue_after_click="after_fit = len(history.history['loss'])\n"
                                               "print('queued cell saw', after_fit)")
    run = fit(kernel, kernel.submit(FIT), clicker)
    assert clicker.queued is not None, "the fit never reached epoch 3"
    queued = fit(kernel, clicker.queued)
    check_stopped_within_one_epoch(kernel, run, clicker)
    # the cell queued behind the fit ran after it, not inside it: it saw the fit's result
    epochs_run = kernel.value("len(history.history['loss'])")
    assert queued.reply["content"]["execution_count"] == run.reply["content"][
        "execution_count"] + 1
    assert f"queued cell saw {epochs_run}" in queued.stdout
    # the fit's output stayed with the fit's cell (the click handling did not steal it)
    statuses = [m for m in run.messages if m["msg_type"] == "update_display_data"]
    assert statuses and all(m["parent_header"]["msg_id"] == run.msg_id for m in statuses)


def test_the_button_works_again_for_the_next_fit_and_on_a_subshell(kernel) -> None:
    """JupyterLab sends widget messages on a subshell; ipykernel routes them to the main shell."""
    button, status = ids(kernel)
    clicker = ClickDuringFit(kernel, button, status, subshell_id=kernel.create_subshell())
    run = fit(kernel, kernel.submit(FIT), clicker)
    # the next fit re-enabled the button before the click
    first = kernel.widget_updates(run, button)[:2]
    assert {"description": "Stop"} in [{"description": u.get("description")} for u in first]
    assert {"disabled": False} in [{"disabled": u.get("disabled")} for u in first]
    check_stopped_within_one_epoch(kernel, run, clicker)


def test_a_fit_without_a_click_runs_to_the_end_in_a_kernel(kernel) -> None:
    run = fit(kernel, kernel.submit("""
history = model.fit(x, y, batch_size=64, epochs=3, verbose=0, callbacks=[dash])
print("fit returned after", len(history.history["loss"]), "epochs")
"""))
    assert "fit returned after 3 epochs" in run.stdout and run.stderr == ""
    assert kernel.value("(dash.stopped_at, dash.progress.bar_style)") == [None, "success"]
    assert kernel.value("dash.status.value").startswith("done: ")  # (history of all fits)


def test_cells_queued_by_run_all_run_after_the_fit_in_their_order(kernel) -> None:
    """"Run All" sends every cell at once: some wait in the kernel's loop, some in its socket.

    Those the dashboard reads while looking for widget messages go back to the kernel the way
    its loop would have passed them on, so they run after the fit, in the order sent.
    """
    button, status = ids(kernel)
    subshell = kernel.create_subshell()
    fitting = kernel.submit(FIT)
    queued = [kernel.submit(f"order = [*globals().get('order', []), {i}]")
              for i in range(4)]
    clicker = ClickDuringFit(kernel, button, status, subshell_id=subshell)
    fit(kernel, fitting, clicker)
    counts = [fit(kernel, cell).reply["content"]["execution_count"] for cell in queued]
    assert counts == list(range(fitting.reply["content"]["execution_count"] + 1,
                                fitting.reply["content"]["execution_count"] + 5))
    assert kernel.value("order") == [0, 1, 2, 3]
    check_stopped_within_one_epoch(kernel, fitting, clicker)
