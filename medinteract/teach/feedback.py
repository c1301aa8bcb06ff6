"""What a checker tells a student: which criteria hold, which do not, and a hint.

A :class:`Feedback` never raises and never reveals the expected answer; it shows as a green
(passed) or red (not yet) box in Jupyter and as plain text everywhere else.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

__all__ = ["Criterion", "Feedback"]

_PASS_MARK, _FAIL_MARK = "\u2714", "\u2718"  # check mark, ballot x
_CODE = re.compile(r"`([^`]+)`")


@dataclass(frozen=True)
class Criterion:
    """One thing the answer must satisfy, and whether it does.

    Attributes
    ----------
    description : str
        What is required, phrased as a statement ("keeps every slice position").
    passed : bool
        Whether the answer satisfies it.
    detail : str
        What was observed ("Dice = 0.62, target 0.80"); may be empty.
    """

    description: str
    passed: bool
    detail: str = ""

    def __str__(self) -> str:
        mark = _PASS_MARK if self.passed else _FAIL_MARK
        detail = f": {self.detail}" if self.detail else ""
        return f"{mark} {self.description}{detail}"


@dataclass(frozen=True)
class Feedback:
    """The result of checking one answer to one exercise.

    Attributes
    ----------
    exercise_id : str
        The exercise checked.
    title : str
        Its human-readable title.
    criteria : tuple of Criterion
        Each requirement with the observation that decided it; empty when the answer could not
        be assessed (see ``problem``).
    problem : str or None
        Why the answer could not be assessed (no answer yet, wrong type or shape), saying what
        was expected and what was given; ``None`` when the answer was assessed.
    hint : str
        A nudge towards the solution, shown while the exercise is not passed.
    notes : tuple of str
        Extra observations that explain a failure (e.g. "this looks like a voxel count").
    flags : tuple of str
        Reasons the answer cannot count whatever its scores (it reproduces the hidden ground
        truth exactly, or a model was trained on the test split); a flagged answer never
        passes.

    Examples
    --------
    >>> fb = Feedback("demo", "A demo", (Criterion("is positive", True, "got 3"),))
    >>> fb.passed
    True
    >>> print(fb)
    [passed] demo: A demo
      ✔ is positive: got 3
    """

    exercise_id: str
    title: str
    criteria: tuple[Criterion, ...] = ()
    problem: str | None = None
    hint: str = ""
    notes: tuple[str, ...] = field(default=())
    flags: tuple[str, ...] = field(default=())

    @property
    def passed(self) -> bool:
        """True when the answer was assessed, every criterion holds and nothing is flagged."""
        return (self.problem is None and not self.flags and bool(self.criteria)
                and all(c.passed for c in self.criteria))

    @property
    def failed(self) -> tuple[Criterion, ...]:
        """The criteria that do not hold yet."""
        return tuple(c for c in self.criteria if not c.passed)

    def __bool__(self) -> bool:  # `if feedback:` reads naturally
        return self.passed

    def _lines(self) -> list[str]:
        lines = [str(c) for c in self.criteria]
        if self.problem:
            lines.insert(0, f"{_FAIL_MARK} {self.problem}")
        lines += [f"Flagged: {f}" for f in self.flags]
        lines += [f"Note: {n}" for n in self.notes]
        if not self.passed and self.hint:
            lines.append(f"Hint: {self.hint}")
        return lines

    def __str__(self) -> str:
        status = "passed" if self.passed else "not yet"
        body = "\n".join(f"  {line}" for line in self._lines())
        return f"[{status}] {self.exercise_id}: {self.title}\n{body}".rstrip()

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        ok = self.passed
        colour, background = ("#1a7f37", "#dafbe1") if ok else ("#cf222e", "#ffebe9")
        headline = "Well done: every check passes." if ok else "Not yet: see below."
        items = []
        if self.problem:
            items.append(_html_item(False, self.problem))
        items += [_html_item(c.passed, c.description + (f": {c.detail}" if c.detail else ""))
                  for c in self.criteria]
        extra = "".join(f"<p style='margin:4px 0;color:#cf222e'><b>Flagged:</b> {_inline(f)}"
                        f"</p>" for f in self.flags)
        extra += "".join(f"<p style='margin:4px 0'><b>Note:</b> {_inline(n)}</p>"
                         for n in self.notes)
        if not ok and self.hint:
            extra += f"<p style='margin:4px 0'><b>Hint:</b> {_inline(self.hint)}</p>"
        return (
            f"<div class='medinteract-feedback' style='border:2px solid {colour};"
            f"background:{background};color:#1f2328;border-radius:6px;padding:8px 12px;"
            f"margin:4px 0;font-family:sans-serif'>"
            f"<div style='font-weight:bold;color:{colour}'>{_PASS_MARK if ok else _FAIL_MARK} "
            f"{html.escape(self.title)} <code>{html.escape(self.exercise_id)}</code></div>"
            f"<div>{headline}</div>"
            f"<ul style='margin:4px 0;padding-left:1.2em;list-style:none'>{''.join(items)}</ul>"
            f"{extra}</div>"
        )


def _inline(text: str) -> str:
    """Escape ``text`` for HTML, turning `backticks` into <code>."""
    return _CODE.sub(r"<code>\1</code>", html.escape(text, quote=False))


def _html_item(passed: bool, text: str) -> str:
    colour = "#1a7f37" if passed else "#cf222e"
    mark = _PASS_MARK if passed else _FAIL_MARK
    return f"<li><span style='color:{colour};font-weight:bold'>{mark}</span> {_inline(text)}</li>"
