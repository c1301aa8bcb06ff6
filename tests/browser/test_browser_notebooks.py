"""Every tutorial notebook opens in JupyterLab, runs top to bottom and renders its widgets.

Each notebook in ``notebooks/`` is run with "Run All Cells" in headless chromium, from a copy of
the whole folder (so relative paths work and the originals are never touched). A notebook
fails on any kernel error output, "Error displaying widget", "Traceback" text in an output,
widget stuck at "Loading widget...", or browser console error; and when every slider,
dropdown and list the page shows does not equal the kernel-side value of its widget
(:mod:`widgetstate`: no drift after Run All). A screenshot of each notebook is saved for review.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from labdriver import REPO_ROOT, LabServer
from widgetstate import mismatches, settle

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTEBOOK_DIR = REPO_ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
NOTEBOOK_TIMEOUT_S = 600.0

# Notebooks known to fail under "Run All" in JupyterLab, with the reason; each runs as a
# non-strict xfail (so it is still run and reported) until the notebook is fixed. Keep empty.
KNOWN_BROKEN: dict[str, str] = {}


def notebook_param(path: Path) -> object:
    """A pytest parameter for one notebook, marked xfail if it is known to be broken."""
    reason = KNOWN_BROKEN.get(path.stem)
    marks = [pytest.mark.xfail(reason=reason, strict=False)] if reason else []
    return pytest.param(path, id=path.stem, marks=marks)


@pytest.fixture(scope="module")
def notebooks_in_lab(lab_server: LabServer) -> Path:
    """A copy of ``notebooks/`` inside the server root; returns it."""
    target = lab_server.root_dir / "notebooks"
    if not target.exists():
        shutil.copytree(
            NOTEBOOK_DIR, target, ignore=shutil.ignore_patterns(".ipynb_checkpoints")
        )
    return target


@pytest.mark.parametrize("notebook", [notebook_param(path) for path in NOTEBOOKS])
def test_notebook_runs_and_renders_in_jupyterlab(
    notebook: Path, notebooks_in_lab: Path, lab_page, open_and_run_all
) -> None:
    run = open_and_run_all(f"notebooks/{notebook.name}", timeout_s=NOTEBOOK_TIMEOUT_S)
    lab_page.screenshot(f"notebook_{notebook.stem}")
    run.assert_clean()
    assert run.code_cells > 0
    settle(lab_page)  # echoes, if any, arrive after the kernel went idle
    assert not mismatches(lab_page), "controls that do not show the kernel's value"
