"""Writing batch outputs safely: atomic files, all-or-nothing scan folders, manifests.

Every file is written to a temporary name in its final folder and renamed into place with
:func:`os.replace`, so a reader (or a crash) never sees half a file. A scan's outputs are first
written to a hidden staging folder next to their final place and published by renaming the
whole folder, so a scan either has all its outputs, ending with ``manifest.json``, or none.
Both mechanisms are medinteract's one atomic-write utility (:mod:`medinteract._atomic`); this
module adds what is particular to batch runs: leftovers of crashed runs, the run lock, result
images and manifests.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
import shutil
import socket
from os import PathLike
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import pandas as pd

from medinteract._atomic import STAGING_PREFIX, atomic_path, staged_folder, write_atomic
from medinteract.scan import Scan

__all__ = [
    "MANIFEST_NAME",
    "STAGING_PREFIX",
    "IMAGE_FORMATS",
    "atomic_path",
    "write_atomic",
    "write_text_if_changed",
    "read_table",
    "staged_folder",
    "remove_leftovers",
    "run_lock",
    "LOCK_NAME",
    "write_image",
    "image_name",
    "file_fingerprint",
    "write_manifest",
    "read_manifest",
]

#: Name of the completion marker written last into every finished scan folder.
MANIFEST_NAME = "manifest.json"
#: Lock file that keeps two runs from writing into one output folder at the same time.
LOCK_NAME = ".medinteract-batch.lock"
#: Result image formats: NIfTI (geometry in the affine) or NumPy ``.npz`` (with spacing/origin).
IMAGE_FORMATS = {"nifti": "result.nii.gz", "npz": "result.npz"}

PathLike_ = str | PathLike[str]


# -- single files -----------------------------------------------------------------------------
def write_text_if_changed(path: PathLike_, text: str) -> bool:
    """Write ``text`` atomically unless ``path`` already holds exactly it.

    Returns True when the file was written; an unchanged file keeps its modification time.
    """
    path = Path(path)
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except (FileNotFoundError, UnicodeDecodeError, IsADirectoryError):
        pass
    write_atomic(path, text)
    return True


# -- scan folders -------------------------------------------------------------------------------
def remove_leftovers(folder: PathLike_) -> list[Path]:
    """Delete temporary files and staging folders a crashed run left in ``folder``.

    Only names starting with :data:`STAGING_PREFIX` are touched. Returns what was removed.
    """
    removed: list[Path] = []
    folder = Path(folder)
    if not folder.is_dir():
        return removed
    for entry in folder.iterdir():
        if entry.name.startswith(STAGING_PREFIX):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed


@contextlib.contextmanager
def run_lock(folder: PathLike_) -> Iterator[Path]:
    """Hold :data:`LOCK_NAME` in ``folder`` while a batch run writes there.

    A lock left by a process that no longer runs on this machine is taken over.

    Raises
    ------
    RuntimeError
        Another running batch (named by host and process id) holds the lock.
    """
    lock = Path(folder) / LOCK_NAME
    me = f"{socket.gethostname()} {os.getpid()}"
    for _ in range(2):
        try:
            with open(lock, "x", encoding="utf-8") as f:
                f.write(me + "\n")
            break
        except FileExistsError:
            owner = lock.read_text(encoding="utf-8").strip() if lock.exists() else ""
            if owner and not _stale(owner):
                raise RuntimeError(
                    f"{folder}: another batch run ({owner}) is writing here; wait for it, or "
                    f"delete {lock.name} if that run is gone") from None
            lock.unlink(missing_ok=True)
    else:  # pragma: no cover - lost a race twice
        raise RuntimeError(f"{folder}: could not take the lock {lock.name}")
    try:
        yield lock
    finally:
        lock.unlink(missing_ok=True)


def _stale(owner: str) -> bool:
    host, _, pid = owner.rpartition(" ")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


# -- images -----------------------------------------------------------------------------------
def image_name(image_format: str) -> str:
    """File name of the result image for a format (``"nifti"`` or ``"npz"``)."""
    try:
        return IMAGE_FORMATS[image_format]
    except KeyError:
        raise ValueError(f"image_format must be one of {sorted(IMAGE_FORMATS)}, "
                         f"got {image_format!r}") from None


#: Integer dtypes a result is stored in, smallest first (all NIfTI-1 types every reader knows).
_STORED_INTEGERS = (np.uint8, np.int16, np.uint16, np.int32)


def storable(array: np.ndarray) -> np.ndarray:
    """The array in a dtype every reader handles, as small as its values allow.

    bool -> uint8; other integers -> the first of uint8, int16, uint16, int32 that holds every
    value (a label image with fewer than 256 regions is stored in one byte per voxel, which
    also makes gzip four times quicker than int32); floats -> float32.

    >>> storable(np.array([0, 3, 255])).dtype, storable(np.array([-1, 300])).dtype
    (dtype('uint8'), dtype('int16'))
    """
    array = np.asarray(array)
    if array.dtype == np.bool_:
        return array.astype(np.uint8)
    if np.issubdtype(array.dtype, np.integer):
        if array.size == 0:
            return array.astype(np.uint8)
        low, high = array.min(), array.max()
        for dtype in _STORED_INTEGERS:
            info = np.iinfo(dtype)
            if info.min <= low and high <= info.max:
                return array.astype(dtype, copy=False)
        return array
    if np.issubdtype(array.dtype, np.floating):
        return array.astype(np.float32, copy=False)
    raise TypeError(f"cannot store an image of dtype {array.dtype}")


def write_image(array: np.ndarray, geometry: Scan, path: PathLike_) -> Path:
    """Write a result array aligned with ``geometry`` (spacing, origin, direction), atomically.

    ``.nii.gz``/``.nii``: a NIfTI-1 image written by :func:`medinteract.io.write.write_nifti`,
    whose affine places every voxel where the scan's voxel is (``medinteract.load`` gives the
    same geometry back). ``.npz``: the arrays ``image``, ``spacing``, ``origin`` (which
    :func:`medinteract.load` reads) and ``direction``. Values are stored as by
    :func:`storable`.
    """
    path = Path(path)
    data = storable(array)
    if path.name.endswith((".nii", ".nii.gz")):
        from medinteract.io.write import write_nifti

        if data.ndim != geometry.spatial_ndim:
            raise ValueError(f"NIfTI output needs a grey-scale image; got shape "
                             f"{data.shape} for {geometry.spatial_ndim} spatial axes "
                             "(save colour results with image_format='npz')")
        return write_nifti(data, path, like=geometry)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, image=data, spacing=np.asarray(geometry.spacing),
                            origin=np.asarray(geometry.origin),
                            direction=np.asarray(geometry.direction))
    return path


# -- manifests --------------------------------------------------------------------------------
def file_fingerprint(paths: Sequence[PathLike_]) -> list[dict[str, Any]]:
    """Size and modification time of each input file (to notice changed inputs)."""
    rows = []
    for p in paths:
        stat = Path(p).stat()
        rows.append({"path": str(p), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns})
    return rows


def write_manifest(folder: PathLike_, content: dict[str, Any]) -> Path:
    """Write ``manifest.json`` (with a UTC time stamp) atomically into ``folder``."""
    content = {**content, "finished": _dt.datetime.now(_dt.UTC).isoformat(
        timespec="seconds")}
    return write_atomic(Path(folder) / MANIFEST_NAME, json.dumps(content, indent=2) + "\n")


def read_manifest(folder: PathLike_) -> dict[str, Any] | None:
    """The manifest of a finished scan folder, or None when absent or unreadable."""
    try:
        content = json.loads((Path(folder) / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return content if isinstance(content, dict) else None


def sha256_text(text: str) -> str:
    """Hex SHA-256 of a text (UTF-8)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_table(path: PathLike_) -> pd.DataFrame:
    """Read a CSV table a batch run wrote (a scan's regions, the merged regions, the report),
    every number exactly as written.

    pandas before 3.0 parses floats with a fast routine that can differ from the written value
    in the last digit unless asked for ``float_precision="round_trip"``; pandas 3 parses exactly
    by default and deprecates the option.

    Parameters
    ----------
    path : path-like
        The CSV file.

    Returns
    -------
    pandas.DataFrame
    """
    if int(pd.__version__.split(".", 1)[0]) >= 3:
        return pd.read_csv(path)
    return pd.read_csv(path, float_precision="round_trip")
