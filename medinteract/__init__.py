"""medinteract: an interactive medical-imaging lab for JupyterLab.

The flat public API (``medinteract.load``, ``medinteract.view``, ...) and the subpackages are
imported lazily (:mod:`lazy_loader`), so ``import medinteract`` stays fast and a script that
only loads scans never imports ipywidgets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import lazy_loader as _lazy

from medinteract.errors import (
    AnonymizeError,
    DecoderError,
    LoadError,
    MedinteractError,
    MedinteractWarning,
    SeriesError,
    SeriesWarning,
)
from medinteract.scan import Scan, Window

__version__ = "0.1.0.dev0"

_EAGER = ["Scan", "Window", "MedinteractError", "LoadError", "DecoderError", "SeriesError",
          "AnonymizeError", "MedinteractWarning", "SeriesWarning"]

__getattr__, _lazy_dir, _lazy_all = _lazy.attach(
    __name__,
    submodules=["batch", "data", "display", "io", "learn", "ops", "panels", "pipeline", "teach"],
    submod_attrs={
        "io": ["load", "dicom_table", "write_dicom_series", "write_nifti", "anonymize"],
        "display": ["view", "compare", "view3d"],
        "pipeline": ["Pipeline", "Step"],
    },
)
__all__ = [*_EAGER, *_lazy_all]


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # pragma: no cover
    from medinteract import batch, data, display, io, learn, ops, panels, pipeline, teach
    from medinteract.display import compare, view, view3d
    from medinteract.io import anonymize, dicom_table, load, write_dicom_series, write_nifti
    from medinteract.pipeline import Pipeline, Step
