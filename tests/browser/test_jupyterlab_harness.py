"""The browser harness itself: a clean notebook passes, a broken one is caught."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser


def test_widget_notebook_runs_clean_on_the_venv_kernel(lab_page, open_and_run_all) -> None:
    name = lab_page.server.write_notebook(
        "harness_clean.ipynb",
        [
            "import ipywidgets as widgets\nslider = widgets.IntSlider(value=3, max=10)\n"
            "slider.add_class('harness-slider')\nslider",
            "print(slider.value * 2)",
        ],
    )
    run = open_and_run_all(name)
    run.assert_clean()
    assert run.kernel["name"] == "python3"
    assert run.kernel["implementation"] == "ipython"
    assert Path(run.kernel["prefix"]).resolve() == Path(sys.prefix).resolve()
    assert lab_page.page.locator(".harness-slider .noUi-handle").count() == 1
    lab_page.screenshot("harness_clean")


BROKEN_WIDGET = """
import ipywidgets as widgets
from traitlets import Unicode


class MissingView(widgets.DOMWidget):
    _view_module = Unicode("@jupyter-widgets/controls").tag(sync=True)
    _view_module_version = Unicode(
        widgets.IntSlider().get_state()["_view_module_version"]
    ).tag(sync=True)
    _view_name = Unicode("NoSuchView").tag(sync=True)


MissingView()
"""


def test_kernel_errors_and_broken_widgets_are_reported(lab_page, open_and_run_all) -> None:
    name = lab_page.server.write_notebook(
        "harness_broken.ipynb",
        [BROKEN_WIDGET, "1 / 0", "print('never runs')"],
    )
    run = open_and_run_all(name)
    problems = "\n".join(run.problems())
    assert run.widget_errors, problems
    assert "ZeroDivisionError" in problems
    assert run.tracebacks
    assert not run.run_all_ok
    assert run.unexecuted_cells == [2]
    assert run.code_cells == 3
