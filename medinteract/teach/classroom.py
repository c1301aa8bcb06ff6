"""Teaching a class with nbgrader: assignments from the tutorials, autograded submissions.

The tutorials already mark their exercises (an ``exercise``-tagged cell that checks an answer)
and the worked solutions live in ``notebooks/solutions/``. :func:`write_assignment` turns
chosen tutorials into nbgrader *source* notebooks: each exercise cell becomes an nbgrader
solution cell holding the worked solution between ``### BEGIN SOLUTION`` and
``### END SOLUTION``, followed by a locked, autograded test cell that calls
:func:`medinteract.teach.grade`. nbgrader then does the rest with its own commands, run in the
course folder::

    python -m medinteract.teach.classroom notebooks/05_segmentation.ipynb \\
        --course course --assignment segmentation
    cd course
    nbgrader generate_assignment segmentation        # release/: the students' version
    # ... collect submissions into submitted/<student>/segmentation/ ...
    MEDINTERACT_GRADING_SECRET=... nbgrader autograde segmentation --create
    nbgrader export                                  # grades.csv

The students' version shows each exercise exactly as the tutorial does (``answer = ...`` and a
``teach.check`` line): nbgrader replaces the solution with :data:`CODE_STUB`. When grading,
nbgrader restores the test cells from the source (a submission cannot edit its own grading),
and ``teach.grade`` runs the student's method on unseen cases seeded from the grading secret
in the environment of ``nbgrader autograde``, so the graded cases are new to every student.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Mapping, Sequence
from os import PathLike
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell

__all__ = ["CODE_STUB", "write_assignment", "exercise_cells", "solution_code", "main"]

#: What a student sees where the solution was (nbgrader's ``ClearSolutions.code_stub``).
CODE_STUB = "answer = ...  # your code here"
#: nbgrader cell metadata schema written here.
_SCHEMA = 3
_CHECK = re.compile(r"""teach\.check\(\s*["']([\w-]+)["']""")
_CHECK_CALL = re.compile(r"""teach\.check\((?P<args>.*)\)\s*$""")
_CONFIG = '''# nbgrader configuration written by medinteract.teach.classroom
c = get_config()  # noqa: F821
c.CourseDirectory.course_id = {course_id!r}
# The students' version keeps the tutorial's placeholder where the solution was.
c.ClearSolutions.code_stub = {{"python": {stub!r}}}
# Tutorials train models and segment volumes: allow each cell time.
c.Execute.timeout = {timeout}
'''


def exercise_cells(nb: nbformat.NotebookNode) -> list[tuple[int, str]]:
    """``(cell index, exercise id)`` of a tutorial's exercise cells (tagged ``exercise``)."""
    found = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and "exercise" in cell.metadata.get("tags", []):
            match = _CHECK.search(cell.source)
            if match is None:
                raise ValueError(f"cell {i} is tagged `exercise` but checks no exercise")
            found.append((i, match.group(1)))
    return found


def solution_code(solutions: nbformat.NotebookNode, exercise_id: str) -> str:
    """The worked solution of one exercise: the ``solution``-tagged cell before its check.

    Raises
    ------
    KeyError
        When the solutions notebook has no solution for ``exercise_id``.
    """
    latest = None
    for cell in solutions.cells:
        if cell.cell_type != "code":
            continue
        if "solution" in cell.metadata.get("tags", []):
            latest = cell.source
        elif latest is not None and exercise_id in _CHECK.findall(cell.source):
            return latest.rstrip()
    raise KeyError(f"no solution of {exercise_id!r} in the solutions notebook")


def _grade_line(check_line: str, points: float) -> str:
    match = _CHECK_CALL.search(check_line)
    if match is None:  # pragma: no cover - exercise_cells found the call
        raise ValueError(f"cannot read the check call {check_line!r}")
    return f"teach.grade({match.group('args')}, points={points:g})"


def _nbgrader(cell: nbformat.NotebookNode, grade_id: str, *, solution: bool,
              points: float | None = None) -> nbformat.NotebookNode:
    meta = {"grade": points is not None, "grade_id": grade_id, "locked": not solution,
            "schema_version": _SCHEMA, "solution": solution}
    if points is not None:
        meta["points"] = points
    cell.metadata["nbgrader"] = meta
    return cell


def write_assignment(tutorials: Sequence[str | PathLike[str]], course: str | PathLike[str],
                     assignment: str, *, solutions: str | PathLike[str] | None = None,
                     points: Mapping[str, float] | None = None, course_id: str = "medinteract",
                     timeout: int = 1800) -> list[Path]:
    """Write nbgrader source notebooks (with solutions) for an assignment.

    Parameters
    ----------
    tutorials : sequence of path-like
        Tutorial notebooks (``notebooks/05_segmentation.ipynb``, ...); each exercise cell
        becomes a solution cell and an autograded test cell.
    course : path-like
        The nbgrader course folder; the notebooks go to ``source/<assignment>/``, and an
        ``nbgrader_config.py`` is written there when it has none.
    assignment : str
        The assignment's name.
    solutions : path-like, optional
        Folder of the ``NN_solutions.ipynb`` notebooks (default: ``solutions/`` beside the
        first tutorial); an exercise's solution is read from the notebook numbered like the
        tutorial it is registered with.
    points : mapping of str to float, optional
        Points per exercise id (default 1 each).
    course_id : str, optional
        nbgrader's course id for a new configuration.
    timeout : int, optional
        Seconds a cell may run when nbgrader executes a notebook, for a new configuration.

    Returns
    -------
    list of Path
        The source notebooks written.

    Raises
    ------
    ValueError
        For a tutorial without exercises, or a tutorial named twice.
    KeyError
        When a solutions notebook lacks the solution of one of the exercises.
    """
    paths = [Path(t) for t in tutorials]
    if len({t.name for t in paths}) != len(paths):
        raise ValueError("each tutorial may be named once")
    solutions_dir = Path(solutions) if solutions else paths[0].parent / "solutions"
    points = dict(points or {})
    course = Path(course)
    target = course / "source" / assignment
    target.mkdir(parents=True, exist_ok=True)
    config = course / "nbgrader_config.py"
    if not config.exists():
        config.write_text(_CONFIG.format(course_id=course_id, stub=CODE_STUB,
                                         timeout=int(timeout)), encoding="utf-8")
    written = []
    for tutorial in paths:
        nb = nbformat.read(tutorial, as_version=4)
        cells = exercise_cells(nb)
        if not cells:
            raise ValueError(f"{tutorial.name} has no exercise cell (tagged `exercise`)")
        for index, exercise_id in reversed(cells):
            solved = _solutions(solutions_dir, exercise_id)
            cell = nb.cells[index]
            lines = cell.source.splitlines()
            check = [line for line in lines if _CHECK.search(line)]
            rest = [line for line in lines if not line.startswith("answer = ...")]
            cell.source = "\n".join(["### BEGIN SOLUTION", solution_code(solved, exercise_id),
                                     "### END SOLUTION", *rest])
            _nbgrader(cell, f"{exercise_id}_answer", solution=True)
            test = new_code_cell("\n".join([
                "# Graded when you submit: your answer is checked on cases only the grader "
                "knows.", _grade_line(check[-1], points.get(exercise_id, 1.0))]))
            _nbgrader(test, f"{exercise_id}_grade", solution=False,
                      points=points.get(exercise_id, 1.0))
            nb.cells.insert(index + 1, test)
        path = target / tutorial.name
        nbformat.write(nb, path)
        written.append(path)
    unknown = sorted(set(points) - {e for t in written
                                    for _, e in _graded(nbformat.read(t, as_version=4))})
    if unknown:
        raise ValueError(f"points given for exercises the assignment does not have: {unknown}")
    return written


def _solutions(folder: Path, exercise_id: str) -> nbformat.NotebookNode:
    """The solutions notebook of an exercise's own tutorial (``NN_solutions.ipynb``)."""
    from medinteract.teach.exercises import exercise

    path = folder / f"{exercise(exercise_id).notebook[:2]}_solutions.ipynb"
    if not path.exists():
        raise KeyError(f"no solutions notebook {path.name} for {exercise_id!r} in {folder}")
    return nbformat.read(path, as_version=4)


def _graded(nb: nbformat.NotebookNode) -> list[tuple[int, str]]:
    return [(i, c.metadata["nbgrader"]["grade_id"].removesuffix("_grade"))
            for i, c in enumerate(nb.cells)
            if c.metadata.get("nbgrader", {}).get("grade")]


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m medinteract.teach.classroom TUTORIAL... --course DIR
    --assignment NAME [--points ID=N ...] [--solutions DIR]``."""
    parser = argparse.ArgumentParser(
        prog="python -m medinteract.teach.classroom",
        description="Write nbgrader source notebooks (solutions and autograded tests) from "
                    "medinteract tutorials; then use nbgrader generate_assignment, autograde "
                    "and export in the course folder.")
    parser.add_argument("tutorials", nargs="+", type=Path)
    parser.add_argument("--course", type=Path, required=True, help="nbgrader course folder")
    parser.add_argument("--assignment", required=True)
    parser.add_argument("--solutions", type=Path, default=None)
    parser.add_argument("--points", nargs="*", default=[], metavar="ID=N",
                        help="points per exercise (default 1)")
    args = parser.parse_args(argv)
    try:
        points = {k: float(v) for k, v in (p.split("=", 1) for p in args.points)}
    except ValueError:
        parser.error("--points takes ID=N pairs, e.g. segment_dice=2")
    for path in write_assignment(args.tutorials, args.course, args.assignment,
                                 solutions=args.solutions, points=points):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
