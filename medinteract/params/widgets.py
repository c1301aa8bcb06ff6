"""The widgets of the built-in parameter kinds (imported on first use: ipywidgets is heavy).

Each function makes the widget of one kind from its :class:`~medinteract.params.Param`; the
widget's ``value`` trait holds the parameter value. Optional parameters (``None`` allowed) get
a "none" checkbox next to their widget (:class:`OptionalControl`). Bounds always come from
:meth:`Param.bounds <medinteract.params.Param.bounds>`, the one formula.
"""

from __future__ import annotations

import math
from typing import Any

import ipywidgets as widgets
import traitlets

from medinteract.params.kinds import Param

__all__ = ["OptionalControl", "ReadoutControl", "number_control", "choice_control",
           "flag_control", "text_control", "readout_control"]

_SLIDER_LAYOUT = {"width": "420px"}
_STYLE = {"description_width": "150px"}


class OptionalControl(widgets.HBox):
    """A widget plus a "none" checkbox: ``value`` is ``None`` while the box is ticked."""

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
    """A value for the slider of an optional parameter that starts as None."""
    window = getattr(image, "window", None)
    if param.from_image == "values" and window is not None:
        return float(min(max(window.center, low), high))
    if param.from_image == "spread" and window is not None:
        return float(min(max(window.width / 4, low), high))
    return low


def number_control(param: Param, value: Any, image: Any = None) -> widgets.Widget:
    """A slider over the parameter's bounds (logarithmic when declared), or a number box for an
    unbounded number."""
    common = dict(description=param.label(image), style=_STYLE, tooltip=param.doc)
    bounds = param.bounds(image)
    if bounds is None:
        box_class = widgets.IntText if param.dtype is int else widgets.FloatText
        inner: widgets.ValueWidget = box_class(**common)
        if value is not None:
            inner.value = value
        return _optional(param, inner, value)
    slider_args = dict(continuous_update=True, layout=widgets.Layout(**_SLIDER_LAYOUT),
                       **common)
    if param.dtype is int:
        inner = widgets.IntSlider(min=int(bounds.min), max=int(bounds.max),
                                  step=max(int(bounds.step), 1), **slider_args)
    elif bounds.log:
        lo, hi = math.log10(bounds.min), math.log10(bounds.max)
        inner = widgets.FloatLogSlider(base=10, min=lo, max=hi, step=bounds.step,
                                       readout_format=".3g", **slider_args)
    else:
        inner = widgets.FloatSlider(min=bounds.min, max=bounds.max, step=bounds.step,
                                    readout_format=".4g", **slider_args)
    inner.value = (value if value is not None
                   else _start_value(param, image, bounds.min, bounds.max))
    return _optional(param, inner, value)


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
