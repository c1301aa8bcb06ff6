"""Atomic outputs: a reader (or a crash) never sees a half-written file or folder.

Every writer in medinteract goes through these helpers: the output is first written under a
hidden temporary name in the destination folder, then renamed into place with
:func:`os.replace` (atomic on one file system). On failure the temporary file or folder is
removed and an existing destination is left as it was.

Temporary names start with :data:`STAGING_PREFIX` (hidden) and keep the destination's name as
their end, so writers that look at the suffix (``.nii.gz``, ``.npz``) behave.

Examples
--------
>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = write_atomic(folder / "a.txt", "hello")
>>> with atomic_path(folder / "b.bin") as tmp:
...     _ = tmp.write_bytes(b"\\x00")
>>> sorted(p.name for p in folder.iterdir())
['a.txt', 'b.bin']
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from os import PathLike
from pathlib import Path
from typing import Iterator

__all__ = ["STAGING_PREFIX", "temporary_sibling", "atomic_path", "write_atomic", "staged_folder"]

#: Prefix of temporary files and staging folders (hidden; removed on failure).
STAGING_PREFIX = ".tmp-"


def temporary_sibling(path: str | PathLike[str], tag: str = "") -> Path:
    """A fresh hidden name next to ``path`` that ends with ``path``'s own name.

    Parameters
    ----------
    path : path-like
        The destination.
    tag : str, optional
        Inserted before the destination's name (e.g. ``"old-"``).

    Returns
    -------
    Path
        ``<folder>/.tmp-<random hex>-<tag><name>``; nothing is created.
    """
    path = Path(path)
    return path.with_name(f"{STAGING_PREFIX}{secrets.token_hex(4)}-{tag}{path.name}")


@contextlib.contextmanager
def atomic_path(path: str | PathLike[str]) -> Iterator[Path]:
    """A temporary path in ``path``'s folder that becomes ``path`` when the block succeeds.

    Parameters
    ----------
    path : path-like
        The destination file; its folder must exist.

    Yields
    ------
    Path
        Where to write; it is renamed to ``path`` when the block ends without an exception and
        removed when it raises.
    """
    path = Path(path)
    temporary = temporary_sibling(path)
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def write_atomic(path: str | PathLike[str], data: str | bytes) -> Path:
    """Write text (UTF-8) or bytes to ``path`` atomically.

    Parameters
    ----------
    path : path-like
        The destination file; its folder must exist.
    data : str or bytes
        The whole content.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    with atomic_path(path) as temporary:
        temporary.write_bytes(payload)
    return path


@contextlib.contextmanager
def staged_folder(target: str | PathLike[str], *, replace: bool = True) -> Iterator[Path]:
    """A hidden staging folder that becomes ``target`` as a whole when the block succeeds.

    Parameters
    ----------
    target : path-like
        The destination folder (its parent is created when missing).
    replace : bool, optional
        Replace an existing non-empty ``target``; when False, :class:`FileExistsError` is raised
        at the end if such a folder exists then. An empty ``target`` folder is always replaced.

    Yields
    ------
    Path
        The staging folder to fill. When the block raises, it is deleted and ``target`` is left
        as it was; an existing ``target`` is only deleted after the new one is in place.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = temporary_sibling(target)
    staging.mkdir()
    try:
        yield staging
        _publish(staging, target, replace)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _publish(staging: Path, target: Path, replace: bool) -> None:
    if target.is_dir() and not any(target.iterdir()):
        target.rmdir()
    if not target.exists():
        os.replace(staging, target)
        return
    if not replace:
        raise FileExistsError(f"{target}: folder is not empty")
    retired = temporary_sibling(target, "old-")
    os.replace(target, retired)
    try:
        os.replace(staging, target)
    except BaseException:
        os.replace(retired, target)
        raise
    shutil.rmtree(retired, ignore_errors=True)
