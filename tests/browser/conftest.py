"""Pytest fixtures for the browser tests: one JupyterLab per session, a fresh page per test.

The machinery lives in ``labdriver.py`` (shared with ``benchmarks/bench_browser.py``). Without
``/usr/bin/chromium`` (or without playwright) the browser tests are skipped, unless
``MEDINTERACT_REQUIRE_BROWSER=1`` is set (CI sets it); then they fail.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # labdriver, whatever the import mode

from labdriver import (  # noqa: E402
    CHROMIUM,
    RUN_ALL_TIMEOUT_S,
    LabPage,
    LabServer,
    NotebookRun,
    browser_required,
    chromium,
    lab_page_on,
    open_and_run_all,
    running_lab_server,
)

from medinteract.learn.medmnist import medmnist_fixtures  # noqa: E402


def skip_or_fail(reason: str) -> None:
    """Skip the test, or fail it when ``MEDINTERACT_REQUIRE_BROWSER=1``."""
    if browser_required():
        pytest.fail(f"{reason} (MEDINTERACT_REQUIRE_BROWSER=1 forbids skipping)", pytrace=False)
    pytest.skip(reason)


# --------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """A JupyterLab server from this venv, started once per session (browser tests only).

    Its kernels run offline: ``fetch_medmnist`` reads fixtures (as under nbval).
    """
    if not CHROMIUM.exists():
        skip_or_fail(f"{CHROMIUM} not found (apt-get install chromium)")
    with medmnist_fixtures(), running_lab_server(tmp_path_factory.mktemp("jupyterlab")) as server:
        yield server


@pytest.fixture(scope="session")
def chromium_browser() -> Iterator[Any]:
    """Headless Debian chromium driven by Playwright (never a downloaded browser)."""
    if not CHROMIUM.exists():
        skip_or_fail(f"{CHROMIUM} not found (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        skip_or_fail("playwright is not installed (pip install playwright)")
    with chromium() as browser:
        yield browser


@pytest.fixture
def lab_page(lab_server: LabServer, chromium_browser: Any) -> Iterator[LabPage]:
    """A fresh browser context and page on the test JupyterLab, console errors recorded."""
    with lab_page_on(chromium_browser, lab_server) as page:
        yield page


@pytest.fixture(name="open_and_run_all")
def open_and_run_all_fixture(lab_page: LabPage) -> Any:
    """``open_and_run_all(notebook)`` bound to this test's page; returns a NotebookRun."""

    def run(notebook: str, *, timeout_s: float = RUN_ALL_TIMEOUT_S) -> NotebookRun:
        return open_and_run_all(lab_page, notebook, timeout_s=timeout_s)

    return run
