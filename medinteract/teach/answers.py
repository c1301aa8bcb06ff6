"""Turn a student's answer into the value a checker needs, or say exactly what was wrong.

Each ``as_*`` function returns the validated value or raises :class:`AnswerError` whose
message names what was expected and what was given, e.g. ``expected a boolean mask of shape
(256, 256), got a float64 array of shape (128, 128)``. The checker turns that message into a
failing :class:`~medinteract.teach.Feedback`; it never reaches the student as a traceback.
"""

from __future__ import annotations

import inspect
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from medinteract.scan import Scan, Window

__all__ = ["AnswerError", "describe", "as_number", "as_numbers", "as_mask", "as_image",
           "as_window", "as_method", "call_method"]


class AnswerError(ValueError):
    """An answer that cannot be assessed (wrong type, shape or content)."""


def describe(value: Any) -> str:
    """A short description of a value for messages: its type, and dtype/shape for arrays.

    Examples
    --------
    >>> import numpy as np
    >>> describe(np.zeros((128, 128)))
    'a float64 array of shape (128, 128)'
    >>> describe("12")
    "the text '12'"
    >>> describe([1, 2, 3])
    'a list of 3 items'
    """
    if isinstance(value, Scan):
        return f"a Scan of shape {value.shape} (use its .array)"
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return f"a 0-d {value.dtype} array"
        return f"a {value.dtype} array of shape {value.shape}"
    if isinstance(value, str):
        text = value if len(value) <= 30 else value[:27] + "..."
        return f"the text {text!r}"
    if isinstance(value, bool):
        return f"the boolean {value}"
    if isinstance(value, numbers.Number):
        return f"the number {value!r}"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)} items"
    if value is None:
        return "None"
    return f"a {type(value).__name__} object"


def as_number(answer: Any, what: str = "one number") -> float:
    """A single finite real number (Python or NumPy scalar, or an array holding one value).

    Raises
    ------
    AnswerError
        For text, booleans, arrays of more than one value, NaN or infinity.
    """
    value = answer
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(()).item()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        extra = ""
        if isinstance(answer, np.ndarray):
            extra = " Reduce it to one number first, e.g. with `.mean()` or `.sum()`."
        elif isinstance(answer, str):
            extra = " Write the number without quotes."
        raise AnswerError(f"expected {what}, got {describe(answer)}.{extra}")
    value = float(value)
    if not np.isfinite(value):
        raise AnswerError(f"expected {what}, got {value} (a finite number is needed)")
    return value


def as_numbers(answer: Any, what: str = "a list of numbers") -> list[float]:
    """A flat sequence of finite numbers (list, tuple or 1-D array).

    Raises
    ------
    AnswerError
        When the answer is not a sequence, is nested, or holds something other than numbers.
    """
    if isinstance(answer, np.ndarray):
        if answer.ndim != 1:
            raise AnswerError(f"expected {what}, got {describe(answer)}")
        items: Sequence[Any] = answer.tolist()
    elif isinstance(answer, (list, tuple)):
        items = answer
    else:
        raise AnswerError(f"expected {what}, got {describe(answer)}")
    values = []
    for i, item in enumerate(items):
        try:
            values.append(as_number(item))
        except AnswerError:
            raise AnswerError(f"expected {what}, but item {i} is {describe(item)}") from None
    return values


def _array(answer: Any, expected: str) -> np.ndarray:
    if isinstance(answer, Scan):
        answer = answer.array
    if isinstance(answer, (list, tuple)):
        try:
            answer = np.asarray(answer)
        except ValueError:
            raise AnswerError(f"expected {expected}, got {describe(answer)}") from None
    if not isinstance(answer, np.ndarray):
        raise AnswerError(f"expected {expected}, got {describe(answer)}")
    return answer


def as_mask(answer: Any, shape: tuple[int, ...]) -> np.ndarray:
    """A boolean mask of the given shape; integer arrays count non-zero as foreground.

    Raises
    ------
    AnswerError
        For non-arrays, floating-point arrays (threshold them first) and other shapes.
    """
    expected = f"a boolean mask of shape {tuple(shape)}"
    array = _array(answer, expected)
    if array.dtype == bool or np.issubdtype(array.dtype, np.integer):
        if array.shape != tuple(shape):
            raise AnswerError(f"expected {expected}, got {describe(array)}")
        return array.astype(bool)
    extra = ""
    if np.issubdtype(array.dtype, np.floating):
        extra = " Turn an image into a mask with a comparison, e.g. `image > t`."
    raise AnswerError(f"expected {expected}, got {describe(array)}.{extra}")


def as_image(answer: Any, shape: tuple[int, ...]) -> np.ndarray:
    """A finite real-valued image of the given shape (a Scan gives its array).

    Raises
    ------
    AnswerError
        For non-arrays, boolean or complex arrays, other shapes, NaN or infinity.
    """
    expected = f"an image (array of numbers) of shape {tuple(shape)}"
    array = _array(answer, expected)
    if array.dtype == bool or not (np.issubdtype(array.dtype, np.integer)
                                   or np.issubdtype(array.dtype, np.floating)):
        raise AnswerError(f"expected {expected}, got {describe(array)}")
    if array.shape != tuple(shape):
        raise AnswerError(f"expected {expected}, got {describe(array)}")
    if not np.isfinite(array).all():
        raise AnswerError(f"expected {expected} of finite values, but it holds NaN or infinity")
    return array.astype(np.float64)


def as_window(answer: Any) -> Window:
    """A display window: a :class:`~medinteract.Window` or a ``(center, width)`` pair in HU.

    Raises
    ------
    AnswerError
        When the answer is not two numbers or the width is not positive.
    """
    expected = "a window `(center, width)` in HU, e.g. `mi.Window(40, 400)`"
    if not isinstance(answer, (tuple, list, np.ndarray)) or len(answer) != 2:
        raise AnswerError(f"expected {expected}, got {describe(answer)}")
    center, width = (as_number(v, "a number") for v in answer)
    if width <= 0:
        raise AnswerError(f"the window width must be positive, got {width:g} HU")
    return Window(center, width)


def as_method(answer: Any, expects: str) -> Callable[[Any], Any]:
    """A student's method: a function of one scan, a pipeline, or a panel (its pipeline).

    Method exercises grade *how* a result is made, on scans the student has not seen, so the
    answer must be something that can be run again, not a result computed once.

    Parameters
    ----------
    answer : object
        A function ``f(scan)``, a :class:`~medinteract.pipeline.Pipeline`, or a panel (its
        ``.pipeline`` is run).
    expects : str
        What the method returns ("a boolean mask of the nodules"), for the message.

    Returns
    -------
    callable
        ``method(scan) -> result``.

    Raises
    ------
    AnswerError
        For a result (an array, a number) instead of a method, or a function that cannot take
        one argument.

    Examples
    --------
    >>> as_method(np.zeros(3), "a mask")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    medinteract.teach.answers.AnswerError: expected your method: ... got a float64 array ...
    """
    from medinteract.pipeline import Pipeline

    if isinstance(answer, Pipeline):
        return answer.run
    pipeline = getattr(type(answer), "pipeline", None)
    if isinstance(pipeline, property):
        return answer.pipeline.run
    expected = (f"your method: a function `f(scan)` that returns {expects} (or a pipeline, or "
                f"a panel)")
    if not callable(answer) or isinstance(answer, type):
        raise AnswerError(
            f"expected {expected}, got {describe(answer)}. This exercise grades your method on "
            f"scans you have not seen, so wrap your steps in a function: "
            f"`def method(scan): ...; return result`, then `answer = method`.")
    try:
        inspect.signature(answer).bind(object())
    except TypeError:
        raise AnswerError(f"expected {expected}; your function cannot be called with one "
                          f"argument (the scan): give it exactly one parameter") from None
    except ValueError:  # no signature available (some builtins): try it when grading
        pass
    return answer


def call_method(method: Callable[[Any], Any], scan: Any, where: str) -> Any:
    """Run a student's method on one scan; its errors become an :class:`AnswerError`.

    ``where`` names the scan ("the scan you see", "an unseen scan") in the message.
    """
    try:
        return method(scan)
    except AnswerError:
        raise
    except Exception as error:  # the student's code: report, never crash the check
        raise AnswerError(f"your method raised {type(error).__name__} on {where}: "
                          f"{error}") from None
