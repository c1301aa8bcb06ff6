"""Widgets for op parameters, made from their :class:`~medinteract.ops.params.Param`.

One function, :func:`make_control`, turns a parameter description into a widget whose
``value`` is the parameter value: a slider for a :class:`~medinteract.ops.params.Range`
(logarithmic when asked), a slider bounded by the image for
:class:`~medinteract.ops.params.FromImage`, a dropdown for a choice, a checkbox for a bool, a
readout set by clicking the image for a :class:`~medinteract.ops.params.Point`. Optional
parameters (``None`` allowed) get a "none" checkbox next to their widget. Nothing is guessed
from parameter names.
"""

from __future__ import annotations

import math
from typing import Any

import ipywidgets as widgets
import numpy as np
import traitlets

from medinteract.ops.params import Param, format_unit
from medinteract.scan import Scan

__all__ = ["make_control", "image_unit", "image_bounds", "OptionalControl", "ReadoutControl",
           "describe_label"]

_SLIDER_LAYOUT = {"width": "420px"}
_STYLE = {"description_width": "150px"}


def image_unit(scan: Scan) -> str:
    """The unit of a scan's values: ``"HU"`` for CT, else ``""``."""
    return "HU" if scan.modality.upper() == "CT" else ""


def image_bounds(scan: Scan, span: str) -> tuple[float, float, float]:
    """Slider ``(min, max, step)`` for a :class:`~medinteract.ops.params.FromImage` parameter.

    ``"values"``: the image's minimum to maximum; ``"spread"``: 0 to ``max - min``. The step is
    1 for spans over 50 units (HU), else 1/1000 of the span.
    """
    finite = scan.array[np.isfinite(scan.array)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if high <= low:
        high = low + 1.0
    spread = high - low
    step = 1.0 if spread > 50 else spread / 1000
    if span == "spread":
        return 0.0, float(spread), step
    if step == 1.0:
        low, high = math.floor(low), math.ceil(high)
    return float(low), float(high), step


def describe_label(p: Param, scan: Scan) -> str:
    """``"name (unit)"`` for a widget description; the unit is stated whenever there is one."""
    unit = image_unit(scan) if p.unit == "image" else format_unit(p.unit, scan.spatial_ndim)
    return f"{p.name} ({unit})" if unit else p.name


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


def _slider(p: Param, scan: Scan, value: Any, description: str) -> widgets.ValueWidget:
    common = dict(description=description, continuous_update=True, style=_STYLE,
                  layout=widgets.Layout(**_SLIDER_LAYOUT), tooltip=p.doc)
    if p.from_image is not None:
        low, high, step = image_bounds(scan, p.from_image)
        if p.kind == "int":
            return widgets.IntSlider(min=int(low), max=int(high), step=max(int(step), 1),
                                     **common)
        return widgets.FloatSlider(min=low, max=high, step=step, readout_format=".4g",
                                   **common)
    if p.min is None or p.max is None:
        if p.kind == "int":
            return widgets.IntText(**{k: v for k, v in common.items()
                                      if k != "continuous_update"})
        return widgets.FloatText(**{k: v for k, v in common.items()
                                    if k != "continuous_update"})
    if p.kind == "int":
        return widgets.IntSlider(min=int(p.min), max=int(p.max), step=int(p.step or 1), **common)
    if p.log:
        lo, hi = math.log10(p.min), math.log10(p.max)
        return widgets.FloatLogSlider(base=10, min=lo, max=hi, step=(hi - lo) / 100,
                                      readout_format=".3g", **common)
    step = p.step if p.step is not None else (p.max - p.min) / 100 or 1.0
    return widgets.FloatSlider(min=p.min, max=p.max, step=step, readout_format=".4g", **common)


def _start_value(p: Param, scan: Scan, inner: widgets.ValueWidget) -> Any:
    """A value for the inner widget of an optional parameter that starts as None."""
    if p.from_image == "values":
        return float(np.clip(scan.window.center, inner.min, inner.max))
    if p.from_image == "spread":
        return float(np.clip(scan.window.width / 4, inner.min, inner.max))
    if hasattr(inner, "min") and not isinstance(inner, widgets.FloatLogSlider):
        return inner.min
    return inner.value


def make_control(p: Param, scan: Scan, value: Any) -> widgets.Widget | None:
    """A widget whose ``value`` is the parameter ``p`` (``None`` for parameters without one).

    Parameters
    ----------
    p : Param
        From :func:`~medinteract.ops.describe`.
    scan : Scan
        The panel's input (bounds of :class:`~medinteract.ops.params.FromImage`, units).
    value : object
        The starting value.

    Returns
    -------
    ipywidgets.Widget or None
        With the CSS class ``mi-param`` and ``mi-param-NAME``; ``None`` for ``spacing`` and array
        inputs (filled by the panel, never a widget) and for untyped parameters.
    """
    description = describe_label(p, scan)
    control: widgets.Widget | None
    if not p.is_tunable or p.kind == "object":
        return None
    if p.kind in ("float", "int"):
        inner = _slider(p, scan, value, description)
        if p.optional:
            if value is None:
                inner.value = _start_value(p, scan, inner)
            control = OptionalControl(inner, value, tooltip=p.doc)
        else:
            inner.value = value
            control = inner
    elif p.kind == "bool":
        control = widgets.Checkbox(value=bool(value), description=description, tooltip=p.doc,
                                   style=_STYLE)
    elif p.kind == "choice":
        control = widgets.Dropdown(options=list(p.options), value=value,
                                   description=description, tooltip=p.doc, style=_STYLE)
    elif p.kind == "str":
        inner_text = widgets.Text(value=value or "", description=description,
                                  continuous_update=False, tooltip=p.doc, style=_STYLE)
        control = OptionalControl(inner_text, value, tooltip=p.doc) if p.optional \
            else inner_text
    elif p.kind == "point":
        control = ReadoutControl(description, value, hint="click the image to set",
                                 clearable=p.optional)
    elif p.kind == "region":
        control = ReadoutControl(description, value, clearable=p.optional)
    else:
        return None
    control.add_class("mi-param")
    control.add_class(f"mi-param-{p.name}")
    return control
