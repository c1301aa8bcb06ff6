"""Shared test helpers: pydicom's offline test files and a CT series builder."""

from __future__ import annotations

import copy
import random
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pydicom
import pytest
from dicom_samples import dicom_file
from pydicom.uid import generate_uid


SeriesBuilder = Callable[..., list[Path]]


@pytest.fixture
def ct_series(tmp_path: Path) -> SeriesBuilder:
    """Build a CT series from copies of pydicom's CT_small.dcm.

    ``ct_series(positions, folder=None, ...)`` writes one file per z position (mm) with random
    file names, InstanceNumbers that run *against* the positions, and pixel values raised by
    ``10 * k`` HU for the k-th position given, so each slice can be recognised after loading.
    Returns the paths in the order of ``positions``.
    """
    template = pydicom.dcmread(dicom_file("CT_small.dcm"))
    rng = random.Random(1234)

    def build(positions: Sequence[float], folder: Path | None = None, *,
              series_uid: str | None = None, number: int = 1, description: str = "AXIAL",
              shape: Sequence[int] | None = None, odd_orientation: Sequence[int] = (),
              ) -> list[Path]:
        folder = folder or tmp_path / "series"
        folder.mkdir(parents=True, exist_ok=True)
        series_uid = series_uid or generate_uid()
        paths = []
        for k, z in enumerate(positions):
            ds = copy.deepcopy(template)
            x0, y0, _ = (float(v) for v in template.ImagePositionPatient)
            ds.ImagePositionPatient = [x0, y0, float(z)]
            ds.SOPInstanceUID = generate_uid()
            ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
            ds.SeriesInstanceUID = series_uid
            ds.SeriesNumber = number
            ds.SeriesDescription = description
            ds.InstanceNumber = 1000 - k  # deliberately disagrees with the positions
            pixels = template.pixel_array.astype(np.int16) + 10 * k
            if shape is not None:
                pixels = pixels[: shape[0], : shape[1]]
                ds.Rows, ds.Columns = pixels.shape
            ds.PixelData = np.ascontiguousarray(pixels).tobytes()
            if k in odd_orientation:
                ds.ImageOrientationPatient = [1, 0, 0, 0, 0, -1]
            path = folder / f"{rng.getrandbits(40):010x}.dcm"
            ds.save_as(path)
            paths.append(path)
        return paths

    return build
