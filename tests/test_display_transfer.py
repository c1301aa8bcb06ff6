"""Values on the wire: the smallest lossless type, compression, slab order."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from medinteract.display.transfer import (decode_values, encode_values, outward_order,
                                          slab_ranges, wire_type)


@pytest.mark.parametrize(("values", "expected"), [
    (np.array([0.0, 255.0], np.float32), "uint8"),
    (np.array([-1024.0, 3071.0], np.float32), "int16"),  # CT in HU
    (np.array([0.0, 40000.0], np.float32), "uint16"),
    (np.array([-1024.0, 40000.0], np.float32), "float32"),  # no 2-byte type holds both
    (np.array([-1000.0, 40.5], np.float32), "float32"),  # fractions
    (np.array([np.nan, 1.0], np.float32), "float32"),
    (np.array([0, 3], np.int32), "uint8"),  # labels
    (np.array([True, False]), "uint8"),
])
def test_wire_type_is_the_smallest_lossless_type(values: np.ndarray, expected: str) -> None:
    assert wire_type(values) == expected


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.float32, hnp.array_shapes(min_dims=1, max_dims=3, max_side=9),
                  elements=st.one_of(st.integers(-40000, 70000).map(float),
                                     st.floats(-1e6, 1e6, width=32))))
def test_encoding_is_lossless(values: np.ndarray) -> None:
    header, data = encode_values(values)
    decoded = decode_values(header, data)
    assert decoded.shape == values.shape
    assert np.array_equal(decoded.astype(np.float32), values, equal_nan=True)


def test_ct_values_travel_as_compressed_int16() -> None:
    rng = np.random.default_rng(0)
    ct = np.round(rng.normal(40, 20, (4, 64, 64))).astype(np.float32)
    header, data = encode_values(ct)
    assert header["dtype"] == "int16" and header["shuffle"] == 2
    assert len(data) < ct.size * 2  # smaller than raw int16


def test_slab_ranges_and_outward_order() -> None:
    assert slab_ranges(5, 100, 250) == [(0, 2), (2, 4), (4, 5)]
    assert slab_ranges(3, 10_000, 100) == [(0, 1), (1, 2), (2, 3)]  # at least one slice
    assert outward_order(6, 4) == [4, 5, 3, 2, 1, 0]
