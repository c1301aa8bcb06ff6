"""Course mode: every exercise is solvable, and every checker answers kindly.

The solutions notebooks (``notebooks/solutions/NN_solutions.ipynb``) are executed in-process
cell by cell and every ``teach.check`` they make is recorded: each registered exercise must
be checked there and pass. Unanswered placeholders and malformed answers must give a failing
:class:`Feedback` (never an exception) that says what was expected without giving the answer.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import medinteract as mi
from medinteract import teach
from medinteract.teach import course

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
SOLUTIONS = NOTEBOOKS / "solutions"
CHECK_CALL = re.compile(r"""teach\.check\(\s*["']([\w-]+)["']""")
SLOW_SOLUTIONS = {"08_solutions.ipynb", "09_solutions.ipynb"}  # train a CNN

EXERCISES = list(teach.list_exercises()["id"])


@pytest.fixture(autouse=True)
def _fresh_check_count():
    teach.reset_checks()


def _code_cells(path: Path) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "code"]


def _checked_ids(path: Path) -> set[str]:
    return {m for src in _code_cells(path) for m in CHECK_CALL.findall(src)}


def _solution_notebooks() -> list:
    return [pytest.param(p, id=p.name,
                         marks=[pytest.mark.slow] if p.name in SLOW_SOLUTIONS else [])
            for p in sorted(SOLUTIONS.glob("*_solutions.ipynb"))]


# -- every exercise is solvable ------------------------------------------------------------
def test_every_exercise_has_a_solution_in_its_notebooks_solutions_file():
    for ex_id in EXERCISES:
        ex = teach.exercise(ex_id)
        path = SOLUTIONS / f"{ex.notebook[:2]}_solutions.ipynb"
        assert path.exists(), f"{ex_id}: no solutions notebook {path.name} for {ex.notebook}"
        assert ex_id in _checked_ids(path), f"{ex_id}: {path.name} never checks it"


def test_every_exercise_a_notebook_mentions_exists():
    for path in sorted(NOTEBOOKS.rglob("*.ipynb")):
        for ex_id in _checked_ids(path):
            assert ex_id in EXERCISES, f"{path.name} checks unknown exercise {ex_id!r}"


@pytest.mark.parametrize("path", _solution_notebooks())
def test_solutions_pass_their_checkers(path: Path, monkeypatch: pytest.MonkeyPatch):
    """Run the notebook's code in order, recording every Feedback that teach.check returns."""
    results: dict[str, list[teach.Feedback]] = {}
    real_check = teach.check

    def recording_check(exercise_id, answer, **context):
        feedback = real_check(exercise_id, answer, **context)
        results.setdefault(exercise_id, []).append(feedback)
        return feedback

    monkeypatch.setattr(teach, "check", recording_check)
    namespace: dict = {"__name__": "__solutions__"}
    for i, source in enumerate(_code_cells(path)):
        exec(compile(source, f"{path.name}[cell {i}]", "exec"), namespace)  # noqa: S102
    expected = _checked_ids(path)
    assert expected, f"{path.name} checks no exercise"
    assert set(results) == expected
    for feedbacks in results.values():
        assert all(fb.passed for fb in feedbacks), "\n".join(map(str, feedbacks))


# -- placeholders and malformed answers: failing but friendly ------------------------------
@pytest.mark.parametrize("ex_id", EXERCISES)
@pytest.mark.parametrize("placeholder", [..., None], ids=["ellipsis", "none"])
def test_placeholder_gives_friendly_failing_feedback(ex_id, placeholder):
    feedback = teach.check(ex_id, placeholder)
    assert not feedback.passed and not feedback
    assert feedback.problem and feedback.hint
    text = str(feedback)
    assert text.startswith(f"[not yet] {ex_id}")
    assert ("No answer yet" in text) if placeholder is ... else ("`answer` is None" in text)
    assert "Hint:" in text
    html = feedback._repr_html_()
    assert "Not yet" in html and "#cf222e" in html


@pytest.mark.parametrize("ex_id, answer, expected", [
    ("segment_dice", np.zeros((256, 256), bool),
     "Expected your method: a function `f(scan)` that returns a boolean mask of the nodules "
     "(or a pipeline, or a panel), got a bool array of shape (256, 256). This exercise grades "
     "your method on scans you have not seen"),
    ("segment_dice", lambda scan: np.zeros((128, 128), bool),
     "Expected a boolean mask of shape (256, 256), got a bool array of shape (128, 128)"),
    ("segment_dice", lambda scan: scan.array, "Turn an image into a mask with a comparison"),
    ("segment_dice", lambda: None, "your function cannot be called with one argument"),
    ("segment_dice", lambda scan: 1 / 0,
     "Your method raised ZeroDivisionError on the case you see: division by zero"),
    ("segment_dice", "nodules", "got the text 'nodules'"),
    ("lung_mean_hu", np.zeros((256, 256), np.float32),
     "Expected one number: the mean HU of the lung pixels, got a float32 array of shape "
     "(256, 256). Reduce it to one number"),
    ("lung_mean_hu", "-840", "Write the number without quotes"),
    ("lung_mean_hu", float("nan"), "a finite number is needed"),
    ("lung_window", "lung", "Expected a window `(center, width)` in HU"),
    ("lung_window", (-600, -10), "The window width must be positive, got -10 HU"),
    ("slice_order", [1.0, "2.5"], "item 1 is the text '2.5'"),
    ("slice_order", 3.0, "Expected a list of slice positions"),
    ("denoise_psnr", np.zeros((10, 10)), "got a float64 array of shape (10, 10): a denoised "
                                         "image. The exercise grades how you denoise"),
    ("denoise_psnr", lambda scan: np.zeros((10, 10)),
     "Expected an image (array of numbers) of shape (256, 256), got a float64 array"),
    ("denoise_psnr", -1.0, "The Gaussian sigma must be >= 0 mm, got -1"),
    ("denoise_psnr", {"sigma": 1}, "Expected a Gaussian sigma in mm (one number) or your "
                                   "method (a function `f(scan)` returning the denoised "
                                   "image), got a dict object"),
    ("region_volume", 2000.0, "Expected your method: a function `f(scan)`"),
    ("region_volume", lambda scan: [2000.0], "Your function returned something other than "
                                             "a volume on the case you see: expected one "
                                             "number: the volume in mm³, got a list"),
    ("nodule_contrast", lambda scan: scan.array, "this looks like Hounsfield units"),
])
def test_malformed_answer_says_what_was_expected(ex_id, answer, expected):
    feedback = teach.check(ex_id, answer)
    assert not feedback.passed
    assert feedback.problem is not None and expected in feedback.problem
    assert not feedback.criteria


def test_an_answer_of_the_wrong_kind_inside_a_list_is_named():
    feedback = teach.exercise("slice_order").check([object()])
    assert not feedback.passed and "item 0 is a object object" in feedback.problem


# -- feedback says what is right and wrong, without the answer -----------------------------
def test_wrong_numbers_get_diagnosed_without_revealing_the_target():
    p = teach.exercise("lung_mean_hu").data.phantom
    target = float(p.scan.array[p.mask("lung")].mean())
    whole = teach.check("lung_mean_hu", p.scan.array.mean())
    assert not whole.passed and "whole image" in whole.notes[0]
    for feedback in (whole, teach.check("lung_mean_hu", 12.0)):
        text = str(feedback) + feedback._repr_html_()
        assert f"{target:.1f}" not in text and f"{target:.0f}" not in text
    assert teach.check("lung_mean_hu", target + 1.5).passed


def test_region_volume_recognises_unit_mistakes_and_keeps_the_volume_secret():
    p = course._chest_volume()
    largest = p.table.loc[p.table["volume_mm3"].idxmax()]
    volume, voxel = float(largest["volume_mm3"]), float(np.prod(p.scan.spacing))
    cases = {volume / voxel: "voxel count", volume / p.scan.spacing[0]: "slice thickness",
             volume / 1000: "cm³", float(p.table["volume_mm3"].sum()): "all nodules",
             volume * 0.6: "erodes a nodule's rim"}
    for answer, phrase in cases.items():
        feedback = teach.check("region_volume", lambda scan, a=answer: a)
        assert not feedback.passed
        assert phrase in " ".join(feedback.notes), (answer, feedback)
        assert f"{volume:.0f}" not in str(feedback)


def test_lung_window_explains_each_requirement():
    soft = teach.check("lung_window", mi.Window(40, 400))
    assert [c.passed for c in soft.criteria] == [False, True, False, False]
    assert "below the window -160 to 240 HU, so it shows pure black" in soft.criteria[0].detail
    wide = teach.check("lung_window", (-600, 4000))
    assert [c.passed for c in wide.criteria] == [True, True, False, False]
    assert "narrower window" in wide.notes[0]
    assert teach.check("lung_window", [-500, 1200]).passed


def test_denoise_points_the_way_for_a_sigma_answer():
    too_little = teach.check("denoise_psnr", 0.0)
    too_much = teach.check("denoise_psnr", 2.0)
    assert "Smoothing more" in too_little.notes[0]
    assert "Smoothing less" in too_much.notes[0]
    assert teach.check("denoise_psnr", lambda s: mi.ops.median(s, size=3)).passed  # any filter


def test_segmentation_feedback_names_what_is_wrong():
    everything_dense = teach.check("segment_dice", lambda scan: scan.array > -400)
    assert [c.passed for c in everything_dense.criteria] == [False, False]
    assert "other tissue" in everything_dense.notes[0]
    empty = teach.check("segment_dice", lambda scan: np.zeros(scan.shape, bool))
    assert "0 of 4 nodules" in empty.criteria[0].detail and "empty" in empty.notes[0]
    labels = teach.check("segment_dice", lambda scan: mi.ops.label(scan.array > 5000))
    assert labels.criteria  # an integer label image is a mask too


def test_nodule_contrast_grades_a_display_function():
    plain = teach.check("nodule_contrast", lambda scan: mi.ops.gamma(scan, gamma=1.0))
    assert [c.passed for c in plain.criteria] == [False, True, True]
    assert "plain rescale" in plain.notes[0]
    flat = teach.check("nodule_contrast", mi.ops.equalize_hist)
    assert [c.passed for c in flat.criteria] == [False, True, True]
    mask = teach.check("nodule_contrast", lambda scan: (scan.array > -400).astype(float))
    assert [c.passed for c in mask.criteria] == [True, False, False]
    assert "this is a mask" in mask.notes[0]
    inverted = teach.check("nodule_contrast", lambda scan: 1.0 - mi.ops.contrast_stretch(scan))
    assert not inverted.passed and "darker" in inverted.notes[0]


def test_a_pipeline_or_a_panel_is_a_method_too():
    from medinteract.pipeline import Pipeline, Step

    pipeline = Pipeline([Step("contrast_stretch", {"low_percentile": 1.0,
                                                   "high_percentile": 95.0}),
                         Step("gamma", {"gamma": 1.5})])
    assert teach.check("nodule_contrast", pipeline).passed
    panel = mi.panels.panel(teach.exercise("nodule_contrast").data.scan, "gamma", gamma=1.0)
    assert not teach.check("nodule_contrast", panel).passed  # graded, as a method


@settings(max_examples=25, deadline=None)
@given(st.permutations(teach.exercise("slice_order").data.positions))
def test_slice_order_passes_exactly_when_sorted(order):
    feedback = teach.check("slice_order", list(order))
    assert feedback.passed == (list(order) == sorted(order))


def test_slice_order_recognises_reverse_and_text_sorting():
    positions = teach.exercise("slice_order").data.positions
    assert "reverse" in teach.check("slice_order", sorted(positions, reverse=True)).notes[0]
    as_text = teach.check("slice_order", sorted(positions, key=str))
    assert "as text" in as_text.notes[0]
    short = teach.check("slice_order", sorted(positions)[1:])
    assert "11 positions given, 12 slices" in short.criteria[0].detail


# -- display and registry ------------------------------------------------------------------
def test_feedback_displays_as_a_coloured_box_with_escaped_text():
    ok = teach.Feedback("x", "T <b>", (teach.Criterion("is 1 < 2", True, "yes"),))
    html = ok._repr_html_()
    assert ok.passed and "#1a7f37" in html and "Well done" in html
    assert "T &lt;b&gt;" in html and "1 &lt; 2" in html and "<b>" not in html.replace(
        "<b>Note", "").replace("<b>Hint", "")
    bad = teach.Feedback("x", "T", (teach.Criterion("c", False, "d"),), hint="use `np.mean`")
    assert "<code>np.mean</code>" in bad._repr_html_()
    assert str(bad).splitlines() == ["[not yet] x: T", "  ✘ c: d", "  Hint: use `np.mean`"]
    assert not teach.Feedback("x", "T").passed  # nothing assessed is not a pass


def test_exercise_shows_its_task_and_data():
    ex = teach.exercise("segment_dice")
    html = ex._repr_html_()
    assert "Segment the lung nodules" in html and "ex.data.scan" in html
    assert "scans you have not seen: that decides" in html
    assert "teach.check(&#x27;segment_dice&#x27;, answer)" in html or \
        "teach.check('segment_dice', answer)" in html
    assert "segment_dice" in repr(ex)


def test_exercise_data_is_read_only_so_the_ground_truth_stays_true():
    p = teach.exercise("lung_mean_hu").data.phantom
    with pytest.raises(ValueError, match="read-only"):
        p.nodules[0, 0] = 1
    assert not teach.exercise("segment_dice").data.scan.array.flags.writeable


def test_unknown_exercise_or_argument_is_an_authoring_error():
    with pytest.raises(KeyError, match="did you mean 'segment_dice'"):
        teach.check("segment_dic", ...)
    with pytest.raises(TypeError, match="takes no argument \\['phantom'\\].*it takes none"):
        teach.check("segment_dice", ..., phantom=None)  # no grading against your own truth
    with pytest.raises(TypeError, match="it takes \\['model'\\]"):
        teach.check("explain_nodule", ..., scan=None)


def test_registry_lists_each_exercise_once_with_its_notebook():
    table = teach.list_exercises()
    assert list(table.columns) == ["id", "title", "notebook"]
    assert table["id"].is_unique and len(table) >= 7
    assert all(re.fullmatch(r"\d\d_\w+", nb) for nb in table["notebook"])
    with pytest.raises(ValueError, match="already registered"):
        teach.register(teach.exercise("slice_order"))


def test_classifier_accuracy_wants_a_model():
    dataset = teach.exercise("classifier_accuracy").data.dataset
    y = np.asarray(dataset.y_test)
    for answer in (y, np.eye(2)[y]):  # the test labels, as classes or probabilities
        feedback = teach.check("classifier_accuracy", answer)
        assert "hand over the model itself" in feedback.problem

    class BrokenModel:
        def predict(self, x, verbose=0):
            raise RuntimeError("weights not loaded")

    broken = teach.check("classifier_accuracy", BrokenModel())  # feedback, not a traceback
    assert broken.problem == ("Checking your answer failed with RuntimeError: weights not "
                              "loaded")

    class ConstantModel:
        def predict(self, x, verbose=0):
            return np.tile([0.9, 0.1], (len(x), 1))

    constant = teach.check("classifier_accuracy", ConstantModel())
    assert not constant.passed and "'normal' for every patch" in constant.notes[0]


@pytest.mark.parametrize("name", ["feedback", "answers", "exercises", "nbclean", "hidden"])
def test_docstring_examples(name):
    import doctest
    import importlib

    module = importlib.import_module(f"medinteract.teach.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
