"""Course mode: self-checking exercises for the tutorial notebooks.

In a notebook::

    from medinteract import teach

    ex = teach.exercise("segment_dice")   # shows the task; ex.data holds its inputs
    answer = ...                           # your code here
    teach.check("segment_dice", answer)    # a green or red box: what is right, what is not

:func:`check` never raises for a missing or wrong answer: the placeholder ``...`` gives a
friendly "no answer yet", an answer of the wrong type or shape says what was expected. Targets
are computed from seeded data (the phantom's ground truth), and the hint never gives the
answer away. Solutions live in ``notebooks/solutions/`` and CI runs them through the checkers.

:mod:`medinteract.teach.nbclean` keeps the notebooks' stored outputs and metadata clean
(``python -m medinteract.teach.nbclean notebooks/``).
"""

from medinteract.teach import hidden
from medinteract.teach.answers import AnswerError
from medinteract.teach.exercises import (Exercise, check, exercise, grade, list_exercises,
                                         register, reset_checks)
from medinteract.teach.feedback import Criterion, Feedback

__all__ = ["check", "grade", "exercise", "list_exercises", "register", "reset_checks",
           "Exercise", "Feedback", "Criterion", "AnswerError", "hidden"]
