"""What write_dicom_series writes validates: dciodvfy (dicom3tools) reports no error."""

from __future__ import annotations

import numpy as np
import pytest
from dicom_samples import dciodvfy_errors

from medinteract.data import phantom
from medinteract.io import load, write_dicom_series
from medinteract.scan import Scan

_RAMP = np.linspace(-1000, 1000, 3 * 8 * 8).reshape(3, 8, 8)

CASES = {
    "CT volume": (Scan(_RAMP, spacing=(2.0, 0.5, 0.5), modality="CT"), {}),
    "MR volume": (Scan(_RAMP + 1000, spacing=(2.0, 0.5, 0.5), modality="MR"), {}),
    "CT image": (Scan(_RAMP[0], spacing=(0.5, 0.5), modality="CT"), {}),
    "MR image": (Scan(_RAMP[0] / 7, spacing=(0.5, 0.5), modality="MR"), {}),
    "Secondary Capture image": (Scan(_RAMP[0], spacing=(0.5, 0.5), modality="OT"), {}),
    "Secondary Capture volume (PT)": (Scan(_RAMP / 100, spacing=(2.0, 1, 1), modality="PT"),
                                      {}),
    "8-bit CT": (Scan(_RAMP, spacing=(2.0, 0.5, 0.5), modality="CT"), {"bits": 8}),
    "RGB photograph": (Scan(np.full((8, 8, 3), 200.0), spacing=(1.0, 1.0), modality="XC"), {}),
    "flat image, narrow window": (Scan(np.zeros((8, 8)), spacing=(0.5, 0.5), modality="CT"), {}),
    "UTF-8 names": (Scan(_RAMP, spacing=(2.0, 0.5, 0.5), modality="CT"),
                    {"patient_name": "Müller^Zoë", "series_description": "胸部 CT"}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_written_files_have_no_dciodvfy_errors(case, tmp_path):
    scan, options = CASES[case]
    files = write_dicom_series(scan, tmp_path / "out", uid_seed=case, **options)
    for path in files[:2]:  # the slices of a series differ only in position and pixels
        assert dciodvfy_errors(path) == [], (case, path.name)
    assert load(files[0].parent).shape == scan.shape


def test_phantom_ct_series_has_no_dciodvfy_errors(tmp_path):
    files = phantom(shape=(4, 48, 48), n_nodules=0, seed=3).write_dicom(tmp_path / "phantom")
    assert all(dciodvfy_errors(path) == [] for path in files)
