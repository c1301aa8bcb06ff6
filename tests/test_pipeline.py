"""Pipelines: validation, running on the phantom, JSON round trips, atomic saving, code export."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medinteract.data import phantom
from medinteract.errors import LoadError, ParameterError
from medinteract.ops import Range, describe, gaussian, list_ops
from medinteract.params import Image, ImageIn
from medinteract.pipeline import Pipeline, Step
from medinteract.scan import Scan


def brighten(image: ImageIn, *, amount: Annotated[float, Range(0.0, 100.0, unit="HU")] = 10.0,
             ) -> Image:
    """Add a constant (a user's own annotated function, importable from this module)."""
    return (np.asarray(image, dtype=np.float32) + np.float32(amount)).astype(np.float32)


@pytest.fixture(scope="module")
def slice_phantom():
    # calcified (2500 HU) nodules: a threshold halfway between lung (-850 HU) and nodule
    # separates them from vessels (40 HU) and bone (700 HU)
    return phantom(shape=(160, 160), n_nodules=3, nodule_radius_mm=(4.0, 7.0),
                   nodule_hu=2500.0, seed=3)


def nodule_pipeline() -> Pipeline:
    return (Pipeline()
            .append("gaussian", sigma=0.8)
            .append("threshold", low=825.0)
            .append("remove_small", min_size=5.0)
            .append("label")
            .append("region_table"))


# -- validation --------------------------------------------------------------------------------
def test_step_validates_names_types_and_choices():
    assert Step("median", {"size": 5.0}).params == {"size": 5}  # whole floats become ints
    with pytest.raises(ParameterError, match="median: sise=5 is not a parameter"):
        Step("median", {"sise": 5})
    with pytest.raises(ParameterError, match="not a whole number"):
        Step("median", {"size": 2.5})
    with pytest.raises(ParameterError, match="allowed: one of 'otsu'"):
        Step("threshold_auto", {"method": "magic"})
    with pytest.raises(ParameterError, match="'wide' is not a number"):
        Step("gaussian", {"sigma": "wide"})
    with pytest.raises(ParameterError, match="supplied by the pipeline"):
        Step("gaussian", {"spacing": (1.0, 1.0)})
    with pytest.raises(KeyError, match="no op named 'gausian'"):
        Step("gausian")
    with pytest.raises(ValueError, match="second mask input"):
        Step("dice")


def test_pipeline_equality_and_append_forms():
    a = Pipeline([Step("median", {"size": 5})])
    b = Pipeline().append("median", size=5)
    c = Pipeline().append("median", {"size": 5})
    assert a == b == c
    assert a != Pipeline().append("median", size=7)
    assert len(a + b) == 2 and (a + b).output == "image"


# -- running -----------------------------------------------------------------------------------
def test_run_on_phantom_finds_the_nodules_in_mm(slice_phantom):
    table = nodule_pipeline().run(slice_phantom.scan)
    assert isinstance(table, pd.DataFrame)
    assert "area_mm2" in table and "mean_HU" in table  # spacing and modality taken from the Scan
    truth = slice_phantom.table.sort_values("area_mm2")
    found = table.sort_values("area_mm2")
    assert len(found) == len(truth)
    # areas within 10 % of pi r^2 (the smoothing moves the edge by a fraction of a pixel)
    assert np.allclose(found["area_mm2"], truth["true_area_mm2"], rtol=0.10)
    assert (found["mean_HU"] > 1000).all()


def test_spacing_comes_from_the_scan(slice_phantom):
    scan = slice_phantom.scan
    p = Pipeline().append("gaussian", sigma=2.0)
    from_scan = p.run(scan)
    assert np.array_equal(from_scan, gaussian(scan.array, spacing=scan.spacing, sigma=2.0))
    assert not np.array_equal(from_scan, p.run(scan.array))  # 1 mm pixels: a smaller blur
    assert np.array_equal(from_scan, p.run(scan.array, spacing=scan.spacing))


def test_a_failing_step_is_named():
    p = Pipeline().append("median", size=3).append("crop", region=((0, 0), (0, 4)))
    with pytest.raises(ValueError, match="empty") as info:
        p.run(np.zeros((8, 8)))
    assert "in pipeline step 2 (crop)" in info.value.__notes__


def test_empty_pipeline_returns_a_copy():
    image = np.arange(12.0).reshape(3, 4)
    out = Pipeline().run(image)
    assert np.array_equal(out, image) and out is not image
    scan = Scan(image, spacing=(2.0, 0.5), modality="CT")
    copy = Pipeline().run(scan)
    assert isinstance(copy, Scan) and copy.geometry == scan.geometry
    assert np.array_equal(copy.array, scan.array) and not np.shares_memory(copy.array, scan.array)
    code = Pipeline().to_code()
    scope: dict[str, Any] = {"image": scan}
    exec(code, scope)
    assert np.array_equal(scope["result"].array, scan.array)
    assert scope["result"].geometry == scan.geometry


# -- code export -------------------------------------------------------------------------------
def test_to_code_reproduces_run_exactly(slice_phantom):
    scan = slice_phantom.scan
    for p in (Pipeline().append("median", size=5).append("unsharp_mask"),
              Pipeline().append("gaussian", sigma=1.3).append("threshold_auto", method="li")
              .append("fill_holes").append("opening", radius=1.5).append("label")):
        scope: dict[str, Any] = {"image": scan}
        exec(p.to_code(), scope)
        assert np.array_equal(scope["result"], p.run(scan))
    p = nodule_pipeline()
    code = p.to_code()
    assert "from medinteract.ops import gaussian, label, region_table, remove_small, threshold" \
        in code
    assert "ipywidgets" not in code and "medinteract.panels" not in code
    scope = {"image": scan}
    exec(code, scope)
    pd.testing.assert_frame_equal(scope["result"], p.run(scan))


def test_user_functions_as_steps(slice_phantom):
    image = slice_phantom.scan
    p = Pipeline().append(brighten, amount=5.0).append("threshold", low=0.0)
    assert p[0].op.endswith(":brighten")
    expected = p.run(image)
    code = p.to_code()
    assert "import brighten" in code
    scope: dict[str, Any] = {"image": image}
    exec(code, scope)
    assert np.array_equal(scope["result"], expected)
    assert Pipeline.from_json(p.to_json()) == p  # importable again by module:qualname

    def local_op(image: ImageIn, *, k: Annotated[int, Range(1, 4)] = 2) -> Image:
        return np.asarray(image, dtype=np.float32) * k

    q = Pipeline().append(local_op, k=3)
    code = q.to_code()
    assert "your own function" in code
    scope = {"image": image, "local_op": local_op}
    exec(code, scope)
    assert np.array_equal(scope["result"], q.run(image))


# -- JSON --------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def usable_ops() -> tuple[str, ...]:
    names = []
    for name in list_ops()["name"]:
        try:
            Step(name)
        except ValueError:
            continue
        names.append(name)
    return tuple(names)


def param_value(p) -> st.SearchStrategy:
    if p.kind == "flag":
        base = st.booleans()
    elif p.dtype is int:
        base = st.integers(int(p.min if p.min is not None else -5),
                           int(p.max if p.max is not None else 50))
    elif p.dtype is float:
        if p.min is not None:
            base = st.floats(p.min, p.max, allow_nan=False)
        else:
            base = st.floats(-1e6, 1e6, allow_nan=False)
    elif p.kind == "choice":
        base = st.sampled_from(p.options)
    elif p.kind == "point":
        base = st.tuples(st.integers(0, 100), st.integers(0, 100))
    elif p.kind == "region":
        pair = st.tuples(st.integers(0, 10), st.integers(11, 100))
        base = st.tuples(pair, pair)
    elif p.kind == "text":
        base = st.text(max_size=8)
    else:
        base = st.none()
    return st.one_of(st.none(), base) if p.optional else base


@st.composite
def steps(draw) -> Step:
    name = draw(st.sampled_from(usable_ops()))
    from medinteract.ops import get_op
    params = {}
    for p in describe(get_op(name)):
        if p.is_tunable and draw(st.booleans()):
            params[p.name] = draw(param_value(p))
    return Step(name, params)


@settings(max_examples=60, deadline=None)
@given(st.lists(steps(), max_size=6))
def test_json_round_trip(step_list):
    p = Pipeline(step_list)
    text = p.to_json()
    back = Pipeline.from_json(text)
    assert back == p
    assert back.to_json() == text
    for a, b in zip(back, p):
        assert {k: type(v) for k, v in a.params.items()} == \
            {k: type(v) for k, v in b.params.items()}


def test_save_and_load_atomically(tmp_path: Path):
    p = nodule_pipeline()
    path = p.save(tmp_path / "nodules.json")
    assert path.exists() and sorted(f.name for f in tmp_path.iterdir()) == ["nodules.json"]
    assert json.loads(path.read_text())["medinteract_pipeline"] == 1
    assert Pipeline.load(path) == p
    p.append("median", size=3).save(path)  # overwrite
    assert len(Pipeline.load(path)) == 6


def test_load_errors_name_the_file(tmp_path: Path):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(LoadError, match="broken.json: not valid JSON"):
        Pipeline.load(broken)
    bad_step = tmp_path / "bad.json"
    bad_step.write_text(json.dumps({"medinteract_pipeline": 1,
                                    "steps": [{"op": "median", "params": {"size": "big"}}]}))
    with pytest.raises(LoadError, match=r"bad.json: median: size='big' is not a number.*step 1"):
        Pipeline.load(bad_step)
    with pytest.raises(LoadError, match="missing.json"):
        Pipeline.load(tmp_path / "missing.json")
    future = tmp_path / "future.json"
    future.write_text(json.dumps({"medinteract_pipeline": 99, "steps": []}))
    with pytest.raises(LoadError, match="format 99"):
        Pipeline.load(future)


def test_generated_imports_exist_for_every_registered_op():
    import medinteract.ops as ops

    for name in list_ops()["name"]:
        assert getattr(ops, name) is Step(name).func if name in usable_ops() else True
        assert hasattr(ops, name), f"{name} is registered but not importable from medinteract.ops"
