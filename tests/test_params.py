"""The parameter model: one table of kinds owning validation, bounds, widgets and JSON, used
by ops, steps, pipelines and panels alike."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
import pytest

import medinteract as mi
import medinteract.ops as ops
from medinteract.errors import MedinteractError, ParameterError
from medinteract.params import (KINDS, Bounds, Image, ImageIn, ParamKind, Spacing,
                                describe, nice_step, range_bounds, register_kind,
                                unregister_kind, validate_params, value_bounds)
from medinteract.pipeline import Pipeline, Step
from medinteract.scan import Scan


def _param(func, name):
    return {p.name: p for p in describe(func)}[name]


# -- one check everywhere -------------------------------------------------------------------
BAD_VALUES = [
    (ops.gaussian, {"sigma": 20}, "out of range", "from 0 to 10 mm"),
    (ops.gaussian, {"sigma": 99.0}, "out of range", "from 0 to 10 mm"),
    (ops.gaussian, {"sigma": "1"}, "not a number", "a number"),
    (ops.gaussian, {"sigma": float("nan")}, "not finite", "a number"),
    (ops.gaussian, {"sigma": None}, "cannot be None", "a number"),
    (ops.gaussian, {"sigmaa": 1}, "not a parameter", "one of sigma"),
    (ops.gaussian, {"spacing": (1, 1)}, "supplied by the pipeline", "one of sigma"),
    (ops.median, {"size": 3.5}, "not a whole number", "a whole number"),
    (ops.threshold_auto, {"method": "magic"}, "not one of the choices", "one of 'otsu'"),
    (ops.nl_means, {"fast_mode": 1}, "not True or False", "True or False"),
    (ops.region_grow, {"seed": "centre"}, "not a tuple", "indices"),
    (ops.crop, {"region": [[0.5, 4]]}, "not ((start, stop)", "per axis"),
]


@pytest.mark.parametrize("func, params, problem, allowed", BAD_VALUES)
def test_a_bad_value_is_refused_naming_op_parameter_and_what_is_allowed(func, params, problem,
                                                                         allowed):
    (name, value), = params.items()
    with pytest.raises(ParameterError) as caught:
        validate_params(func, params)
    error = caught.value
    assert isinstance(error, MedinteractError) and isinstance(error, ValueError)
    assert (error.op, error.parameter) == (func.__name__, name)
    text = str(error)
    assert text.startswith(f"{func.__name__}: {name}=")
    assert problem in text and allowed in text


@pytest.mark.parametrize("func, params, problem, allowed", BAD_VALUES[:2])
def test_steps_pipelines_json_and_panels_refuse_the_same_values(func, params, problem, allowed):
    image = np.zeros((16, 16), np.float32)
    with pytest.raises(ParameterError, match=problem):
        Step(func.__name__, params)
    with pytest.raises(ParameterError, match=problem):
        Pipeline().append(func.__name__, params)
    saved = json.dumps({"medinteract_pipeline": 1,
                        "steps": [{"op": func.__name__, "params": params}]})
    with pytest.raises(ParameterError, match=problem) as caught:
        Pipeline.from_json(saved)
    assert "in pipeline step 1" in caught.value.__notes__
    with pytest.raises(ParameterError, match=problem):
        mi.panels.panel(image, func.__name__, **params)


def test_a_saved_pipeline_with_a_bad_value_names_the_file(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"medinteract_pipeline": 1,
                                "steps": [{"op": "gaussian", "params": {"sigma": 99}}]}))
    with pytest.raises(mi.LoadError, match=r"p\.json: gaussian: sigma=99 is out of range"):
        Pipeline.load(path)


def test_values_are_normalised_from_json_and_numpy():
    assert validate_params(ops.region_grow, {"seed": [3, 4], "tolerance": 50}) == {
        "seed": (3, 4), "tolerance": 50.0}
    assert validate_params(ops.median, {"size": np.int64(5)}) == {"size": 5}
    assert validate_params(ops.median, {"size": 5.0}) == {"size": 5}
    assert validate_params(ops.crop, {"region": [[0, 4], [None, 8]]}) == {
        "region": ((0, 4), (None, 8))}
    assert validate_params(ops.clahe, {"kernel_size": None}) == {"kernel_size": None}
    assert validate_params(ops.nl_means, {"fast_mode": np.bool_(False)}) == {
        "fast_mode": False}


def test_json_round_trip_keeps_every_value():
    step = Step("crop", {"region": ((0, 4), (None, 8))})
    data = json.loads(json.dumps(step.to_dict()))
    assert data == {"op": "crop", "params": {"region": [[0, 4], [None, 8]]}}
    assert Step(data["op"], data["params"]) == step
    seed = _param(ops.region_grow, "seed")
    assert seed.to_json((3, 4)) == [3, 4] and seed.from_json([3, 4]) == (3, 4)


# -- image-dependent kinds -----------------------------------------------------------------
def test_from_image_values_are_checked_against_the_image_when_one_is_given():
    ct = Scan(np.array([[-1024.0, 0.0], [40.0, 3071.0]], np.float32), modality="CT")
    low = _param(ops.threshold, "low")
    assert low.kind == "from_image"
    assert low.validate(-5000.0) == -5000.0  # no image: any finite number (batch use)
    assert low.validate(-400, image=ct) == -400.0
    with pytest.raises(ParameterError, match=r"outside the image's range.*-1025 to 3075 HU"):
        low.validate(-5000.0, op="threshold", image=ct)
    with pytest.raises(ParameterError, match="outside the image"):
        validate_params(ops.threshold, {"low": 9000.0}, image=ct)


def test_points_and_regions_are_checked_against_the_image_shape():
    image = np.zeros((10, 20))
    seed = _param(ops.region_grow, "seed")
    assert seed.validate((3, 4), image=image) == (3, 4)
    with pytest.raises(ParameterError, match="2 indices for a 3-D image"):
        seed.validate((3, 4), image=np.zeros((5, 10, 20)))
    with pytest.raises(ParameterError, match="outside the image"):
        seed.validate((3, 40), image=image)
    region = _param(ops.crop, "region")
    with pytest.raises(ParameterError, match="inside the image"):
        region.validate(((0, 4), (5, 50)), image=image)


# -- bounds: one formula -------------------------------------------------------------------
def test_bounds_of_declared_ranges():
    assert _param(ops.gaussian, "sigma").bounds() == Bounds(0.0, 10.0, 0.1)
    assert _param(ops.median, "size").bounds() == Bounds(1.0, 15.0, 2.0)
    gamma = _param(ops.gamma, "gamma").bounds()
    assert gamma.log and gamma.min > 0
    assert _param(ops.psnr, "data_range").bounds() is None  # unbounded: a number box
    assert range_bounds(0, 1) == Bounds(0.0, 1.0, 0.01)


def test_bounds_from_the_image_are_whole_steps_around_its_values():
    ct = np.array([-1024.0, 3071.0])
    assert value_bounds(ct) == Bounds(-1025.0, 3075.0, 5.0)
    assert value_bounds(ct, "spread") == Bounds(0.0, 4095.0, 5.0)
    unit = np.array([0.0, 0.5, 1.0])
    assert value_bounds(unit) == Bounds(0.0, 1.0, 0.001)
    with_nan = np.array([np.nan, -1.0, np.inf, 1.0])
    assert value_bounds(with_nan) == Bounds(-1.0, 1.0, 0.002)
    assert value_bounds(np.zeros(3)) == Bounds(0.0, 1.0, 0.001)
    tolerance = _param(ops.region_grow, "tolerance")
    assert tolerance.bounds(Scan(ct.reshape(1, 2))) == Bounds(0.0, 4095.0, 5.0)
    assert tolerance.bounds() is None


def test_nice_steps():
    assert [nice_step(x) for x in (0.0011, 0.03, 1.0, 4.0, 7.0, 300.0)] == [
        0.002, 0.05, 1.0, 5.0, 10.0, 500.0]


# -- widgets agree with the params ---------------------------------------------------------
@pytest.mark.parametrize("name, value", [("sigma", 1.7), ("sigma", 0.05)])
def test_a_panel_widget_shows_exactly_the_value_held(name, value):
    p = mi.panels.panel(np.eye(16, dtype=np.float32), "gaussian", **{name: value})
    assert p.params[name] == value and p.controls[name].value == value
    bounds = _param(ops.gaussian, name).bounds()
    slider = p.controls[name]
    assert (slider.min, slider.max, slider.step) == (bounds.min, bounds.max, bounds.step)


def test_widget_bounds_of_image_parameters_come_from_the_same_formula():
    scan = Scan(np.linspace(-1024, 3071, 64, dtype=np.float32).reshape(8, 8), modality="CT")
    p = mi.panels.threshold(scan, low=-400.0)
    slider = p.controls["low"]
    assert (slider.min, slider.max, slider.step) == tuple(value_bounds(scan))[:3]
    assert slider.value == -400.0 == p.params["low"]
    assert "HU" in slider.description


# -- extending the table --------------------------------------------------------------------
@dataclass(frozen=True)
class Percent:
    """Marker of a percentage parameter (a user's own kind)."""


class PercentKind(ParamKind):
    name = "percent"

    def describe(self, name: str, base: Any, metadata: tuple[Any, ...]) -> dict | None:
        return {"dtype": float, "unit": "%"} if any(isinstance(m, Percent)
                                                   for m in metadata) else None

    def check(self, param, value, image=None):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError("is not a number")
        if not 0 <= value <= 100:
            raise ValueError("is not a percentage")
        return float(value)

    def allowed(self, param, image=None):
        return "a percentage from 0 to 100 %"

    def bounds(self, param, image=None):
        return Bounds(0.0, 100.0, 1.0)

    def widget(self, param, value, image=None):
        import ipywidgets

        return ipywidgets.FloatSlider(value=value, min=0, max=100, step=1,
                                      description=param.label(image))


def keep_brightest(image: ImageIn, *, spacing: Spacing = None,
                   share: Annotated[float, Percent()] = 10.0) -> Image:
    """Keep the brightest pixels.

    Parameters
    ----------
    image : array_like
        The image.
    spacing : sequence of float, optional
        Unused.
    share : float
        Percentage of pixels kept.
    """
    array = np.asarray(image, np.float32)
    return np.where(array >= np.percentile(array, 100 - share), array, 0).astype(np.float32)


@pytest.fixture()
def percent_kind():
    register_kind(PercentKind())
    yield
    unregister_kind("percent")


def test_a_user_kind_is_used_by_describe_steps_and_panels(percent_kind):
    assert next(iter(KINDS)) == "percent"  # asked first
    share = _param(keep_brightest, "share")
    assert share.kind == "percent" and share.label() == "share (%)"
    with pytest.raises(ParameterError, match="is not a percentage; allowed: a percentage"):
        Step(keep_brightest, {"share": 150})
    assert Step(keep_brightest, {"share": 20}).params == {"share": 20.0}
    p = mi.panels.panel(np.eye(16, dtype=np.float32), keep_brightest, share=25)
    assert p.controls["share"].value == 25.0 and p.params == {"share": 25.0}


def test_unregistering_restores_the_built_in_kinds(percent_kind):
    unregister_kind("percent")
    assert "percent" not in KINDS and "number" in KINDS
    assert _param(keep_brightest, "share").kind == "number"
