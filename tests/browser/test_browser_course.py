"""What a student sees of tutorial 06's region table in JupyterLab.

The measure panel's table has about twenty columns, wider than a notebook. A student must be
able to reach every column: the table either fits, or sits in a box that scrolls sideways and
brings its last column into view.
"""

from __future__ import annotations

import pytest

from labdriver import LabPage

pytestmark = pytest.mark.browser

NOTEBOOK_CELLS = [
    "import medinteract as mi",
    "chest = mi.data.phantom(shape=(256, 256), n_nodules=3, seed=7)\n"
    "panel = mi.panels.measure(chest.scan, chest.nodules)\npanel",
]

# Scroll the nearest sideways-scrolling box around the table fully right, then report whether
# the last header cell lies inside what that box (and the notebook's output area) shows.
LAST_COLUMN_VISIBLE_JS = """(table) => {
  const area = table.closest('.jp-OutputArea-output') || document.body;
  let box = table.parentElement;
  while (box && box !== area) {
    const style = getComputedStyle(box);
    if (['auto', 'scroll'].includes(style.overflowX) && box.scrollWidth > box.clientWidth) break;
    box = box.parentElement;
  }
  if (box && box !== area) box.scrollLeft = box.scrollWidth;
  const cells = table.querySelectorAll('th');
  const last = cells[cells.length - 1].getBoundingClientRect();
  const shown = (box && box !== area ? box : area).getBoundingClientRect();
  const outer = area.getBoundingClientRect();
  return {columns: cells.length, last_right: last.right, box_right: shown.right,
          area_right: outer.right, scrolls: !!(box && box !== area)};
}"""


def test_every_column_of_the_region_table_can_be_seen(lab_page: LabPage,
                                                        open_and_run_all) -> None:
    name = lab_page.server.write_notebook("course_region_table.ipynb", NOTEBOOK_CELLS)
    run = open_and_run_all(name)
    run.assert_clean()
    page = lab_page.page
    table = page.locator(".mi-region-table table").first
    table.wait_for(timeout=30_000)
    table.scroll_into_view_if_needed()
    seen = page.evaluate(LAST_COLUMN_VISIBLE_JS, table.element_handle())
    lab_page.screenshot("course_region_table", whole_notebook=False)
    assert seen["columns"] > 10, seen
    assert seen["last_right"] <= min(seen["box_right"], seen["area_right"]) + 1, seen
