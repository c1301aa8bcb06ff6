"""The ground-truth panel: a segmentation op scored live against a reference mask.

>>> import medinteract as mi
>>> ph = mi.data.phantom(shape=(96, 96), n_nodules=2, nodule_hu=2500.0, seed=2)
>>> p = ground_truth(ph.scan, "threshold", ph.nodules > 0, low=825.0)
>>> round(p.dice, 3)
1.0
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import traitlets

from medinteract.ops import confusion_counts, dice, hausdorff_distance, iou, overlap_labels
from medinteract.panels.base import Panel

__all__ = ["GroundTruthPanel", "ground_truth", "OVERLAP_LEGEND"]

#: Colours of the overlap overlay (the display's label colours 1, 2, 3).
OVERLAP_LEGEND = ("<span style='color:#1f77b4'>■ TP</span> "
                  "<span style='color:#ff7f0e'>■ FP</span> "
                  "<span style='color:#2ca02c'>■ FN</span>")


class GroundTruthPanel(Panel):
    """A :class:`~medinteract.panels.Panel` whose mask result is compared with ``truth``.

    Traitlets ``dice``, ``iou``, ``hausdorff_mm`` (symmetric Hausdorff distance of the
    surfaces in mm, from the scan's spacing) and ``counts`` (TP/FP/FN/TN pixel counts) follow
    every result (None / empty before the first); the view colours true positives, false
    positives and false negatives over the image (:meth:`display_labels`: 1 TP, 2 FP, 3 FN).
    """

    dice = traitlets.Float(None, allow_none=True, help="Dice coefficient of the result vs "
                                                       "the truth.")
    iou = traitlets.Float(None, allow_none=True, help="Intersection over union.")
    hausdorff_mm = traitlets.Float(None, allow_none=True,
                                   help="Hausdorff distance in mm (inf: one mask empty).")
    counts = traitlets.Dict(help="TP, FP, FN, TN pixel counts.")

    def __init__(self, image: Any, op: str | Callable[..., Any], truth: Any,
                 **kwargs: Any) -> None:
        #: The reference mask (bool).
        self.truth = np.asarray(getattr(truth, "array", truth)) != 0
        super().__init__(image, op, reference=self.truth, **kwargs)

    def on_input(self, scan: Any) -> None:
        if self.truth.shape != scan.shape:
            raise ValueError(f"truth mask of shape {self.truth.shape} does not match the "
                             f"image's {scan.shape}")

    def display_labels(self, out: Any) -> np.ndarray | None:
        """True positives (1), false positives (2) and false negatives (3) over the image."""
        if isinstance(out, np.ndarray) and out.shape == self.truth.shape:
            return overlap_labels(self.truth, np.asarray(out) != 0)
        return None

    def _readouts(self, out: Any) -> dict[str, Any]:
        mask = np.asarray(out) != 0
        return {"dice": dice(self.truth, mask), "iou": iou(self.truth, mask),
                "hausdorff_mm": hausdorff_distance(self.truth, mask, spacing=self.scan.spacing),
                "counts": confusion_counts(self.truth, mask)}

    def _make_view(self) -> Any:
        from medinteract.panels.views import GroundTruthView

        return GroundTruthView(self)


def ground_truth(image: Any, op: str | Callable[..., Any], truth: Any,
                 **kwargs: Any) -> GroundTruthPanel:
    """A panel for a segmentation op with live Dice, IoU and Hausdorff (mm) against ``truth``.

    Parameters
    ----------
    image : Scan or array_like or Panel
    op : str or callable
        An op returning a mask (``"threshold"``, ``"region_grow"``, ...) or your own.
    truth : array_like
        The reference mask (non-zero = foreground), same shape as the image.
    **kwargs
        Starting parameters and :func:`~medinteract.panels.panel` options.
    """
    return GroundTruthPanel(image, op, truth, **kwargs)
