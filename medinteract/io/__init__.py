"""Reading (and writing) scans: DICOM files, series folders, NIfTI, images and NumPy files.

- :func:`load` turns a file, a folder or a list of files into a :class:`~medinteract.Scan`
  in physical units.
- :func:`dicom_table` lists the series a folder holds, reading headers only.
- :mod:`medinteract.io.dicomweb` searches a DICOMweb server (PACS) and loads series from it.
- :func:`write_dicom_series` writes a scan as a DICOM series, :func:`write_nifti` an image or
  label volume as NIfTI aligned with a scan; :func:`anonymize` de-identifies DICOM files.

Every name is imported on first use (:mod:`lazy_loader`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submodules=["dicomweb"],
    submod_attrs={
        "loader": ["load"],
        "series": ["dicom_table"],
        "write": ["write_dicom_series", "write_nifti"],
        "anonymization": ["anonymize"],
    },
)

if TYPE_CHECKING:  # pragma: no cover
    from medinteract.io import dicomweb
    from medinteract.io.anonymization import anonymize
    from medinteract.io.loader import load
    from medinteract.io.series import dicom_table
    from medinteract.io.write import write_dicom_series, write_nifti
