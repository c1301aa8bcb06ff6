"""Problems found while reading, gathered and then issued as warnings naming the files.

Readers never decide silently: when a value is missing or invalid and a fallback is used, the
function that noticed adds a :class:`Notice` to a :class:`Notices` collection; the loader then
issues them, one warning per distinct problem, naming every file (or frame) it concerns. A series
of 300 files with the same broken PixelSpacing therefore gives one warning listing the files, not
300 warnings.
"""

from __future__ import annotations

import sys
from types import FrameType
import warnings
from dataclasses import dataclass, field
from os import PathLike
from typing import Sequence

__all__ = ["Notice", "Notices", "issue", "name_list"]


@dataclass(frozen=True)
class Notice:
    """One problem in one file or frame.

    Attributes
    ----------
    category : type of Warning
        The warning class to issue (e.g. :class:`~medinteract.errors.GeometryWarning`).
    label : str
        The file or frame concerned ("IM_0003.dcm", "dose.dcm frame 4").
    message : str
        What is wrong and which fallback is used, without the file name, so that the same
        problem in several files reads the same.
    """

    category: type[Warning]
    label: str
    message: str


@dataclass
class Notices:
    """Problems collected while reading one file or series, issued together by :meth:`issue`."""

    items: list[Notice] = field(default_factory=list)

    def add(self, category: type[Warning], label: str, message: str) -> None:
        """Record a problem of ``label`` (a file or frame name)."""
        self.items.append(Notice(category, label, message))

    def extend(self, other: Notices | Sequence[Notice]) -> None:
        """Add the problems of another collection."""
        self.items.extend(other.items if isinstance(other, Notices) else other)

    def grouped(self) -> list[tuple[type[Warning], str, list[str]]]:
        """``(category, message, labels)`` per distinct problem, in order of first appearance."""
        groups: dict[tuple[type[Warning], str], list[str]] = {}
        for notice in self.items:
            labels = groups.setdefault((notice.category, notice.message), [])
            if notice.label not in labels:
                labels.append(notice.label)
        return [(category, message, labels) for (category, message), labels in groups.items()]

    def messages(self) -> list[str]:
        """One line per distinct problem, naming the files (for tables and reports)."""
        return [f"{message} ({name_list(labels)})" for _, message, labels in self.grouped()]

    def issue(self, source: str | PathLike[str], *, single: bool = False) -> None:
        """Issue one warning per distinct problem.

        Parameters
        ----------
        source : path-like
            The file or folder read; it starts each message.
        single : bool, optional
            ``source`` is the one file concerned, so the labels are not repeated.
        """
        for category, message, labels in self.grouped():
            where = "" if single and len(labels) == 1 and "frame" not in labels[0] else (
                f" (in {name_list(labels)})")
            issue(category, source, f"{message}{where}")
        self.items.clear()


def issue(category: type[Warning], source: str | PathLike[str], message: str) -> None:
    """Issue ``"{source}: {message}"`` as ``category``, pointing at the user's code."""
    warnings.warn(f"{source}: {message}", category, stacklevel=_outside_stacklevel())


def name_list(labels: Sequence[str], limit: int = 8) -> str:
    """``"a, b, c and 5 more"``."""
    shown = ", ".join(labels[:limit])
    more = len(labels) - limit
    return shown + (f" and {more} more" if more > 0 else "")


def _outside_stacklevel() -> int:
    """``stacklevel`` of the first frame outside medinteract (as seen from the caller)."""
    frame: FrameType | None = sys._getframe(2)
    level = 2
    while frame is not None and frame.f_globals.get("__name__", "").startswith("medinteract."):
        frame, level = frame.f_back, level + 1
    return level
