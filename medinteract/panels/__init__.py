"""Interactive panels: an op's annotated parameters become widgets with a live before/after.

:func:`panel` works for every op and for a user's own annotated function; the specific panels
add readouts: :func:`denoise` (noise, PSNR/SSIM, line profile), :func:`enhance`,
:func:`threshold` (histogram, mask overlay, object count), :func:`measure` (region table
linked with the image, filter, CSV export), :func:`ground_truth` (Dice, IoU, Hausdorff mm,
TP/FP/FN overlay), :func:`sweep` (small multiples over parameter values) and :func:`annotate`
(paint ground truth by hand, saved as NumPy or NIfTI aligned with the scan); :func:`choose`
puts a menu of a category's ops above their panels.

Every panel is headless state (:class:`~medinteract.panels.model.PanelModel`: ``params``,
``result``, ``status``, ``error``, ``busy``, ...) that works in scripts without widgets;
displaying it in a notebook shows its ipywidgets view (``panel.widget``,
:mod:`medinteract.panels.views`). Results, status and errors are applied on the kernel's main
thread. Every name is imported on first use (:mod:`lazy_loader`; see ``__init__.pyi``).

>>> import numpy as np
>>> p = panel(np.eye(32), "median", size=3)
>>> print(p.to_code().splitlines()[0])
from medinteract.ops import median
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
