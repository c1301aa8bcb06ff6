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
    "DicomWebError",
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


class DicomWebError(LoadError):
    """A DICOMweb server could not be reached, refused a request or sent something unusable.

    Raised for refused connections, time-outs, rejected credentials (HTTP 401/403), resources
    that do not exist (HTTP 404) and other HTTP errors; the message names the URL (never the
    credentials).

    Parameters
    ----------
    url : str
        The URL concerned (also available as ``path``).
    problem : str
        What is wrong, in one sentence.
    hint : str, optional
        How to fix it.
    status : int, optional
        The HTTP status code the server answered with (None when it did not answer).
    """

    def __init__(self, url: str, problem: str, hint: str | None = None, *,
                 status: int | None = None):
        super().__init__(url, problem, hint)
        self.url = url
        self.status = status


class AnonymizeError(MedinteractError, ValueError):
    """Anonymization was refused or failed (for example ``dst`` inside ``src``)."""


class MedinteractWarning(UserWarning):
    """Base class of every warning issued by medinteract."""


class SeriesWarning(MedinteractWarning):
    """A series loaded, but something about it needs the user's attention.

    Issued for missing slices (a gap larger than the regular spacing) and for duplicate slice
    positions (the duplicates are dropped).
    """
