"""Exercises: a registry of self-checking tasks for the tutorial notebooks.

An :class:`Exercise` bundles an id, a title, the tutorial it belongs to, the prompt, a hint,
the data the student works on (:attr:`Exercise.data`, seeded and built once) and a grading
function that turns an answer into :class:`~medinteract.teach.Criterion` results. Targets are
computed from that data (e.g. the Dice of the student's mask against the phantom's ground
truth), never stored as a hard-coded answer.
"""

from __future__ import annotations

import difflib
import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pandas as pd

from medinteract.teach.answers import AnswerError
from medinteract.teach.feedback import Criterion, Feedback, _inline

__all__ = ["Exercise", "Grade", "register", "exercise", "list_exercises", "check"]

#: What a grading function returns: the criteria, and notes that explain a failure.
Grade = tuple[list[Criterion], list[str]]

_REGISTRY: dict[str, Exercise] = {}


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
        ``grade(answer, **data) -> (criteria, notes)``; raises :class:`AnswerError` for an
        answer of the wrong type or shape.
    inputs : mapping of str to callable
        The data the student works on: name -> a function without arguments that builds it
        (seeded; cache it, e.g. with :func:`functools.cache`, as it is called on every check).
        Only the inputs a check needs are built.
    """

    id: str
    title: str
    notebook: str
    prompt: str
    hint: str
    expects: str
    grade: Callable[..., Grade]
    inputs: Mapping[str, Callable[[], Any]]

    @property
    def data(self) -> SimpleNamespace:
        """The exercise's inputs as attributes (``ex.data.phantom``), seeded and cached."""
        return SimpleNamespace(**{name: make() for name, make in self.inputs.items()})

    def check(self, answer: Any, **context: Any) -> Feedback:
        """Check an answer; never raises for a wrong or missing answer.

        Parameters
        ----------
        answer : object
            The student's answer (``...`` or ``None`` means "not answered yet").
        **context
            Replacements for the exercise's own data, named as in :attr:`data` (e.g.
            ``phantom=my_phantom`` to grade against the phantom a tutorial already built).

        Returns
        -------
        Feedback

        Raises
        ------
        TypeError
            When ``context`` names something the exercise does not use (an authoring error).
        """
        unknown = sorted(set(context) - set(self.inputs))
        if unknown:
            raise TypeError(f"exercise {self.id!r} takes no context {unknown}; it accepts "
                            f"{sorted(self.inputs)}")
        if answer is Ellipsis:
            return Feedback(exercise_id=self.id, title=self.title, hint=self.hint, problem=(
                f"No answer yet: replace `...` with your code, so that `answer` holds "
                f"{self.expects}."))
        if answer is None:
            return Feedback(exercise_id=self.id, title=self.title, hint=self.hint, problem=(
                f"`answer` is None: expected {self.expects}. Did a function forget to "
                f"`return` its result?"))
        data = {name: context[name] if name in context else make()
                for name, make in self.inputs.items()}
        try:
            criteria, notes = self.grade(answer, **data)
        except AnswerError as error:
            return Feedback(exercise_id=self.id, title=self.title, hint=self.hint,
                            problem=_sentence(str(error)))
        except Exception as error:  # a student's object misbehaving must not crash the cell
            return Feedback(exercise_id=self.id, title=self.title, hint=self.hint, problem=(
                f"Checking your answer failed with {type(error).__name__}: {error}"))
        return Feedback(exercise_id=self.id, title=self.title, criteria=tuple(criteria),
                        hint=self.hint, notes=tuple(notes))

    def __repr__(self) -> str:
        names = ", ".join(self.inputs)
        return (f"Exercise {self.id!r}: {self.title} ({self.notebook})\n\n{self.prompt}\n\n"
                f"Data: ex.data.{{{names}}}")

    def _repr_html_(self) -> str:
        names = ", ".join(f"<code>ex.data.{html.escape(n)}</code>" for n in self.inputs)
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
            f"<code>teach.check({self.id!r}, answer)</code>.</p></div>"
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


def check(exercise_id: str, answer: Any, **context: Any) -> Feedback:
    """Check an answer to a registered exercise.

    Parameters
    ----------
    exercise_id : str
        The exercise, e.g. ``"segment_dice"`` (see :func:`list_exercises`).
    answer : object
        The student's answer; ``...`` (the placeholder) gives a friendly "not answered yet".
    **context
        Replacements for the exercise's data (see :attr:`Exercise.data`), e.g.
        ``phantom=chest`` to grade against a phantom the notebook built itself.

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
    return exercise(exercise_id).check(answer, **context)


def _load_course() -> None:
    """Register the built-in exercises on first use."""
    from medinteract.teach import course  # noqa: F401  (registers on import)

