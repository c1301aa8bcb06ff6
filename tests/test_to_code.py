"""Exported code runs as pasted and reproduces the result bit for bit (issue 13).

Pasted means: executed in a namespace holding only the input (``image``, the Scan the panel or
pipeline started from), or in a fresh Python process that loads the input from a file.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import medinteract as mi
from medinteract.ops import list_ops
from medinteract.pipeline import Pipeline, Step

#: Ops that compare two masks: no pipeline step or panel can give them their second input.
TWO_MASK_METRICS = {"confusion_counts", "dice", "hausdorff_distance", "iou", "overlap_labels"}

#: Parameters other than the defaults where the defaults would show little.
PARAMS: dict[str, dict[str, Any]] = {
    "crop": {"region": ((1, 5), (8, 40), (4, 44))},
    "flip": {"axis": "z"},
    "rotate90": {"k": 1, "plane": "coronal"},
    "resample_isotropic": {"new_spacing": 1.0},
    "threshold": {"low": -400.0},
    "region_grow": {"seed": (3, 24, 20), "tolerance": 300.0},
    "line_profile": {"start": (3, 5, 5), "end": (3, 40, 30)},
}

OPS = [name for name in list_ops()["name"] if name not in TWO_MASK_METRICS]


@pytest.fixture(scope="module")
def ct():
    return mi.data.phantom(shape=(8, 48, 48), n_nodules=1, nodule_radius_mm=4.0, seed=1)


@pytest.fixture(scope="module")
def inputs(ct):
    """The input of each role: a CT Scan, a mask Scan, a label Scan (what pipelines return)."""
    mask = Pipeline([("threshold", {"low": -400.0})]).run(ct.scan)
    labels = Pipeline([("label", {})]).run(mask)
    return {"image": ct.scan, "mask": mask, "labels": labels}


def paste(code: str, **given: Any) -> Any:
    """Run code as a notebook cell holding only the given variables would."""
    scope: dict[str, Any] = dict(given)
    exec(compile(code, "<pasted>", "exec"), scope)
    return scope["result"]


def assert_identical(result: Any, expected: Any) -> None:
    """Bit for bit: values, dtype and (for a Scan) geometry, modality and window."""
    if isinstance(expected, mi.Scan):
        assert isinstance(result, mi.Scan)
        assert result.geometry == expected.geometry
        assert (result.modality, result.window) == (expected.modality, expected.window)
        result, expected = result.array, expected.array
    if isinstance(expected, pd.DataFrame):
        pd.testing.assert_frame_equal(result, expected, check_exact=True)
    elif isinstance(expected, np.ndarray):
        assert result.dtype == expected.dtype and result.shape == expected.shape
        assert result.tobytes() == expected.tobytes()
    else:
        assert type(result) is type(expected) and result == expected


def role(name: str) -> str:
    """The input a one-step pipeline of the op takes (its first mask/labels input, else image)."""
    roles = mi.ops.get_op(name).op_info.inputs
    return next((r for r in roles if r in ("mask", "labels")), "image")


# -- the issue --------------------------------------------------------------------------------
def test_panel_code_runs_given_only_the_scan(ct):
    panel = mi.panels.denoise(ct.scan, "gaussian", sigma=1.0)
    # the issue: the code started with `if spacing is None:` and `spacing` was never defined
    result = paste(panel.to_code(), image=ct.scan)
    assert np.array_equal(np.asarray(result), panel.result)


# -- every op, as a pipeline step and as a panel -------------------------------------------------
def test_every_op_but_the_two_mask_metrics_is_covered():
    for name in TWO_MASK_METRICS:
        with pytest.raises(ValueError, match="second mask input"):
            Step(name)
    assert set(OPS) | TWO_MASK_METRICS == set(list_ops()["name"])


@pytest.mark.parametrize("name", OPS)
def test_every_ops_pipeline_code_reproduces_run(name, inputs):
    pipeline = Pipeline([Step(name, PARAMS.get(name, {}))])
    given = inputs[role(name)]
    expected = pipeline.run(given)
    assert_identical(paste(pipeline.to_code(), image=given), expected)


@pytest.mark.parametrize("name", OPS)
def test_every_ops_panel_code_reproduces_the_panel(name, ct):
    source: Any = ct.scan
    if role(name) in ("mask", "labels"):  # what a user does: chain after a threshold panel
        source = mi.panels.threshold(ct.scan, low=-400.0)
        if role(name) == "labels":
            source = mi.panels.panel(source, "label")
    panel = mi.panels.panel(source, name, **PARAMS.get(name, {})).wait()
    assert not panel.error, panel.error
    result = paste(panel.to_code(), image=ct.scan)
    assert_identical(np.asarray(result) if isinstance(result, mi.Scan) else result,
                     panel.result)


# -- every panel type ------------------------------------------------------------------------
def test_panel_types(ct):
    scan = ct.scan
    truth = ct.nodules > 0
    panels = [
        mi.panels.denoise(scan, "median", size=3),
        mi.panels.enhance(scan, "clahe", clip_limit=0.02),
        mi.panels.threshold(scan, low=-300.0, high=400.0),
        mi.panels.ground_truth(scan, "threshold_auto", truth, method="li"),
        mi.panels.panel(scan, "unsharp_mask", amount=2.0),
    ]
    for panel in panels:
        panel.wait()
        result = paste(panel.to_code(), image=scan)
        assert_identical(result.array, panel.result)


def test_chained_panels(ct):
    smooth = mi.panels.denoise(ct.scan, "gaussian", sigma=0.8)
    mask = mi.panels.threshold(smooth, low=-400.0)
    clean = mi.panels.panel(mask, "opening", radius=1.0)
    labels = mi.panels.panel(clean, "label")
    for panel in (mask, clean, labels):
        assert_identical(paste(panel.to_code(), image=ct.scan).array, panel.result)
    smooth.set(sigma=1.5)  # the chain follows; so does its code
    assert "sigma=1.5" in labels.to_code()
    assert_identical(paste(labels.to_code(), image=ct.scan).array, labels.wait().result)


@pytest.mark.parametrize("category", ["denoise", "enhance", "segment", "morphology",
                                      "preprocess"])
def test_op_chooser(category, ct, inputs):
    given = inputs["mask"] if category == "morphology" else ct.scan
    chooser = mi.panels.choose(given, category)
    chooser.panel.wait()
    assert_identical(paste(chooser.to_code(), image=given).array, chooser.result)


def test_measure_panel(ct):
    bone = Pipeline([("threshold", {"low": 200.0})])  # ribs and spine: several objects
    mask = bone.run(ct.scan)
    labels = (bone + Pipeline([("label", {})])).run(ct.scan)
    mask_panel = mi.panels.threshold(ct.scan, low=200.0)
    smooth = Pipeline([("gaussian", {})]).run(ct.scan)
    cases = {
        "a chained mask": (mi.panels.measure(ct.scan, mask_panel), {}),
        "a chained label image": (mi.panels.measure(ct.scan, mi.panels.panel(mask_panel, "label")),
                                  {}),
        "a mask": (mi.panels.measure(ct.scan, mask.array), {"labels": mask}),
        "a label image": (mi.panels.measure(ct.scan, labels.array), {"labels": labels.array}),
        "another image": (mi.panels.measure(smooth, mask_panel), {"intensities": smooth}),
    }
    for what, (panel, extra) in cases.items():
        assert len(panel.table) > 3, what
        for filtered in (False, True):
            if filtered:
                panel.filter("volume_mm3", minimum=20.0)
                assert 0 < len(panel.result) < len(panel.table), what
            assert_identical(paste(panel.to_code(), image=ct.scan, **extra), panel.result)


def test_sweep_steps(ct):
    sweep = mi.panels.sweep(ct.scan, "gaussian", "sigma", [0.5, 1.5])
    for step, result in zip(sweep.steps, sweep.results):
        assert_identical(paste(Pipeline([step]).to_code(), image=ct.scan).array, result)


# -- pipelines with geometry steps --------------------------------------------------------------
@pytest.mark.parametrize("steps", [
    [("resample_isotropic", {"new_spacing": 1.0}), ("gaussian", {}), ("threshold", {"low": -400.0}),
     ("label", {}), ("region_table", {})],
    # the input image follows the crop after a smoothing step, for region_table's HU
    [("gaussian", {}), ("crop", {"region": ((1, 5), (8, 40), (4, 44))}),
     ("threshold", {"low": -400.0}), ("flip", {"axis": "y"}), ("label", {}),
     ("region_table", {})],
    [("crop", {"region": ((1, 5), (8, 40), (4, 44))}), ("rotate90", {"k": 3})],
    [("threshold", {"low": -400.0}), ("rotate90", {"k": 1, "plane": "sagittal"})],
])
def test_pipelines_with_geometry_steps(steps, ct):
    pipeline = Pipeline(steps)
    assert_identical(paste(pipeline.to_code(), image=ct.scan), pipeline.run(ct.scan))


def test_code_that_loads_its_input_runs_in_a_fresh_python(ct, tmp_path: Path):
    path = mi.write_nifti(ct.scan, tmp_path / "chest.nii.gz")
    scan = mi.load(path)
    panel = mi.panels.threshold(mi.panels.denoise(scan, "gaussian", sigma=1.0), low=-400.0)
    measure = mi.panels.measure(scan, panel)
    code = measure.to_code(path=path)
    assert code.startswith("import medinteract\n")
    script = code + f"result.to_csv({str(tmp_path / 'regions.csv')!r}, index=False)\n"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    table = mi.batch.read_table(tmp_path / "regions.csv")
    pd.testing.assert_frame_equal(table, measure.result, check_dtype=False, check_exact=True)
