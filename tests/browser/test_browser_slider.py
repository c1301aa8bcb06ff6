"""Our slider in JupyterLab (headless chromium): what a user does reaches the kernel, what the
kernel holds is what the page shows, and the slider's keys never run notebook shortcuts.

One notebook with three panels (a threshold in HU with an optional ``low``, a logarithmic
gamma, an integer median size) is run once; each test drives the page as a user does (keys on
a handle, a drag on the track, typing into the readout, the "none" box, bursts of key presses
while a cell runs) and compares the page with the kernel.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from labdriver import LabPage, LabServer, kernel_output, lab_page_on, open_and_run_all
from widgetstate import kernel_value, mismatches, page_controls, settle

pytestmark = pytest.mark.browser

CELLS = [
    "import medinteract as mi\n"
    "scan = mi.data.phantom(shape=(96, 96), n_nodules=2, seed=3).scan",
    "t = mi.panels.threshold(scan, low=-400.0)\nt",
    "g = mi.panels.enhance(scan, 'gamma', gamma=0.5)\ng",
    "m = mi.panels.panel(scan, 'median', size=3)\nm",
    "def control_id(panel, name):\n    return panel.controls[name].model_id",
]


@pytest.fixture(scope="module")
def slider_page(lab_server: LabServer, chromium_browser: Any) -> Iterator[LabPage]:
    """The notebook above, run once; the page stays open for the tests (in order)."""
    with lab_page_on(chromium_browser, lab_server) as page:
        name = lab_server.write_notebook("sliders.ipynb", CELLS)
        open_and_run_all(page, name).assert_clean()
        settle(page)
        yield page


def held(page: LabPage, panel: str, name: str) -> Any:
    """The parameter's value in the kernel."""
    return kernel_value(page, f"{panel}.params[{name!r}]")


def shown(page: LabPage, panel: str, name: str) -> list[Any]:
    """The value every view of the parameter's slider holds and its readout's text."""
    model_id = kernel_value(page, f"control_id({panel}, {name!r})")
    return [(view["value"], view["text"]) for view in page_controls(page)[model_id]]


def handle(page: LabPage, css: str, name: str, index: int = 0) -> Any:
    return page.page.locator(f".{css} .mi-param-{name} .mi-slider-handle").nth(index)


def readout(page: LabPage, css: str, name: str) -> Any:
    return page.page.locator(f".{css} .mi-param-{name} .mi-slider-readout").first


def assert_agree(page: LabPage, panel: str, name: str, expected: Any) -> None:
    settle(page, 800)
    assert held(page, panel, name) == expected
    assert [value for value, _ in shown(page, panel, name)] == [expected]
    assert not mismatches(page)


def test_keys_step_on_the_grid_from_any_value(slider_page: LabPage) -> None:
    kernel_output(slider_page, "t.set(low=-401.3)")  # off the 5 HU grid, as set_auto gives
    assert_agree(slider_page, "t", "low", -401.3)
    assert shown(slider_page, "t", "low")[0][1] == "-401.3"  # shown as it is
    low_min, step = kernel_value(slider_page, "[t.controls['low'].min, t.controls['low'].step]")
    assert step == 2.0  # the 1-2-5 step near 1/1000 of this phantom's HU range
    low = handle(slider_page, "mi-panel-threshold", "low")
    low.focus()
    slider_page.page.keyboard.press("ArrowRight")  # the next grid value up
    assert_agree(slider_page, "t", "low", -400.0)
    for _ in range(3):
        slider_page.page.keyboard.press("ArrowLeft")
    assert_agree(slider_page, "t", "low", -406.0)
    slider_page.page.keyboard.press("PageUp")  # ten steps
    assert_agree(slider_page, "t", "low", -386.0)
    slider_page.page.keyboard.press("Home")
    assert_agree(slider_page, "t", "low", low_min)


def test_keys_on_a_slider_never_run_notebook_shortcuts(slider_page: LabPage) -> None:
    page = slider_page.page
    cells = "window.jupyterapp.shell.currentWidget.content.widgets.length"
    active = "window.jupyterapp.shell.currentWidget.content.activeCellIndex"
    low = handle(slider_page, "mi-panel-threshold", "low")
    low.focus()  # focus in a cell's output selects that cell, as a click does
    before = page.evaluate(f"() => [{cells}, {active}]")
    start = held(slider_page, "t", "low")
    for key in ("a", "b", "x", "m", "y", "d", "d", "z", "Shift+ArrowDown", "Enter", "Escape",
                "ArrowUp"):
        page.keyboard.press(key)
    after = page.evaluate(f"() => [{cells}, {active}]")
    assert after == before  # no cell inserted, cut, deleted or changed type; selection stays
    assert page.evaluate("() => document.activeElement.classList.contains('mi-slider-handle')")
    assert_agree(slider_page, "t", "low", start + 2.0)  # only ArrowUp moved it, one step


def test_typing_a_value_into_the_readout_sets_it_exactly(slider_page: LabPage) -> None:
    box = readout(slider_page, "mi-panel-threshold", "low")
    box.click()
    box.fill("-123.45")
    box.press("Enter")
    assert_agree(slider_page, "t", "low", -123.45)
    box.fill("99999")  # outside the image's range: refused, nothing sent
    box.press("Enter")
    assert "mi-slider-invalid" in (box.get_attribute("class") or "")
    box.press("Escape")
    assert_agree(slider_page, "t", "low", -123.45)


def test_dragging_lands_on_the_grid(slider_page: LabPage) -> None:
    page = slider_page.page
    track = page.locator(".mi-panel-threshold .mi-param-low .mi-slider-track").first
    box = track.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.25, y)
    page.mouse.down()
    for fraction in (0.3, 0.4, 0.5, 0.6):
        page.mouse.move(box["x"] + box["width"] * fraction, y)
    page.mouse.up()
    settle(slider_page, 800)
    value = held(slider_page, "t", "low")
    bounds = kernel_value(slider_page, "[t.controls['low'].min, t.controls['low'].step]")
    steps = (value - bounds[0]) / bounds[1]
    assert abs(steps - round(steps)) < 1e-9  # on the grid
    assert_agree(slider_page, "t", "low", value)
    assert not kernel_value(slider_page, "t.busy") and kernel_value(slider_page, "t.error") == ""


def test_the_none_box_sets_none_and_back(slider_page: LabPage) -> None:
    page = slider_page.page
    box = page.locator(".mi-panel-threshold .mi-param-low .mi-slider-none input").first
    before = held(slider_page, "t", "low")
    box.check()
    assert_agree(slider_page, "t", "low", None)
    assert shown(slider_page, "t", "low")[0][1] == "none"
    box.uncheck()  # the handle stayed where it was: that value comes back
    assert_agree(slider_page, "t", "low", before)
    high = page.locator(".mi-panel-threshold .mi-param-high .mi-slider-none input").first
    assert high.is_checked()  # high starts as None
    assert held(slider_page, "t", "high") is None


def test_a_log_slider_steps_in_exponents(slider_page: LabPage) -> None:
    gamma = handle(slider_page, "mi-panel-gamma", "gamma")
    gamma.focus()
    slider_page.page.keyboard.press("ArrowRight")
    value = held(slider_page, "g", "gamma")  # the next grid exponent: log10(0.5) -> -0.3
    assert value == pytest.approx(10 ** -0.3, rel=1e-11)
    assert_agree(slider_page, "g", "gamma", value)
    kernel_output(slider_page, "g.set(gamma=0.7)")  # not on the exponent grid: shown as it is
    assert_agree(slider_page, "g", "gamma", 0.7)
    assert shown(slider_page, "g", "gamma")[0][1] == "0.7"


def test_bursts_from_the_user_and_from_code_end_equal(slider_page: LabPage) -> None:
    page = slider_page.page
    kernel_output(slider_page, "m.set(size=3)")
    settle(slider_page, 500)
    size = handle(slider_page, "mi-panel-median", "size")
    size.focus()
    for _ in range(4):  # a burst of key presses: every one lands (size steps by 2)
        page.keyboard.press("ArrowRight")
    assert_agree(slider_page, "m", "size", 11)
    # code sets values in a loop while the user keeps pressing keys: both streams cross
    page.evaluate("""() => {
      const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
      kernel.requestExecute({code: 'import time\\nfor v in (9, 11, 13, 3, 5):\\n'
                                  + '    m.set(size=v)\\n    time.sleep(0.2)'});
    }""")
    size.focus()
    for _ in range(6):
        page.keyboard.press("ArrowRight")
        page.wait_for_timeout(120)
    settle(slider_page, 1500)
    final = held(slider_page, "m", "size")
    assert [value for value, _ in shown(slider_page, "m", "size")] == [final]
    assert not mismatches(slider_page)
    assert kernel_value(slider_page, "m.result is not None and not m.busy")
