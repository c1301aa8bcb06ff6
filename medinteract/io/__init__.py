"""Reading (and writing) scans: DICOM files, series folders, NIfTI, images and NumPy files.

- :func:`load` turns a file, a folder or a list of files into a :class:`~medinteract.Scan`
  in physical units.
- :func:`dicom_table` lists the series a folder holds, reading headers only.
- :func:`write_dicom_series` writes a scan as a DICOM series, :func:`write_nifti` an image or
  label volume as NIfTI aligned with a scan; :func:`anonymize` de-identifies DICOM files (all
  three imported on first use).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from medinteract.io.loader import load
from medinteract.io.series import dicom_table

__all__ = ["load", "dicom_table", "write_dicom_series", "write_nifti", "anonymize"]

# name -> module that defines it, imported on first access
_LAZY = {
    "write_dicom_series": "medinteract.io.write",
    "write_nifti": "medinteract.io.write",
    "anonymize": "medinteract.io.anonymize",
}


# ``anonymize`` is both a submodule and a function. Importing the submodule binds the *module* to
# ``medinteract.io.anonymize`` the first time it is loaded, which would hide the function from
# the lazy ``__getattr__``; importing it here once, before anyone else can, keeps the function.
try:
    from medinteract.io.anonymize import anonymize
except ModuleNotFoundError as _err:  # not written yet
    if _err.name != "medinteract.io.anonymize":
        raise


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'medinteract.io' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # pragma: no cover
    from medinteract.io.anonymize import anonymize
    from medinteract.io.write import write_dicom_series, write_nifti
