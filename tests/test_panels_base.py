"""The generic panel: widgets from annotations, live results, code export, errors, scheduling."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path
from typing import Annotated, Any, Literal

import ipywidgets as widgets
import numpy as np
import pytest
import traitlets
from eventloop import run_in_loop

from medinteract.data import phantom
from medinteract.display import decode_png
from medinteract.errors import LoadError, ParameterError
from medinteract.ops import Choice, FromImage, Range, gaussian, region_grow
from medinteract.params import Image, ImageIn, Seed, Spacing
from medinteract.panels import Panel, panel
from medinteract.params.widgets import ReadoutControl, Slider

TIMEOUT = 30  # seconds; only guards against a hang, never asserted on


@pytest.fixture(scope="module")
def ct():
    return phantom(shape=(96, 96), n_nodules=2, nodule_radius_mm=(4.0, 6.0),
                   nodule_hu=2500.0, seed=2)


def after_png(p: Panel) -> bytes:
    return p.view.image("after").value


# -- widgets from annotations ------------------------------------------------------------------
def my_filter(image: ImageIn, *, spacing: Spacing = None,
              strength: Annotated[float, Range(0.0, 5.0, step=0.5, unit="mm")] = 1.0,
              gain: Annotated[float, Range(0.01, 100.0, log=True)] = 1.0,
              passes: Annotated[int, Range(1, 4)] = 1,
              flavour: Literal["plain", "fancy"] = "plain",
              style: Annotated[str, Choice("a", "b", "c")] = "b",
              invert: bool = False,
              level: Annotated[float | None, FromImage("values")] = None,
              seed: Seed = None) -> Image:
    """A user's own annotated function.

    Parameters
    ----------
    image : array_like
        Input.
    strength : float
        How strong, in mm.
    """
    out = np.asarray(image, dtype=np.float32) * np.float32(gain) * passes
    if invert:
        out = -out
    if level is not None:
        out = np.where(out > level, out, np.float32(level)).astype(np.float32)
    return out


def test_a_users_function_becomes_a_panel(ct):
    p = panel(ct.scan, my_filter)
    c = p.controls
    assert isinstance(c["strength"], Slider) and not c["strength"].log
    assert (c["strength"].min, c["strength"].max, c["strength"].step) == (0.0, 5.0, 0.5)
    assert c["strength"].description == "strength (mm)"
    assert isinstance(c["gain"], Slider) and c["gain"].log
    assert (c["gain"].min, c["gain"].max, c["gain"].value) == (0.01, 100.0, 1.0)
    assert isinstance(c["passes"], Slider) and c["passes"].integer
    assert c["passes"].value == 1 and isinstance(c["passes"].value, int)
    assert isinstance(c["flavour"], widgets.Dropdown) and c["flavour"].options == ("plain", "fancy")
    assert isinstance(c["style"], widgets.Dropdown) and c["style"].value == "b"
    assert isinstance(c["invert"], widgets.Checkbox)
    level = c["level"]
    assert isinstance(level, Slider) and level.optional and level.value is None
    assert level.description == "level (HU)"  # the image's unit: a CT scan
    array = ct.scan.array
    assert level.min <= array.min() and level.max >= array.max()
    assert level.min <= level.start <= level.max
    assert isinstance(c["seed"], ReadoutControl)
    assert "spacing" not in c
    assert set(p.params) == {"strength", "gain", "passes", "flavour", "style", "invert",
                             "level", "seed"}
    assert "mi-panel" in p.widget._dom_classes
    assert "mi-param-strength" in c["strength"]._dom_classes

    c["passes"].value = 3
    assert p.params["passes"] == 3
    assert np.array_equal(p.result, my_filter(ct.scan, passes=3))
    level.value = level.start  # untick "none": the browser sends where the handle rests
    assert p.params["level"] == level.start
    assert np.array_equal(p.result, my_filter(ct.scan, passes=3, level=level.start))
    p.params = {"level": None}  # code ticks "none"
    assert level.value is None


def test_moving_a_slider_updates_result_and_after_image(ct):
    p = panel(ct.scan, "gaussian")
    first_png, renders = after_png(p), p.view.render_count
    p.controls["sigma"].value = 3.0
    expected = gaussian(ct.scan.array, spacing=ct.scan.spacing, sigma=3.0)
    assert np.array_equal(p.result, expected)  # a cheap op: done when the slider returns
    assert np.array_equal(p.view.after.array, expected)
    assert p.view.render_count > renders and after_png(p) != first_png
    shown = decode_png(after_png(p))
    assert shown.shape[:2] == ct.scan.shape
    assert "gaussian" in p.status and "ms" in p.status and p.error == ""


def test_params_is_an_observable_traitlet(ct):
    p = panel(ct.scan, "median")
    seen: list[dict] = []
    p.observe(lambda change: seen.append(change["new"]), "params")
    p.params = {"size": 5}  # a partial dict: merged
    assert p.controls["size"].value == 5 and seen[-1] == {"size": 5}
    other = panel(ct.scan, "median")
    traitlets.link((p, "params"), (other, "params"))
    p.set(size=7)
    assert other.params == {"size": 7} and np.array_equal(other.result, p.result)
    with pytest.raises(ParameterError, match="median: sise=3 is not a parameter"):
        p.params = {"sise": 3}


def test_to_code_reproduces_the_result_exactly(ct):
    for p in (panel(ct.scan, "gaussian", sigma=1.7), panel(ct.scan, "threshold", low=825.0),
              panel(ct.scan, "unsharp_mask"), panel(ct.scan, my_filter, passes=2, gain=3.0)):
        scope: dict[str, Any] = {"image": ct.scan, "spacing": None, "my_filter": my_filter}
        exec(p.to_code(), scope)
        assert np.array_equal(scope["result"], p.result)
        assert p.pipeline.steps == (p.step,)


def test_mask_results_are_shown_in_the_window(ct):
    p = panel(ct.scan, "threshold", low=825.0)
    shown = p.view.after.array
    window = p.view.window
    assert set(np.unique(shown)) == {np.float32(window.low), np.float32(window.high)}
    assert np.array_equal(shown == np.float32(window.high), p.result)
    assert "mask" in p.status and "mm²" in p.status


# -- errors ------------------------------------------------------------------------------------
def fragile(image: ImageIn, *, k: Annotated[int, Range(0, 5)] = 1) -> Image:
    """Fails for k = 3."""
    if k == 3:
        raise ValueError("k = 3 is unlucky")
    return np.asarray(image, dtype=np.float32) * k


def test_an_op_that_raises_keeps_the_last_good_result(ct):
    p = panel(ct.scan, fragile, k=2)
    good = p.result
    p.controls["k"].value = 3
    assert p.result is good and np.array_equal(p.view.after.array, good)
    assert p.error == "ValueError: k = 3 is unlucky"
    assert "unlucky" in p.status and "mi-status-error" in p.widget.status_line._dom_classes
    p.controls["k"].value = 4
    assert p.error == "" and "mi-status-error" not in p.widget.status_line._dom_classes
    assert np.array_equal(p.result, ct.scan.array * 4)


def test_an_op_that_fails_at_once_shows_the_error(ct):
    p = panel(ct.scan, fragile, k=3)
    assert p.result is None and "unlucky" in p.error and "last good" not in p.status
    assert np.array_equal(p.view.after.array, ct.scan.array)  # nothing to show: the input
    assert np.array_equal(p.set(k=1).result, ct.scan.array)


# -- saving parameters -------------------------------------------------------------------------
def test_save_and_load_params(ct, tmp_path: Path):
    p = panel(ct.scan, "canny", sigma=2.0, low_threshold=0.5)
    path = p.save_params(tmp_path / "canny.json")
    assert json.loads(path.read_text()) == {"op": "canny", "params": {
        "sigma": 2.0, "low_threshold": 0.5, "high_threshold": 0.9}}
    q = panel(ct.scan, "canny")
    q.load_params(path)
    assert q.params == p.params and np.array_equal(q.result, p.result)
    assert q.controls["sigma"].value == 2.0
    with pytest.raises(LoadError, match="canny.json: parameters of 'canny'"):
        panel(ct.scan, "gaussian").load_params(path)
    (tmp_path / "bad.json").write_text('{"op": "canny", "params": {"sigma": "x"}}')
    with pytest.raises(LoadError, match="bad.json: canny: sigma='x' is not a number"):
        q.load_params(tmp_path / "bad.json")


# -- points by clicking ------------------------------------------------------------------------
def test_clicking_the_image_sets_the_seed(ct):
    p = panel(ct.scan, "region_grow", tolerance=1600.0)  # down to about 900 HU
    row = ct.table.iloc[0]
    y, x = int(round(row.centre_y)), int(round(row.centre_x))
    image = p.view.image("before")
    width = float(image.layout.width.removesuffix("px"))
    height = float(image.layout.height.removesuffix("px"))
    index = p.click_at((x + 0.5) / ct.scan.shape[1] * width, (y + 0.5) / ct.scan.shape[0] * height)
    assert index == (y, x) and p.params["seed"] == (y, x)
    assert f"({y}, {x})" in p.controls["seed"].text.value
    expected = region_grow(ct.scan, seed=(y, x), tolerance=1600.0)
    assert np.array_equal(p.result, expected)
    nodule = ct.nodules == row.label
    assert (p.result & nodule).sum() > 0.8 * nodule.sum()
    assert (p.result & ~nodule).sum() < 0.2 * nodule.sum()
    assert p.click_at(-5, 10) is None  # outside: nothing changes
    scope: dict[str, Any] = {"image": ct.scan, "spacing": None}
    exec(p.to_code(), scope)
    assert np.array_equal(scope["result"], p.result)


# -- latest value wins -------------------------------------------------------------------------
class SlowOp:
    """A real op whose run for ``value == hold`` blocks until released (no timing involved)."""

    def __init__(self, hold: float) -> None:
        self.hold = hold
        self.started = threading.Event()
        self.release = threading.Event()
        self.calls: list[tuple[float, tuple[int, ...]]] = []

    def __call__(self, image: ImageIn, *,
                 value: Annotated[float, Range(0.0, 10.0, step=1.0)] = 0.0) -> Image:
        """Fill with ``value``."""
        array = np.asarray(image, dtype=np.float32)
        self.calls.append((value, array.shape))
        if value == self.hold:
            self.started.set()
            assert self.release.wait(TIMEOUT)
        return np.full(array.shape, value, dtype=np.float32)


def slow_function(slow: SlowOp):
    def slow_fill(image: ImageIn, *,
                  value: Annotated[float, Range(0.0, 10.0, step=1.0)] = 0.0) -> Image:
        """Fill with ``value`` (slowly for one value)."""
        return slow(image, value=value)
    return slow_fill


def test_latest_value_wins_and_stale_work_is_dropped(ct):
    slow = SlowOp(hold=1.0)
    p = panel(ct.scan, slow_function(slow), background=True, preview=False).wait(TIMEOUT)
    assert [v for v, _ in slow.calls] == [0.0]
    p.controls["value"].value = 1.0
    assert slow.started.wait(TIMEOUT)  # v1 is running in the worker
    p.controls["value"].value = 2.0
    p.controls["value"].value = 3.0
    assert p.busy
    slow.release.set()
    p.wait(TIMEOUT)
    assert [v for v, _ in slow.calls] == [0.0, 1.0, 3.0]  # v2 never ran
    assert p.dropped_count == 1  # v1's result was stale
    assert np.all(p.result == 3.0) and np.all(p.view.after.array == 3.0)
    assert p.params == {"value": 3.0} and not p.busy and p.run_count == 2


def test_preview_first_then_full_result_2d():
    image = np.random.default_rng(0).normal(size=(512, 512)).astype(np.float32)
    slow = SlowOp(hold=-1.0)
    p = panel(image, slow_function(slow), background=True, preview=True).wait(TIMEOUT)
    slow.calls.clear()
    p.set(value=4.0).wait(TIMEOUT)
    assert slow.calls == [(4.0, (256, 256)), (4.0, (512, 512))]
    assert p.result.shape == (512, 512) and not p.showing_preview


def test_preview_of_a_volume_is_the_shown_slice():
    volume = np.zeros((6, 32, 40), np.float32)
    slow = SlowOp(hold=-1.0)
    p = panel(volume, slow_function(slow), background=True, preview=True).wait(TIMEOUT)
    slow.calls.clear()
    p.view.index = 2
    p.set(value=5.0).wait(TIMEOUT)
    assert slow.calls == [(5.0, (32, 40)), (5.0, (6, 32, 40))]
    assert np.all(p.result == 5.0)


async def until(predicate: Any, timeout: float = TIMEOUT) -> None:
    """Let the event loop run (as a kernel does between messages) until ``predicate()``."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.005)


def test_preview_is_shown_while_full_result_runs():
    image = np.zeros((512, 512), np.float32)
    hold_full = threading.Event()
    started_full = threading.Event()

    def two_speed(image: ImageIn, *, value: Annotated[float, Range(0.0, 9.0)] = 0.0) -> Image:
        """Fast on the preview, held on the full image."""
        array = np.asarray(image, dtype=np.float32)
        if array.shape == (512, 512) and value == 7.0:
            started_full.set()
            assert hold_full.wait(TIMEOUT)
        return np.full(array.shape, value, np.float32)

    async def scenario() -> None:  # in an event loop, as in a kernel
        p = panel(image, two_speed, background=True, preview=True)
        await until(lambda: not p.busy)
        p.params = {"value": 7.0}  # as a slider does: returns at once (set() would wait)
        assert started_full.wait(TIMEOUT)
        await until(lambda: p.showing_preview)  # the loop applied the preview
        assert np.all(p.view.after.array == 7.0) and np.all(p.preview == 7.0)
        assert np.all(p.result == 0.0)  # .result is only ever a full result
        hold_full.set()
        await until(lambda: not p.busy)
        assert not p.showing_preview and np.all(p.result == 7.0)
        assert np.all(p.view.after.array == 7.0)

    run_in_loop(scenario)


# -- chaining panels into a pipeline -----------------------------------------------------------
def test_chained_panels_build_a_pipeline(ct):
    smooth = panel(ct.scan, "gaussian", sigma=0.5)
    mask = panel(smooth, "threshold", low=825.0)
    clean = panel(mask, "opening", radius=1.0)
    assert [s.op for s in clean.pipeline] == ["gaussian", "threshold", "opening"]
    assert np.array_equal(clean.result, clean.pipeline.run(ct.scan))
    scope: dict[str, Any] = {"image": ct.scan, "spacing": None}
    exec(clean.to_code(), scope)
    assert np.array_equal(scope["result"], clean.result)
    # a change upstream flows down the chain
    smooth.set(sigma=2.0)
    assert np.array_equal(clean.result, clean.pipeline.run(ct.scan))
    assert clean.pipeline[0].params == {"sigma": 2.0}
    assert clean.view in clean.widget.children and "mi-panel" in clean.widget._dom_classes


def test_set_waits_for_a_background_result(ct):
    slow = SlowOp(hold=-1.0)
    p = panel(ct.scan, slow_function(slow), background=True, preview=False).wait(TIMEOUT)
    assert np.all(p.set(value=6.0).result == 6.0)  # set() returns with the full result
    assert not p.busy and p.run_count == 2


def test_preview_of_a_volume_is_shown_on_the_current_slice():
    volume = np.zeros((6, 32, 40), np.float32)
    hold_full = threading.Event()
    started_full = threading.Event()

    def two_speed(image: ImageIn, *, value: Annotated[float, Range(0.0, 9.0)] = 0.0) -> Image:
        """Fast on one slice, held on the whole volume."""
        array = np.asarray(image, dtype=np.float32)
        if array.ndim == 3 and value == 7.0:
            started_full.set()
            assert hold_full.wait(TIMEOUT)
        return np.full(array.shape, value, np.float32)

    async def scenario() -> None:
        p = panel(volume, two_speed, background=True, preview=True)
        await until(lambda: not p.busy)
        p.view.index = 4  # the viewer's slice is the panel's
        assert p.index == 4
        p.params = {"value": 7.0}
        assert started_full.wait(TIMEOUT)
        await until(lambda: p.showing_preview)
        assert np.all(p.view.after.array[4] == 7.0) and np.all(p.view.after.array[3] == 0.0)
        hold_full.set()
        await until(lambda: not p.busy)
        assert not p.showing_preview and np.all(p.view.after.array == 7.0)

    run_in_loop(scenario)
