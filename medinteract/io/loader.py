"""The one entry point :func:`load`: any supported file, folder or list of files -> Scan."""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import Sequence

from medinteract.errors import LoadError
from medinteract.io.dicom import (
    DICOM_SUFFIXES,
    EMPTY_FILE,
    EMPTY_FILE_HINT,
    load_dicom_file,
    looks_like_dicom,
)
from medinteract.io.formats import (
    IMAGE_SUFFIXES,
    NIFTI_SUFFIXES,
    NUMPY_SUFFIXES,
    load_image,
    load_nifti,
    load_numpy,
)
from medinteract.io.series import (
    SeriesChoice,
    common_folder,
    find_series,
    load_series,
    series_from_files,
)
from medinteract.scan import Scan

__all__ = ["load", "file_kind", "DICOM_SUFFIXES", "SUPPORTED"]

SUPPORTED = "DICOM (.dcm or no extension), NIfTI (.nii, .nii.gz), PNG, JPEG, TIFF, BMP, GIF, " \
            ".npy and .npz"

PathInput = str | PathLike[str]


def load(path_or_paths: PathInput | Sequence[PathInput], *,
         series: SeriesChoice | None = None) -> Scan:
    """Load a scan: a DICOM file, series folder or list of files, NIfTI, an image or a NumPy file.

    Parameters
    ----------
    path_or_paths : path-like or sequence of path-like
        - a DICOM file (single-frame, classic multi-frame or enhanced multi-frame);
        - a folder holding a DICOM series, searched recursively; files that are not DICOM
          (README, DICOMDIR, reports) are skipped;
        - a list of DICOM files forming a series (each must be readable: unlike in a folder,
          a damaged file named in the list is a LoadError, not left out);
        - a NIfTI file (``.nii``, ``.nii.gz``);
        - a PNG, JPEG, TIFF, BMP or GIF image;
        - a ``.npy`` or ``.npz`` file.
    series : str or int, optional
        Which DICOM series to load when a folder (or list) holds several: its
        SeriesInstanceUID, SeriesNumber or SeriesDescription (case-insensitive).

    Returns
    -------
    Scan
        ``array`` is float32 (float64 where float32 would change values) in physical units;
        see below.

    Raises
    ------
    LoadError
        The path does not exist, is empty, is not a supported format, is damaged or truncated,
        or is DICOM without an image (SR, RT plan). The message names the file.
    DecoderError
        The DICOM pixel data is compressed and no installed decoder handles it; the message
        names the transfer syntax and the package to install (``pip install
        "medinteract[decoders]"``).
    SeriesError
        Several series and no (or an ambiguous / unknown) ``series=``; or one series mixes
        image sizes, orientations or pixel spacings (the odd files are named).

    Warns
    -----
    SeriesWarning
        Missing slices, duplicate slice positions, uneven spacing, slices without positions,
        or a sheared stack (gantry tilt).
    UnreadableFileWarning
        A file in a series folder named like DICOM could not be read (see the table below).
    GeometryWarning
        Missing or invalid geometry replaced by a fallback (see the table below).
    PixelValueWarning
        A RescaleSlope of 0 (see the table below).

    Notes
    -----
    **Values.** Greyscale DICOM pixels go through the Modality LUT: ``stored * RescaleSlope +
    RescaleIntercept`` (per frame in enhanced files), so CT is in Hounsfield units; RT Dose is
    multiplied by DoseGridScaling (Gy). MONOCHROME1 images of modalities in detector units
    (CR, DX, MG, ...) are mirrored within the range the stored bits can represent
    (``v' = low + high - v``), so that higher values are brighter; CT, PT and RT Dose values
    (and any RescaleType other than ``US``) are absolute quantities and are never changed.
    YBR colour becomes RGB and PALETTE COLOR is expanded to RGB (``(y, x, 3)``) on 0-255.

    **Geometry.** ``spacing`` is in mm in array order; DICOM PixelSpacing is (row spacing,
    column spacing) = (y, x) (ImagerPixelSpacing, then NominalScannedPixelSpacing, is used
    when PixelSpacing is absent; 1.0 when none is, with a warning for CT, MR and PT; see
    "What is checked"). ``origin`` is ImagePositionPatient of the first slice after sorting.
    ``direction`` rows are the slice normal ``cross(row, column)`` of ImageOrientationPatient,
    the column direction (y) and the row direction (x). ``window`` is the file's first
    WindowCenter/WindowWidth (or the first frame's Frame VOI LUT), else the 0.5-99.5 percentile
    default. ``metadata`` holds the header of the first slice; ``paths`` the files in slice
    order; ``name`` the SeriesDescription, else the file (or folder) name.

    **Series rules.**

    1. Files are grouped by SeriesInstanceUID; several series need ``series=``.
    2. Slices are sorted by their position along the slice normal, never by file name or
       InstanceNumber (which only breaks ties).
    3. The slice spacing is the median step between positions along the normal, not
       SliceThickness.
    4. Positions closer than 0.01 mm are duplicates: one file is kept (lowest InstanceNumber,
       then file name) and a SeriesWarning names the dropped files.
    5. A step larger than 1.5 x the median step means missing slices: a SeriesWarning names the
       files on either side and the gap in mm. The remaining slices are stacked as they are (the
       gap is not filled), with the median spacing.
    6. Mixed image sizes, orientations (direction cosines differing by more than 1e-3) or pixel
       spacings raise SeriesError naming the odd files.
    7. Slices without (usable) ImagePositionPatient/ImageOrientationPatient are ordered by
       InstanceNumber with a SeriesWarning; their spacing comes from SpacingBetweenSlices or
       SliceThickness (1.0 when absent).
    8. A series (or file) with one single-frame image gives a 2-D scan ``(y, x)``; multi-frame
       files give ``(z, y, x)`` with frames ordered by the same rules (enhanced files: Plane
       Position / Plane Orientation / Pixel Measures functional groups; RT Dose:
       GridFrameOffsetVector); frames without any position keep their stored order.

    **What is checked.** Nothing is assumed silently: every problem below is reported, as a
    warning (category in :mod:`medinteract.errors`) or an error, naming the file (and, for a
    series, every file concerned, in one warning per distinct problem) and the fallback used.

    ==========================================  ==================  ===========================
    problem                                     reported as         fallback / outcome
    ==========================================  ==================  ===========================
    PixelSpacing zero, negative, NaN, not a     GeometryWarning     ImagerPixelSpacing or
    number or not 2 values                                          NominalScannedPixelSpacing
                                                                    if valid, else 1.0 mm
    no PixelSpacing (nor Imager/Nominal) in a   GeometryWarning     1.0 mm (pixel units)
    CT, MR or PT image
    no PixelSpacing in other images             (documented only)   1.0 (pixel units)
    ImagePositionPatient not 3 finite numbers   GeometryWarning     unknown: origin (0, 0, 0);
                                                                    in a series, ordered by
                                                                    InstanceNumber
    ImageOrientationPatient not 6 finite        GeometryWarning     axial (1, 0, 0, 0, 1, 0)
    numbers, a zero direction, or parallel
    row and column directions
    ImageOrientationPatient not orthonormal     GeometryWarning     orthonormalised (row kept)
    (beyond 1e-3)
    GridFrameOffsetVector entry not finite,     GeometryWarning     stored frame order, origin
    or not one entry per frame                                      ImagePositionPatient,
                                                                    spacing SpacingBetween-
                                                                    Slices / SliceThickness / 1
    RescaleSlope 0                              PixelValueWarning   slope 1
    RescaleSlope, RescaleIntercept or           LoadError           none: values unknown
    DoseGridScaling not a number
    a file of a series folder named like        UnreadableFile-     left out; the stack is
    DICOM that is empty, truncated, damaged     Warning             planned without it, so a
    or not DICOM                                                    gap warning shows where it
                                                                    was (or the warning says
                                                                    the volume may be shorter)
    a damaged element (e.g. unknown VR)         LoadError           none
    unknown transfer syntax UID                 LoadError           none
    compressed data no installed decoder        DecoderError        none; names each decoder's
    supports (e.g. 12-bit JPEG in Pillow)                           answer
    ==========================================  ==================  ===========================

    **Data type.** ``Scan.array`` is float32 when float32 holds every value the file can store
    exactly (integers up to 2**24, steps of the rescale slope up to ``slope * 2**24``): all
    8- to 16-bit data (CT, MR, PET, CR, ultrasound, colour), Modality LUTs and Float Pixel
    Data. It is float64 when float32 cannot: 32-bit integer pixels (e.g. RT Dose, which float32
    would round by up to 128 counts), wider colour samples, and Double Float Pixel Data (see
    :func:`medinteract.io.dicom.value_dtype`). A series takes the wider type of its files.
    PALETTE COLOR images are expanded to RGB on the 0-255 scale (16-bit tables divided by
    257), the range :func:`~medinteract.io.write_dicom_series` stores.

    **Other formats.** NIfTI's RAS world is converted to LPS and the array to ``(z, y, x)``;
    images have spacing 1.0 (pixels); ``.npz`` may carry ``spacing`` and ``origin`` arrays.

    Examples
    --------
    >>> import medinteract as mi
    >>> from pydicom.data import get_testdata_file
    >>> ct = mi.load(get_testdata_file("CT_small.dcm", download=False))
    >>> ct.modality, ct.shape, ct.spacing
    ('CT', (128, 128), (0.661468, 0.661468))
    """
    if isinstance(path_or_paths, (str, PathLike)):
        return _load_path(Path(path_or_paths).expanduser(), series)
    paths = [Path(p).expanduser() for p in path_or_paths]
    if not paths:
        raise LoadError(None, "load() was given an empty list of files")
    if len(paths) == 1:
        return _load_path(paths[0], series)
    for path in paths:
        if not path.exists():
            raise LoadError(path, "does not exist")
        if path.is_dir():
            raise LoadError(path, "is a folder; a list may only hold DICOM files",
                            "pass the folder itself to load()")
    source = common_folder(paths)
    return load_series(series_from_files(paths), series, source, name=source.name)


def _load_path(path: Path, series: SeriesChoice | None) -> Scan:
    if not path.exists():
        raise LoadError(path, "does not exist", "check the path and the current folder")
    if path.is_dir():
        return load_series(find_series(path), series, path, name=path.name,
                           skip_unreadable=True)
    if path.stat().st_size == 0:
        raise LoadError(path, EMPTY_FILE, EMPTY_FILE_HINT)
    kind = _kind(path)
    if kind == "dicom":
        if series is None:
            return load_dicom_file(path)
        return load_series(series_from_files([path]), series, path, name=path.name)
    if series is not None:
        raise LoadError(path, "series= only applies to DICOM files and folders")
    if kind == "nifti":
        return load_nifti(path)
    if kind == "image":
        return load_image(path)
    return load_numpy(path)


def file_kind(path: str | PathLike[str]) -> str | None:
    """What :func:`load` would read a file as, judged by its name and DICOM marker.

    Parameters
    ----------
    path : path-like
        A file.

    Returns
    -------
    str or None
        ``"nifti"``, ``"image"``, ``"numpy"`` or ``"dicom"`` (a DICOM suffix or the ``DICM``
        marker); None for anything else, including an extension-less file without the marker.
    """
    path = Path(path)
    name = path.name.lower()
    if name.endswith(NIFTI_SUFFIXES):
        return "nifti"
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return "image"
    if suffix in NUMPY_SUFFIXES:
        return "numpy"
    if (suffix and suffix in DICOM_SUFFIXES) or looks_like_dicom(path):
        return "dicom"
    return None


def _kind(path: Path) -> str:
    kind = file_kind(path)
    if kind is not None:
        return kind
    if not path.suffix:  # DICOM files often have no extension; some lack the preamble too
        return "dicom"
    raise LoadError(path, f"has an unknown file type '{path.suffix}'",
                    f"medinteract reads {SUPPORTED}")
