"""Exported code runs as pasted and reproduces the result bit for bit (issue 13)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import medinteract as mi


@pytest.fixture(scope="module")
def ct():
    return mi.data.phantom(shape=(6, 48, 48), n_nodules=1, nodule_radius_mm=4.0, seed=1)


def paste(code: str, **inputs: Any) -> Any:
    """Run code as a notebook cell holding only the given variables would."""
    scope: dict[str, Any] = dict(inputs)
    exec(compile(code, "<pasted>", "exec"), scope)
    return scope["result"]


def test_panel_code_runs_given_only_the_scan(ct):
    panel = mi.panels.denoise(ct.scan, "gaussian", sigma=1.0)
    # the issue: the code started with `if spacing is None:` and `spacing` was never defined
    result = paste(panel.to_code(), image=ct.scan)
    assert np.array_equal(np.asarray(result), panel.result)
