from . import batch, data, display, io, learn, ops, panels, pipeline, teach, windowing
from .display import compare, view, view3d
from .errors import (
    AnonymizeError,
    DecoderError,
    GeometryWarning,
    LoadError,
    MedinteractError,
    MedinteractWarning,
    PixelValueWarning,
    SeriesError,
    SeriesWarning,
    UnreadableFileWarning,
)
from .io import anonymize, dicom_table, load, write_dicom_series, write_nifti
from .pipeline import Pipeline, Step
from .scan import Geometry, Scan, Window

__version__: str

__all__ = [
    "Scan", "Geometry", "Window", "MedinteractError", "LoadError", "DecoderError", "SeriesError",
    "AnonymizeError", "MedinteractWarning", "SeriesWarning", "UnreadableFileWarning",
    "GeometryWarning", "PixelValueWarning",
    "load", "dicom_table", "write_dicom_series", "write_nifti", "anonymize",
    "view", "compare", "view3d", "Pipeline", "Step",
    "batch", "data", "display", "io", "learn", "ops", "panels", "pipeline", "teach", "windowing",
]
