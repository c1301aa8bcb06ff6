"""Reading (and writing) scans: DICOM files, series folders, NIfTI, images and NumPy files.

- :func:`load` turns a file, a folder or a list of files into a :class:`~medinteract.Scan`
  in physical units.
- :func:`dicom_table` lists the series a folder holds, reading headers only.
- :mod:`medinteract.io.dicomweb` searches a DICOMweb server (PACS) and loads series from it.
- :func:`write_dicom_series` writes a scan as a DICOM series, :func:`write_nifti` an image or
  label volume as NIfTI aligned with a scan; :func:`anonymize` de-identifies DICOM files.

Every name is imported on first use (:mod:`lazy_loader`; see ``__init__.pyi``).
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
