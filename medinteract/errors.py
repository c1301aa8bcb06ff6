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
    "ParameterError",
    "MedinteractWarning",
    "SeriesWarning",
    "UnreadableFileWarning",
    "GeometryWarning",
    "PixelValueWarning",
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


class UnreadableFileWarning(SeriesWarning):
    """A file in a series folder looked like part of the series but could not be read.

    Issued for empty, truncated or damaged files and for files named like DICOM that are not
    DICOM. The file is left out, named in the message, and the slice-gap check says where the
    missing slice(s) probably were.
    """


class GeometryWarning(MedinteractWarning):
    """A file's geometry is missing or invalid, and a stated fallback was used instead.

    Issued for a missing (CT, MR, PT) or invalid PixelSpacing, an unparsable or non-finite
    ImagePositionPatient, a non-finite GridFrameOffsetVector entry and a degenerate or
    non-orthonormal ImageOrientationPatient. The message names the file, the value found and
    the fallback (see :func:`medinteract.io.load`).
    """


class PixelValueWarning(MedinteractWarning):
    """A file's value transformation is invalid, and a stated fallback was used instead.

    Issued for a RescaleSlope of 0, which would make every value equal RescaleIntercept.
    """
