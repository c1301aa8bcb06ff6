"""Run a coroutine in an event loop of its own, as a kernel's main thread runs its loop.

``asyncio.run`` refuses to start inside a thread whose loop is already running (in a full
test run, the browser tests' playwright leaves one in the main thread), so the scenario runs
in a fresh thread: the panel made there lives on that thread's loop, as a panel made in a
notebook cell lives on the kernel's.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
THREAD_NAME = "kernel-main"
TIMEOUT_S = 120.0


def run_in_loop(scenario: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """``asyncio.run(scenario())`` on a new thread named ``kernel-main``; its result or error."""
    outcome: dict[str, Any] = {}

    def main() -> None:
        try:
            outcome["value"] = asyncio.run(scenario())
        except BaseException as error:  # noqa: BLE001 - re-raised in the caller
            outcome["error"] = error

    thread = threading.Thread(target=main, name=THREAD_NAME)
    thread.start()
    thread.join(TIMEOUT_S)
    if thread.is_alive():
        raise TimeoutError(f"the event loop's scenario did not finish in {TIMEOUT_S} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
