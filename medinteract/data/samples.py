"""Sample scans that ship with installed packages: no network needed.

=================  ========  ===================  ==============================================
name               modality  source package       what it is
=================  ========  ===================  ==============================================
``ct_small``       CT        pydicom              one 128x128 axial CT slice (``CT_small.dcm``)
``mr_small``       MR        pydicom              one 64x64 MR slice (``MR_small.dcm``)
``mr_multiframe``  MR        pydicom-data         enhanced MR, 10 frames of 64x64
``head_ct``        CT        pydicom-data         one 512x512 axial head CT slice (CQ500), lossless
``chest_xray``     CR        pydicom-data         PA chest radiograph, 1955x1841, MONOCHROME1
``retina``         OP        scikit-image         colour fundus photograph, 1411x1411 RGB
=================  ========  ===================  ==============================================

Each function returns a :class:`~medinteract.scan.Scan` loaded from the file exactly as
:func:`medinteract.load` would load it; :func:`sample_path` gives the file itself, for tutorials
that show loading from a path. :func:`phantom_series` writes the synthetic chest phantom as a
DICOM series, so a tutorial can load "scans from disk" exactly as with real data.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import warnings
from os import PathLike
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from medinteract.errors import GeometryWarning, LoadError, SeriesWarning
from medinteract.scan import Scan

__all__ = [
    "ct_small",
    "mr_small",
    "mr_multiframe",
    "head_ct",
    "chest_xray",
    "retina",
    "list_samples",
    "sample_path",
    "load_sample",
    "phantom_series",
]


class _Sample(NamedTuple):
    name: str
    file: str
    package: str
    modality: str
    shape: tuple[int, ...]
    description: str


_SAMPLES: dict[str, _Sample] = {s.name: s for s in (
    _Sample("ct_small", "CT_small.dcm", "pydicom", "CT", (128, 128),
            "One axial CT slice, 128x128, in Hounsfield units (pydicom's CT_small.dcm)."),
    _Sample("mr_small", "MR_small.dcm", "pydicom", "MR", (64, 64),
            "One MR slice, 64x64 (pydicom's MR_small.dcm)."),
    _Sample("mr_multiframe", "emri_small.dcm", "pydicom-data", "MR", (10, 64, 64),
            "Enhanced (multi-frame) MR, 10 frames of 64x64 in one file; the file carries no "
            "frame positions, so frames are ordered by number (pydicom's emri_small.dcm)."),
    _Sample("head_ct", "693_UNCR.dcm", "pydicom-data", "CT", (512, 512),
            "One axial non-contrast head CT slice, 512x512, 0.48 mm pixels, 5 mm thick, from "
            "the public CQ500 collection, stored losslessly; it shows a lesion under the brain "
            "and subdural windows (pydicom-data's 693_UNCR.dcm, decoded from its lossless "
            "JPEG 2000 example; 693_UNCI.dcm went through lossy compression)."),
    _Sample("chest_xray", "RG1_UNCI.dcm", "pydicom-data", "CR", (1955, 1841),
            "PA chest radiograph (computed radiography), 1955x1841, MONOCHROME1, from the "
            "NEMA compression samples; the file gives no usable pixel spacing, so spacing is "
            "nominal 1 (pixels, not mm) (pydicom's RG1_UNCI.dcm)."),
    _Sample("retina", "retina.jpg", "scikit-image", "OP", (1411, 1411, 3),
            "Colour fundus photograph of a human retina, RGB 1411x1411 (scikit-image's "
            "retina.jpg); the pixel size is unknown, so spacing is nominal 1 (pixels, not mm)."),
)}


def list_samples() -> pd.DataFrame:
    """The offline samples: one row per sample.

    Returns
    -------
    DataFrame
        Columns ``name``, ``modality``, ``shape``, ``source`` (the package that ships the file),
        ``file`` (its file name) and ``description``.

    Examples
    --------
    >>> "ct_small" in list_samples()["name"].tolist()
    True
    """
    return pd.DataFrame(
        [(s.name, s.modality, s.shape, s.package, s.file, s.description)
         for s in _SAMPLES.values()],
        columns=["name", "modality", "shape", "source", "file", "description"],
    )


def sample_path(name: str) -> Path:
    """The file behind a sample, for showing how to load a scan from a path.

    Parameters
    ----------
    name : str
        A sample name from :func:`list_samples` (e.g. ``"ct_small"``).

    Returns
    -------
    Path
        The installed file (never modify it).

    Raises
    ------
    ValueError
        For an unknown name.
    LoadError
        If the package that ships the file is missing.
    """
    sample = _sample(name)
    if sample.package == "scikit-image":
        path = Path(str(importlib.resources.files("skimage.data") / sample.file))
    else:
        from pydicom.data import get_testdata_file

        found = get_testdata_file(sample.file, download=False)
        path = Path(found) if found else Path(sample.file)
    if not path.is_file():
        raise LoadError(path, f"sample {name!r} is not installed",
                        f"pip install {sample.package}")
    return path


def load_sample(name: str) -> Scan:
    """Load a sample by name (the same as calling its function, e.g. :func:`ct_small`)."""
    sample = _sample(name)
    scan = _load(sample_path(name))
    changes: dict[str, Any] = {"name": name}
    if scan.modality != sample.modality:
        changes["modality"] = sample.modality
    return dataclasses.replace(scan, **changes)


def ct_small() -> Scan:
    """One axial CT slice (128x128) in Hounsfield units, from pydicom's ``CT_small.dcm``."""
    return load_sample("ct_small")


def mr_small() -> Scan:
    """One MR slice (64x64), from pydicom's ``MR_small.dcm``."""
    return load_sample("mr_small")


def mr_multiframe() -> Scan:
    """An enhanced multi-frame MR volume (10x64x64) from one file, pydicom's ``emri_small.dcm``.

    The file has no frame positions; frames are ordered by number and the slice spacing comes
    from the file's slice thickness.
    """
    return load_sample("mr_multiframe")


def head_ct() -> Scan:
    """One axial head CT slice (512x512, 0.48 mm pixels) in Hounsfield units (CQ500 sample)."""
    return load_sample("head_ct")


def chest_xray() -> Scan:
    """A PA chest radiograph (CR, 1955x1841), pydicom-data's ``RG1_UNCI.dcm``.

    Stored as MONOCHROME1 (bright = low value); the loaded array is inverted so that bright
    means dense, as for every other scan. The spacing is nominal (1, 1).
    """
    return load_sample("chest_xray")


def retina() -> Scan:
    """A colour fundus photograph (RGB, 1411x1411) from scikit-image, modality ``"OP"``.

    The physical pixel size is unknown, so the spacing is nominal (1, 1): areas and distances
    measured on it are in pixels, not mm.
    """
    return load_sample("retina")


def phantom_series(folder: str | PathLike[str], **phantom_kw: Any) -> Path:
    """Write a chest phantom as a DICOM series into ``folder`` and return the folder.

    Parameters
    ----------
    folder : path-like
        Output folder (absent or empty).
    **phantom_kw
        Passed to :func:`medinteract.data.phantom` (``shape``, ``n_nodules``, ``seed``, ...).

    Returns
    -------
    Path
        ``folder``, ready for :func:`medinteract.load`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = phantom_series(pathlib.Path(tempfile.mkdtemp()) / "chest", shape=(8, 64, 64),
    ...                      n_nodules=1, nodule_radius_mm=3)
    >>> len(list(out.glob("*.dcm")))
    8
    """
    from medinteract.data.synthetic import phantom

    phantom(**phantom_kw).write_dicom(folder)
    return Path(folder)


def _sample(name: str) -> _Sample:
    if name not in _SAMPLES:
        raise ValueError(f"unknown sample {name!r}; choose from {', '.join(_SAMPLES)}")
    return _SAMPLES[name]


def _load(path: Path) -> Scan:
    """Load a sample file with :func:`medinteract.load` (quietly: samples are known quantities,
    their descriptions say what their files lack)."""
    from medinteract.io import load

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SeriesWarning)
        warnings.simplefilter("ignore", GeometryWarning)
        return load(path)
