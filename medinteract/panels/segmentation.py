"""The threshold panel: a threshold in physical units, its histogram, the mask overlay, objects.

>>> import medinteract as mi
>>> ph = mi.data.phantom(shape=(96, 96), n_nodules=2, nodule_hu=2500.0, seed=2)
>>> p = threshold(ph.scan, low=825.0)
>>> p.objects
2
"""

from __future__ import annotations

import html
from typing import Any, Sequence

import ipywidgets as widgets
import numpy as np
import traitlets
from scipy import ndimage as ndi

from medinteract.ops.segment import AutoMethod, auto_threshold_value
from medinteract.panels.base import Panel
from medinteract.params import image_unit
from medinteract.panels.figures import HISTOGRAM_SIZE, HistogramFigure
from medinteract.panels.figures import pixel_layout as _pixel_layout

__all__ = ["ThresholdPanel", "threshold"]


class ThresholdPanel(Panel):
    """A :class:`~medinteract.panels.Panel` for :func:`medinteract.ops.threshold` with readouts.

    Adds: the histogram of the whole image with the kept range and the thresholds drawn on it
    (computed once; a slider move only redraws the lines), the mask drawn over the image in
    the *after* pane (``panel.view.after_labels``), the number of connected objects
    (``objects`` traitlet) and buttons that set ``low`` to an automatic threshold (Otsu, Li,
    ...).
    """

    objects = traitlets.Int(0, help="Connected objects in the mask (full connectivity).")

    def __init__(self, image: Any, *, low: float | None = None, high: float | None = None,
                 auto: Sequence[str] = ("otsu", "li", "yen", "triangle"), **kwargs: Any) -> None:
        self._histogram_figure: HistogramFigure | None = None
        self._histogram = widgets.Image(format="png", layout=_pixel_layout(HISTOGRAM_SIZE))
        self._histogram.add_class("mi-histogram")
        self._count = widgets.HTML()
        self._count.add_class("mi-object-count")
        super().__init__(image, "threshold", low=low, high=high, **kwargs)
        self._histogram_figure = HistogramFigure(self.scan.array, unit=image_unit(self.scan) or "",
                                                 size=HISTOGRAM_SIZE)
        self.view.opacity = 0.5
        buttons = []
        for method in auto:
            button = widgets.Button(description=method, layout=widgets.Layout(width="80px"),
                                    tooltip=f"set low to the {method} threshold")
            button.on_click(lambda _, m=method: self.set_auto(m))
            button.add_class(f"mi-auto-{method}")
            buttons.append(button)
        auto_box = widgets.HBox([widgets.HTML("automatic low:"), *buttons])
        auto_box.add_class("mi-auto-threshold")
        self.readouts.children = [auto_box, self._count,
                                  self._histogram]
        self.observe(self._draw_lines, "params")
        self._draw_lines()
        self.on_result(self.result)

    def on_input(self, scan) -> None:
        # a chained panel's input changed: its histogram is drawn once more
        self._histogram_figure = HistogramFigure(scan.array, unit=image_unit(scan) or "",
                                                 size=HISTOGRAM_SIZE)
        self._draw_lines()

    def display_labels(self, out: Any) -> np.ndarray | None:
        """The mask, drawn over the image in the *after* pane."""
        if isinstance(out, np.ndarray) and out.shape == self.scan.shape:
            return out
        return None

    def set_auto(self, method: AutoMethod = "otsu") -> float:
        """Set ``low`` to an automatic threshold of the whole image and return it."""
        value = auto_threshold_value(self.scan, method=method)
        self.set(low=float(value))
        return value

    def _draw_lines(self, change: dict | None = None) -> None:
        if self._histogram_figure is not None:
            self._histogram.value = self._histogram_figure.png(self.params.get("low"),
                                                               self.params.get("high"))

    def on_result(self, result: Any) -> None:
        if self._histogram_figure is None or result is None:
            return  # still constructing
        labels, count = ndi.label(result, structure=np.ones((3,) * result.ndim))
        self.objects = int(count)
        unit = image_unit(self.scan) or "units"
        low, high = self.params.get("low"), self.params.get("high")
        kept = " ≤ ".join(f"{v:g} {unit}" if isinstance(v, float) else v for v in
                          (low if low is not None else "−∞", "value",
                           high if high is not None else "∞"))
        self._count.value = (f"<code>{html.escape(kept)}</code> · <b>{count}</b> connected "
                             "objects (the mask is drawn over the image in <i>after</i>)")


def threshold(image: Any, *, low: float | None = None, high: float | None = None,
              **kwargs: Any) -> ThresholdPanel:
    """A threshold panel (values in the image's units, HU for CT).

    Parameters
    ----------
    image : Scan or array_like
    low, high : float, optional
        Starting thresholds (``None``: unbounded).
    **kwargs
        As for :func:`~medinteract.panels.panel` (``background``, ``mode``, ...).

    Returns
    -------
    ThresholdPanel
    """
    return ThresholdPanel(image, low=low, high=high, **kwargs)
