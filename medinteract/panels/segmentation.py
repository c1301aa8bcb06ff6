"""The threshold panel: a threshold in physical units, its histogram, the mask overlay, objects.

The panel (state) counts the connected objects of every mask; its view
(:class:`~medinteract.panels.views.ThresholdView`) adds the histogram with the thresholds drawn
on it and buttons for automatic thresholds.

>>> import medinteract as mi
>>> ph = mi.data.phantom(shape=(96, 96), n_nodules=2, nodule_hu=2500.0, seed=2)
>>> p = threshold(ph.scan, low=825.0)
>>> p.objects
2
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import traitlets
from scipy import ndimage as ndi

from medinteract.ops.segment import AutoMethod, auto_threshold_value
from medinteract.panels.base import Panel

__all__ = ["ThresholdPanel", "threshold"]


class ThresholdPanel(Panel):
    """A :class:`~medinteract.panels.Panel` for :func:`medinteract.ops.threshold` with readouts.

    Adds the number of connected objects of the mask (``objects``, full connectivity; None
    before the first result) and :meth:`set_auto` (``low`` from an automatic threshold). The
    view draws the mask over the image, the histogram of the whole image with the kept range,
    and one button per method in ``auto``.
    """

    objects = traitlets.Int(None, allow_none=True,
                            help="Connected objects in the mask (None before a result).")

    def __init__(self, image: Any, *, low: float | None = None, high: float | None = None,
                 auto: Sequence[str] = ("otsu", "li", "yen", "triangle"), **kwargs: Any) -> None:
        #: The automatic methods the view offers as buttons.
        self.auto_methods = tuple(auto)
        super().__init__(image, "threshold", low=low, high=high, **kwargs)

    def _readouts(self, out: Any) -> dict[str, Any]:
        _, count = ndi.label(out, structure=np.ones((3,) * out.ndim))
        return {"objects": int(count)}

    def display_labels(self, out: Any) -> np.ndarray | None:
        """The mask, drawn over the image."""
        if isinstance(out, np.ndarray) and out.shape == self.scan.shape:
            return out
        return None

    def set_auto(self, method: AutoMethod = "otsu") -> float:
        """Set ``low`` to an automatic threshold of the whole image, wait for the result and
        return the threshold."""
        value = auto_threshold_value(self.scan, method=method)
        self.set(low=float(value))
        return value

    def _make_view(self) -> Any:
        from medinteract.panels.views import ThresholdView

        return ThresholdView(self)


def threshold(image: Any, *, low: float | None = None, high: float | None = None,
              **kwargs: Any) -> ThresholdPanel:
    """A threshold panel (values in the image's units, HU for CT).

    Parameters
    ----------
    image : Scan or array_like or Panel
    low, high : float, optional
        Starting thresholds (``None``: unbounded).
    **kwargs
        As for :func:`~medinteract.panels.panel` (``background``, ``mode``, ``auto``, ...).

    Returns
    -------
    ThresholdPanel
    """
    return ThresholdPanel(image, low=low, high=high, **kwargs)
