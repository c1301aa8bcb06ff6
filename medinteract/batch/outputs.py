"""Writing batch outputs safely: atomic files, all-or-nothing scan folders, manifests.

Every file is written to a temporary name in its final folder and renamed into place with
:func:`os.replace`, so a reader (or a crash) never sees half a file. A scan's outputs are first
written to a hidden staging folder next to their final place and published by renaming the
whole folder, so a scan either has all its outputs, ending with ``manifest.json``, or none.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
import secrets
import shutil
import socket
from os import PathLike
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from medinteract.scan import Scan

__all__ = [
    "MANIFEST_NAME",
    "STAGING_PREFIX",
    "IMAGE_FORMATS",
    "atomic_path",
    "write_text",
    "write_text_if_changed",
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
#: Prefix of temporary files and staging folders (hidden, removed on failure).
STAGING_PREFIX = ".tmp-"
#: Lock file that keeps two runs from writing into one output folder at the same time.
LOCK_NAME = ".medinteract-batch.lock"
#: Result image formats: NIfTI (geometry in the affine) or NumPy ``.npz`` (with spacing/origin).
IMAGE_FORMATS = {"nifti": "result.nii.gz", "npz": "result.npz"}

PathLike_ = str | PathLike[str]


# -- single files -----------------------------------------------------------------------------
@contextlib.contextmanager
def atomic_path(path: PathLike_) -> Iterator[Path]:
    """A temporary path in ``path``'s folder that becomes ``path`` when the block succeeds.

    The temporary name keeps the file's suffixes (``.nii.gz``, ``.npz``) so writers that look
    at the extension behave; it is removed when the block raises.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_path(folder / "a.txt") as tmp:
    ...     _ = tmp.write_text("hello")
    >>> (folder / "a.txt").read_text(), sorted(p.name for p in folder.iterdir())
    ('hello', ['a.txt'])
    """
    path = Path(path)
    tmp = path.with_name(f"{STAGING_PREFIX}{secrets.token_hex(4)}-{path.name}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_text(path: PathLike_, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns the path."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


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
    write_text(path, text)
    return True


# -- scan folders -------------------------------------------------------------------------------
@contextlib.contextmanager
def staged_folder(target: PathLike_) -> Iterator[Path]:
    """A hidden staging folder that replaces ``target`` as a whole when the block succeeds.

    On success the staging folder is renamed to ``target`` (an existing ``target`` is moved
    aside first and then deleted); when the block raises, the staging folder is deleted and
    ``target`` is left as it was.
    """
    target = Path(target)
    staging = target.with_name(f"{STAGING_PREFIX}{secrets.token_hex(4)}-{target.name}")
    staging.mkdir(parents=True)
    try:
        yield staging
        _publish(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _publish(staging: Path, target: Path) -> None:
    if not target.exists():
        os.replace(staging, target)
        return
    retired = target.with_name(f"{STAGING_PREFIX}{secrets.token_hex(4)}-old-{target.name}")
    os.replace(target, retired)
    try:
        os.replace(staging, target)
    except BaseException:
        os.replace(retired, target)
        raise
    shutil.rmtree(retired, ignore_errors=True)


def remove_leftovers(folder: PathLike_) -> list[Path]:
    """Delete temporary files and staging folders a crashed run left in ``folder``.

    Only names starting with :data:`STAGING_PREFIX` are touched. Returns what was removed.
    """
    removed = []
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


def storable(array: np.ndarray) -> np.ndarray:
    """The array in a dtype every reader handles: bool -> uint8, other ints -> int32 when they
    fit, floats -> float32."""
    array = np.asarray(array)
    if array.dtype == np.bool_:
        return array.astype(np.uint8)
    if np.issubdtype(array.dtype, np.integer):
        if array.size == 0 or (array.min() >= np.iinfo(np.int32).min
                               and array.max() <= np.iinfo(np.int32).max):
            return array.astype(np.int32, copy=False)
        return array
    if np.issubdtype(array.dtype, np.floating):
        return array.astype(np.float32, copy=False)
    raise TypeError(f"cannot store an image of dtype {array.dtype}")


def nifti_affine(geometry: Scan) -> np.ndarray:
    """The NIfTI (RAS) voxel-to-world affine of a scan's grid, for the transposed array.

    The inverse of :func:`medinteract.io.formats.load_nifti`: NIfTI index ``(i, j, k)`` is the
    array index reversed, the world is RAS, so the LPS columns ``spacing * direction`` are
    reversed and their first two coordinates change sign.
    """
    n = geometry.spatial_ndim
    columns = (np.asarray(geometry.direction, dtype=float)
               * np.asarray(geometry.spacing, dtype=float)[:, None])[::-1]
    lps = np.eye(4)
    lps[:3, :n] = columns.T
    if n == 2:  # a slice: the third voxel axis is the unit normal
        normal = np.cross(columns[0], columns[1])
        lps[:3, 2] = normal / np.linalg.norm(normal)
    lps[:3, 3] = geometry.origin
    return np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps


def write_image(array: np.ndarray, geometry: Scan, path: PathLike_) -> Path:
    """Write a result array aligned with ``geometry`` (spacing, origin, direction), atomically.

    ``.nii.gz``/``.nii``: a NIfTI-1 image whose affine places every voxel where the scan's voxel
    is (``medinteract.load`` gives the same geometry back). ``.npz``: the arrays ``image``,
    ``spacing``, ``origin`` (which :func:`medinteract.load` reads) and ``direction``.
    """
    path = Path(path)
    data = storable(array)
    with atomic_path(path) as tmp:
        if path.name.endswith((".nii", ".nii.gz")):
            import nibabel as nib

            if data.ndim != geometry.spatial_ndim:
                raise ValueError(f"NIfTI output needs a grey-scale image; got shape "
                                 f"{data.shape} for {geometry.spatial_ndim} spatial axes "
                                 "(save colour results with image_format='npz')")
            image = nib.Nifti1Image(np.ascontiguousarray(data.T), nifti_affine(geometry))
            image.set_qform(image.affine, code=1)
            image.set_sform(image.affine, code=1)
            image.header.set_xyzt_units("mm")
            nib.save(image, str(tmp))
        else:
            with open(tmp, "wb") as f:
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
    content = {**content, "finished": _dt.datetime.now(_dt.timezone.utc).isoformat(
        timespec="seconds")}
    return write_text(Path(folder) / MANIFEST_NAME, json.dumps(content, indent=2) + "\n")


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
