"""Switching the shown card in bursts from code (the op chooser's ``Deck``) in JupyterLab.

``ipywidgets.Stack``'s browser view removes the shown child's view and creates the next one's
at every change of ``selected_index``, then posts a resize message to the views it created; in
a burst (a loop in code, Run All) that message can reach a view the next change has already
removed, and JupyterLab's widget manager logs ``TypeError: Cannot read properties of null
(reading 'processLuminoMessage')``. ``Deck`` switches by layout only: after a burst the page is
clean and shows exactly the card the kernel chose.
"""

from __future__ import annotations

import pytest

from labdriver import LabPage, LabServer, open_and_run_all
from widgetstate import kernel_value, settle

pytestmark = pytest.mark.browser

CELLS = [
    "import ipywidgets as widgets\nimport medinteract as mi\n"
    "from medinteract.panels.views import Deck\n"
    "scan = mi.data.phantom(shape=(16, 128, 128), n_nodules=1, seed=1).scan",
    # cards whose views take a while to create, as a panel's do (a viewer in each)
    "cards = [widgets.VBox([widgets.HTML(f'<span class=\"mi-card\">card {i}</span>'),"
    " mi.view(scan)]) for i in range(4)]\n"
    "deck = Deck(cards, selected_index=0)\ndeck",
    "for i in range(40):\n    deck.selected_index = i % 4\ndeck.selected_index = 2",
]


def test_a_burst_of_switches_leaves_the_page_clean_and_shows_the_chosen_card(
        lab_page: LabPage, lab_server: LabServer) -> None:
    name = lab_server.write_notebook("deck.ipynb", CELLS)
    open_and_run_all(lab_page, name).assert_clean()
    settle(lab_page)
    assert kernel_value(lab_page, "deck.selected_index") == 2
    visible = lab_page.page.evaluate(
        "() => [...document.querySelectorAll('.mi-card')]"
        ".filter((card) => card.offsetParent !== null).map((card) => card.textContent)")
    assert visible == ["card 2"]
    assert lab_page.page.locator(".mi-card").count() == 4  # every card stays in the page
