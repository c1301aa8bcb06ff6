"""The Scan type: geometry conventions, validation, defaults."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from medinteract import Scan, Window


def test_array_becomes_float32_and_spacing_defaults_to_one_mm() -> None:
    scan = Scan(np.arange(24, dtype=np.int16).reshape(2, 3, 4))
    assert scan.array.dtype == np.float32
    assert scan.spacing == (1.0, 1.0, 1.0)
    assert scan.is_volume and not scan.is_rgb


def test_default_direction_maps_array_axes_to_lps() -> None:
    scan = Scan(np.zeros((4, 5, 6)), spacing=(2.5, 0.5, 0.75), origin=(10, 20, 30))
    # index (z, y, x) -> LPS (x, y, z)
    np.testing.assert_allclose(scan.index_to_mm((2, 4, 1)), [10 + 0.75, 20 + 2.0, 30 + 5.0])


def test_rgb_image_has_two_spatial_axes() -> None:
    scan = Scan(np.zeros((5, 6, 3)), spacing=(0.2, 0.2))
    assert scan.is_rgb and scan.spatial_ndim == 2 and not scan.is_volume


@pytest.mark.parametrize(
    "kwargs",
    [
        {"spacing": (1.0, -1.0, 1.0)},
        {"spacing": (1.0, 1.0)},
        {"origin": (0.0, 0.0)},
        {"direction": np.eye(2)},
    ],
)
def test_inconsistent_geometry_is_rejected(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        Scan(np.zeros((3, 4, 5)), **kwargs)


def test_one_spatial_axis_is_rejected_even_when_it_looks_like_colour() -> None:
    with pytest.raises(ValueError, match="2 or 3 spatial axes"):
        Scan(np.zeros((3, 3)), spacing=(1.0,))


def test_empty_array_is_rejected() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        Scan(np.zeros((0, 4)))


def test_default_window_is_global_not_per_slice() -> None:
    volume = np.stack([np.full((8, 8), -1000.0), np.full((8, 8), 1000.0)])
    scan = Scan(volume)
    assert scan.window.low <= -1000 and scan.window.high >= 1000


def test_window_properties() -> None:
    w = Window(40, 400)
    assert (w.low, w.high) == (-160, 240)


def test_with_array_keeps_geometry_and_window() -> None:
    scan = Scan(np.zeros((3, 4, 5)), spacing=(2, 1, 1), modality="CT", window=(40, 400))
    out = scan.with_array(np.ones((3, 4, 5)))
    assert out.spacing == scan.spacing and out.window == scan.window and out.modality == "CT"
    assert scan.array.max() == 0  # the original is untouched


@given(
    spacing=st.tuples(*[st.floats(0.1, 10)] * 3),
    index=st.tuples(*[st.integers(0, 50)] * 3),
)
def test_index_to_mm_is_linear_in_spacing(spacing, index) -> None:
    scan = Scan(np.zeros((2, 2, 2)), spacing=spacing)
    pos = scan.index_to_mm(index)
    expected = np.array(index[::-1], float) * np.array(spacing[::-1])
    np.testing.assert_allclose(pos, expected, rtol=1e-9, atol=1e-9)


def test_repr_names_modality_shape_spacing() -> None:
    text = repr(Scan(np.zeros((2, 3)), spacing=(0.5, 0.5), modality="CR", name="hand"))
    assert "CR" in text and "2x3" in text and "0.5" in text and "'hand'" in text
