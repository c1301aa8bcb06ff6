"""The training dashboard in a real JupyterLab: the user clicks Stop while ``model.fit`` runs.

"Run All" starts two long fits (only Stop can end them in time); the test clicks the real Stop
button in chromium during each, and checks what the page shows against what the kernel holds:
training ended within one epoch of the click, the dashboard says so, the button is enabled
again for the second fit, the status line fits in the notebook's width, and no cell printed
anything on stderr (no log noise).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from labdriver import START_RUN_ALL_JS, LabPage, open_notebook

pytestmark = [pytest.mark.browser, pytest.mark.slow]

EPOCHS = 200
NOTEBOOK_CELLS = [
    # as the tutorials do: TensorFlow's own start-up lines are not the dashboard's
    'import os\nos.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")\n'
    "import numpy as np, keras\n"
    "from medinteract.learn.dashboard import TrainingDashboard\n"
    "keras.utils.set_random_seed(0)\n"
    'x = np.random.default_rng(0).random((256, 4)).astype("float32")\n'
    "y = (x.sum(axis=1) > 2).astype(int)\n"
    'model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])\n'
    'model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])\n'
    "dash = TrainingDashboard()",
    f"first = model.fit(x, y, batch_size=8, epochs={EPOCHS}, validation_data=(x[:32], y[:32]),"
    " verbose=0, callbacks=[dash])",
    f"second = model.fit(x, y, batch_size=8, epochs={EPOCHS}, verbose=0, callbacks=[dash])",
    'print("epochs run:", len(first.history["loss"]), len(second.history["loss"]))',
]

STATUS = ".mi-dashboard-status"
BUTTON = "button.mi-dashboard-stop-button"

KERNEL_VALUE_JS = """
async (code) => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  let text = '';
  const future = kernel.requestExecute({code, silent: false, store_history: false});
  future.onIOPub = (msg) => { if (msg.header.msg_type === 'stream') { text += msg.content.text; } };
  await future.done;
  return text;
}
"""

CELL_OUTPUTS_JS = """
() => window.jupyterapp.shell.currentWidget.content.widgets
  .filter((cell) => cell.model.type === 'code')
  .map((cell) => cell.model.outputs.toJSON())
"""

STATUS_FITS_JS = """
() => [...document.querySelectorAll('.mi-dashboard-status')].map((node) => {
  const area = node.closest('.jp-OutputArea-output').getBoundingClientRect();
  const box = node.getBoundingClientRect();
  const text = node.querySelector('.widget-html-content') || node;
  return {right: box.right, areaRight: area.right, overflow: text.scrollWidth - text.clientWidth,
          text: node.textContent};
})
"""


def status_epoch(lab_page: LabPage) -> int:
    """The epoch the (last shown) status line reports, 0 before the first batch."""
    text = lab_page.page.locator(STATUS).last.inner_text()
    found = re.match(r"epoch (\d+)/", text)
    return int(found.group(1)) if found else 0


def click_stop_at_epoch(lab_page: LabPage, epoch: int) -> int:
    """Wait until the page shows ``epoch`` or later, click the real Stop button; return it."""
    page = lab_page.page
    page.wait_for_function(
        "([sel, n]) => [...document.querySelectorAll(sel)].some((node) => {"
        "  const m = node.textContent.match(/^epoch (\\d+)\\//); return m && +m[1] >= n; })",
        arg=[STATUS, epoch], timeout=180_000)
    seen = status_epoch(lab_page)
    button = page.locator(BUTTON).last
    assert button.is_enabled() and button.inner_text().strip() == "Stop"
    button.click()
    return seen


def kernel_value(lab_page: LabPage, expression: str) -> Any:
    import ast

    return ast.literal_eval(lab_page.page.evaluate(KERNEL_VALUE_JS, f"print(repr({expression}))"))


def test_stop_button_ends_each_fit_within_one_epoch(lab_page: LabPage) -> None:
    name = lab_page.server.write_notebook("browser_dashboard.ipynb", NOTEBOOK_CELLS)
    page = lab_page.page
    open_notebook(lab_page, name)
    page.evaluate(START_RUN_ALL_JS)

    first_click = click_stop_at_epoch(lab_page, 3)
    page.wait_for_function(  # the kernel said "stopping" while the cell still ran
        f"() => [...document.querySelectorAll('{STATUS}')].some("
        "(n) => /^(stopping|stopped by user)/.test(n.textContent))", timeout=60_000)
    # the second fit enables the button again (both views of the dashboard show it)
    page.wait_for_function(
        f"() => {{ const b = [...document.querySelectorAll('{BUTTON}')]; return b.length === 2"
        " && b.every((n) => !n.disabled && n.textContent.trim() === 'Stop'); }",
        timeout=120_000)
    lab_page.screenshot("dashboard_second_fit_running", whole_notebook=False)
    second_click = click_stop_at_epoch(lab_page, 3)
    page.wait_for_function(
        "() => ![...document.querySelectorAll('.jp-NotebookPanel .jp-InputPrompt')]"
        ".some((n) => n.textContent.includes('[*]'))", timeout=120_000)
    page.wait_for_timeout(500)  # echoes arrive after idle
    lab_page.screenshot("dashboard_after_two_stops")

    first_epochs, second_epochs = kernel_value(
        lab_page, "(len(first.history['loss']), len(second.history['loss']))")
    assert first_click <= first_epochs <= first_click + 1 < EPOCHS
    assert second_click <= second_epochs <= second_click + 1 < EPOCHS
    # what the page shows is what the kernel holds
    kernel_status = kernel_value(lab_page, "dash.status.value")
    assert kernel_status.startswith(f"stopped by user after epoch {second_epochs}, batch ")
    shown = page.evaluate(STATUS_FITS_JS)
    assert [s["text"] for s in shown] == [kernel_status, kernel_status]
    assert [b.inner_text().strip() for b in page.locator(BUTTON).all()] == ["Stopped"] * 2
    # the status line fits in the notebook: nothing cut off at the right
    for status in shown:
        assert status["overflow"] <= 0 and status["right"] <= status["areaRight"] + 0.5, status
    # no errors and no log noise from training: nothing on stderr, no tracebacks (the first
    # cell may carry matplotlib's one-off "building the font cache" in this fresh set-up)
    outputs = page.evaluate(CELL_OUTPUTS_JS)
    noise = [o for cell in outputs[1:] for o in cell
             if o["output_type"] == "error"
             or (o["output_type"] == "stream" and o["name"] == "stderr")]
    assert not noise
    assert all(o["output_type"] != "error" for o in outputs[0])
    assert outputs[-1][0]["text"] == f"epochs run: {first_epochs} {second_epochs}\n"
    assert not lab_page.console_errors and not lab_page.page_errors


def test_status_line_wraps_in_a_narrow_notebook(lab_page: LabPage) -> None:
    """A long status (the summary after training) wraps instead of being cut off."""
    name = lab_page.server.write_notebook("browser_dashboard_narrow.ipynb", [
        "from medinteract.learn.dashboard import TrainingDashboard\n"
        "dash = TrainingDashboard()\n"
        "dash.status.value = 'done: 12 epochs, ' + ', '.join("
        "f'metric_{i} 0.{i:04d}' for i in range(12)) + ' (0:15)'\n"
        "dash.widget",
    ])
    lab_page.page.set_viewport_size({"width": 700, "height": 900})
    open_notebook(lab_page, name)
    lab_page.page.evaluate(START_RUN_ALL_JS)
    lab_page.page.wait_for_selector(STATUS, timeout=60_000)
    lab_page.page.wait_for_timeout(300)
    (status,) = lab_page.page.evaluate(STATUS_FITS_JS)
    assert status["text"].endswith("(0:15)")
    assert status["overflow"] <= 0 and status["right"] <= status["areaRight"] + 0.5, status
    lab_page.screenshot("dashboard_narrow", whole_notebook=False)
