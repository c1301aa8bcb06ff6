"""Results, status and errors are applied on the panel's home thread, and no error vanishes.

Computations may run in the background thread; everything they change (``result``, readouts,
``status``, ``error``, ``busy``, the views, chained panels, a measure panel's table) changes on
the thread the panel lives on: in a script or in ``wait()`` the calling thread, in a kernel
its event loop (simulated here with asyncio, as ipykernel runs one). An exception anywhere shows
in the panel's ``error`` and status, and the last good result stays.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Annotated, Any

import numpy as np
import pytest
from eventloop import THREAD_NAME, run_in_loop

from medinteract.data import phantom
from medinteract.params import Image, ImageIn, Range
from medinteract.panels import measure, panel, threshold

TIMEOUT = 30  # seconds; only guards against a hang, never asserted on


@pytest.fixture(scope="module")
def ct():
    return phantom(shape=(64, 64), n_nodules=2, nodule_radius_mm=(4.0, 6.0), nodule_hu=2500.0,
                   seed=2)


def scale(image: ImageIn, *, k: Annotated[float, Range(0.0, 10.0, step=1.0)] = 1.0) -> Image:
    """Multiply by k (fails for k = 3)."""
    if k == 3.0:
        raise ValueError("k = 3 is unlucky")
    return np.asarray(image, dtype=np.float32) * np.float32(k)


class ThreadLog:
    """Records the thread of every change of some traits of some objects."""

    def __init__(self, *objects: Any, names: tuple[str, ...]) -> None:
        self.threads: list[tuple[str, str]] = []
        for obj in objects:
            obj.observe(self._seen, list(names))

    def _seen(self, change: dict) -> None:
        self.threads.append((change["name"], threading.current_thread().name))

    def others(self, home: str) -> list[tuple[str, str]]:
        return [(name, thread) for name, thread in self.threads if thread != home]


STATE = ("result", "status", "error", "busy", "run_count", "preview", "showing_preview",
         "params")


def test_background_results_are_applied_on_the_waiting_thread(ct):
    p = panel(ct.scan, scale, background=True, preview=True).wait(TIMEOUT)
    log = ThreadLog(p, names=STATE)
    p.params = {"k": 2.0}
    p.wait(TIMEOUT)
    assert np.array_equal(p.result, ct.scan.array * 2)
    assert log.threads and not log.others(threading.current_thread().name)


def test_an_observer_that_raises_shows_in_the_panel(ct):
    p = panel(ct.scan, scale, background=True, preview=True).wait(TIMEOUT)
    good = p.result

    def broken(change: dict) -> None:
        if change["new"] is not None and float(change["new"].max()) > 5 * float(good.max()):
            raise RuntimeError("observer broke")

    p.observe(broken, "result")
    p.params = {"k": 9.0}
    p.wait(TIMEOUT)
    assert p.error == "RuntimeError: observer broke"
    assert "observer broke" in p.status and "follows" not in p.status
    assert not p.busy and not p.showing_preview
    p.set(k=2.0)  # the next good result clears the error
    assert p.error == "" and np.array_equal(p.result, ct.scan.array * 2)


def test_an_op_error_in_the_background_keeps_the_last_good_result(ct):
    p = panel(ct.scan, scale, background=True, preview=False).wait(TIMEOUT)
    good = p.result
    p.params = {"k": 3.0}
    p.wait(TIMEOUT)
    assert p.result is good and p.error == "ValueError: k = 3 is unlucky"
    assert "showing the last good result" in p.status and not p.busy


def test_a_failing_preview_is_reported_and_the_full_result_follows(ct):
    def fussy(image: ImageIn, *, k: Annotated[float, Range(0.0, 9.0)] = 1.0) -> Image:
        """Refuses the downsampled preview input."""
        array = np.asarray(image, dtype=np.float32)
        if array.shape != (512, 512):
            raise ValueError("not on a preview")
        return array * np.float32(k)

    image = np.zeros((512, 512), np.float32)
    p = panel(image, fussy, background=True, preview=True).wait(TIMEOUT)
    seen: list[str] = []
    p.observe(lambda change: seen.append(change["new"]), "status")
    p.params = {"k": 2.0}
    p.wait(TIMEOUT)
    assert any("preview failed" in s and "not on a preview" in s for s in seen)
    assert p.error == "" and np.array_equal(p.result, image * 2)


def test_chained_panels_and_a_measure_panel_update_on_the_home_thread(ct):
    smooth = panel(ct.scan, "gaussian", sigma=0.5, background=True, preview=False)
    mask = threshold(smooth, low=825.0, background=True, preview=False)
    table = measure(ct.scan, mask)
    smooth.wait(TIMEOUT)
    log = ThreadLog(smooth, mask, table, names=STATE + ("table", "objects"))
    smooth.params = {"sigma": 2.0}
    smooth.wait(TIMEOUT)
    assert not log.others(threading.current_thread().name)
    assert np.array_equal(mask.result, smooth.result >= 825.0)
    assert len(table.result) == mask.objects


def test_a_chained_panel_that_fails_shows_its_own_error(ct):
    source = panel(ct.scan, scale, k=1.0, background=True, preview=False)

    def picky(image: ImageIn, *, t: Annotated[float, Range(0.0, 1.0)] = 0.5) -> Image:
        """Fails on inputs above 10 000."""
        array = np.asarray(image, dtype=np.float32)
        if array.max() > 10_000:
            raise ValueError("input too bright")
        return array

    chained = panel(source, picky)
    good = chained.wait(TIMEOUT).result
    source.params = {"k": 5.0}
    source.wait(TIMEOUT)
    assert source.error == "" and np.array_equal(source.result, ct.scan.array * 5)
    assert chained.error == "ValueError: input too bright" and chained.result is good


def test_a_measure_panel_fed_a_bad_result_shows_the_error_and_keeps_its_table(ct):
    def labels_or_not(image: ImageIn, *, bad: Annotated[int, Range(0, 1)] = 0) -> np.ndarray:
        """A mask, or (bad = 1) intensities, which cannot be measured."""
        array = np.asarray(image)
        return array.astype(np.float32) if bad else array > 825.0

    source = panel(ct.scan, labels_or_not, background=True, preview=False)
    m = measure(ct.scan, source)
    m.wait(TIMEOUT)
    table = m.result
    assert len(table) == 2 and m.error == ""
    source.params = {"bad": 1}
    source.wait(TIMEOUT)
    assert "needs a mask or a label image" in m.error and m.result is table
    assert "needs a mask" in m.status and source.error == ""
    with pytest.raises(ValueError, match="needs a mask"):  # called directly: raised too
        m.set_labels(ct.scan.array)


def test_in_an_event_loop_results_arrive_without_waiting(ct):
    """As in a kernel: the panel lives on the loop's thread; results land there, by the loop."""

    async def scenario() -> tuple[Any, list[tuple[str, str]], str]:
        p = panel(ct.scan, scale, background=True, preview=False)
        log = ThreadLog(p, names=STATE)
        loop_thread = threading.current_thread().name
        p.params = {"k": 4.0}
        for _ in range(int(TIMEOUT / 0.01)):
            if not p.busy:
                break
            await asyncio.sleep(0.01)  # the loop runs; nobody calls wait()
        return p, log.threads, loop_thread

    p, threads, loop_thread = run_in_loop(scenario)
    assert loop_thread == THREAD_NAME
    assert np.array_equal(p.result, ct.scan.array * 4) and p.params == {"k": 4.0}
    assert threads and all(thread == "kernel-main" for _, thread in threads)


def test_a_change_from_another_thread_is_applied_at_home(ct):
    """A user's own thread sets parameters: the panel computes and changes at home."""

    async def scenario() -> list[tuple[str, str]]:
        p = panel(ct.scan, scale)
        log = ThreadLog(p, names=STATE)
        thread = threading.Thread(target=lambda: setattr(p, "params", {"k": 6.0}),
                                  name="user-thread")
        thread.start()
        thread.join(TIMEOUT)
        for _ in range(int(TIMEOUT / 0.01)):
            if p.run_count == 2:
                break
            await asyncio.sleep(0.01)
        assert np.array_equal(p.result, ct.scan.array * 6)
        return log.threads

    threads = run_in_loop(scenario)
    assert [name for name, thread in threads if thread != THREAD_NAME] in ([], ["params"])
    assert all(thread == THREAD_NAME for name, thread in threads if name != "params")
