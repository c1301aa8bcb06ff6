"""The denoise and enhance panels, and parameter sweeps, on the phantom."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from medinteract.data import phantom
from medinteract.display import decode_png
from medinteract.ops import estimate_noise, median, psnr
from medinteract.panels import DenoisePanel, choose, denoise, enhance, sweep


@pytest.fixture(scope="module")
def pair():
    """The same phantom with and without noise (same seed: same anatomy)."""
    noisy = phantom(shape=(96, 96), n_nodules=2, noise_hu=40.0, seed=4)
    clean = phantom(shape=(96, 96), n_nodules=2, noise_hu=0.0, seed=4)
    return noisy, clean


def test_denoise_readouts(pair):
    noisy, clean = pair
    p = denoise(noisy.scan, "median", reference=clean.scan.array, size=3)
    assert p.noise_before == pytest.approx(estimate_noise(noisy.scan))
    assert p.noise_after < p.noise_before
    assert p.psnr == pytest.approx(psnr(clean.scan.array, p.result))
    first_psnr = p.psnr
    p.controls["size"].value = 5
    assert np.array_equal(p.result, median(noisy.scan, size=5))
    numbers = p.widget._numbers.value
    assert p.psnr != first_psnr and "PSNR" in numbers and "SSIM" in numbers and "HU" in numbers


def test_denoise_line_profile_and_difference(pair):
    noisy, _ = pair
    p = denoise(noisy.scan, "gaussian", sigma=2.0)
    profile = p.profile()
    row = noisy.scan.shape[0] // 2
    assert np.allclose(profile["before"], noisy.scan.array[row], atol=1e-3)
    assert np.allclose(profile["after"], p.result[row], atol=1e-3)
    assert profile["distance_mm"][-1] == pytest.approx((noisy.scan.shape[1] - 1) * 0.75)
    png = p.widget._profile.value
    p.profile_row = 10
    assert p.widget._profile.value != png and decode_png(p.widget._profile.value).ndim == 3
    assert p.widget.readouts.children[2].value == 10  # the row slider shows it
    p.view.mode = "difference"  # the difference image is the view's own mode
    assert p.view.mode == "difference"


def test_enhance_panel_maps_display_values_onto_the_window(pair):
    noisy, _ = pair
    p = enhance(noisy.scan, "contrast_stretch", low_percentile=1.0, high_percentile=99.0)
    assert p.result.min() >= 0 and p.result.max() <= 1
    window = p.view.window
    shown = p.view.after.array
    assert shown.min() >= window.low - 1e-3 and shown.max() <= window.high + 1e-3
    assert "RMS contrast" in p.widget._numbers.value
    before = p.contrast
    p.set(low_percentile=20.0, high_percentile=80.0)
    assert p.contrast > before
    scope: dict[str, Any] = {"image": noisy.scan, "spacing": None}
    exec(p.to_code(), scope)
    assert np.array_equal(scope["result"], p.result)


def test_sweep_small_multiples_with_a_metric():
    ph = phantom(shape=(64, 64), n_nodules=1, nodule_hu=2500.0, seed=1)
    s = sweep(ph.scan, "threshold", "low", [0.0, 825.0, 2000.0], reference=ph.nodules > 0,
              metric="dice")
    assert list(s.table.columns) == ["low", "dice"] and len(s.results) == 3
    assert s.table["dice"].idxmax() == 1 and s.best().params == {"low": 825.0}
    grid = decode_png(s.png)
    assert grid.ndim == 3 and grid.shape[1] >= 3 * 150
    assert s._repr_png_() == s.png and "mi-sweep" in s.widget._dom_classes


def test_sweep_over_two_parameters_with_own_metric(pair):
    noisy, clean = pair

    def error(out: np.ndarray) -> float:
        return float(np.abs(out - clean.scan.array).mean())

    s = sweep(noisy.scan, "canny", "sigma", [1.0, 2.0], param2="high_threshold",
              values2=[0.9, 0.95], low_threshold=0.5, metric=lambda out: float(out.sum()))
    assert len(s.table) == 4 and set(s.table.columns) == {"sigma", "high_threshold", "<lambda>"}
    s = sweep(noisy.scan, "gaussian", "sigma", [0.5, 1.5], metric=error)
    assert list(s.table.columns) == ["sigma", "error"]
    with pytest.raises(ValueError, match="needs a reference"):
        sweep(noisy.scan, "threshold", "low", [0.0], metric="dice")


def test_choose_switches_ops_and_keeps_their_parameters(pair):
    noisy, clean = pair
    c = choose(noisy.scan, "denoise", reference=clean.scan.array)
    assert c.op == "gaussian" and isinstance(c.panel, DenoisePanel)
    menu = c.widget.menu
    assert "estimate_noise" not in [v for _, v in menu.options]  # a number, not a panel
    c.panel.set(sigma=2.0)
    menu.value = "median"  # pick another op from the menu
    stack = c.widget.stack
    assert c.op == "median" and stack.children[stack.selected_index] is c.panel.widget
    assert c.panel.psnr is not None
    assert np.array_equal(c.result, median(noisy.scan, size=3))
    assert "median(image" in c.to_code()
    c.op = "gaussian"
    assert c.panel.params == {"sigma": 2.0}  # kept while away
    with pytest.raises(Exception, match="unknown op"):
        c.op = "magic"
