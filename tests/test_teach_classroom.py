"""A teacher's workflow with nbgrader, on a small class written at test time.

An assignment of two exercises (``slice_order`` and the method exercise ``segment_dice``) is
written from a tutorial-style notebook and the worked solutions, released with
``nbgrader generate_assignment`` (solutions stripped), submitted by three students (one
correct, one half-done, one cheating: the answer key copied and the grading cell edited to
award itself the points) and graded with ``nbgrader autograde`` under a teacher's grading
secret. ``nbgrader export`` must give 3, 1 and 1 points of 3.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from medinteract.teach import classroom, hidden

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "notebooks" / "solutions"
NBGRADER = [sys.executable, "-m", "nbgrader"]
ASSIGNMENT = "week5"
NOTEBOOK = "05_practice.ipynb"

HALF_DONE = """def segment_nodules(scan):
    body = mi.ops.fill_holes(mi.ops.threshold(scan, low=-400.0))
    lungs = body & mi.ops.threshold(scan, high=-400.0)
    return mi.ops.fill_holes(lungs) & mi.ops.threshold(scan, low=-400.0)  # no clean-up


answer = segment_nodules
teach.check("segment_dice", answer)"""

CHEAT = """truth = mi.data.phantom(shape=(256, 256), n_nodules=4, seed=7).nodules > 0
answer = lambda scan: truth  # the answer key of the slice the exercise shows
teach.check("segment_dice", answer)"""


def _tutorial(path: Path) -> Path:
    """A tutorial in the course's conventions: imports, two tasks, two exercise cells."""
    def exercise(ex_id: str):
        cell = new_code_cell(f'answer = ...  # your code here\nteach.check("{ex_id}", answer)')
        cell.metadata["tags"] = ["exercise"]
        return cell

    nb = new_notebook(cells=[
        new_code_cell("import numpy as np\n\nimport medinteract as mi\nfrom medinteract "
                      "import teach"),
        new_markdown_cell("Sort the slice positions from feet to head."),
        exercise("slice_order"),
        new_markdown_cell("Write `segment_nodules(scan)`."),
        exercise("segment_dice"),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)
    return path


def _run(args: list[str], course: Path, **env: str) -> subprocess.CompletedProcess:
    # nbgrader runs `alembic` from PATH: the environment's scripts, as when it is activated
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    result = subprocess.run(args, cwd=course, capture_output=True, text=True, timeout=1200,
                            env={**os.environ, "PATH": path, **env})
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def _cell(nb, grade_id: str):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id")
                == grade_id)


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory) -> tuple[Path, dict[str, dict[str, str]]]:
    base = tmp_path_factory.mktemp("class")
    tutorial = _tutorial(base / NOTEBOOK)
    course = base / "course"
    written = classroom.write_assignment([tutorial], course, ASSIGNMENT, solutions=SOLUTIONS,
                                         points={"segment_dice": 2})
    assert written == [course / "source" / ASSIGNMENT / NOTEBOOK]
    _run(NBGRADER + ["generate_assignment", ASSIGNMENT, "--force"], course)

    release = nbformat.read(course / "release" / ASSIGNMENT / NOTEBOOK, as_version=4)
    solved = nbformat.read(written[0], as_version=4)
    submissions = {name: nbformat.from_dict(release) for name in ("correct", "partial",
                                                                   "cheater")}
    for grade_id in ("slice_order_answer", "segment_dice_answer"):  # the worked solutions
        lines = _cell(solved, grade_id).source.splitlines()
        _cell(submissions["correct"], grade_id).source = "\n".join(
            line for line in lines if "### " not in line)
    for name in ("partial", "cheater"):
        nb = submissions[name]
        _cell(nb, "slice_order_answer").source = (
            'answer = sorted(teach.exercise("slice_order").data.positions)\n'
            'teach.check("slice_order", answer)')
    _cell(submissions["partial"], "segment_dice_answer").source = HALF_DONE
    _cell(submissions["cheater"], "segment_dice_answer").source = CHEAT
    _cell(submissions["cheater"], "segment_dice_grade").source = "2.0  # full marks, please"
    for name, nb in submissions.items():
        folder = course / "submitted" / name / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / NOTEBOOK)

    _run(NBGRADER + ["autograde", ASSIGNMENT, "--create"], course,
         **{hidden.SECRET_ENV: "spring term, not in any notebook"})
    _run(NBGRADER + ["export", "--to", "grades.csv"], course)
    with open(course / "grades.csv", newline="") as f:
        grades = {row["student_id"]: row for row in csv.DictReader(f)}
    return course, grades


def test_the_students_version_has_no_solutions(graded_class):
    course, _ = graded_class
    text = (course / "release" / ASSIGNMENT / NOTEBOOK).read_text()
    release = nbformat.read(course / "release" / ASSIGNMENT / NOTEBOOK, as_version=4)
    answer = _cell(release, "segment_dice_answer").source
    assert answer.splitlines() == [classroom.CODE_STUB, 'teach.check("segment_dice", answer)']
    assert "BEGIN SOLUTION" not in text and "opening" not in text and "sorted(" not in text
    grade = _cell(release, "segment_dice_grade")
    assert 'teach.grade("segment_dice", answer, points=2)' in grade.source
    assert grade.metadata["nbgrader"]["locked"] and grade.metadata["nbgrader"]["points"] == 2


def test_grades_of_a_correct_a_partial_and_a_cheating_submission(graded_class):
    _, grades = graded_class
    scores = {student: float(row["score"]) for student, row in grades.items()}
    assert scores == {"correct": 3.0, "partial": 1.0, "cheater": 1.0}
    assert {float(row["max_score"]) for row in grades.values()} == {3.0}


def test_the_graded_notebook_says_why(graded_class):
    course, _ = graded_class
    graded = nbformat.read(course / "autograded" / "cheater" / ASSIGNMENT / NOTEBOOK,
                           as_version=4)
    cell = _cell(graded, "segment_dice_grade")
    assert "teach.grade" in cell.source  # restored from the source, not the student's edit
    printed = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    assert "Flagged" in printed and "answer key" in printed
    partial = nbformat.read(course / "autograded" / "partial" / ASSIGNMENT / NOTEBOOK,
                            as_version=4)
    printed = "".join(o.get("text", "") for o in _cell(partial, "segment_dice_grade").outputs
                      if o.output_type == "stream")
    assert "other object" in printed and "[not yet]" in printed


def test_the_command_line_writes_the_same_source(tmp_path):
    tutorial = _tutorial(tmp_path / NOTEBOOK)
    assert classroom.main([str(tutorial), "--course", str(tmp_path / "c"), "--assignment",
                           "a", "--solutions", str(SOLUTIONS), "--points",
                           "slice_order=0.5"]) == 0
    nb = nbformat.read(tmp_path / "c" / "source" / "a" / NOTEBOOK, as_version=4)
    assert _cell(nb, "slice_order_grade").metadata["nbgrader"]["points"] == 0.5
    assert "### BEGIN SOLUTION" in _cell(nb, "slice_order_answer").source
    config = (tmp_path / "c" / "nbgrader_config.py").read_text()
    assert "answer = ...  # your code here" in config
    with pytest.raises(ValueError, match="does not have"):
        classroom.write_assignment([tutorial], tmp_path / "d", "a", solutions=SOLUTIONS,
                                   points={"lung_window": 1})
