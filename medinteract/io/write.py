"""Write a :class:`~medinteract.scan.Scan` as a genuine DICOM series, or as a NIfTI file.

:func:`write_nifti` writes an image or a label volume aligned with a scan (NIfTI-1, ``.nii`` or
``.nii.gz``); :func:`medinteract.load` reads it back onto the same grid.

DICOM storage rules
-------------------
- Grey-scale data is stored as signed 16-bit integers (``PixelRepresentation`` 1) with a linear
  rescale ``value = stored * RescaleSlope + RescaleIntercept``:

  * CT: ``RescaleSlope`` 1 and ``RescaleIntercept`` 0, so stored values *are* Hounsfield units,
    rounded to the nearest integer (round-trip error at most 0.5 HU). Only when the values do not
    fit into int16 is the slope/intercept fitted as for other data.
  * other modalities: integer-valued data that fits into int16 is stored as is (slope 1,
    intercept 0); anything else is mapped linearly onto the full int16 range, so the round-trip
    error is at most half a slope (``(max - min) / 65534 / 2``).

- RGB images (``scan.is_rgb``, one 2-D photograph) are stored as 8-bit RGB Secondary Capture;
  their values must lie in 0-255 and are rounded.
- ``bits=8`` stores grey-scale data as unsigned 8-bit integers with a fitted slope/intercept
  (smaller files, coarser values).

The SOP class is CT Image Storage for modality ``CT``, MR Image Storage for ``MR`` and Secondary
Capture Image Storage otherwise (also for ``bits=8``, since the CT and MR IODs require 16-bit
pixels). What is written validates against its IOD: ``dciodvfy`` (dicom3tools) reports no error
for CT and MR volumes and images, 8-bit and RGB Secondary Capture (the tests check this). Values
the writer cannot know (patient position, laterality, slice thickness of a single image, patient
orientation of a Secondary Capture) are written empty, as their Type 2 / 2C allows.

Geometry tags (ImagePositionPatient per slice, ImageOrientationPatient, PixelSpacing,
SliceThickness, SpacingBetweenSlices) come from the scan's origin, direction and spacing, so that
loading the folder gives the same geometry back.
"""

from __future__ import annotations

import datetime as _dt
import gzip
from os import PathLike
from pathlib import Path

import numpy as np
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    CTImageStorage,
    ExplicitVRLittleEndian,
    MRImageStorage,
    UID,
    SecondaryCaptureImageStorage,
    generate_uid,
)

from medinteract._atomic import staged_folder, write_atomic
from medinteract.scan import Scan

__all__ = ["write_dicom_series", "rescale_for_storage", "write_nifti", "nifti_affine"]

_SOP_CLASS = {"CT": CTImageStorage, "MR": MRImageStorage}
_INT16 = (-32768, 32767)
_UINT8 = (0, 255)


def rescale_for_storage(
    array: np.ndarray, modality: str, bits: int = 16
) -> tuple[np.ndarray, float, float]:
    """Integer pixel values and the rescale slope/intercept that represent ``array``.

    Parameters
    ----------
    array : ndarray
        Values in physical units (any shape).
    modality : str
        DICOM modality; ``"CT"`` keeps slope 1 and intercept 0 (stored values are HU).
    bits : {16, 8}, optional
        Store as int16 or as uint8.

    Returns
    -------
    stored : ndarray of int16 or uint8
        Values such that ``stored * slope + intercept`` approximates ``array``.
    slope, intercept : float
        The DICOM RescaleSlope and RescaleIntercept.

    Examples
    --------
    >>> import numpy as np
    >>> stored, slope, intercept = rescale_for_storage(np.array([-1000.4, 40.6]), "CT")
    >>> stored.tolist(), slope, intercept
    ([-1000, 41], 1.0, 0.0)
    """
    if bits not in (8, 16):
        raise ValueError(f"bits must be 8 or 16, got {bits}")
    values = np.asarray(array, dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise ValueError("cannot store NaN or infinite values in DICOM; replace them first")
    dtype, (lo, hi) = (np.int16, _INT16) if bits == 16 else (np.uint8, _UINT8)
    vmin, vmax = float(values.min()), float(values.max())
    rounded = np.rint(values)
    fits = lo <= vmin and np.rint(vmax) <= hi and lo <= np.rint(vmin)
    if fits and (modality == "CT" or np.array_equal(rounded, values)):
        return rounded.astype(dtype), 1.0, 0.0
    if vmax == vmin:
        return np.zeros(values.shape, dtype=dtype), 1.0, vmin
    # Map [vmin, vmax] linearly onto the storable range (leaving the lowest int16 unused so the
    # range is symmetric), with slope and intercept as exact decimal strings.
    low_code, high_code = (lo + 1, hi) if bits == 16 else (lo, hi)
    slope = _decimal((vmax - vmin) / (high_code - low_code))
    intercept = _decimal(vmin - low_code * slope)
    stored = np.clip(np.rint((values - intercept) / slope), lo, hi)
    return stored.astype(dtype), slope, intercept


def _decimal(value: float) -> float:
    """``value`` as it will read back from a DICOM decimal string (16 characters)."""
    from pydicom.valuerep import format_number_as_ds

    return float(format_number_as_ds(float(value)))


def write_dicom_series(
    scan: Scan,
    folder: str | PathLike[str],
    *,
    series_description: str | None = None,
    patient_name: str = "PHANTOM^SYNTHETIC",
    patient_id: str = "PHANTOM",
    study_description: str = "medinteract synthetic study",
    series_number: int = 1,
    bits: int = 16,
    uid_seed: str | None = None,
    study_date: _dt.date | None = None,
    overwrite: bool = False,
) -> list[Path]:
    """Write a scan as a DICOM series: one file per slice (one file for a 2-D image).

    Parameters
    ----------
    scan : Scan
        The image to write; see the module documentation for how values are stored.
    folder : path-like
        Output folder. Created if absent; an existing non-empty folder is refused unless
        ``overwrite=True`` (then its content is replaced as a whole).
    series_description : str, optional
        SeriesDescription; defaults to the scan's name.
    patient_name, patient_id : str, optional
        Patient module values (synthetic by default; never put real identities here).
    study_description : str, optional
        StudyDescription.
    series_number : int, optional
        SeriesNumber.
    bits : {16, 8}, optional
        Bits per stored grey value (RGB images are always 8-bit).
    uid_seed : str, optional
        When given, Study/Series/FrameOfReference/SOP Instance UIDs are derived from it
        deterministically (same seed, same UIDs); otherwise they are random.
    study_date : datetime.date, optional
        StudyDate/SeriesDate/ContentDate; defaults to today.
    overwrite : bool, optional
        Replace a non-empty ``folder``.

    Returns
    -------
    list of Path
        The written files in slice order (``IM_0001.dcm``, ``IM_0002.dcm``, ...).

    Raises
    ------
    FileExistsError
        If ``folder`` exists, is not empty and ``overwrite`` is false.
    ValueError
        If the scan cannot be stored (NaN values, RGB values outside 0-255, a volume of RGB).

    Notes
    -----
    The series is written into a temporary folder next to ``folder`` and renamed into place,
    so ``folder`` never holds a half-written series.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> from medinteract.scan import Scan
    >>> scan = Scan(np.full((3, 4, 5), -1000.0), spacing=(2.0, 0.5, 0.5), modality="CT")
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "series"
    >>> [p.name for p in write_dicom_series(scan, out)]
    ['IM_0001.dcm', 'IM_0002.dcm', 'IM_0003.dcm']
    """
    target = Path(folder)
    _check_target(target, overwrite)
    datasets = _series_datasets(
        scan,
        series_description=scan.name if series_description is None else series_description,
        patient_name=patient_name,
        patient_id=patient_id,
        study_description=study_description,
        series_number=series_number,
        bits=bits,
        uid_seed=uid_seed,
        study_date=study_date or _dt.date.today(),
    )
    names = [f"IM_{i:04d}.dcm" for i in range(1, len(datasets) + 1)]
    with staged_folder(target, replace=overwrite) as staging:
        for name, ds in zip(names, datasets):
            ds.save_as(staging / name, enforce_file_format=True)
    return [target / name for name in names]


# -- target folder ------------------------------------------------------------------------------
def _check_target(target: Path, overwrite: bool) -> None:
    if target.exists() and not target.is_dir():
        raise FileExistsError(f"{target}: exists and is not a folder")
    if target.is_dir() and any(target.iterdir()) and not overwrite:
        raise FileExistsError(
            f"{target}: folder is not empty (pass overwrite=True to replace its content)"
        )


# -- datasets -----------------------------------------------------------------------------------
def _series_datasets(
    scan: Scan,
    *,
    series_description: str,
    patient_name: str,
    patient_id: str,
    study_description: str,
    series_number: int,
    bits: int,
    uid_seed: str | None,
    study_date: _dt.date,
) -> list[FileDataset]:
    """One dataset per slice, sharing study, series and frame-of-reference UIDs."""
    if scan.is_rgb and scan.is_volume:
        raise ValueError("writing an RGB volume is not supported; write a 2-D RGB image")
    slices, slope, intercept = _stored_slices(scan, bits)
    uids = _uid_source(uid_seed)
    study_uid, series_uid, frame_uid = uids("study"), uids("series"), uids("frame")
    sop_class = SecondaryCaptureImageStorage if scan.is_rgb or bits == 8 else _SOP_CLASS.get(
        scan.modality, SecondaryCaptureImageStorage)
    date, time = study_date.strftime("%Y%m%d"), "120000"
    texts = (series_description, patient_name, patient_id, study_description)
    charset = "ISO_IR 100" if all(_latin1(t) for t in texts) else "ISO_IR 192"  # else UTF-8
    direction = np.asarray(scan.direction)
    row_dir, col_dir = direction[-1], direction[-2]  # along a row = x axis; down a column = y
    slice_step = scan.spacing[0] * direction[0] if scan.is_volume else np.zeros(3)
    datasets = []
    for k, pixels in enumerate(slices):
        ds = _base_dataset(sop_class, uids(f"instance-{k}"))
        ds.SpecificCharacterSet = charset
        # value 3 is required for CT and MR images: the slices are axial to the scan's grid
        ds.ImageType = ["DERIVED", "SECONDARY", "AXIAL"] if (
            scan.is_volume or sop_class in _SOP_CLASS.values()) else ["DERIVED", "SECONDARY"]
        ds.StudyDate = ds.SeriesDate = ds.ContentDate = date
        ds.StudyTime = ds.SeriesTime = ds.ContentTime = time
        ds.AccessionNumber = ""
        ds.Modality = "OT" if scan.is_rgb and scan.modality in ("CT", "MR") else scan.modality
        ds.Manufacturer = "medinteract"
        ds.ReferringPhysicianName = ""
        ds.StudyDescription = study_description[:64]
        ds.SeriesDescription = series_description[:64]
        ds.PatientName = patient_name
        ds.PatientID = patient_id[:64]
        ds.PatientBirthDate = ""
        ds.PatientSex = ""
        ds.StudyInstanceUID = study_uid
        ds.SeriesInstanceUID = series_uid
        ds.StudyID = ""
        ds.SeriesNumber = int(series_number)
        ds.Laterality = ""  # Type 2C: unknown for a synthetic or derived image
        if sop_class in _SOP_CLASS.values():
            ds.PatientPosition = ""  # Type 2C for CT and MR: unknown here
        ds.InstanceNumber = k + 1
        ds.FrameOfReferenceUID = frame_uid
        ds.PositionReferenceIndicator = ""
        position = np.asarray(scan.origin) + k * slice_step
        ds.ImagePositionPatient = [_ds_number(v) for v in position]
        ds.ImageOrientationPatient = [_ds_number(v) for v in (*row_dir, *col_dir)]
        ds.PixelSpacing = [_ds_number(scan.spacing[-2]), _ds_number(scan.spacing[-1])]
        if sop_class == SecondaryCaptureImageStorage:
            ds.PatientOrientation = ""  # Type 2C: the SC IOD has no Image Plane module
        elif not scan.is_volume:
            ds.SliceThickness = ""  # Type 2: a single image does not say its thickness
        if scan.is_volume:
            ds.SliceThickness = _ds_number(scan.spacing[0])
            ds.SpacingBetweenSlices = _ds_number(scan.spacing[0])
            normal = np.cross(row_dir, col_dir)
            ds.SliceLocation = _ds_number(float(position @ normal))
        _add_modality_module(ds, sop_class)
        _add_pixels(ds, pixels, scan, slope, intercept)
        datasets.append(ds)
    return datasets


def _base_dataset(sop_class: UID, instance_uid: UID) -> FileDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = instance_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds = FileDataset("", {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = instance_uid
    return ds


def _add_modality_module(ds: FileDataset, sop_class: str) -> None:
    """Type 1/2 attributes of the CT Image, MR Image or SC Equipment module."""
    if sop_class == CTImageStorage:
        ds.KVP = ""
        ds.AcquisitionNumber = 1
    elif sop_class == MRImageStorage:
        ds.ScanningSequence = "RM"  # research mode: a synthetic image
        ds.SequenceVariant = "NONE"
        ds.ScanOptions = ""
        ds.MRAcquisitionType = "3D" if "AXIAL" in ds.ImageType else "2D"
        ds.RepetitionTime = ""
        ds.EchoTime = ""
        ds.EchoTrainLength = ""
        ds.MagneticFieldStrength = ""
        ds.AcquisitionNumber = 1
    else:
        ds.ConversionType = "WSD"  # workstation


def _add_pixels(
    ds: FileDataset, pixels: np.ndarray, scan: Scan, slope: float, intercept: float
) -> None:
    ds.Rows, ds.Columns = int(pixels.shape[0]), int(pixels.shape[1])
    if scan.is_rgb:
        ds.SamplesPerPixel = 3
        ds.PhotometricInterpretation = "RGB"
        ds.PlanarConfiguration = 0
    else:
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.RescaleIntercept = _ds_number(intercept)
        ds.RescaleSlope = _ds_number(slope)
        if scan.modality == "CT":
            ds.RescaleType = "HU"
        elif ds.SOPClassUID == SecondaryCaptureImageStorage:
            ds.RescaleType = "US"  # Type 1C with a rescale: unspecified units
        ds.WindowCenter = _ds_number(scan.window.center)
        ds.WindowWidth = _ds_number(scan.window.width)
        if scan.window.width < 1:  # a narrow window is only valid as exactly linear
            ds.VOILUTFunction = "LINEAR_EXACT"
    bits = pixels.dtype.itemsize * 8
    ds.BitsAllocated = ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = 1 if pixels.dtype.kind == "i" else 0
    ds.PixelData = np.ascontiguousarray(pixels).astype(pixels.dtype.newbyteorder("<")).tobytes()


def _stored_slices(scan: Scan, bits: int) -> tuple[list[np.ndarray], float, float]:
    """Integer pixel planes (one per slice) and the shared rescale slope/intercept."""
    if scan.is_rgb:
        values = scan.array
        if values.shape[-1] not in (3, 4):
            raise ValueError(f"RGB images need 3 or 4 channels, got {values.shape[-1]}")
        if values.min() < 0 or values.max() > 255:
            raise ValueError("RGB values must lie in 0-255 to be stored as 8-bit DICOM RGB")
        return [np.rint(values[..., :3]).astype(np.uint8)], 1.0, 0.0
    stored, slope, intercept = rescale_for_storage(scan.array, scan.modality, bits)
    planes = list(stored) if scan.is_volume else [stored]
    return planes, slope, intercept


def _uid_source(seed: str | None):
    """A function ``label -> UID``: deterministic from ``seed`` when given, random otherwise."""
    def uid(label: str) -> str:
        if seed is None:
            return generate_uid()
        return generate_uid(entropy_srcs=[str(seed), label])

    return uid


def _latin1(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def _ds_number(value: float) -> str:
    """A DICOM decimal string (at most 16 characters) for ``value``; ``-0`` printed as ``0``."""
    from pydicom.valuerep import format_number_as_ds

    value = float(value)
    return format_number_as_ds(0.0 if value == 0 else value)



# -- NIfTI ----------------------------------------------------------------------------------------
#: LPS (DICOM patient) to RAS (NIfTI world) for homogeneous 4x4 matrices: negate x and y.
_LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


def nifti_affine(scan: Scan) -> np.ndarray:
    """The NIfTI (RAS) voxel-to-world affine of a scan's grid.

    The inverse of what :func:`medinteract.io.formats.load_nifti` reads: NIfTI voxel index
    ``(i, j, k)`` is the array index reversed (array ``(z, y, x)`` is stored transposed), the
    columns are ``spacing * direction`` of those axes, the translation is the origin, and the
    world changes from LPS to RAS by negating its first two coordinates. A 2-D scan gets the
    unit normal of its plane as third column.

    Parameters
    ----------
    scan : Scan
        Supplies spacing, origin and direction.

    Returns
    -------
    ndarray, shape (4, 4)

    Examples
    --------
    >>> scan = Scan(np.zeros((2, 3, 4)), spacing=(2.5, 0.5, 0.75), origin=(10, 20, 30))
    >>> nifti_affine(scan)[:3].tolist()
    [[-0.75, 0.0, 0.0, -10.0], [0.0, -0.5, 0.0, -20.0], [0.0, 0.0, 2.5, 30.0]]
    """
    n = scan.spatial_ndim
    columns = (np.asarray(scan.direction, dtype=float)
               * np.asarray(scan.spacing, dtype=float)[:, None])[::-1]  # rows: i, j(, k)
    lps = np.eye(4)
    lps[:3, :n] = columns.T
    if n == 2:  # a slice: the third voxel axis is the unit normal of its plane
        normal = np.cross(columns[0], columns[1])
        lps[:3, 2] = normal / np.linalg.norm(normal)
    lps[:3, 3] = np.asarray(scan.origin, dtype=float)
    return _LPS_TO_RAS @ lps


def _nifti_data(array: np.ndarray) -> np.ndarray:
    """``array`` in a data type NIfTI-1 stores (booleans as uint8, 64-bit integers narrowed)."""
    if array.dtype == bool:
        return array.astype(np.uint8)
    if array.dtype.kind in "iu" and array.dtype.itemsize == 8:
        info = np.iinfo(np.int32)
        if array.size and (array.min() < info.min or array.max() > info.max):
            raise ValueError("integer values beyond the int32 range cannot be stored in NIfTI-1")
        return array.astype(np.int32)
    if array.dtype == np.float16:
        return array.astype(np.float32)
    if array.dtype.kind not in "iuf":
        raise ValueError(f"cannot store an array of dtype {array.dtype} in NIfTI")
    return array


def write_nifti(array_or_scan: Scan | np.ndarray, path: str | PathLike[str], *,
                like: Scan | None = None) -> Path:
    """Write an image or a label volume as a NIfTI-1 file (``.nii`` or ``.nii.gz``), atomically.

    Parameters
    ----------
    array_or_scan : Scan or array_like
        The values: a Scan (its array, float32) or an array of a grey-scale image ``(y, x)`` or
        volume ``(z, y, x)``; booleans are stored as uint8, integers keep their type (64-bit
        integers become int32), so a label image stays a label image.
    path : path-like
        Destination ending in ``.nii`` or ``.nii.gz`` (gzip-compressed, with a fixed time
        stamp, so the same input gives the same bytes). Its folder must exist.
    like : Scan, optional
        The grid the values lie on (spacing, origin, direction); defaults to the scan given
        as ``array_or_scan``, or to 1 mm voxels at the origin for a bare array.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ValueError
        For another suffix, a colour image, or values whose shape differs from ``like``'s grid.

    Notes
    -----
    The voxel-to-world affine (:func:`nifti_affine`) is stored as both sform and qform
    (code 1, scanner coordinates) in RAS, the NIfTI convention; :func:`medinteract.load`
    converts it back to LPS, so spacing, origin and direction round-trip (to float32
    precision, the precision of the NIfTI header). The scan's name goes into ``descrip``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from medinteract.io import load
    >>> scan = Scan(np.arange(24.0).reshape(2, 3, 4), spacing=(2.5, 0.5, 0.75))
    >>> path = write_nifti(scan, pathlib.Path(tempfile.mkdtemp()) / "image.nii.gz")
    >>> back = load(path)
    >>> back.spacing, np.array_equal(back.array, scan.array)
    ((2.5, 0.5, 0.75), True)
    """
    import nibabel as nib

    path = Path(path)
    name = path.name.lower()
    if not name.endswith((".nii", ".nii.gz")):
        raise ValueError(f"{path}: a NIfTI file name ends in .nii or .nii.gz")
    scan = array_or_scan if isinstance(array_or_scan, Scan) else None
    values = np.asarray(scan.array if scan is not None else array_or_scan)
    grid = like if like is not None else scan if scan is not None else Scan(values)
    if grid.is_rgb or (scan is not None and scan.is_rgb):
        raise ValueError(f"{path}: NIfTI output needs a grey-scale image or volume, not colour "
                         "(save colour images as PNG or .npz)")
    spatial = grid.shape[:grid.spatial_ndim]
    if values.shape != spatial:
        raise ValueError(f"{path}: values of shape {values.shape} do not fit the grid "
                         f"{spatial} of the scan they belong to")
    image = nib.Nifti1Image(_nifti_data(values).T, nifti_affine(grid))
    image.set_sform(image.affine, code=1)
    image.set_qform(image.affine, code=1)
    image.header.set_xyzt_units("mm")
    image.header["descrip"] = grid.name.encode("ascii", "replace")[:79]
    data = image.to_bytes()
    if name.endswith(".gz"):
        data = gzip.compress(data, compresslevel=6, mtime=0)
    return write_atomic(path, data)
