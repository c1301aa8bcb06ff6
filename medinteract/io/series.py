"""DICOM series: find the files of a folder, group them into series, choose one, stack it.

Headers are read without pixel data (``stop_before_pixels``) to discover and sort the series;
only the files of the chosen series are then read in full.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from pydicom.dataset import Dataset

from medinteract.errors import DecoderError, LoadError, SeriesError, UnreadableFileWarning
from medinteract.io.dicom import (
    DICOM_SUFFIXES,
    convert_elements,
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
    value_dtype,
)
from medinteract.io.geometry import StackPlan, plan_stack, warn_series
from medinteract.io.notices import Notices, issue, name_list
from medinteract.scan import Scan, Window

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
    unreadable : list of (Path, str)
        Files beside these that looked like part of a series but could not be read, with the
        problem (they may belong to this series).
    """

    uid: str
    files: list[tuple[Path, Dataset]]
    unreadable: list[tuple[Path, str]] = field(default_factory=list)

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
    standard preamble (``DICM`` at byte 128) or a DICOM name: a ``.dcm``, ``.dicom`` or ``.ima``
    suffix, or no suffix in a folder whose other DICOM files have none. A file with a DICOM
    name that cannot be read (empty, truncated, damaged, not DICOM) is recorded in
    :attr:`DicomSeries.unreadable` of the series in its folder, to be named in a warning.

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
    failed: list[tuple[Path, str]] = []
    for path in files:
        marked = looks_like_dicom(path)
        if not marked and path.suffix.lower() not in DICOM_SUFFIXES:
            continue
        try:
            ds = read_dataset(path, header_only=True, force=not marked)
        except LoadError as err:
            if path.suffix or not path.name.startswith("."):
                failed.append((path, err.problem))
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
    found = _group(headers)
    _assign_unreadable(found, _named_like_dicom(failed, headers))
    return found


def _named_like_dicom(failed: list[tuple[Path, str]],
                      headers: list[tuple[Path, Dataset]]) -> list[tuple[Path, str]]:
    """The failed files that are named like DICOM files: a DICOM suffix, or no suffix in a
    folder whose readable DICOM files have no suffix either (not README, LICENSE, ...)."""
    bare = {path.parent for path, _ in headers if not path.suffix}
    return [(path, problem) for path, problem in failed
            if path.suffix or (path.parent in bare and not path.name.startswith("."))]


def _assign_unreadable(found: list[DicomSeries], failed: list[tuple[Path, str]]) -> None:
    for path, problem in failed:
        for series in found:
            if any(p.parent == path.parent for p, _ in series.files):
                series.unreadable.append((path, problem))


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
                source: str | PathLike[str], name: str = "", *,
                skip_unreadable: bool = False) -> Scan:
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
    skip_unreadable : bool, optional
        Leave out files whose pixels cannot be read, with an
        :class:`~medinteract.errors.UnreadableFileWarning` (for a folder, which may hold a
        damaged copy); by default (a list of files the user named) such a file is a
        :class:`~medinteract.errors.LoadError`.
    """
    series = choose_series(found, choice, source)
    if len(series.files) == 1 and not series.unreadable:
        return load_dicom_file(series.files[0][0])
    multi = [path.name for path, ds in series.files if number_of_frames(ds) > 1]
    if multi:
        raise SeriesError(source, f"series {series.uid} has {len(series.files)} files, of which "
                                  f"{len(multi)} are multi-frame ({', '.join(multi[:5])}); a "
                                  "series of several files must hold one image per file",
                          "load each multi-frame file on its own")
    notes = Notices()
    placements = [file_placement(ds, path, notes) for path, ds in series.files]
    plan = plan_stack(placements, source)
    dtype = np.result_type(*{value_dtype(ds) for _, ds in series.files})
    rows: dict[int, int] = {}  # file index -> row of `volume`
    volume: np.ndarray | None = None
    window: Window | None = None
    unreadable = list(series.unreadable)
    for index in plan.order:
        path = series.files[index][0]
        plane, ds = _read_plane(path, series.files[index][1], notes,
                                unreadable if skip_unreadable else None)
        if plane is None:
            continue
        if volume is None:
            volume = np.empty((len(plan.order), *plane.shape), dtype=dtype)
            window = file_window(ds) if ds is not None else None
        if plane.shape != volume.shape[1:]:  # headers agreed, decoded pixels do not
            raise SeriesError(source, f"{path.name} decodes to an image of shape {plane.shape} "
                                      f"where the other slices are {volume.shape[1:]}",
                              "the file is probably damaged")
        rows[index] = len(rows)
        volume[rows[index]] = plane
    if volume is None:
        raise SeriesError(source, f"none of the {len(series.files)} files of "
                                  f"{series.summary()} could be read: "
                                  f"{_problems(unreadable)}")
    notes.issue(source)
    if len(unreadable) > len(series.unreadable):  # plan again without the unreadable files
        readable = [i for i in range(len(series.files)) if i in rows or i not in plan.order]
        replan = plan_stack([placements[i] for i in readable], source)
        order = [readable[k] for k in replan.order]
        missing = [i for i in order if i not in rows]  # duplicates kept now instead of failed
        read = [_read_plane(*series.files[i], notes, unreadable)[0] for i in missing]
        extra = [plane for plane in read if plane is not None]
        if len(extra) < len(read):
            raise SeriesError(source, f"a slice and its duplicate both could not be read: "
                                      f"{_problems(unreadable)}")
        for index in missing:
            rows[index] = len(rows)
        if extra:
            volume = np.concatenate([volume[:len(rows) - len(extra)], np.stack(extra)])
        volume = volume[[rows[i] for i in order]]
        plan = StackPlan(order, replan.slice_spacing, replan.pixel_spacing, replan.origin,
                         replan.direction, replan.warnings)
    warn_series(plan.warnings, source)
    if unreadable:
        issue(UnreadableFileWarning, source, _unreadable_message(
            unreadable, series, plan, gap="gap of" in " ".join(plan.warnings)))
    first = series.files[plan.order[0]][1]
    spacing = (plan.slice_spacing or fallback_slice_spacing(first),
               *(plan.pixel_spacing or (1.0, 1.0)))
    two_d = volume.shape[0] == 1  # one readable file: a 2-D image, like loading that file
    return Scan(volume[0] if two_d else volume, spacing=spacing[1:] if two_d else spacing,
                direction=plan.direction[1:] if two_d else plan.direction, origin=plan.origin,
                modality=series.modality, metadata=metadata_table(first),
                name=series.description or name, dtype=dtype,
                paths=tuple(series.files[i][0] for i in plan.order),
                **({} if window is None else {"window": window}))  # else from the values


def _read_plane(path: Path, header: Dataset, notes: Notices,
                unreadable: list[tuple[Path, str]] | None
                ) -> tuple[np.ndarray | None, Dataset | None]:
    """The physical values of one single-frame file, or (None, None) after recording in
    ``unreadable`` why its pixels could not be read (raises when ``unreadable`` is None, and
    always for a missing decoder).

    ``header`` is the file's header as read when the series was found: its elements were
    converted (checked) then, so only the others (the pixel data and what follows) are now.
    """
    try:
        ds = read_dataset(path, force=True, check_elements=False)
        convert_elements(ds, path, [tag for tag in ds.keys() if tag not in header])
        return physical_frames(ds, decode_frames(ds, path), notes, path.name)[0], ds
    except DecoderError:
        raise
    except LoadError as err:
        if unreadable is None:
            raise
        unreadable.append((path, err.problem))
        return None, None


def _problems(unreadable: list[tuple[Path, str]]) -> str:
    return name_list([f"{path.name} ({problem})" for path, problem in unreadable], limit=5)


def _unreadable_message(unreadable: list[tuple[Path, str]], series: DicomSeries,
                        plan: StackPlan, gap: bool) -> str:
    """Which files were left out, and where the slices they held are probably missing."""
    n = len(unreadable)
    numbers = sorted(x for x in (_instance(series.files[i][1]) for i in plan.order)
                     if x is not None)
    where = ("the gap warning says where slices are missing" if gap else
             "no gap appears between the slices read, so the missing slice(s) were at an end "
             "of the stack (or duplicates) and the volume may be shorter than the series")
    if numbers:
        where += f"; the InstanceNumbers read run from {numbers[0]} to {numbers[-1]}"
    return (f"{n} file{'s' if n != 1 else ''} that look{'' if n != 1 else 's'} like part of "
            f"the series could not be read and {'are' if n != 1 else 'is'} left out: "
            f"{_problems(unreadable)}; the volume has {len(plan.order)} slice(s); {where}")


def _instance(ds: Dataset) -> int | None:
    try:
        return int(ds.get("InstanceNumber"))
    except (TypeError, ValueError):
        return None


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
        mixed geometry found while planning the stack, missing or invalid geometry values and
        the fallback used, files beside the series that could not be read) and
        SeriesInstanceUID.

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
    notes = Notices()
    unreadable = ([f"could not read {_problems(series.unreadable)}"]
                  if series.unreadable else [])
    if len(series.files) == 1:
        path, ds = series.files[0]
        if number_of_frames(ds) == 1:
            file_placement(ds, path, notes)
            return float("nan"), "; ".join(notes.messages() + unreadable)
        placements, note = frame_placements(ds, path, notes), None
    else:
        placements = [file_placement(ds, path, notes) for path, ds in series.files]
        note = "no slice positions; ordered by InstanceNumber"
    try:
        plan = plan_stack(placements, folder, unpositioned_note=note)
    except SeriesError as err:
        return float("nan"), "; ".join([err.problem] + notes.messages() + unreadable)
    spacing = float("nan") if plan.slice_spacing is None else plan.slice_spacing
    return spacing, "; ".join(plan.warnings + notes.messages() + unreadable)


def common_folder(paths: Sequence[str | PathLike[str]]) -> Path:
    """The deepest folder containing all the given files (for messages)."""
    parents = [str(Path(p).resolve().parent) for p in paths]
    return Path(os.path.commonpath(parents)) if parents else Path(".")
