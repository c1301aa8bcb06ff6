"""The widgets of the built-in parameter kinds (imported on first use: ipywidgets is heavy).

Each function makes the widget of one kind from its :class:`~medinteract.params.Param`; the
widget's ``value`` trait holds the parameter value. Bounds always come from
:meth:`Param.bounds <medinteract.params.Param.bounds>`, the one formula.

Every widget here shows exactly the value it holds and sends a value to the kernel only when
the user changes it, so what the page shows is always what the kernel holds:

- numbers in a range get :class:`Slider`, our own slider (an anywidget whose front end is
  ``static/slider.js``): ipywidgets' sliders move a value set from code onto their step grid
  and send the moved value back, which lands after later changes (a Run All ends on an echo
  of an earlier value);
- choices, flags and text use ipywidgets' dropdown, checkbox and text box, which never send a
  value the user did not enter.

Widgets never clamp or round a value: a value outside the bounds raises ``TraitError`` (the
panels refuse it earlier, with a :class:`~medinteract.errors.ParameterError`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anywidget
import ipywidgets as widgets
import numpy as np
import traitlets

from medinteract.params.kinds import Param

__all__ = ["Slider", "OptionalControl", "ReadoutControl", "number_control", "choice_control",
           "flag_control", "text_control", "readout_control"]

_STATIC = Path(__file__).parent / "static"
_STYLE = {"description_width": "150px"}


class Slider(anywidget.AnyWidget):
    """A slider that shows the value it holds exactly and sends one only when the user moves it.

    The user moves it by dragging or clicking the track, with the keys on a handle (arrows: one
    step, PageUp/PageDown: ten, Home/End: the bounds) or by typing a number into the readout
    (Enter); a drag or a key lands on ``min + k * step`` (for a log slider, on the grid of
    exponents), a typed number is taken as typed. Keys on the slider never reach JupyterLab's
    or Notebook 7's shortcuts.

    Traitlets
    ---------
    value : float, int, None or (low, high)
        The value (None, shown as "none", only when ``optional``; a ``(low, high)`` pair when
        ``pair``). Always inside ``[min, max]``: values outside raise ``TraitError``.
    min, max : float
        Bounds (``min > 0`` for a log slider).
    step : float
        Grid of the user's moves (in decades for a log slider; 0: no grid).
    log : bool
        Logarithmic track.
    integer : bool
        Whole numbers only (the value is an ``int``).
    optional : bool
        Show a "none" box that sets the value to None.
    pair : bool
        Two handles: the value is ``(low, high)`` with ``low <= high``.
    start : float or (low, high) or None
        Where the handles rest while the value is None (unticking "none" gives this value).
    description, tooltip : str
        Label on the left and its tooltip.
    disabled : bool
    """

    _esm = _STATIC / "slider.js"
    _css = _STATIC / "slider.css"

    value = traitlets.Any(0.0, allow_none=True, help="The value (see the class).").tag(sync=True)
    min = traitlets.Float(0.0, help="Lower bound.").tag(sync=True)
    max = traitlets.Float(1.0, help="Upper bound.").tag(sync=True)
    step = traitlets.Float(0.0, help="Grid of the user's moves (decades for log).").tag(sync=True)
    log = traitlets.Bool(False, help="Logarithmic track.").tag(sync=True)
    integer = traitlets.Bool(False, help="Whole numbers only.").tag(sync=True)
    optional = traitlets.Bool(False, help="A 'none' box sets the value to None.").tag(sync=True)
    pair = traitlets.Bool(False, help="Two handles: value is (low, high).").tag(sync=True)
    start = traitlets.Any(None, allow_none=True,
                          help="Where the handles rest while the value is None.").tag(sync=True)
    description = traitlets.Unicode("", help="Label on the left.").tag(sync=True)
    tooltip = traitlets.Unicode("", help="Tooltip of the slider.").tag(sync=True)
    disabled = traitlets.Bool(False, help="Refuse user input.").tag(sync=True)

    def __init__(self, value: Any = None, **kwargs: Any) -> None:
        if value is None and not kwargs.get("optional", False):
            low, high = kwargs.get("min", 0.0), kwargs.get("max", 1.0)
            value = (low, high) if kwargs.get("pair", False) else low
        super().__init__(value=value, **kwargs)  # checked once every trait is set

    @traitlets.validate("value")
    def _valid_value(self, proposal: dict) -> Any:
        return self._checked(proposal["value"], "value")

    @traitlets.validate("start")
    def _valid_start(self, proposal: dict) -> Any:
        return None if proposal["value"] is None else self._checked(proposal["value"], "start")

    @traitlets.validate("min", "max")
    def _valid_bounds(self, proposal: dict) -> float:
        value = float(proposal["value"])
        if self.log and value <= 0:
            raise traitlets.TraitError(f"a log slider needs positive bounds, got {value}")
        return value

    def _checked(self, value: Any, what: str) -> Any:
        if value is None:
            if what == "value" and not self.optional:
                raise traitlets.TraitError(f"{self.description or 'slider'}: value cannot be "
                                           "None (the slider is not optional)")
            return None
        if self.pair:
            if not isinstance(value, (tuple, list)) or len(value) != 2:
                raise traitlets.TraitError(f"{self.description or 'slider'}: {what} must be "
                                           f"(low, high), got {value!r}")
            low, high = (self._number(v, what) for v in value)
            if low > high:
                raise traitlets.TraitError(f"{self.description or 'slider'}: {what} "
                                           f"{value!r} has low > high")
            return (low, high)
        return self._number(value, what)

    def _number(self, value: Any, what: str) -> int | float:
        name = self.description or "slider"
        if isinstance(value, np.generic):  # a NumPy scalar
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise traitlets.TraitError(f"{name}: {what} {value!r} is not a number")
        if self.integer:
            if value != int(value):
                raise traitlets.TraitError(f"{name}: {what} {value!r} is not a whole number")
            value = int(value)
        else:
            value = float(value)
        if not self.min <= value <= self.max:
            raise traitlets.TraitError(f"{name}: {what} {value!r} is outside "
                                       f"[{self.min:g}, {self.max:g}]")
        return value

    def set_bounds(self, minimum: float, maximum: float, value: Any, *,
                   step: float | None = None) -> None:
        """New bounds and a value inside them, in one message (checked together)."""
        with self.hold_sync(), self.hold_trait_notifications():
            self.min, self.max = float(minimum), float(maximum)
            if step is not None:
                self.step = float(step)
            self.value = value


class OptionalControl(widgets.HBox):
    """A widget plus a "none" checkbox: ``value`` is ``None`` while the box is ticked.

    For the kinds whose widget has no "none" of its own (text, unbounded numbers); a
    :class:`Slider` has one built in.
    """

    value = traitlets.Any(None, allow_none=True, help="The parameter value (None = unset).")

    def __init__(self, inner: widgets.ValueWidget, value: Any, tooltip: str = "") -> None:
        self.inner = inner
        self.none = widgets.Checkbox(value=value is None, description="none", indent=False,
                                     layout=widgets.Layout(width="70px"), tooltip=tooltip)
        self.none.add_class("mi-param-none")
        super().__init__([inner, self.none])
        self._syncing = False
        self.value = value
        self._show(value)
        inner.observe(self._from_inner, "value")
        self.none.observe(self._from_none, "value")

    def _show(self, value: Any) -> None:
        self._syncing = True
        try:
            self.none.value = value is None
            self.inner.disabled = value is None
            if value is not None:
                self.inner.value = value
        finally:
            self._syncing = False

    def _from_inner(self, change: dict) -> None:
        if not self._syncing and not self.none.value:
            self.value = change["new"]

    def _from_none(self, change: dict) -> None:
        if self._syncing:
            return
        self.inner.disabled = change["new"]
        self.value = None if change["new"] else self.inner.value

    @traitlets.observe("value")
    def _on_value(self, change: dict) -> None:
        if not self._syncing:
            self._show(change["new"])


class ReadoutControl(widgets.HBox):
    """A read-only readout of a value set elsewhere (a point clicked on the image, a box)."""

    value = traitlets.Any(None, allow_none=True, help="The parameter value.")

    def __init__(self, label: str, value: Any, *, hint: str = "",
                 clearable: bool = False) -> None:
        self.label = widgets.HTML(f"<code>{label}</code>",
                                  layout=widgets.Layout(width="150px"))
        self.text = widgets.HTML()
        self.text.add_class("mi-readout")
        self.hint = hint
        children: list[widgets.Widget] = [self.label, self.text]
        if clearable:
            clear = widgets.Button(description="clear", layout=widgets.Layout(width="60px"))
            clear.on_click(lambda _: setattr(self, "value", None))
            children.append(clear)
        super().__init__(children)
        self.value = value
        self._render(value)

    def _render(self, value: Any) -> None:
        shown = "none" if value is None else ", ".join(str(v) for v in value) \
            if isinstance(value, tuple) else str(value)
        hint = f" <i>{self.hint}</i>" if self.hint else ""
        self.text.value = f"<code>({shown})</code>{hint}" if isinstance(value, tuple) else \
            f"<code>{shown}</code>{hint}"

    @traitlets.observe("value")
    def _on_value(self, change: dict) -> None:
        self._render(change["new"])


def _optional(param: Param, inner: widgets.ValueWidget, value: Any) -> widgets.Widget:
    return OptionalControl(inner, value, tooltip=param.doc) if param.optional else inner


def _start_value(param: Param, image: Any, low: float, high: float) -> float:
    """Where the slider of an optional parameter rests while it is None."""
    window = getattr(image, "window", None)
    if param.from_image == "values" and window is not None:
        start = float(min(max(window.center, low), high))
    elif param.from_image == "spread" and window is not None:
        start = float(min(max(window.width / 4, low), high))
    else:
        start = low
    return int(round(start)) if param.dtype is int else start


def number_control(param: Param, value: Any, image: Any = None) -> widgets.Widget:
    """A :class:`Slider` over the parameter's bounds (logarithmic when declared; with a "none"
    box when optional), or a number box for an unbounded number."""
    bounds = param.bounds(image)
    if bounds is None:
        box_class = widgets.IntText if param.dtype is int else widgets.FloatText
        inner: widgets.ValueWidget = box_class(description=param.label(image), style=_STYLE,
                                               tooltip=param.doc)
        if value is not None:
            inner.value = value
        return _optional(param, inner, value)
    integer = param.dtype is int
    return Slider(value=value, min=bounds.min, max=bounds.max,
                  step=max(round(bounds.step), 1) if integer else bounds.step,
                  log=bounds.log, integer=integer, optional=param.optional,
                  start=_start_value(param, image, bounds.min, bounds.max),
                  description=param.label(image), tooltip=param.doc)


def choice_control(param: Param, value: Any, image: Any = None) -> widgets.Widget:
    """A dropdown of the options."""
    return widgets.Dropdown(options=list(param.options), value=value,
                            description=param.label(image), tooltip=param.doc, style=_STYLE)


def flag_control(param: Param, value: Any, image: Any = None) -> widgets.Widget:
    """A checkbox."""
    return widgets.Checkbox(value=bool(value), description=param.label(image),
                            tooltip=param.doc, style=_STYLE)


def text_control(param: Param, value: Any, image: Any = None) -> widgets.Widget:
    """A text box (its value is sent when the user presses Enter or leaves it)."""
    inner = widgets.Text(value=value or "", description=param.label(image),
                         continuous_update=False, tooltip=param.doc, style=_STYLE)
    return _optional(param, inner, value)


def readout_control(param: Param, value: Any, image: Any = None, *,
                    hint: str = "") -> widgets.Widget:
    """A read-only readout of a value set by clicking the image (points) or by code."""
    return ReadoutControl(param.label(image), value, hint=hint, clearable=param.optional)
