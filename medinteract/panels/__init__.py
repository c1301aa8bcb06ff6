"""Interactive panels: an op's annotated parameters become widgets with a live before/after.

:func:`panel` works for every op and for a user's own annotated function; the specific panels
add readouts: :func:`denoise` (noise, PSNR/SSIM, line profile), :func:`enhance`,
:func:`threshold` (histogram, mask overlay, object count), :func:`measure` (region table
linked with the image, filter, CSV export), :func:`ground_truth` (Dice, IoU, Hausdorff mm,
TP/FP/FN overlay), :func:`sweep` (small multiples over parameter values) and :func:`annotate`
(paint ground truth by hand, saved as NumPy or NIfTI aligned with the scan); :func:`choose`
puts a menu of a category's ops above their panels.

>>> import numpy as np
>>> p = panel(np.eye(32), "median", size=3)
>>> print(p.to_code().splitlines()[0])
from medinteract.ops import median
"""

from medinteract.panels.annotating import AnnotatePanel, annotate
from medinteract.panels.chooser import OpChooser, choose
from medinteract.panels.base import BACKGROUND_MS, PREVIEW_MS, Panel, panel, summarize
from medinteract.panels.denoising import DenoisePanel, EnhancePanel, denoise, enhance
from medinteract.panels.measuring import MeasurePanel, measure
from medinteract.panels.segmentation import ThresholdPanel, threshold
from medinteract.panels.sweeping import Sweep, sweep
from medinteract.panels.truth import GroundTruthPanel, ground_truth

__all__ = [
    "panel", "denoise", "enhance", "threshold", "measure", "ground_truth", "sweep", "annotate",
    "choose", "Panel", "AnnotatePanel", "OpChooser", "DenoisePanel", "EnhancePanel",
    "ThresholdPanel", "MeasurePanel",
    "GroundTruthPanel", "Sweep", "summarize", "BACKGROUND_MS", "PREVIEW_MS",
]
