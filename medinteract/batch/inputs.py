"""Finding the scans under a folder: each DICOM series and each standalone image file."""

from __future__ import annotations

import hashlib
import os
import re
from os import PathLike
from pathlib import Path
from typing import Any, Iterable, Sequence

import pandas as pd

from medinteract.errors import LoadError
from medinteract.io.dicom import convert_elements, has_pixels, read_dataset
from medinteract.io.formats import IMAGE_SUFFIXES, NIFTI_SUFFIXES, NUMPY_SUFFIXES
from medinteract.io.loader import DICOM_SUFFIXES, file_kind

__all__ = ["find_scans", "scan_table", "files_of", "safe_id", "SCAN_COLUMNS", "KINDS"]

#: Columns of :func:`find_scans`.
SCAN_COLUMNS = ("id", "kind", "path", "files", "n_files", "series_uid", "description",
                "problem")
#: Values of the ``kind`` column.
KINDS = ("dicom", "nifti", "numpy", "image")

_SAFE = re.compile(r"[^A-Za-z0-9._+-]+")
#: The elements :func:`find_scans` reads of a DICOM file.
_SERIES_KEYWORDS = ("SeriesInstanceUID", "SeriesDescription", "SeriesNumber")


def find_scans(root: str | PathLike[str], *,
               exclude: Iterable[str | PathLike[str]] = ()) -> pd.DataFrame:
    """The scans under a folder, one row per DICOM series or standalone image file.

    DICOM files (``.dcm``, ``.dicom``, ``.ima``, or any file with the ``DICM`` marker) are
    grouped by SeriesInstanceUID, wherever they lie under ``root``; NIfTI (``.nii``,
    ``.nii.gz``), NumPy (``.npy``, ``.npz``) and image files (PNG, TIFF, JPEG, ...) are one scan
    each. Other files (notes, CSV, DICOMDIR and other DICOM files without an image) are
    ignored, as are hidden files and folders. Only headers are read, and of them only what
    grouping needs: a file with another damaged element joins its series, and loading the
    series names it.

    Parameters
    ----------
    root : path-like
        The folder to search (recursively).
    exclude : iterable of path-like, optional
        Folders to leave out (e.g. an output folder inside ``root``).

    Returns
    -------
    DataFrame
        Columns :data:`SCAN_COLUMNS`, sorted by ``path``:

        - ``id``: a short name for the scan, unique in the table, usable as a folder name and
          stable between calls (relative folder of a series, plus its number or description
          when the folder holds several; relative path of a file without its suffix);
        - ``kind``: ``"dicom"``, ``"nifti"``, ``"numpy"`` or ``"image"``;
        - ``path``: the series' folder or the file;
        - ``files``: tuple of the files to load (the slices of a series);
        - ``n_files``; ``series_uid`` and ``description`` (DICOM only, else "");
        - ``problem``: why a DICOM file with a DICOM suffix cannot be read, or its series
          identified ("" when fine);
          such a file is one row of its own, so a batch run reports it instead of silently
          dropping it.

    Raises
    ------
    LoadError
        ``root`` does not exist or is not a folder.

    Examples
    --------
    >>> from medinteract.batch import find_scans
    >>> find_scans("scans/")[["id", "kind", "n_files"]]  # doctest: +SKIP
    """
    root = Path(root).expanduser().absolute()
    if not root.exists():
        raise LoadError(root, "does not exist")
    if not root.is_dir():
        raise LoadError(root, "is not a folder", "pass the folder that holds the scans")
    excluded = [Path(p).expanduser().resolve() for p in exclude]
    rows: list[dict[str, Any]] = []
    series: dict[str, tuple[list[Path], str, Any]] = {}  # UID -> files, description, number
    for path in _files(root, excluded):
        kind = file_kind(path)
        if kind is None:
            continue
        if kind != "dicom":
            rows.append(_row(kind, path, (path,)))
            continue
        try:
            found = _series_of(path)
        except LoadError as err:
            rows.append(_row("dicom", path, (path,), problem=str(err)))
            continue
        if found is not None:
            uid, description, number = found
            series.setdefault(uid, ([], description, number))[0].append(path)
    for uid, (paths, description, number) in series.items():
        files = tuple(sorted(paths))
        rows.append(_row("dicom", _common_path(files), files, uid=uid, description=description,
                         number=number))
    return scan_table(_with_ids(rows, root))


def _series_of(path: Path) -> tuple[str, str, Any] | None:
    """The SeriesInstanceUID, SeriesDescription and SeriesNumber of a DICOM image file (None
    for a DICOM file without an image).

    Only these elements are converted: converting all of them took two thirds of the time,
    and loading the series converts every element of every file anyway, naming a damaged one.

    Raises
    ------
    LoadError
        The file cannot be read, or one of these elements is damaged.
    """
    header = read_dataset(path, header_only=True, force=True, check_elements=False)
    if not has_pixels(header):
        return None
    convert_elements(header, path, _SERIES_KEYWORDS)
    return (str(header.get("SeriesInstanceUID") or ""),
            str(header.get("SeriesDescription") or "").strip(), header.get("SeriesNumber"))


def scan_table(rows: Sequence[dict[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    """A table of scans with the columns :data:`SCAN_COLUMNS` (validated, ids unique).

    Accepts the rows of :func:`find_scans` (or a filtered copy of its table).

    Raises
    ------
    ValueError
        A required column is missing or an id repeats.
    """
    table = pd.DataFrame(list(rows) if not isinstance(rows, pd.DataFrame) else rows)
    if table.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in SCAN_COLUMNS}).astype(
            {"n_files": "int64"})
    missing = [c for c in ("id", "files") if c not in table.columns]
    if missing:
        raise ValueError(f"the scan table lacks the column(s) {missing}; make it with "
                         "medinteract.batch.find_scans()")
    table = table.assign(files=_column([tuple(Path(f) for f in files) for files in table["files"]],
                                       table.index))
    defaults = {"kind": "", "path": None, "series_uid": "", "description": "", "problem": ""}
    for column, default in defaults.items():
        if column not in table.columns:
            table[column] = default
    table = table.assign(
        path=_column([Path(p) if p is not None else _common_path(files)
                      for p, files in zip(table["path"], table["files"])], table.index),
        n_files=[len(f) for f in table["files"]])
    table["problem"] = table["problem"].fillna("").astype(str)
    repeated = sorted(set(table.loc[table["id"].duplicated(), "id"]))
    if repeated:
        raise ValueError(f"scan ids must be unique; repeated: {repeated}")
    bad = [i for i in table["id"] if safe_id(str(i)) != i]
    if bad:
        raise ValueError(f"scan ids are used as folder names and may only hold letters, digits "
                         f"and . _ + -; not {bad[:5]}")
    return table[list(SCAN_COLUMNS)].reset_index(drop=True)


def safe_id(text: str) -> str:
    """``text`` with every run of characters unsafe in a folder name replaced by ``_``.

    >>> safe_id("patient 1/CT chest")
    'patient_1_CT_chest'
    """
    cleaned = _SAFE.sub("_", text).strip("._")
    return cleaned or "scan"


def files_of(path: str | PathLike[str]) -> tuple[str, tuple[Path, ...]]:
    """The kind and the files of one input given by path: a file, or a folder of DICOM files.

    >>> kind, files = files_of("scan.nii.gz")
    >>> kind, [f.name for f in files]
    ('nifti', ['scan.nii.gz'])
    """
    path = Path(path).expanduser()
    if not path.is_dir():
        return file_kind(path) or "", (path,)
    files = [p for p in _files(path, []) if file_kind(p) == "dicom"]
    return "dicom", tuple(files) if files else (path,)


# -- helpers ------------------------------------------------------------------------------------
def _column(values: Sequence[Any], index: pd.Index) -> pd.Series:
    """An object column holding ``values`` as they are (tuples stay tuples)."""
    return pd.Series(list(values), index=index, dtype=object)


def _common_path(files: Sequence[Path]) -> Path:
    """The file itself, or the deepest folder holding all the files."""
    if len(files) == 1:
        return Path(files[0])
    return Path(os.path.commonpath([str(Path(f).parent) for f in files]))


def _files(root: Path, excluded: list[Path]) -> list[Path]:
    found = []
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                         and (here / d).resolve() not in excluded)
        found += [here / f for f in sorted(files) if not f.startswith(".")]
    return sorted(found)


def _row(kind: str, path: Path, files: tuple[Path, ...], *, uid: str = "",
         description: str = "", number: Any = None, problem: str = "") -> dict[str, Any]:
    return {"kind": kind, "path": path, "files": files, "n_files": len(files),
            "series_uid": uid, "description": description, "problem": problem,
            "_number": number}


def _base_id(row: dict[str, Any], root: Path, shared_folder: bool) -> str:
    relative = Path(os.path.relpath(row["path"], root))
    if row["kind"] != "dicom" or row["problem"] or row["path"] == row["files"][0]:
        name = relative.name
        for suffix in (*NIFTI_SUFFIXES, *NUMPY_SUFFIXES, *IMAGE_SUFFIXES, *DICOM_SUFFIXES):
            if suffix and name.lower().endswith(suffix):
                name = name[: -len(suffix)]
                break
        parts = [*relative.parent.parts, name]
    else:
        parts = [] if str(relative) == "." else list(relative.parts)
        if shared_folder or not parts:
            number, text = row["_number"], row["description"]
            parts.append(f"s{number}" if number not in (None, "") else (text or "series"))
    return safe_id("-".join(p for p in parts if p and p != "."))


def _with_ids(rows: list[dict[str, Any]], root: Path) -> list[dict[str, Any]]:
    rows = sorted(rows, key=lambda r: (str(r["path"]), r["series_uid"]))
    series_per_folder: dict[Path, int] = {}
    for row in rows:
        if row["kind"] == "dicom" and not row["problem"]:
            series_per_folder[row["path"]] = series_per_folder.get(row["path"], 0) + 1
    ids = [_base_id(r, root, series_per_folder.get(r["path"], 0) > 1) for r in rows]
    counts = pd.Series(ids).value_counts()
    for row, base in zip(rows, ids):
        if counts[base] > 1:  # disambiguate deterministically by UID or file path
            key = row["series_uid"] or str(os.path.relpath(row["files"][0], root))
            base = f"{base}-{hashlib.sha1(key.encode()).hexdigest()[:6]}"
        row["id"] = base
        row.pop("_number", None)
    return rows
