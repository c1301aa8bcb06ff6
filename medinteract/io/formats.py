"""Non-DICOM formats: NIfTI, ordinary images (PNG, TIFF, JPEG, ...) and NumPy files."""

from __future__ import annotations

import contextlib
import logging
from os import PathLike
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd

from medinteract.errors import LoadError
from medinteract.scan import METADATA_COLUMNS, Scan

__all__ = [
    "load_nifti",
    "load_image",
    "load_numpy",
    "NIFTI_SUFFIXES",
    "IMAGE_SUFFIXES",
    "NUMPY_SUFFIXES",
    "ras_to_lps",
]

NIFTI_SUFFIXES = (".nii", ".nii.gz")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif")
NUMPY_SUFFIXES = (".npy", ".npz")
#: Keys of an .npz file tried, in order, for the image.
NPZ_IMAGE_KEYS = ("image", "array")
_NPZ_EXTRA_KEYS = ("spacing", "origin")

#: RAS (NIfTI world) to LPS (DICOM patient) coordinates: flip the first two axes.
_RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0])


def ras_to_lps(affine: np.ndarray) -> np.ndarray:
    """Convert a 4x4 voxel-to-RAS affine into a 3x4 voxel-to-LPS matrix."""
    return _RAS_TO_LPS @ np.asarray(affine, dtype=float)[:3, :]


def _name(path: Path) -> str:
    name = path.name
    for suffix in (".nii.gz", *NIFTI_SUFFIXES, *IMAGE_SUFFIXES, *NUMPY_SUFFIXES):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def _table(rows: list[tuple[str, object]]) -> pd.DataFrame:
    return pd.DataFrame([("", key, "", value) for key, value in rows],
                        columns=list(METADATA_COLUMNS)).astype(object)


def _plain(value: Any) -> object:
    value = np.asarray(value)
    if value.dtype.kind in "SU":
        text = value.item() if value.ndim == 0 else value.tolist()
        return text.decode(errors="replace").strip("\x00 ") if isinstance(text, bytes) else text
    if value.ndim == 0:
        return value.item()
    return tuple(value.tolist())


# -- NIfTI ------------------------------------------------------------------------------------
def load_nifti(path: str | PathLike[str]) -> Scan:
    """Load a NIfTI-1/2 file (``.nii`` or ``.nii.gz``) with nibabel.

    The voxel-to-world affine (RAS, the NIfTI convention) is converted to LPS (DICOM): the first
    two world axes change sign. Nibabel's array index ``(i, j, k)`` becomes the array axes
    ``(z, y, x) = (k, j, i)``; spacing is the length of each affine column, direction the unit
    columns, origin the translation. Scaling (``scl_slope``/``scl_inter``) is applied. A third
    axis of length 1 gives a 2-D scan; trailing axes of length 1 are dropped; 4-D data (time
    series) is refused. The header fields become :attr:`Scan.metadata` (``tag`` and ``VR``
    empty).
    """
    path = Path(path)
    try:
        import nibabel as nib
    except ImportError as err:  # pragma: no cover - nibabel is a dependency
        raise LoadError(path, "needs nibabel to read NIfTI", 'pip install "medinteract[nifti]"'
                        ) from err
    try:
        image: Any = nib.load(str(path))  # a NIfTI-1/2 image (nibabel's types are too broad)
        if image.get_data_dtype().kind == "c":
            raise LoadError(path, f"holds complex values ({image.get_data_dtype()}); only real "
                                  "images can be loaded",
                            "save the magnitude (or real part) as its own NIfTI file")
        data = np.asarray(image.get_fdata(dtype=np.float32))
        affine = np.asarray(image.affine, dtype=float)
        header = image.header
    except LoadError:
        raise
    except Exception as err:
        raise LoadError(path, f"could not be read as NIfTI ({type(err).__name__}: {err})"
                        ) from err
    while data.ndim > 3 and data.shape[-1] == 1:
        data = data[..., 0]
    if data.ndim > 3:
        raise LoadError(path, f"has {data.ndim} dimensions (shape {data.shape}); medinteract "
                              "loads 2-D images and 3-D volumes",
                        "select one volume first, e.g. nibabel.load(path).slicer[..., 0]")
    if data.ndim == 3 and data.shape[2] == 1:
        data = data[:, :, 0]
    lps = ras_to_lps(affine)
    columns = lps[:, : data.ndim]
    lengths = np.linalg.norm(columns, axis=0)
    if np.any(lengths == 0):
        raise LoadError(path, "has a degenerate affine (a voxel axis of length 0)")
    units = columns / lengths
    metadata = _table([(key, _plain(header[key])) for key in header.keys()])
    return Scan(
        data.T,
        spacing=tuple(lengths[::-1]),
        origin=tuple(lps[:, 3]),
        direction=units.T[::-1],
        metadata=metadata,
        paths=(path,),
        name=_name(path),
    )


# -- ordinary images --------------------------------------------------------------------------
def load_image(path: str | PathLike[str]) -> Scan:
    """Load a PNG, JPEG, BMP, GIF or TIFF image.

    Greyscale gives ``(y, x)``; colour gives ``(y, x, channel)`` (RGB or RGBA; palette images
    are expanded, greyscale+alpha drops the alpha). JPEG EXIF orientation is applied. A
    multi-page TIFF stack gives a volume ``(z, y, x)``. These formats carry no physical size, so
    spacing is 1.0 (one pixel) per axis and the modality is ``"OT"``.
    """
    path = Path(path)
    if path.suffix.lower() in (".tif", ".tiff"):
        array, spatial = _read_tiff(path)
    else:
        array, spatial = _read_pillow(path), 2
    if array.dtype.kind not in "biuf":
        raise LoadError(path, f"holds pixels of type {array.dtype}, which is not an image")
    return Scan(array, spacing=(1.0,) * spatial, paths=(path,), name=_name(path),
                metadata=_table([("Format", path.suffix.lower().lstrip(".")),
                                 ("Shape", tuple(array.shape))]))


def _read_pillow(path: Path) -> np.ndarray:
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as opened:
            image: Image.Image = ImageOps.exif_transpose(opened)
            if image.mode in ("P", "PA"):
                image = image.convert("RGBA" if "transparency" in image.info
                                      or image.mode == "PA" else "RGB")
            elif image.mode == "LA":
                image = image.convert("L")
            elif image.mode in ("CMYK", "YCbCr", "LAB", "HSV"):
                image = image.convert("RGB")
            return np.asarray(image)
    except UnidentifiedImageError as err:
        raise LoadError(path, "is not an image file that Pillow can read", "check the file"
                        ) from err
    except Exception as err:
        raise LoadError(path, f"could not be read: it is damaged or truncated "
                              f"({type(err).__name__}: {err})") from err


class _Collect(logging.Handler):
    """Keeps log messages (tifffile logs what is wrong with a damaged file) for the error."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def _captured_log(name: str) -> Iterator[list[str]]:
    """Collect the warnings a library logs instead of letting them reach stderr."""
    logger, handler = logging.getLogger(name), _Collect()
    propagate, logger.propagate = logger.propagate, False
    logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def _read_tiff(path: Path) -> tuple[np.ndarray, int]:
    import tifffile

    with _captured_log("tifffile") as logged:
        try:
            with tifffile.TiffFile(path) as tif:
                series = tif.series[0]
                axes = series.axes
                array = series.asarray()
        except Exception as err:
            detail = "; ".join([*logged[:1], f"{type(err).__name__}: {err}"])
            raise LoadError(path, f"is damaged or not a TIFF file; it could not be read "
                                  f"({detail})") from err
    colour = "S" in axes and array.shape[axes.index("S")] > 1
    if colour and axes.index("S") != array.ndim - 1:
        array = np.moveaxis(array, axes.index("S"), -1)
    array = np.squeeze(array) if array.ndim > (3 if colour else 2) else array
    spatial = array.ndim - (1 if colour else 0)
    if spatial not in (2, 3):
        raise LoadError(path, f"has a TIFF layout {axes} of shape {series.shape} that is not "
                              "a 2-D image or a 3-D stack")
    return array, spatial


# -- NumPy ------------------------------------------------------------------------------------
def load_numpy(path: str | PathLike[str]) -> Scan:
    """Load a ``.npy`` array or an ``.npz`` archive.

    ``.npz``: the array under ``"image"`` or ``"array"``, or else the only array in the file;
    an optional ``"spacing"`` array (mm per spatial axis, array order) and ``"origin"``
    (3 values, LPS mm) are honoured. Without spacing, a 2-D array is an image ``(y, x)`` and a
    3-D array a volume ``(z, y, x)``; with a spacing of length 2 a 3-D array is a colour image
    ``(y, x, channel)``. Pickled objects are never loaded.
    """
    path = Path(path)
    extras: dict[str, np.ndarray] = {}
    try:
        if path.suffix.lower() == ".npz":
            with np.load(path, allow_pickle=False) as archive:
                array = _npz_image(path, archive)
                extras = {k: np.asarray(archive[k]) for k in _NPZ_EXTRA_KEYS if k in archive}
        else:
            array = np.load(path, allow_pickle=False)
    except LoadError:
        raise
    except ValueError as err:
        raise _numpy_value_error(path, err) from err
    except Exception as err:
        raise LoadError(path, f"could not be read as a NumPy file ({type(err).__name__}: "
                              f"{err})") from err
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "biuf":
        raise LoadError(path, f"holds an array of type {getattr(array, 'dtype', type(array))}; "
                              "only boolean, integer and real arrays are images")
    spacing = tuple(float(v) for v in np.ravel(extras.get("spacing", ())))
    if not spacing and array.ndim not in (2, 3):
        raise LoadError(path, f"holds an array of shape {array.shape}; without a 'spacing' "
                              "entry only 2-D and 3-D arrays can be read",
                        "save it with np.savez(path, image=array, spacing=...)")
    origin = tuple(float(v) for v in np.ravel(extras.get("origin", (0.0, 0.0, 0.0))))
    if len(origin) != 3:
        raise LoadError(path, f"has an 'origin' of {len(origin)} values; it needs 3 (x, y, z "
                              "in mm)")
    try:
        return Scan(array, spacing=spacing, origin=(origin[0], origin[1], origin[2]),
                    paths=(path,), name=_name(path))
    except ValueError as err:
        raise LoadError(path, f"does not describe a valid image: {err}") from err


#: The first bytes of a ``.npy`` file, of a ``.npz`` (zip) archive and of a Python pickle.
_NUMPY_MARKERS = (b"\x93NUMPY", b"PK\x03\x04", b"PK\x05\x06")
_PICKLE_MARKER = b"\x80"


def _numpy_value_error(path: Path, err: ValueError) -> LoadError:
    """The LoadError for a ValueError of :func:`numpy.load` (which calls every file it cannot
    recognise "pickled (object) data")."""
    if "object arrays" in str(err).lower():
        return LoadError(path, "holds an array of Python objects, which only pickle can load",
                         "medinteract never loads pickled objects; save plain arrays")
    with open(path, "rb") as f:
        start = f.read(6)
    if start.startswith(_PICKLE_MARKER):
        return LoadError(path, "is a Python pickle, not a NumPy array file",
                         "medinteract never loads pickled objects; save plain arrays with "
                         "np.save or np.savez")
    if not start.startswith(_NUMPY_MARKERS):
        return LoadError(path, "is not a NumPy file: it does not start with the .npy or .npz "
                               "marker", "the file is damaged or in another format")
    return LoadError(path, f"is damaged or truncated; it could not be read as a NumPy file "
                           f"({err})")


def _npz_image(path: Path, archive: Any) -> np.ndarray:
    keys = list(archive.keys())
    for key in NPZ_IMAGE_KEYS:
        if key in keys:
            return archive[key]
    candidates = [k for k in keys if k not in _NPZ_EXTRA_KEYS]
    if len(candidates) == 1:
        return archive[candidates[0]]
    raise LoadError(path, f"holds {len(candidates)} arrays ({', '.join(candidates) or 'none'}) "
                          "and none is called 'image' or 'array'",
                    "save the image with np.savez(path, image=array)")
