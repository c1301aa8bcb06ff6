"""Sample scans, offline first.

- :func:`phantom`: a synthetic CT-like chest phantom with nodules of known size and density,
  returned with its ground truth and able to write itself out as a DICOM series.
- :func:`ct_small`, :func:`mr_small`, :func:`mr_multiframe`, :func:`head_ct`,
  :func:`chest_xray`, :func:`retina`: real images that ship with installed packages (pydicom,
  pydicom-data, scikit-image); :func:`list_samples` describes them and :func:`sample_path`
  gives their files.
- :mod:`medinteract.data.fetch`: optional downloads of public datasets (cached, checksummed).
"""

from medinteract.data.synthetic import LABEL_NAMES, LUNG_WINDOW, TISSUE_HU, Phantom, phantom
from medinteract.data.samples import (
    chest_xray,
    ct_small,
    head_ct,
    list_samples,
    load_sample,
    mr_multiframe,
    mr_small,
    phantom_series,
    retina,
    sample_path,
)

__all__ = [
    "Phantom",
    "phantom",
    "phantom_series",
    "LABEL_NAMES",
    "TISSUE_HU",
    "LUNG_WINDOW",
    "list_samples",
    "sample_path",
    "load_sample",
    "ct_small",
    "mr_small",
    "mr_multiframe",
    "head_ct",
    "chest_xray",
    "retina",
]
