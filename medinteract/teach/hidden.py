"""Hidden grading cases: the answer key stays with the checker.

A method exercise grades the student's function (or pipeline, or panel) on cases the student
never sees: scans drawn from the same generator as the exercise's own data, with seeds derived
from the exercise id and a **grading secret**. Without a secret the seeds are fixed (so a
notebook gives the same feedback on every machine, and CI is repeatable); a teacher sets
``MEDINTERACT_GRADING_SECRET`` on the machine that grades submissions, so the graded cases
are new to everyone, including students who read this source.

The scans handed to a student's method carry no hint of their seed (their name is generic).
"""

from __future__ import annotations

import hashlib
import os

__all__ = ["SECRET_ENV", "MAX_CHECKS_ENV", "case_seeds", "secret", "max_checks"]

#: Environment variable holding the teacher's grading secret (any text).
SECRET_ENV = "MEDINTERACT_GRADING_SECRET"
#: Environment variable limiting how often one exercise may be checked in one session.
MAX_CHECKS_ENV = "MEDINTERACT_MAX_CHECKS"
#: Checks of one exercise allowed in one session unless MEDINTERACT_MAX_CHECKS says otherwise.
DEFAULT_MAX_CHECKS = 30
#: Name given to every hidden scan (a scan's own name would reveal its seed).
HIDDEN_NAME = "unseen case"

_DEFAULT_SECRET = "medinteract-course"


def secret() -> str:
    """The grading secret in force: ``$MEDINTERACT_GRADING_SECRET``, or the public default."""
    return os.environ.get(SECRET_ENV) or _DEFAULT_SECRET


def case_seeds(exercise_id: str, n: int, *, secret_text: str | None = None) -> tuple[int, ...]:
    """Seeds of an exercise's ``n`` hidden cases, derived from the exercise id and the secret.

    Parameters
    ----------
    exercise_id : str
        The exercise.
    n : int
        How many seeds (at most 8).
    secret_text : str, optional
        The secret; defaults to :func:`secret`.

    Returns
    -------
    tuple of int
        Seeds in ``[10_000, 2**31)``, different for every exercise and secret and never equal
        to the small seeds the tutorials use.

    Examples
    --------
    >>> a = case_seeds("segment_dice", 3, secret_text="x")
    >>> a == case_seeds("segment_dice", 3, secret_text="x"), a == case_seeds(
    ...     "segment_dice", 3, secret_text="y")
    (True, False)
    """
    if not 0 < n <= 8:
        raise ValueError(f"between 1 and 8 hidden cases, got {n}")
    text = secret() if secret_text is None else secret_text
    digest = hashlib.sha256(f"{text}\x00{exercise_id}".encode()).digest()
    return tuple(10_000 + int.from_bytes(digest[4 * i:4 * i + 4], "little") % (2**31 - 10_000)
                 for i in range(n))


def max_checks() -> int | None:
    """Checks allowed per exercise and session: ``$MEDINTERACT_MAX_CHECKS`` (0 = unlimited).

    Raises
    ------
    ValueError
        When the variable is set to something other than a non-negative integer.
    """
    text = os.environ.get(MAX_CHECKS_ENV, "").strip()
    if not text:
        return DEFAULT_MAX_CHECKS
    if not text.isdigit():
        raise ValueError(f"{MAX_CHECKS_ENV} must be a non-negative integer, got {text!r}")
    return int(text) or None
