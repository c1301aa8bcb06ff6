"""Sweeps of enhancement ops show their [0, 1] display values over the input's window.

Notebook 04's CLAHE sweep of a radiograph (raw detector values, window in the thousands)
showed four black tiles: the tiles' 0..1 values were painted in the radiograph's window.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

import medinteract as mi


def _black_fraction(png: bytes) -> float:
    return float(np.mean(np.asarray(Image.open(io.BytesIO(png)).convert("L")) == 0))


def test_a_sweep_of_display_values_is_not_black():
    rng = np.random.default_rng(0)
    raw = mi.Scan(rng.uniform(1000, 3000, (64, 64)).astype(np.float32), window=(2000, 2000))
    sweep = mi.panels.sweep(raw, "clahe", "clip_limit", [0.01, 0.1])
    black = _black_fraction(sweep.png)
    assert black < 0.1, f"{black:.0%} of the grid is pure black"
    stretched = mi.panels.sweep(raw, "gamma", "gamma", [1.0])
    assert _black_fraction(stretched.png) < 0.1
