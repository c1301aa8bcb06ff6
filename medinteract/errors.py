"""Exceptions and warnings raised by medinteract.

Every error names the file (or folder) it is about and says what is wrong and, where there is
one, how to fix it. Catch :class:`MedinteractError` to handle any of them.
"""

from __future__ import annotations

from os import PathLike

__all__ = [
    "MedinteractError",
    "LoadError",
    "DecoderError",
    "SeriesError",
    "AnonymizeError",
    "ParameterError",
    "MedinteractWarning",
    "SeriesWarning",
]


class MedinteractError(Exception):
    """Base class of every error raised by medinteract."""


class LoadError(MedinteractError, ValueError):
    """A file or folder could not be read as an image.

    Parameters
    ----------
    path : path-like or None
        The file or folder concerned.
    problem : str
        What is wrong, in one sentence.
    hint : str, optional
        How to fix it.
    """

    def __init__(self, path: str | PathLike[str] | None, problem: str, hint: str | None = None):
        self.path = None if path is None else str(path)
        self.problem = problem
        self.hint = hint
        message = problem if self.path is None else f"{self.path}: {problem}"
        if hint:
            message = f"{message} ({hint})"
        super().__init__(message)


class DecoderError(LoadError):
    """The pixel data uses a compressed transfer syntax that no installed decoder handles."""


class SeriesError(LoadError):
    """A folder or list of files does not form one consistent series.

    Raised for several series without a choice, mixed image sizes or mixed orientations.
    """


class AnonymizeError(MedinteractError, ValueError):
    """Anonymization was refused or failed (for example ``dst`` inside ``src``)."""


class ParameterError(MedinteractError, ValueError):
    """A parameter value that an op does not allow: out of range, of the wrong type, unknown.

    The message names the op, the parameter, the value, what is wrong and what is allowed,
    e.g. ``gaussian: sigma=20.0 is out of range; allowed: a number from 0 to 10 mm``.

    Parameters
    ----------
    op : str
        The op's name.
    parameter : str
        The parameter's name.
    value : object
        The value refused.
    problem : str
        What is wrong, as the end of a sentence starting with the value ("is out of range").
    allowed : str, optional
        What is allowed, in words.
    """

    def __init__(self, op: str, parameter: str, value: object, problem: str,
                 allowed: str | None = None) -> None:
        self.op = op
        self.parameter = parameter
        self.value = value
        self.problem = problem
        self.allowed = allowed
        message = f"{op}: {parameter}={value!r} {problem}"
        if allowed:
            message += f"; allowed: {allowed}"
        super().__init__(message)


class MedinteractWarning(UserWarning):
    """Base class of every warning issued by medinteract."""


class SeriesWarning(MedinteractWarning):
    """A series loaded, but something about it needs the user's attention.

    Issued for missing slices (a gap larger than the regular spacing) and for duplicate slice
    positions (the duplicates are dropped).
    """
