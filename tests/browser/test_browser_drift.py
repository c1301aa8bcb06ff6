"""No drift: after Run All, the kernel holds the value code set last and the page shows it.

The cases of issue 9 as a user meets them in JupyterLab (headless chromium): code sets a
panel's parameters several times in a row (tutorial 05's ``set_auto`` calls then
``set(low=-400.0)``, a loop of ``set`` calls, tutorial 04's window panel set to a bone window)
and selects a row of a measure panel from code. Run All queues every cell before the browser
has answered anything, so any value the browser sends back on its own (a slider snapping a
value to its grid) would land after the last cell and overwrite it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from labdriver import LabPage, LabServer, lab_page_on, open_and_run_all
from widgetstate import kernel_controls, kernel_value, mismatches, page_controls, settle

pytestmark = pytest.mark.browser

CELLS = [
    "import medinteract as mi",
    "chest = mi.data.phantom(shape=(256, 256), n_nodules=3, seed=7)\nscan = chest.scan",
    # tutorial 05
    "body_panel = mi.panels.threshold(scan, low=-400.0)\nbody_panel",
    "for method in ('otsu', 'li', 'yen', 'triangle'):\n    body_panel.set_auto(method)",
    "body_panel.set(low=-400.0)",
    # a loop of set() calls
    "p = mi.panels.threshold(scan, low=-400.0)\np",
    "for v in (-900.0, -700.0, -500.0, -300.0, -250.0):\n    p.set(low=v)",
    # tutorial 04: the window panel
    "head = mi.data.head_ct()\nwindow_panel = mi.panels.enhance(head, 'window', center=40.0,"
    " width=80.0)\nwindow_panel",
    "for center, width in ((40.0, 80.0), (75.0, 215.0), (600.0, 2800.0)):\n"
    "    window_panel.set(center=center, width=width)",
    # a measure panel's selection from code
    "measured = mi.panels.measure(scan, chest.nodules)\nmeasured",
    "measured.selected = 2",
    # tutorial 06: a measure panel chained to panels, filtered, then a row selected
    "import numpy as np\n"
    "body = mi.ops.fill_holes(mi.ops.threshold(scan, low=-400.0))\n"
    "lung_region = mi.ops.fill_holes(body & mi.ops.threshold(scan, high=-400.0))\n"
    "in_lungs = scan.with_array(np.where(lung_region, scan.array, -1000.0))\n"
    "found = mi.panels.threshold(in_lungs, low=-400.0)\n"
    "cleaned = mi.panels.panel(found, 'opening', radius=1.0)\n"
    "chained = mi.panels.measure(scan, cleaned)\nchained",
    "cleaned.set(radius=2.5)",
    "cleaned.set(radius=1.0)\n"
    "kept = chained.filter('area_mm2', minimum=30.0)\n"
    "largest = int(kept.sort_values('area_mm2').iloc[-1]['label'])\n"
    "chained.selected = largest",
    # dropdowns, checkboxes, toggle buttons and lists set in bursts from code
    "mask = chest.nodules > 0\n"
    "holes = mi.panels.panel(mask, 'fill_holes')\n"
    "norm = mi.panels.panel(scan, 'normalize')\n"
    "chooser = mi.panels.choose(scan, 'denoise')\n"
    "paint = mi.panels.annotate(scan)\n"
    "display(holes, norm, chooser, paint)",
    "for flag in (True, False, True, True, False):\n"
    "    holes.set(per_slice_2d=flag)\n"
    "for method in ('minmax', 'zscore', 'minmax'):\n"
    "    norm.set(method=method)\n"
    "for op in ('median', 'mean', 'gaussian', 'median'):\n"
    "    chooser.op = op\n"
    "for tool in ('erase', 'fill', 'paint', 'erase'):\n"
    "    paint.tool = tool\n"
    "for v in (-900.0, -300.0, 100.0):\n"
    "    measured.filter('area_mm2', minimum=0.0)\n"
    "    measured.filter_column = ''",
    # the ids of the controls the tests read
    "def control_id(panel, name):\n"
    "    control = panel.controls[name]\n"
    "    return getattr(control, 'inner', control).model_id\n"
    "\n"
    "def find_control(panel, css):\n"
    "    todo = [getattr(panel, 'widget', panel)]\n"
    "    while todo:\n"
    "        widget = todo.pop()\n"
    "        if css in getattr(widget, '_dom_classes', ()):\n"
    "            return widget.model_id\n"
    "        todo.extend(getattr(widget, 'children', ()))",
]


@pytest.fixture(scope="module")
def drift_page(lab_server: LabServer, chromium_browser: Any) -> Iterator[LabPage]:
    """The notebook above, run once with Run All; the page stays open for the tests."""
    with lab_page_on(chromium_browser, lab_server) as page:
        name = lab_server.write_notebook("drift.ipynb", CELLS)
        run = open_and_run_all(page, name)
        run.assert_clean()
        settle(page)
        yield page


def shown_values(page: LabPage, model_id: str) -> list[Any]:
    """What every view of a widget shows (a number, or an option index)."""
    views = page_controls(page).get(model_id, [])
    assert views, f"no view of widget {model_id} on the page"
    shown = []
    for view in views:
        if "value" in view:
            shown.append(view["value"])
        elif "index" in view:
            shown.append(view["index"])
        else:
            shown.append(float(view["text"]))
    return shown


def test_set_after_set_auto_holds_the_last_value(drift_page: LabPage) -> None:
    assert kernel_value(drift_page, "body_panel.params['low']") == -400.0
    control = kernel_value(drift_page, "control_id(body_panel, 'low')")
    assert shown_values(drift_page, control) == [-400.0, -400.0]  # two displays of the panel


def test_a_loop_of_set_calls_ends_on_the_last(drift_page: LabPage) -> None:
    assert kernel_value(drift_page, "p.params['low']") == -250.0
    control = kernel_value(drift_page, "control_id(p, 'low')")
    assert shown_values(drift_page, control) == [-250.0]


def test_the_window_panel_shows_the_bone_window(drift_page: LabPage) -> None:
    assert kernel_value(drift_page, "window_panel.params") == {"center": 600.0, "width": 2800.0}
    for name, expected in (("center", 600.0), ("width", 2800.0)):
        control = kernel_value(drift_page, f"control_id(window_panel, {name!r})")
        assert shown_values(drift_page, control) == [expected]


@pytest.mark.parametrize("name", ["measured", "chained"])
def test_a_selection_from_code_is_shown_in_the_list(drift_page: LabPage, name: str) -> None:
    selected = kernel_value(drift_page, f"{name}.selected")
    assert selected == kernel_value(drift_page, "largest" if name == "chained" else "2")
    region_list = kernel_value(drift_page, f"find_control({name}, 'mi-region-select')")
    state = kernel_controls(drift_page, [region_list])[region_list]
    assert state["value"] == selected
    assert shown_values(drift_page, region_list) == [state["index"]]


def test_choices_flags_and_lists_show_the_last_value_set(drift_page: LabPage) -> None:
    assert kernel_value(drift_page, "[holes.params, norm.params, chooser.op, paint.tool]") == [
        {"per_slice_2d": False}, {"method": "minmax"}, "median", "erase"]
    for expression, css, expected in (
            ("holes", "mi-param-per_slice_2d", False), ("norm", "mi-param-method", 1),
            ("chooser", "mi-op-menu", None), ("paint", "mi-annotate-tool", 1)):
        control = kernel_value(drift_page, f"find_control({expression}, {css!r})")
        state = kernel_controls(drift_page, [control])[control]
        views = page_controls(drift_page)[control]
        assert len(views) == 1, expression
        if "checked" in views[0]:
            assert views[0]["checked"] is expected is state["value"]
        else:
            assert views[0]["index"] == state["index"]
            assert expected is None or state["index"] == expected
    assert kernel_value(drift_page, "measured.filter_column") == ""


def test_every_control_shows_the_kernels_value(drift_page: LabPage) -> None:
    assert not mismatches(drift_page)
