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


def dciodvfy_errors(path: Path) -> list[str]:
    """The errors dicom3tools' ``dciodvfy`` reports for one file (warnings are left out).

    Skips the test where dciodvfy is not installed, except in CI (``CI`` set), which installs
    Debian's dicom3tools and must run these tests.
    """
    import os
    import shutil
    import subprocess

    if shutil.which("dciodvfy") is None:
        if os.environ.get("CI"):
            pytest.fail("dciodvfy (Debian package dicom3tools) is not installed")
        pytest.skip("dciodvfy (Debian package dicom3tools) is not installed")
    done = subprocess.run(["dciodvfy", "-new", str(path)], capture_output=True, text=True,
                          errors="replace")
    return [line for line in done.stderr.splitlines() if line.startswith("Error")]
