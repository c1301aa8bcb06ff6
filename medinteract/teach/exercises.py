"""Exercises: a registry of self-checking tasks for the tutorial notebooks.

An :class:`Exercise` bundles an id, a title, the tutorial it belongs to, the prompt, a hint,
the data the student works on (:attr:`Exercise.data`, seeded and built once) and a grading
function that turns an answer into :class:`~medinteract.teach.Criterion` results. Targets are
computed from that data (e.g. the Dice of the student's mask against the phantom's ground
truth), never stored as a hard-coded answer.
"""

from __future__ import annotations

import dataclasses
import difflib
import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pandas as pd

from medinteract.teach import hidden
from medinteract.teach.answers import AnswerError
from medinteract.teach.feedback import Criterion, Feedback, _inline

__all__ = ["Exercise", "Grade", "register", "exercise", "list_exercises", "check", "grade",
           "reset_checks"]

#: What a grading function returns: the criteria, notes that explain a failure and, optionally,
#: flags (reasons the answer cannot count: it reproduces the answer key, it was trained on the
#: test split).
Grade = tuple[list[Criterion], list[str]] | tuple[list[Criterion], list[str], list[str]]

_REGISTRY: dict[str, Exercise] = {}
#: Checks made of each exercise in this session.
_CHECKS: dict[str, int] = {}


@dataclass(frozen=True, eq=False)
class Exercise:
    """A self-checking task.

    Attributes
    ----------
    id : str
        Short identifier used in ``teach.check(id, answer)``.
    title : str
        One-line title.
    notebook : str
        Stem of the tutorial notebook the exercise belongs to (``"05_segmentation"``); its
        solution lives in ``notebooks/solutions/<NN>_solutions.ipynb``.
    prompt : str
        The task, in Markdown, as shown to the student.
    hint : str
        A nudge shown with every failing feedback; never the answer itself.
    expects : str
        What ``answer`` must hold ("a boolean mask of shape (256, 256)"), for the message
        shown while the placeholder ``...`` is still in place.
    grade : callable
        ``grade(answer, **data) -> (criteria, notes[, flags])``; raises :class:`AnswerError`
        for an answer of the wrong type or shape. It keeps the answer key to itself: the
        ground truth and any hidden cases (:mod:`medinteract.teach.hidden`) are built inside.
    inputs : mapping of str to callable
        The data the student works on: name -> a function without arguments that builds it
        (seeded; cache it, e.g. with :func:`functools.cache`, as it is called on every check).
        Inputs only, never labels: what the student may use to find the answer.
    supplied : tuple of str
        Names of things the student hands to :meth:`check` besides the answer (e.g. ``model``
        for an exercise that explains the student's own model); they replace no input.
    method : bool
        True when the answer is a method graded on unseen cases (shown in the task box).
    """

    id: str
    title: str
    notebook: str
    prompt: str
    hint: str
    expects: str
    grade: Callable[..., Grade]
    inputs: Mapping[str, Callable[[], Any]]
    supplied: tuple[str, ...] = ()
    method: bool = False

    @property
    def data(self) -> SimpleNamespace:
        """The exercise's inputs as attributes (``ex.data.phantom``), seeded and cached."""
        return SimpleNamespace(**{name: make() for name, make in self.inputs.items()})

    def check(self, answer: Any, **supplied: Any) -> Feedback:
        """Check an answer; never raises for a wrong or missing answer.

        Each exercise may be checked :func:`~medinteract.teach.hidden.max_checks` times per
        session (``MEDINTERACT_MAX_CHECKS``); past that the answer is not assessed.

        Parameters
        ----------
        answer : object
            The student's answer (``...`` or ``None`` means "not answered yet").
        **supplied
            What the exercise asks the student to hand over besides the answer (see
            :attr:`supplied`, e.g. ``model=model``).

        Returns
        -------
        Feedback

        Raises
        ------
        TypeError
            When ``supplied`` names something the exercise does not take (an authoring error).
        """
        unknown = sorted(set(supplied) - set(self.supplied))
        if unknown:
            takes = f"it takes {list(self.supplied)}" if self.supplied else "it takes none"
            raise TypeError(f"exercise {self.id!r} takes no argument {unknown} besides the "
                            f"answer; {takes}")
        if answer is Ellipsis:
            return self._problem(f"No answer yet: replace `...` with your code, so that "
                                 f"`answer` holds {self.expects}.")
        if answer is None:
            return self._problem(f"`answer` is None: expected {self.expects}. Did a function "
                                 f"forget to `return` its result?")
        limit = hidden.max_checks()
        _CHECKS[self.id] = count = _CHECKS.get(self.id, 0) + 1
        if limit is not None and count > limit:
            return self._problem(
                f"This is check {count} of `{self.id}` in this session; {limit} are allowed, "
                f"so this answer was not assessed. Feedback is for learning, not for trying "
                f"values until one passes: work out why your last answer fell short.")
        feedback = self.assess(answer, **supplied)
        if limit is not None and limit - count < 5 and feedback.problem is None:
            left = limit - count
            feedback = dataclasses.replace(feedback, notes=feedback.notes + (
                f"{left} check{'s' if left != 1 else ''} of this exercise left in this "
                f"session.",))
        return feedback

    def assess(self, answer: Any, **supplied: Any) -> Feedback:
        """Grade an answer without counting it as a check (for autograders).

        Returns
        -------
        Feedback
            As :meth:`check`, for an answer that is not a placeholder.
        """
        data = {name: make() for name, make in self.inputs.items()}
        try:
            criteria, notes, *flags = self.grade(answer, **data, **supplied)
        except AnswerError as error:
            return self._problem(_sentence(str(error)))
        except Exception as error:  # a student's object misbehaving must not crash the cell
            return self._problem(f"Checking your answer failed with {type(error).__name__}: "
                                 f"{error}")
        return Feedback(exercise_id=self.id, title=self.title, criteria=tuple(criteria),
                        hint=self.hint, notes=tuple(notes),
                        flags=tuple(flags[0]) if flags else ())

    def _problem(self, text: str) -> Feedback:
        return Feedback(exercise_id=self.id, title=self.title, hint=self.hint, problem=text)

    def __repr__(self) -> str:
        names = ", ".join(self.inputs)
        return (f"Exercise {self.id!r}: {self.title} ({self.notebook})\n\n{self.prompt}\n\n"
                f"Data: ex.data.{{{names}}}")

    def _repr_html_(self) -> str:
        names = ", ".join(f"<code>ex.data.{html.escape(n)}</code>" for n in self.inputs)
        extra = "".join(f", {html.escape(n)}={html.escape(n)}" for n in self.supplied)
        graded = (" Your method is also run on scans you have not seen: that decides."
                  if self.method else "")
        paragraphs = "".join(f"<p style='margin:4px 0'>{_inline(p)}</p>"
                             for p in self.prompt.split("\n\n"))
        return (
            "<div class='medinteract-exercise' style='border:2px solid #0969da;"
            "background:#ddf4ff;color:#1f2328;border-radius:6px;padding:8px 12px;"
            "margin:4px 0;font-family:sans-serif'>"
            f"<div style='font-weight:bold;color:#0969da'>Exercise <code>"
            f"{html.escape(self.id)}</code>: {html.escape(self.title)}</div>"
            f"{paragraphs}<p style='margin:4px 0'>Data: {names}, with <code>ex = "
            f"teach.exercise({self.id!r})</code>. Check with "
            f"<code>teach.check({self.id!r}, answer{extra})</code>.{graded}</p></div>"
        )


def _sentence(text: str) -> str:
    text = text.strip()
    return text[0].upper() + text[1:] if text else text


def register(ex: Exercise) -> Exercise:
    """Add an exercise to the registry (ids are unique).

    Raises
    ------
    ValueError
        When an exercise with the same id is already registered.
    """
    if ex.id in _REGISTRY:
        raise ValueError(f"an exercise with id {ex.id!r} is already registered")
    _REGISTRY[ex.id] = ex
    return ex


def exercise(exercise_id: str) -> Exercise:
    """The registered exercise with this id.

    Raises
    ------
    KeyError
        For an unknown id, listing the closest known ids.
    """
    _load_course()
    try:
        return _REGISTRY[exercise_id]
    except KeyError:
        close = difflib.get_close_matches(str(exercise_id), list(_REGISTRY), n=3)
        suggestion = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        raise KeyError(f"no exercise {exercise_id!r}{suggestion} Known exercises: "
                       f"{sorted(_REGISTRY)}") from None


def list_exercises() -> pd.DataFrame:
    """Every registered exercise: ``id``, ``title``, ``notebook`` (sorted by notebook)."""
    _load_course()
    rows = [{"id": e.id, "title": e.title, "notebook": e.notebook} for e in _REGISTRY.values()]
    return (pd.DataFrame(rows, columns=["id", "title", "notebook"])
            .sort_values(["notebook", "id"], kind="stable").reset_index(drop=True))


def check(exercise_id: str, answer: Any, **supplied: Any) -> Feedback:
    """Check an answer to a registered exercise.

    Parameters
    ----------
    exercise_id : str
        The exercise, e.g. ``"segment_dice"`` (see :func:`list_exercises`).
    answer : object
        The student's answer; ``...`` (the placeholder) gives a friendly "not answered yet".
    **supplied
        What the exercise asks for besides the answer (e.g. ``model=model``).

    Returns
    -------
    Feedback
        ``.passed`` is True when every criterion holds; shows as a green or red box.

    Examples
    --------
    >>> from medinteract import teach
    >>> teach.check("slice_order", ...).passed
    False
    """
    return exercise(exercise_id).check(answer, **supplied)


def grade(exercise_id: str, answer: Any, points: float = 1.0, **supplied: Any) -> float:
    """Points for an answer, for an autograder: ``points`` when it passes, else 0.

    Not counted as a check and never raises for the answer; the feedback is printed, so the
    graded notebook shows why. With ``MEDINTERACT_GRADING_SECRET`` set, method exercises are
    graded on unseen cases that only the grader knows.

    Examples
    --------
    >>> from medinteract import teach
    >>> teach.grade("slice_order", [3.0, 1.0])
    [not yet] slice_order: Put the slices of a series in order
    ...
    0.0
    """
    ex = exercise(exercise_id)
    unanswered = answer is None or answer is Ellipsis
    feedback = ex.check(answer, **supplied) if unanswered else ex.assess(answer, **supplied)
    print(feedback)
    return float(points) if feedback.passed else 0.0


def reset_checks() -> None:
    """Forget how often each exercise was checked in this session (for teachers and tests)."""
    _CHECKS.clear()


def _load_course() -> None:
    """Register the built-in exercises on first use."""
    from medinteract.teach import course  # noqa: F401  (registers on import)

