"""The parameter vocabulary, the op registry, and contracts every registered op keeps."""

from __future__ import annotations

import inspect
from typing import Annotated, Literal

import numpy as np
import pandas as pd
import pytest

import medinteract.ops as ops
from medinteract.ops.registry import _REGISTRY, get_op, list_ops, op
from medinteract.params import (Choice, Image, ImageIn, Range, Spacing, describe, format_unit,
                                inputs, output_kind, validate_params)
from medinteract.scan import Scan

ALL_OPS = list_ops()
OP_NAMES = list(ALL_OPS["name"])


# -- vocabulary ----------------------------------------------------------------------------------
def test_describe_gaussian_gives_the_declared_slider():
    params = {p.name: p for p in describe(ops.gaussian)}
    assert list(params) == ["spacing", "sigma"]
    sigma = params["sigma"]
    assert (sigma.kind, sigma.dtype, sigma.min, sigma.max, sigma.step, sigma.unit,
            sigma.default) == ("number", float, 0.0, 10.0, 0.1, "mm", 1.0)
    assert sigma.is_tunable and not params["spacing"].is_tunable
    assert "mm" in sigma.doc and sigma.doc.startswith("Standard deviation")


def test_describe_reads_choice_literal_point_bool_and_optional():
    by_name = {p.name: p for p in describe(ops.threshold_auto)}
    assert by_name["method"].kind == "choice"
    assert by_name["method"].options[:4] == ("otsu", "li", "yen", "triangle")
    grow = {p.name: p for p in describe(ops.region_grow)}
    assert grow["seed"].kind == "point" and grow["seed"].optional
    assert grow["tolerance"].kind == "from_image"
    assert grow["tolerance"].from_image == "spread" and grow["tolerance"].unit == "image"
    nlm = {p.name: p for p in describe(ops.nl_means)}
    assert nlm["fast_mode"].kind == "flag" and nlm["fast_mode"].default is True
    assert nlm["patch_size"].dtype is int and nlm["patch_size"].step == 2
    assert isinstance(nlm["patch_size"].min, int)
    clahe = {p.name: p for p in describe(ops.clahe)}
    assert clahe["kernel_size"].optional and clahe["kernel_size"].dtype is int
    assert clahe["kernel_size"].min == 8
    gamma = {p.name: p for p in describe(ops.gamma)}
    assert gamma["gamma"].log
    ws = {p.name: p for p in describe(ops.watershed)}
    assert ws["markers"].kind == "data" and ws["markers"].role == "labels"
    assert not ws["markers"].is_tunable
    assert ws["image"].role == "image"


def test_describe_a_users_own_function():
    def brighten(image: ImageIn, *, spacing: Spacing = None,
                 amount: Annotated[float, Range(0, 100, step=5, unit="HU")] = 10.0,
                 mode: Literal["add", "multiply"] = "add",
                 verbose: bool = False, label: str = "x") -> Image:
        """Brighten.

        Parameters
        ----------
        image : array_like
            Input.
        amount : float
            How much, in HU.
            Second line of the same paragraph.

            A second paragraph that is not part of the summary.
        mode : {"add", "multiply"}
            How.
        """
        return np.asarray(image, np.float32) + amount

    params = {p.name: p for p in describe(brighten)}
    assert params["amount"].doc == "How much, in HU. Second line of the same paragraph."
    assert params["mode"].kind == "choice" and params["mode"].options == ("add", "multiply")
    assert params["verbose"].kind == "flag" and params["label"].kind == "text"
    assert params["verbose"].doc == ""
    assert output_kind(brighten) == "image" and inputs(brighten) == ("image",)


def test_describe_rejects_bad_declarations():
    def no_default(image, *, sigma: Annotated[float, Range(0, 1)]):  # pragma: no cover
        return image

    def out_of_range(image, *, sigma: Annotated[float, Range(0, 1)] = 2.0):  # pragma: no cover
        return image

    def bad_choice(image, *, m: Annotated[Literal["a", "b"], Choice("a", "c")] = "a"):
        return image  # pragma: no cover

    def positional(image, sigma: Annotated[float, Range(0, 1)] = 0.5):  # pragma: no cover
        return image

    for func, problem in ((no_default, "needs a default"), (out_of_range, "out of range"),
                          (bad_choice, "does not match"), (positional, "keyword-only")):
        with pytest.raises(TypeError, match=problem):
            describe(func)
    with pytest.raises(ValueError):
        Range(2, 1)
    with pytest.raises(ValueError):
        Range(0, 1, log=True)
    with pytest.raises(ValueError):
        Choice()


def test_format_unit_by_dimension():
    assert format_unit("mm^d", 2) == "mm²" and format_unit("mm^d", 3) == "mm³"
    assert format_unit("mm", 3) == "mm" and format_unit(None, 2) is None


def test_op_decorator_keeps_the_function_and_registers_it():
    def invert(image: ImageIn, *, spacing: Spacing = None) -> Image:
        """Invert."""
        return -np.asarray(image, np.float32)

    try:
        same = op(category="test-only", label="Invert")(invert)
        assert same is invert and invert.op_info.category == "test-only"
        table = list_ops("test-only")
        assert table["name"].tolist() == ["invert"] and table["label"].tolist() == ["Invert"]
        assert get_op("invert") is invert
    finally:
        _REGISTRY.pop("invert", None)
    with pytest.raises(KeyError, match="known ops"):
        get_op("invert")


def test_op_names_are_unique_across_modules():
    def gaussian(image: ImageIn, *, spacing: Spacing = None) -> Image:  # pragma: no cover
        return image

    with pytest.raises(ValueError, match="already registered"):
        op(category="x")(gaussian)


def test_list_ops_table():
    assert isinstance(ALL_OPS, pd.DataFrame)
    assert {"name", "category", "label", "inputs", "output", "dims", "summary", "func"} <= set(
        ALL_OPS.columns)
    assert set(ALL_OPS["category"]) == {"denoise", "preprocess", "enhance", "segment",
                                        "morphology", "measure", "metrics"}
    assert set(list_ops("denoise")["name"]) >= {"gaussian", "median", "mean", "bilateral",
                                                 "total_variation", "nl_means"}


# -- contracts of every registered op ------------------------------------------------------------
def _image(ndim: int) -> np.ndarray:
    rng = np.random.default_rng(ndim)
    shape = (10, 24, 24) if ndim == 3 else (32, 32)
    grid = np.indices(shape)
    centre = np.array(shape)[:, None, None] // 2 if ndim == 2 else (
        np.array(shape)[:, None, None, None] // 2)
    disc = (((grid - centre) ** 2).sum(axis=0) < 36).astype(np.float32)
    return (disc * 100 + rng.normal(0, 5, shape)).astype(np.float32)


def _mask(ndim: int) -> np.ndarray:
    return _image(ndim) > 50


def _inputs(info, ndim: int) -> list[np.ndarray]:
    makers = {"image": _image, "mask": _mask,
              "labels": lambda n: ops.label(_mask(n)),
              "overlap": _mask}
    arrays = []
    for k, role in enumerate(info.inputs):
        array = makers[role](ndim)
        if k == 1 and role == "mask":
            array = np.roll(array, 1, axis=-1)  # a second, different mask
        array.flags.writeable = False  # an op writing into its input fails loudly
        arrays.append(array)
    return arrays


_EXPECTED_DTYPE = {"image": np.float32, "mask": np.bool_, "labels": np.int32,
                   "overlap": np.uint8}


@pytest.mark.parametrize("ndim", [2, 3])
@pytest.mark.parametrize("name", OP_NAMES)
def test_every_op_runs_with_defaults_and_never_modifies_its_input(name, ndim):
    info = get_op(name).op_info
    if ndim not in info.dims:
        pytest.skip(f"{name} is {info.dims}-D only")
    arrays = _inputs(info, ndim)
    before = [a.copy() for a in arrays]
    result = info.func(*arrays, spacing=(2.0,) + (0.5,) * (ndim - 1))
    for a, b in zip(arrays, before):
        assert np.array_equal(a, b)
    if info.output in _EXPECTED_DTYPE:
        assert isinstance(result, np.ndarray) and result.dtype == _EXPECTED_DTYPE[info.output]
    elif info.output == "same":
        assert result.dtype == arrays[0].dtype and result.ndim == ndim
        assert not np.shares_memory(result, arrays[0])
    elif info.output == "table":
        assert isinstance(result, pd.DataFrame)
    elif info.output == "value":
        assert isinstance(result, float)
    elif info.output == "values":
        assert isinstance(result, dict)
    else:  # pragma: no cover
        pytest.fail(f"{name} has output kind {info.output!r}")
    if info.output in ("image", "mask", "labels", "overlap") and info.category != "preprocess":
        assert result.shape == arrays[0].shape


@pytest.mark.parametrize("name", OP_NAMES)
def test_every_op_is_documented_and_declared(name):
    func = get_op(name)
    doc = inspect.getdoc(func)
    assert doc and "Examples\n--------" in doc and "Returns\n-------" in doc
    sig = inspect.signature(func)
    assert "spacing" in sig.parameters and sig.parameters["spacing"].kind is (
        inspect.Parameter.KEYWORD_ONLY)
    for p in describe(func):
        assert p.doc, f"{name}: parameter {p.name!r} has no description"
        if p.kind == "number" and p.name != "data_range":
            assert p.min is not None and p.max is not None, f"{name}.{p.name} has no Range"


@pytest.mark.parametrize("name", [n for n in OP_NAMES
                                  if get_op(n).op_info.inputs[:1] == ("image",)])
def test_a_scan_gives_the_same_result_as_its_array_and_spacing(name):
    func = get_op(name)
    arrays = _inputs(func.op_info, 3)
    spacing = (2.0, 0.5, 0.5)
    scan = Scan(arrays[0], spacing=spacing, modality="OT")
    by_scan = func(scan, *arrays[1:])
    by_array = func(arrays[0], *arrays[1:], spacing=spacing)
    if isinstance(by_array, pd.DataFrame):
        pd.testing.assert_frame_equal(by_scan, by_array)
    else:
        np.testing.assert_array_equal(by_scan, by_array)


def test_bad_inputs_give_clear_errors():
    with pytest.raises(ValueError, match="2-D .* or 3-D"):
        ops.gaussian(np.zeros(5))
    with pytest.raises(ValueError, match="spacing must be 2 positive numbers"):
        ops.gaussian(np.zeros((4, 4)), spacing=(1, 0))
    with pytest.raises(ValueError, match="NaN"):
        ops.median(np.full((4, 4), np.nan))
    with pytest.raises(ValueError, match="odd"):
        ops.median(np.zeros((4, 4)), size=4)
    with pytest.raises(ValueError, match="differs"):
        ops.dice(np.zeros((4, 5)), np.zeros((4, 4)))


@pytest.mark.parametrize("name", OP_NAMES)
def test_every_ops_defaults_pass_its_own_checks(name):
    func = get_op(name)
    defaults = {p.name: p.default for p in describe(func) if p.is_tunable}
    assert validate_params(func, defaults) == defaults
    assert func.op_info.import_path == f"medinteract.ops.{name}"
    assert getattr(ops, name) is func


def test_a_colour_scan_is_refused_with_a_hint():
    rgb = Scan(np.zeros((8, 8, 3)), spacing=(1.0, 1.0))
    assert rgb.is_rgb
    for func in (ops.gaussian, ops.threshold, ops.flip):
        with pytest.raises(ValueError, match="rgb2gray"):
            func(rgb)


@pytest.mark.parametrize("name", [n for n in OP_NAMES
                                  if get_op(n).op_info.inputs[:1] == ("image",)])
def test_integer_images_are_accepted_without_overflow(name):
    # raw DICOM pixel data arrives as int16/uint16; results must not wrap around
    func = get_op(name)
    arrays = _inputs(func.op_info, 2)
    raw = (arrays[0] * 30).astype(np.int16)       # about -450 .. 3450
    as_float = raw.astype(np.float32)
    rest = [(a * 30).astype(np.int16) if func.op_info.inputs[k + 1] == "image" else a
            for k, a in enumerate(arrays[1:])]
    by_int = func(raw, *rest)
    by_float = func(as_float, *rest)
    if isinstance(by_int, pd.DataFrame):
        pd.testing.assert_frame_equal(by_int, by_float)
    elif isinstance(by_int, np.ndarray) and func.op_info.output == "same":
        assert by_int.dtype == np.int16
        np.testing.assert_array_equal(by_int, by_float)
    else:
        np.testing.assert_array_equal(by_int, by_float)
