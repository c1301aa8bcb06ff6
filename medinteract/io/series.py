"""DICOM series: find the files of a folder, group them into series, choose one, stack it.

Headers are read without pixel data (``stop_before_pixels``) to discover and sort the series;
only the files of the chosen series are then read in full.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from pydicom.dataset import Dataset

from medinteract.errors import LoadError, SeriesError
from medinteract.io.dicom import (
    decode_frames,
    describe_object,
    fallback_slice_spacing,
    file_placement,
    file_window,
    frame_placements,
    has_pixels,
    load_dicom_file,
    looks_like_dicom,
    metadata_table,
    number_of_frames,
    physical_frames,
    pixel_spacing_of,
    read_dataset,
)
from medinteract.io.geometry import plan_stack, warn_series
from medinteract.scan import Scan

__all__ = [
    "SeriesChoice",
    "DicomSeries",
    "find_series",
    "series_from_files",
    "choose_series",
    "load_series",
    "dicom_table",
    "DICOM_TABLE_COLUMNS",
]

#: Ways to pick a series: SeriesInstanceUID (str), SeriesNumber (int or digits) or
#: SeriesDescription (str, case-insensitive).
SeriesChoice = str | int

#: Columns of :func:`dicom_table`.
DICOM_TABLE_COLUMNS = (
    "PatientName", "PatientID", "StudyDescription", "StudyDate", "SeriesNumber",
    "SeriesDescription", "Modality", "Rows", "Columns", "Files", "Frames", "PixelSpacing",
    "SliceSpacing", "Notes", "SeriesInstanceUID",
)


@dataclass
class DicomSeries:
    """The image files of one SeriesInstanceUID, with their headers.

    Attributes
    ----------
    uid : str
        SeriesInstanceUID ("" when the files have none).
    files : list of (Path, Dataset)
        Each file with its header (read without pixel data), in discovery order.
    """

    uid: str
    files: list[tuple[Path, Dataset]]

    @property
    def first(self) -> Dataset:
        """Header of the first file."""
        return self.files[0][1]

    @property
    def number(self) -> int | None:
        """SeriesNumber, or None."""
        try:
            return int(self.first.get("SeriesNumber"))
        except (TypeError, ValueError):
            return None

    @property
    def description(self) -> str:
        """SeriesDescription ("" when absent)."""
        return str(self.first.get("SeriesDescription") or "").strip()

    @property
    def modality(self) -> str:
        """Modality code ("OT" when absent)."""
        return str(self.first.get("Modality") or "OT")

    @property
    def frames(self) -> int:
        """Total number of frames (images) over all files."""
        return sum(number_of_frames(ds) for _, ds in self.files)

    def summary(self) -> str:
        """One line naming the series for error messages."""
        number = "?" if self.number is None else str(self.number)
        description = f"'{self.description}'" if self.description else "(no description)"
        n = len(self.files)
        return (f"series {number} {description} {self.modality}, {n} file{'s' if n != 1 else ''}"
                f", UID {self.uid or '(none)'}")


# -- discovery --------------------------------------------------------------------------------
def find_series(folder: str | PathLike[str]) -> list[DicomSeries]:
    """Group the DICOM image files under a folder (recursively) into series.

    Files that are not DICOM (README, thumbnails, ...) and DICOM files without an image
    (DICOMDIR, structured reports, RT plans) are skipped. A file counts as DICOM when it has the
    standard preamble (``DICM`` at byte 128); rare files without it can still be loaded one by
    one, or as a list of files.

    Raises
    ------
    LoadError
        The folder is empty, holds no DICOM files, or no DICOM images.
    """
    folder = Path(folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    if not files:
        raise LoadError(folder, "is an empty folder", "point load() at a folder of DICOM files")
    headers: list[tuple[Path, Dataset]] = []
    non_image: list[tuple[Path, Dataset]] = []
    for path in files:
        if not looks_like_dicom(path):
            continue
        try:
            ds = read_dataset(path, header_only=True)
        except LoadError:
            continue
        (headers if has_pixels(ds) else non_image).append((path, ds))
    if not headers:
        if non_image:
            path, ds = non_image[0]
            raise LoadError(folder, f"holds {len(non_image)} DICOM file(s) but no images "
                                    f"(e.g. {path.name} is {describe_object(ds)})")
        examples = ", ".join(p.name for p in files[:3])
        raise LoadError(folder, f"holds no DICOM files ({len(files)} file(s) looked at, e.g. "
                                f"{examples})",
                        "to load one image file such as .nii, .png or .npy, pass the file itself")
    return _group(headers)


def series_from_files(paths: Sequence[str | PathLike[str]]) -> list[DicomSeries]:
    """Group an explicit list of DICOM files into series (every file must be a DICOM image)."""
    headers = []
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise LoadError(path, "does not exist or is not a file")
        ds = read_dataset(path, header_only=True, force=True)
        if not has_pixels(ds):
            raise LoadError(path, f"contains no image (no pixel data): it is "
                                  f"{describe_object(ds)}")
        headers.append((path, ds))
    return _group(headers)


def _group(headers: list[tuple[Path, Dataset]]) -> list[DicomSeries]:
    groups: dict[str, list[tuple[Path, Dataset]]] = {}
    for path, ds in headers:
        groups.setdefault(str(ds.get("SeriesInstanceUID") or ""), []).append((path, ds))
    series = [DicomSeries(uid, files) for uid, files in groups.items()]
    return sorted(series, key=_series_order)


def _series_order(series: DicomSeries) -> tuple[object, ...]:
    first = series.first
    study = (str(first.get("PatientID") or ""), str(first.get("StudyDate") or ""),
             str(first.get("StudyInstanceUID") or ""))
    return (*study, series.number is None, series.number or 0, series.description, series.uid)


# -- choosing ---------------------------------------------------------------------------------
def choose_series(found: Sequence[DicomSeries], choice: SeriesChoice | None,
                  source: str | PathLike[str]) -> DicomSeries:
    """Pick one series by SeriesInstanceUID, SeriesNumber or SeriesDescription.

    Parameters
    ----------
    found : sequence of DicomSeries
        The series discovered (e.g. by :func:`find_series`).
    choice : str or int, optional
        SeriesInstanceUID, SeriesNumber or SeriesDescription (case-insensitive); may be
        None when there is exactly one series.
    source : path-like
        The folder or file, for messages.

    Returns
    -------
    DicomSeries

    Raises
    ------
    SeriesError
        Several series and no choice, or a choice that matches none or several; the message
        lists the series found.
    """
    listing = "\n".join(f"  - {s.summary()}" for s in found)
    how = "choose one with series= (a SeriesInstanceUID, SeriesNumber or SeriesDescription)"
    if choice is None:
        if len(found) == 1:
            return found[0]
        raise SeriesError(source, f"holds {len(found)} series; {how}. Series found:\n{listing}")
    matches = [s for s in found if _matches(s, choice)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise SeriesError(source, f"no series matches series={choice!r}; {how}. "
                                  f"Series found:\n{listing}")
    raise SeriesError(source, f"series={choice!r} matches {len(matches)} series; use the "
                              f"SeriesInstanceUID to choose one. Series found:\n{listing}")


def _matches(series: DicomSeries, choice: SeriesChoice) -> bool:
    if isinstance(choice, bool):
        return False
    if isinstance(choice, (int, np.integer)):
        return series.number == int(choice)
    text = str(choice).strip()
    if text == series.uid:
        return True
    if text.lstrip("+-").isdigit():
        return series.number == int(text)
    return bool(text) and text.casefold() == series.description.casefold()


# -- stacking ---------------------------------------------------------------------------------
def load_series(found: Sequence[DicomSeries], choice: SeriesChoice | None,
                source: str | PathLike[str], name: str = "") -> Scan:
    """Choose a series and stack its files into a :class:`Scan` (see :func:`medinteract.io.load`).

    Parameters
    ----------
    found : sequence of DicomSeries
        Output of :func:`find_series` or :func:`series_from_files`.
    choice : str or int, optional
        Which series (required when there are several).
    source : path
        The folder (or files' folder), named in messages.
    name : str, optional
        Name for the scan when the series has no SeriesDescription.
    """
    series = choose_series(found, choice, source)
    if len(series.files) == 1:
        return load_dicom_file(series.files[0][0])
    multi = [path.name for path, ds in series.files if number_of_frames(ds) > 1]
    if multi:
        raise SeriesError(source, f"series {series.uid} has {len(series.files)} files, of which "
                                  f"{len(multi)} are multi-frame ({', '.join(multi[:5])}); a "
                                  "series of several files must hold one image per file",
                          "load each multi-frame file on its own")
    placements = [file_placement(ds, path) for path, ds in series.files]
    plan = plan_stack(placements, source)
    warn_series(plan.warnings, source)
    kept = [series.files[i] for i in plan.order]
    volume, window = None, None
    for index, (path, _) in enumerate(kept):
        ds = read_dataset(path, force=True)
        plane = physical_frames(ds, decode_frames(ds, path))[0]
        if volume is None:
            volume = np.empty((len(kept), *plane.shape), dtype=np.float32)
            window = file_window(ds)
        if plane.shape != volume.shape[1:]:  # headers agreed, decoded pixels do not
            raise SeriesError(source, f"{path.name} decodes to an image of shape {plane.shape} "
                                      f"where the other slices are {volume.shape[1:]}",
                              "the file is probably damaged")
        volume[index] = plane
    first = kept[0][1]
    spacing = (plan.slice_spacing or fallback_slice_spacing(first),
               *(plan.pixel_spacing or (1.0, 1.0)))
    return Scan(volume, spacing=spacing, origin=plan.origin, direction=plan.direction,
                modality=series.modality, window=window, metadata=metadata_table(first),
                paths=tuple(path for path, _ in kept), name=series.description or name)


# -- table ------------------------------------------------------------------------------------
def dicom_table(folder: str | PathLike[str]) -> pd.DataFrame:
    """What a folder of DICOM files holds: one row per series.

    Only headers are read (``stop_before_pixels=True``), so this is fast even for large folders.

    Parameters
    ----------
    folder : path-like
        A folder searched recursively (a single DICOM file is accepted too).

    Returns
    -------
    DataFrame
        Columns :data:`DICOM_TABLE_COLUMNS`: patient name and ID, study description and date,
        series number and description, modality, rows and columns, number of files and of
        frames, pixel spacing ``(y, x)`` in mm, slice spacing in mm (median step between slice
        positions along the slice normal; NaN for a single image), notes (gaps, duplicates,
        mixed geometry found while planning the stack) and SeriesInstanceUID.

    Raises
    ------
    LoadError
        The path does not exist, or holds no DICOM images.

    Examples
    --------
    >>> from medinteract.io import dicom_table
    >>> dicom_table("scans/")[["SeriesNumber", "Modality", "Files"]]  # doctest: +SKIP
    """
    folder = Path(folder)
    if not folder.exists():
        raise LoadError(folder, "does not exist")
    found = find_series(folder) if folder.is_dir() else series_from_files([folder])
    rows = [_table_row(s, folder) for s in found]
    return pd.DataFrame(rows, columns=list(DICOM_TABLE_COLUMNS)).astype(
        {c: object for c in DICOM_TABLE_COLUMNS if c not in ("Files", "Frames", "SliceSpacing")})


def _table_row(series: DicomSeries, folder: Path) -> dict[str, object]:
    first = series.first
    spacing, notes = _table_geometry(series, folder)
    pixel_spacing = pixel_spacing_of(first)
    return {
        "PatientName": str(first.get("PatientName") or ""),
        "PatientID": str(first.get("PatientID") or ""),
        "StudyDescription": str(first.get("StudyDescription") or ""),
        "StudyDate": str(first.get("StudyDate") or ""),
        "SeriesNumber": series.number,
        "SeriesDescription": series.description,
        "Modality": series.modality,
        "Rows": int(first.get("Rows") or 0),
        "Columns": int(first.get("Columns") or 0),
        "Files": len(series.files),
        "Frames": series.frames,
        "PixelSpacing": pixel_spacing,
        "SliceSpacing": spacing,
        "Notes": notes,
        "SeriesInstanceUID": series.uid,
    }


def _table_geometry(series: DicomSeries, folder: Path) -> tuple[float, str]:
    if len(series.files) == 1:
        path, ds = series.files[0]
        if number_of_frames(ds) == 1:
            return float("nan"), ""
        placements, note = frame_placements(ds, path), None
    else:
        placements = [file_placement(ds, path) for path, ds in series.files]
        note = "no slice positions; ordered by InstanceNumber"
    try:
        plan = plan_stack(placements, folder, unpositioned_note=note)
    except SeriesError as err:
        return float("nan"), err.problem
    spacing = float("nan") if plan.slice_spacing is None else plan.slice_spacing
    return spacing, "; ".join(plan.warnings)


def common_folder(paths: Sequence[str | PathLike[str]]) -> Path:
    """The deepest folder containing all the given files (for messages)."""
    parents = [str(Path(p).resolve().parent) for p in paths]
    return Path(os.path.commonpath(parents)) if parents else Path(".")
