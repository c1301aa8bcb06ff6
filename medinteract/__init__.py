"""medinteract: an interactive medical-imaging lab for JupyterLab.

The flat public API (``medinteract.load``, ``medinteract.view``, ...) is imported lazily, so
``import medinteract`` stays fast and a script that only loads scans never imports ipywidgets.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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

# public name -> module that defines it
_LAZY = {
    "load": "medinteract.io",
    "dicom_table": "medinteract.io",
    "write_dicom_series": "medinteract.io",
    "write_nifti": "medinteract.io",
    "anonymize": "medinteract.io",
    "view": "medinteract.display",
    "compare": "medinteract.display",
    "view3d": "medinteract.display",
    "Pipeline": "medinteract.pipeline",
    "Step": "medinteract.pipeline",
}
_SUBMODULES = {"io", "data", "display", "ops", "panels", "learn", "batch", "pipeline", "teach"}

__all__ = [
    "Scan",
    "Window",
    "MedinteractError",
    "LoadError",
    "DecoderError",
    "SeriesError",
    "AnonymizeError",
    "MedinteractWarning",
    "SeriesWarning",
    *_LAZY,
    *sorted(_SUBMODULES),
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"medinteract.{name}")
    raise AttributeError(f"module 'medinteract' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # pragma: no cover
    from medinteract import batch, data, display, io, learn, ops, panels, pipeline, teach
    from medinteract.display import compare, view, view3d
    from medinteract.io import anonymize, dicom_table, load, write_dicom_series, write_nifti
    from medinteract.pipeline import Pipeline, Step
