"""Plain helpers for tests that read pydicom's offline test files.

Kept out of ``conftest.py`` so test modules can import them by a unique module name
(several ``conftest`` modules exist under ``tests/``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file


def dicom_file(name: str) -> Path:
    """Path of one of pydicom's (or pydicom-data's) test files, never downloading."""
    path = get_testdata_file(name, download=False)
    if path is None:
        pytest.skip(f"pydicom test file {name} is not installed")
    return Path(path)


def ct_hu(path: Path) -> np.ndarray:
    """Hounsfield units computed directly from a file: pixel_array * slope + intercept."""
    ds = pydicom.dcmread(path)
    return ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
