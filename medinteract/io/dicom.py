"""Read one DICOM file: headers, pixel data in physical units, geometry and metadata.

Everything that touches pydicom lives here, and every pydicom failure is translated into a
:class:`~medinteract.errors.LoadError` (or :class:`~medinteract.errors.DecoderError`) that names
the file. :mod:`medinteract.io.series` builds folders of files on top of these functions.
"""

from __future__ import annotations

import os
import warnings
from os import PathLike
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd
import pydicom
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.multival import MultiValue
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pydicom.valuerep import PersonName

from medinteract.errors import DecoderError, GeometryWarning, LoadError, PixelValueWarning
from medinteract.io.geometry import (
    SlicePlacement,
    direction_matrix,
    plan_stack,
    slice_normal,
    warn_series,
)
from medinteract.io.notices import Notices
from medinteract.scan import METADATA_COLUMNS, Scan, Window

__all__ = [
    "read_dataset",
    "convert_elements",
    "truncated_elements",
    "looks_like_dicom",
    "has_pixels",
    "describe_object",
    "load_dicom_file",
    "decode_frames",
    "physical_frames",
    "number_of_frames",
    "file_window",
    "metadata_table",
    "frame_placements",
    "file_placement",
    "pixel_spacing_of",
    "image_position",
    "image_orientation",
    "fallback_slice_spacing",
    "frame_rescales",
    "value_ranges",
    "value_dtype",
    "mirrors_monochrome1",
    "readable_value",
    "DECODER_HINT",
    "DICOM_SUFFIXES",
    "PHYSICAL_MODALITIES",
    "SPACING_REQUIRED_MODALITIES",
    "ORTHONORMAL_TOLERANCE",
]

#: File name suffixes of DICOM files ("" for the many DICOM files without one).
DICOM_SUFFIXES = (".dcm", ".dicom", ".ima", "")

#: How to get the optional decoders.
DECODER_HINT = 'pip install "medinteract[decoders]"'

#: Modalities whose rescaled values are absolute physical quantities (HU, Bq/ml, Gy): their
#: values are never mirrored for MONOCHROME1 (see :func:`physical_frames`).
PHYSICAL_MODALITIES = frozenset({"CT", "PT", "RTDOSE"})

#: Modalities whose images must say their pixel size (Image Plane module, Type 1): a missing
#: PixelSpacing is warned about. Other images without one are measured in pixels (1.0 each).
SPACING_REQUIRED_MODALITIES = frozenset({"CT", "MR", "PT"})

#: ImageOrientationPatient whose direction cosines are off unit length or off perpendicular by
#: more than this is reported and orthonormalised.
ORTHONORMAL_TOLERANCE = 1e-3

#: Orientation assumed when ImageOrientationPatient is unusable: axial, rows along x (L),
#: columns along y (P).
AXIAL_ORIENTATION = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)

_PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
_PIXEL_TAGS = {0x7FE00010, 0x7FE00008, 0x7FE00009}

# Transfer syntax UID prefix/UID -> packages that decode it (pydicom's pylibjpeg plugins).
_JPEG = "pylibjpeg and pylibjpeg-libjpeg"
_J2K = "pylibjpeg and pylibjpeg-openjpeg"
_PACKAGES_BY_SYNTAX = {
    "1.2.840.10008.1.2.4.50": _JPEG,  # JPEG Baseline
    "1.2.840.10008.1.2.4.51": _JPEG,  # JPEG Extended
    "1.2.840.10008.1.2.4.57": _JPEG,  # JPEG Lossless
    "1.2.840.10008.1.2.4.70": _JPEG,  # JPEG Lossless SV1
    "1.2.840.10008.1.2.4.80": _JPEG,  # JPEG-LS Lossless
    "1.2.840.10008.1.2.4.81": _JPEG,  # JPEG-LS Near-lossless
    "1.2.840.10008.1.2.4.90": _J2K,  # JPEG 2000 Lossless
    "1.2.840.10008.1.2.4.91": _J2K,  # JPEG 2000
    "1.2.840.10008.1.2.4.201": _J2K,  # HTJ2K Lossless
    "1.2.840.10008.1.2.4.202": _J2K,  # HTJ2K Lossless RPCL
    "1.2.840.10008.1.2.4.203": _J2K,  # HTJ2K
    "1.2.840.10008.1.2.5": "pylibjpeg and pylibjpeg-rle",  # RLE Lossless
}


# -- reading ----------------------------------------------------------------------------------
def looks_like_dicom(path: str | PathLike[str]) -> bool:
    """True when the file has the DICOM preamble: ``b"DICM"`` at byte 128.

    Parameters
    ----------
    path : path-like
        A file.
    """
    try:
        with open(path, "rb") as f:
            f.seek(128)
            return f.read(4) == b"DICM"
    except OSError:
        return False


def read_dataset(path: str | PathLike[str], *, header_only: bool = False,
                 force: bool = False, check_elements: bool = True) -> Dataset:
    """Read a DICOM file, translating every failure into a :class:`LoadError`.

    Parameters
    ----------
    path : path-like
        The file.
    header_only : bool, optional
        Stop before the pixel data (fast; for tables and series discovery).
    force : bool, optional
        Also accept files without the 128-byte preamble and ``DICM`` prefix, provided they parse
        into a dataset that has image attributes (Rows, Columns).
    check_elements : bool, optional
        Convert every element now, so that a damaged one (an unknown VR, an undecodable value)
        is reported here, naming the file. This is most of the time spent reading a header;
        pass False when only a few elements are used (e.g. to group files into series) and
        check those with :func:`convert_elements`.

    Returns
    -------
    pydicom.dataset.Dataset

    Raises
    ------
    LoadError
        The file cannot be read or is not DICOM.
    """
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            dataset: Dataset = pydicom.dcmread(path, stop_before_pixels=header_only)
        # kept so that a later "no pixel data" error can say what pydicom noticed
        dataset._medinteract_read_warnings = [str(w.message) for w in caught]
    except InvalidDicomError as err:
        forced = _read_forced(path, header_only) if force else None
        if forced is None:
            if _is_empty(path):
                raise LoadError(path, EMPTY_FILE, EMPTY_FILE_HINT) from err
            raise LoadError(path, "is not a DICOM file (no 'DICM' marker at byte 128)",
                            "check the file type; medinteract reads DICOM, NIfTI, PNG, TIFF, "
                            "JPEG, NPY and NPZ") from err
        dataset = forced
    except (OSError, EOFError) as err:
        raise LoadError(path, f"could not be read: {err}") from err
    except Exception as err:  # pydicom raises many types for damaged files
        raise LoadError(path, f"is damaged or truncated; pydicom could not parse it "
                              f"({type(err).__name__}: {err})") from err
    _ensure_transfer_syntax(dataset)
    _check_transfer_syntax(dataset, path)
    truncated = truncated_elements(dataset)
    if truncated:
        raise LoadError(path, f"is truncated: {truncated[0]}",
                        "the file was probably not copied or downloaded completely")
    if check_elements:
        convert_elements(dataset, path)
    return dataset


def truncated_elements(ds: Dataset, prefix: str = "") -> list[str]:
    """The elements whose value the file cuts short, described for messages.

    pydicom reads a truncated file without complaint, handing out the bytes that are there; an
    element (not yet converted) whose declared length exceeds its bytes shows the cut. Call it
    right after reading, before the elements are accessed.

    Parameters
    ----------
    ds : Dataset
        A dataset as returned by :func:`pydicom.dcmread`.
    prefix : str, optional
        Location of ``ds`` (for items of sequences).

    Returns
    -------
    list of str
        E.g. ``["PixelData (7FE0,0010) declares 8192 bytes but the file holds 8130"]``.
    """
    found = []
    for tag in ds.keys():
        raw = ds.get_item(tag)
        if isinstance(raw, RawDataElement):
            if raw.length != 0xFFFFFFFF and isinstance(raw.value, bytes) and \
                    len(raw.value) < raw.length:
                name = prefix + (pydicom.datadict.keyword_for_tag(tag) or "element")
                found.append(f"{name} {raw.tag} declares {raw.length} bytes but the file "
                             f"holds {len(raw.value)}")
        elif raw is not None and raw.VR == "SQ":
            for index, item in enumerate(raw.value or ()):
                found += truncated_elements(item, f"{prefix}{raw.keyword}[{index}].")
    return found


def _check_transfer_syntax(ds: Dataset, path: str | PathLike[str]) -> None:
    syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    if syntax is None or syntax.is_transfer_syntax:
        return
    raise LoadError(path, f"has an unknown transfer syntax UID '{syntax}' in its file meta "
                          "information, so its encoding and pixel data cannot be interpreted",
                    "the file meta information is damaged, or the file uses a private "
                    "transfer syntax: convert it with the software that wrote it")


def convert_elements(ds: Dataset, path: str | PathLike[str],
                     keys: Iterable[str | int] | None = None) -> None:
    """Convert elements now (pydicom converts lazily), so that a damaged one is reported
    here, naming the file, instead of failing later deep inside a computation.

    Parameters
    ----------
    ds : Dataset
        A dataset as read by :func:`read_dataset` with ``check_elements=False``.
    path : path-like
        Its file, for the message.
    keys : iterable of str or int, optional
        Only these top-level elements, by keyword or tag (those that are present, with their
        nested items); all elements when None.

    Raises
    ------
    LoadError
        An element has an unknown VR or a value that cannot be decoded.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if keys is None:
                for _ in ds.iterall():
                    pass
            else:
                for key in keys:
                    element = ds[key] if key in ds else None
                    if element is not None and element.VR == "SQ":
                        for item in element.value:
                            for _ in item.iterall():
                                pass
    except Exception as err:  # unknown VR (NotImplementedError), undecodable values, ...
        raise LoadError(path, f"has a damaged data element ({type(err).__name__}: {err})",
                        "the file is damaged; fix or remove the element with a DICOM "
                        "editor") from err


#: The problem and hint of a :class:`LoadError` for a file of 0 bytes.
EMPTY_FILE = "is empty (0 bytes)"
EMPTY_FILE_HINT = "the file was probably not copied or downloaded completely"


def _is_empty(path: str | PathLike[str]) -> bool:
    try:
        return os.path.getsize(path) == 0
    except (OSError, TypeError):
        return False


def _read_forced(path: str | PathLike[str], header_only: bool) -> Dataset | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dataset = pydicom.dcmread(path, stop_before_pixels=header_only, force=True)
        ok = "SOPClassUID" in dataset or ("Rows" in dataset and "Columns" in dataset)
    except Exception:
        return None
    return dataset if ok else None


def _ensure_transfer_syntax(ds: Dataset) -> None:
    """Files without file meta (or without its TransferSyntaxUID) cannot be decoded by pydicom;
    name the encoding pydicom actually read the file with (in memory only)."""
    meta = getattr(ds, "file_meta", None)
    if meta is None or "TransferSyntaxUID" in meta:
        return
    implicit, little = ds.original_encoding
    if implicit is None or little is None:
        return
    meta.TransferSyntaxUID = (ImplicitVRLittleEndian if implicit
                              else ExplicitVRLittleEndian if little else ExplicitVRBigEndian)


def has_pixels(ds: Dataset) -> bool:
    """True when the dataset holds (or, read header-only, announces) an image."""
    return any(k in ds for k in _PIXEL_KEYWORDS) or ("Rows" in ds and "Columns" in ds)


def _require_pixels(ds: Dataset, path: str | PathLike[str]) -> None:
    if any(k in ds for k in _PIXEL_KEYWORDS):
        return
    kind = describe_object(ds)
    notes = getattr(ds, "_medinteract_read_warnings", [])
    if "Rows" in ds or "Image Storage" in kind or notes:
        problem = f"is {kind} but has no pixel data; the file is probably truncated or damaged"
        if notes:
            problem += f" (pydicom: {notes[0]})"
        raise LoadError(path, problem)
    hint = ("a DICOMDIR only indexes other files: load the folder that holds it"
            if "Media Storage Directory" in kind else "only DICOM images can be loaded as scans")
    raise LoadError(path, f"contains no image (no pixel data): it is {kind}", hint)


def describe_object(ds: Dataset) -> str:
    """Name the kind of DICOM object, e.g. "an RT Plan Storage object (modality RTPLAN)"."""
    meta = getattr(ds, "file_meta", None)
    uid = ds.get("SOPClassUID") or (meta.get("MediaStorageSOPClassUID") if meta else None)
    if not uid:
        return "a DICOM object of unknown type"
    name = getattr(uid, "name", None) or str(uid)
    modality = ds.get("Modality")
    first = name.split()[0] if name.split() else name
    vowel_sound = "AEFHILMNORSX" if first.isupper() and len(first) <= 4 else "AEIOU"
    article = "an" if first[:1].upper() in vowel_sound else "a"
    return f"{article} {name} object" + (f" (modality {modality})" if modality else "")


# -- pixel data -------------------------------------------------------------------------------
def decode_frames(ds: Dataset, path: str | PathLike[str]) -> np.ndarray:
    """Decoded stored values with a leading frame axis.

    Parameters
    ----------
    ds : Dataset
        A dataset read with its pixel data.
    path : path-like
        The file, named in errors.

    Returns
    -------
    ndarray
        ``(frames, rows, columns)``, or ``(frames, rows, columns, 3)`` for colour; YBR colour
        is converted to RGB and PALETTE COLOR is expanded through its lookup table to 8-bit
        RGB (0-255; 16-bit tables are divided by 257).

    Raises
    ------
    DecoderError
        The transfer syntax is compressed and no installed decoder handles it.
    LoadError
        No pixel data, or the pixel data is damaged or truncated.
    """
    _require_pixels(ds, path)
    _check_decoder(ds, path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            array = ds.pixel_array
            if ds.get("PhotometricInterpretation") == "PALETTE COLOR":
                array = _palette_rgb(pydicom.pixels.apply_color_lut(array, ds))
    except Exception as err:
        raise _decoding_failure(ds, path, err) from err
    frames = number_of_frames(ds)
    colour = array.ndim == (4 if frames > 1 else 3)
    if frames == 1:
        array = array[np.newaxis]
    expected = 4 if colour else 3
    if array.ndim != expected:
        raise LoadError(path, f"pixel data has an unexpected shape {array.shape}")
    return array


def _palette_rgb(rgb: np.ndarray) -> np.ndarray:
    """Colours of a palette lookup table on the 0-255 scale of 8-bit RGB."""
    if rgb.dtype.itemsize == 1:
        return rgb
    return (rgb.astype(np.float32) / 257.0).astype(np.float32)  # 65535 -> 255, 257 -> 1


def _check_decoder(ds: Dataset, path: str | PathLike[str]) -> None:
    syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    if syntax is None or not syntax.is_compressed:
        return
    label = f"{syntax.name} ({syntax})"
    try:
        decoder = pydicom.pixels.get_decoder(syntax)
    except NotImplementedError as err:
        raise DecoderError(path, f"uses the transfer syntax {label}, which no DICOM pixel "
                                 "decoder supports",
                           "convert the file to an uncompressed transfer syntax, e.g. with "
                           "dcmtk's dcmdjpeg or gdcmconv --raw") from err
    if not decoder.is_available:
        packages = _PACKAGES_BY_SYNTAX.get(str(syntax), "pylibjpeg")
        missing = "; ".join(decoder.missing_dependencies)
        problem = (f"uses the compressed transfer syntax {label}, and no installed decoder "
                   f"handles it; it needs {packages}")
        if missing:
            problem += f" (pydicom plugins: {missing})"
        raise DecoderError(path, problem, f"install the decoders: {DECODER_HINT}")


#: How pydicom starts the message of a compressed frame that no installed plugin decoded.
_ALL_PLUGINS_FAILED = "Unable to decode as exceptions were raised by all available plugins"
_CONVERT_HINT = ("convert the file to an uncompressed transfer syntax with a tool that decodes "
                 "it, e.g. dcmtk's dcmdjpeg or gdcmconv --raw")


def _decoding_failure(ds: Dataset, path: str | PathLike[str], err: Exception) -> LoadError:
    """The error for pixel data that did not decode: which decoders tried and what they said.

    A :class:`DecoderError` when some installed decoder declared that it does not support the
    data (e.g. 12-bit JPEG Extended in Pillow), naming each decoder's answer; otherwise a
    :class:`LoadError` saying the data is probably damaged."""
    syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    text = str(err)
    if syntax is None or not syntax.is_compressed or not text.startswith(_ALL_PLUGINS_FAILED):
        return LoadError(path, f"pixel data could not be decoded ({type(err).__name__}: "
                               f"{text}); the file is probably damaged or truncated")
    answers = [line.strip() for line in text.splitlines()[1:] if line.strip()]
    label = f"{syntax.name} ({syntax})"
    problem = (f"uses the compressed transfer syntax {label}, and none of the installed "
               f"decoders could decode it ({'; '.join(answers)})")
    missing = pydicom.pixels.get_decoder(syntax).missing_dependencies
    if missing:
        problem += f"; decoders not installed: {'; '.join(missing)}"
    if any("does not support" in answer for answer in answers):
        return DecoderError(path, problem, f"the data needs a decoder that supports it: "
                                           f"{_CONVERT_HINT}")
    return LoadError(path, problem + "; the pixel data is probably damaged", _CONVERT_HINT)


def number_of_frames(ds: Dataset) -> int:
    """NumberOfFrames of a dataset as a positive int (1 when absent or unreadable)."""
    try:
        return max(int(ds.get("NumberOfFrames") or 1), 1)
    except (TypeError, ValueError):
        return 1


def physical_frames(ds: Dataset, raw: np.ndarray, notes: Notices | None = None,
                    label: str = "") -> np.ndarray:
    """Convert decoded stored values to physical values, in the dtype of :func:`value_dtype`.

    Parameters
    ----------
    ds : Dataset
        The dataset the values come from.
    raw : ndarray
        Output of :func:`decode_frames` (leading frame axis).
    notes : Notices, optional
        Collects problems found (a RescaleSlope of 0), to be issued as warnings.
    label : str, optional
        The file's name in those notes.

    Returns
    -------
    ndarray of float32 or float64
        Same shape as ``raw``; float64 only when float32 cannot hold every value exactly.

    Notes
    -----
    - Greyscale: the Modality LUT is applied: ``stored * RescaleSlope + RescaleIntercept``
      (per frame for enhanced multi-frame files, from the Pixel Value Transformation functional
      group), the Modality LUT Sequence when present instead, or ``DoseGridScaling`` for RT Dose.
      CT values are therefore Hounsfield units. A RescaleSlope of 0 is reported and slope 1 is
      used.
    - MONOCHROME1 (low values shown white): for modalities whose values are absolute physical
      quantities (CT, PT, RTDOSE, or any RescaleType other than ``US``), the values are kept
      unchanged, so CT stays in HU and displays in the usual radiological way (air dark, bone
      bright). For all other modalities (CR, DX, MG, ... whose values are detector units) the
      values are mirrored within the range the stored bits can represent: ``v' = low + high - v``
      with ``low``/``high`` the rescaled minimum/maximum stored value. Higher values then mean
      brighter, like MONOCHROME2, and the file's window centre is mirrored the same way.
    - Colour (RGB, YBR converted to RGB) is returned as is; PALETTE COLOR is expanded through
      its lookup table and scaled to 0-255 (16-bit tables are divided by 257), the range of
      8-bit RGB that :func:`~medinteract.io.write_dicom_series` stores.
    """
    dtype = value_dtype(ds)
    if raw.ndim == 4:
        return raw.astype(dtype)
    values: np.ndarray
    if ds.get("ModalityLUTSequence"):
        values = pydicom.pixels.apply_modality_lut(raw, ds).astype(dtype)
    else:
        values = raw.astype(dtype)
        for index, (slope, intercept) in enumerate(frame_rescales(ds, raw.shape[0], notes,
                                                                  label)):
            if slope != 1.0 or intercept != 0.0:
                values[index] = (raw[index].astype(np.float64) * slope + intercept).astype(dtype)
    if mirrors_monochrome1(ds):
        for index, (low, high) in enumerate(value_ranges(ds, raw.shape[0])):
            values[index] = dtype(low + high) - values[index]
    return values


#: Largest integer magnitude up to which float32 holds every integer (2**24).
_FLOAT32_EXACT = 2.0**24


def value_dtype(ds: Dataset) -> type:
    """The dtype that holds every physical value of a file exactly: float32 or float64.

    Parameters
    ----------
    ds : Dataset
        A dataset (its header is enough).

    Returns
    -------
    numpy.float32 or numpy.float64

    Notes
    -----
    float32 holds every integer up to 2**24 and resolves steps of ``s`` up to ``s * 2**24``.
    So a file gives float32 when ``max(|lowest|, |highest|) <= 2**24 * min(1, |slope|)``,
    with ``lowest``/``highest`` the rescaled extremes its stored bits can represent and
    ``slope`` its (smallest) RescaleSlope or DoseGridScaling; that covers all 8- to 16-bit
    data (CT, MR, PET, CR, ...) and Modality LUTs. Otherwise (32-bit integer pixels, and
    24-bit or wider data whose rescale would exceed float32's resolution) it gives float64, as
    does Double Float Pixel Data; Float Pixel Data is float32. Colour images are float32
    unless their samples are wider than 16 bits.
    """
    if "DoubleFloatPixelData" in ds:
        return np.float64
    if "FloatPixelData" in ds or ds.get("ModalityLUTSequence") or \
            ds.get("PhotometricInterpretation") == "PALETTE COLOR":
        return np.float32
    frames = number_of_frames(ds)
    if int(ds.get("SamplesPerPixel") or 1) > 1:
        bits = int(ds.get("BitsStored") or ds.get("BitsAllocated") or 8)
        return np.float32 if 2.0**bits - 1 <= _FLOAT32_EXACT else np.float64
    ranges = value_ranges(ds, frames)
    largest = max(max(abs(low), abs(high)) for low, high in ranges)
    slopes = [abs(slope) for slope, _ in frame_rescales(ds, frames)]
    return np.float32 if largest <= _FLOAT32_EXACT * min(1.0, *slopes) else np.float64


def mirrors_monochrome1(ds: Dataset) -> bool:
    """True when MONOCHROME1 values are mirrored (see :func:`physical_frames`)."""
    if ds.get("PhotometricInterpretation") != "MONOCHROME1":
        return False
    rescale_type = str(ds.get("RescaleType") or "US").upper()
    return str(ds.get("Modality", "")).upper() not in PHYSICAL_MODALITIES and rescale_type == "US"


def frame_rescales(ds: Dataset, frames: int, notes: Notices | None = None,
                   label: str = "") -> list[tuple[float, float]]:
    """``(slope, intercept)`` of each frame (identity when the file has none).

    A RescaleSlope of 0 gives slope 1 and, when ``notes`` is given, a
    :class:`~medinteract.errors.PixelValueWarning` note for ``label``.
    """
    source = getattr(ds, "filename", None)
    if str(ds.get("Modality", "")).upper() == "RTDOSE" and "DoseGridScaling" in ds:
        return [(_scale_factor(ds, "DoseGridScaling", 1.0, source), 0.0)] * frames
    rescales = [_rescale_of(_frame_attribute(ds, i, "PixelValueTransformationSequence") or ds,
                            source) for i in range(frames)]
    zero = [i for i, (slope, _) in enumerate(rescales) if slope == 0]
    if zero and notes is not None:
        where = "" if frames == 1 else f" in {len(zero)} of {frames} frames"
        notes.add(PixelValueWarning, label or Path(str(source)).name,
                  f"RescaleSlope is 0{where}, which would make every value equal "
                  "RescaleIntercept; slope 1 is used (values are stored + intercept)")
    return [(1.0 if slope == 0 else slope, intercept) for slope, intercept in rescales]


def _rescale_of(item: Dataset, source: Any) -> tuple[float, float]:
    return (_scale_factor(item, "RescaleSlope", 1.0, source),
            _scale_factor(item, "RescaleIntercept", 0.0, source))


def _scale_factor(item: Dataset, keyword: str, default: float, source: Any) -> float:
    """A number that turns stored values into physical ones: ``default`` when absent or
    empty, a LoadError when present but not a number (the values would be wrong)."""
    value = item.get(keyword)
    if value is None or value == "":
        return default
    number = _first_float(value)
    if number is None:
        raise LoadError(source if isinstance(source, (str, PathLike)) else None,
                        f"has a {keyword} that is not a number ({value!r}), so its physical "
                        "values are unknown", "the file is damaged; fix or drop the element")
    return number


def value_ranges(ds: Dataset, frames: int) -> list[tuple[float, float]]:
    """Lowest and highest physical value the stored bits can represent, per frame."""
    if ds.get("ModalityLUTSequence"):
        descriptor = ds.ModalityLUTSequence[0].LUTDescriptor
        entries, first = int(descriptor[0]) or 2**16, int(descriptor[1])
        table = pydicom.pixels.apply_modality_lut(np.arange(first, first + entries), ds)
        return [(float(np.min(table)), float(np.max(table)))] * frames
    bits = int(ds.get("BitsStored") or ds.get("BitsAllocated") or 16)
    signed = int(ds.get("PixelRepresentation") or 0) == 1
    low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    ranges = []
    for slope, intercept in frame_rescales(ds, frames):
        a, b = low * slope + intercept, high * slope + intercept
        ranges.append((min(a, b), max(a, b)))
    return ranges


# -- window -----------------------------------------------------------------------------------
def file_window(ds: Dataset) -> Window | None:
    """The window stored in the file (first value when multi-valued), in physical units.

    Looks at WindowCenter/WindowWidth, then the Frame VOI LUT functional group of the first
    frame. Returns None when the file has no usable window. For mirrored MONOCHROME1 images the
    centre is mirrored like the values.
    """
    source = ds if "WindowCenter" in ds else _frame_attribute(ds, 0, "FrameVOILUTSequence")
    if source is None:
        return None
    center = _first_float(source.get("WindowCenter"))
    width = _first_float(source.get("WindowWidth"))
    if center is None or width is None or not width > 0:
        return None
    if mirrors_monochrome1(ds):
        low, high = value_ranges(ds, 1)[0]
        center = low + high - center
    return Window(center, width)


# -- geometry ---------------------------------------------------------------------------------
def _frame_attribute(ds: Dataset, frame: int, sequence: str) -> Dataset | None:
    """Item of a functional-group macro for one frame (per-frame first, then shared)."""
    for groups, index in (("PerFrameFunctionalGroupsSequence", frame),
                          ("SharedFunctionalGroupsSequence", 0)):
        items = ds.get(groups)
        if items is None or len(items) <= index:
            continue
        macro = items[index].get(sequence)
        if macro is not None and len(macro):
            return macro[0]
    return None


_SPACING_KEYWORDS = ("PixelSpacing", "ImagerPixelSpacing", "NominalScannedPixelSpacing")


def pixel_spacing_of(item: Dataset, notes: Notices | None = None, label: str = "",
                     modality: str = "") -> tuple[float, float] | None:
    """(row, column) = (y, x) spacing in mm.

    PixelSpacing, else ImagerPixelSpacing, else NominalScannedPixelSpacing; None when none of
    them is usable (the caller then measures in pixels, 1.0 each).

    Parameters
    ----------
    item : Dataset
        A dataset or a Pixel Measures functional-group item.
    notes : Notices, optional
        Collects a :class:`~medinteract.errors.GeometryWarning` note, naming ``label``, for
        each of these attributes that is present but not two positive finite numbers, and for
        an image of a modality in :data:`SPACING_REQUIRED_MODALITIES` without any of them.
    label : str, optional
        The file or frame, for the notes.
    modality : str, optional
        The image's modality.
    """
    bad = []
    spacing = None
    for keyword in _SPACING_KEYWORDS:
        value = item.get(keyword)
        if value is None or value == "":
            continue
        values = _floats(value)
        if values is not None and len(values) == 2 and values[0] > 0 and values[1] > 0:
            spacing = (values[0], values[1])
            break
        bad.append(f"{keyword} {_shown(value)}")
    if notes is not None:
        fallback = (f"{_format(spacing)} mm from {keyword} is used" if spacing is not None else
                    "1.0 mm (pixel units) is assumed, so distances and areas are in pixels")
        if bad:
            notes.add(GeometryWarning, label,
                      f"{' and '.join(bad)} is not two positive numbers (row and column "
                      f"spacing in mm); {fallback}")
        elif spacing is None and modality.upper() in SPACING_REQUIRED_MODALITIES:
            notes.add(GeometryWarning, label,
                      f"has no PixelSpacing, which {modality} images must have; {fallback}")
    return spacing


def _shape_of(ds: Dataset) -> tuple[int, ...]:
    shape: tuple[int, ...] = (int(ds.get("Rows") or 0), int(ds.get("Columns") or 0))
    samples = int(ds.get("SamplesPerPixel") or 1)
    if samples > 1 or ds.get("PhotometricInterpretation") == "PALETTE COLOR":
        shape += (3 if samples == 1 else samples,)
    return shape


def image_position(value: Any, notes: Notices | None = None,
                   label: str = "") -> tuple[float, float, float] | None:
    """ImagePositionPatient as three floats; None when absent or unusable.

    An unusable value (not three finite numbers) adds a GeometryWarning note: the position is
    treated as unknown (a single image gets the origin (0, 0, 0); in a stack, slices without
    positions are ordered by InstanceNumber).
    """
    if value is None or value == "":
        return None
    position = _triple(value)
    if position is None and notes is not None:
        notes.add(GeometryWarning, label,
                  f"ImagePositionPatient {_shown(value)} is not three finite numbers; the "
                  "position is treated as unknown (origin (0, 0, 0); slices without a position "
                  "are ordered by InstanceNumber)")
    return position


def image_orientation(value: Any, notes: Notices | None = None,
                      label: str = "") -> tuple[float, ...] | None:
    """ImageOrientationPatient as six floats with orthonormal row and column directions.

    None when absent. A value that is not six finite numbers, or whose row or column direction
    is zero or parallel to the other (degenerate), is replaced by :data:`AXIAL_ORIENTATION`;
    directions that are not unit length or not perpendicular (beyond
    :data:`ORTHONORMAL_TOLERANCE`) are orthonormalised (the row direction is kept, the column
    direction made perpendicular to it). Each of these adds a GeometryWarning note.
    """
    if value is None or value == "":
        return None
    values = _floats(value)
    shown = _shown(value)
    if values is None or len(values) != 6:
        _note_orientation(notes, label, f"{shown} is not six finite numbers")
        return AXIAL_ORIENTATION
    row, col = np.asarray(values[:3]), np.asarray(values[3:])
    row_norm, col_norm = float(np.linalg.norm(row)), float(np.linalg.norm(col))
    if row_norm == 0 or col_norm == 0:
        _note_orientation(notes, label, f"{shown} has a zero direction")
        return AXIAL_ORIENTATION
    row, col = row / row_norm, col / col_norm
    if np.linalg.norm(np.cross(row, col)) < ORTHONORMAL_TOLERANCE:
        _note_orientation(notes, label, f"{shown} has parallel row and column directions")
        return AXIAL_ORIENTATION
    dot = float(row @ col)
    if max(abs(row_norm - 1), abs(col_norm - 1), abs(dot)) <= ORTHONORMAL_TOLERANCE:
        return tuple(values)
    col = col - dot * row
    col /= np.linalg.norm(col)
    fixed = tuple(float(v) for v in (*row, *col))
    if notes is not None:
        notes.add(GeometryWarning, label,
                  f"ImageOrientationPatient {shown} is not orthonormal (direction lengths "
                  f"{row_norm:.4g} and {col_norm:.4g}, cosine between them {dot:.4g}); the "
                  f"orthonormalised {_format(fixed)} is used")
    return fixed


def _note_orientation(notes: Notices | None, label: str, problem: str) -> None:
    if notes is not None:
        notes.add(GeometryWarning, label,
                  f"ImageOrientationPatient {problem}; the axial orientation "
                  f"{_format(AXIAL_ORIENTATION)} is assumed")


def file_placement(ds: Dataset, path: str | PathLike[str],
                   notes: Notices | None = None) -> SlicePlacement:
    """Where the (single) image of a classic DICOM file sits (problems go to ``notes``)."""
    label = Path(path).name
    return SlicePlacement(
        label=label,
        shape=_shape_of(ds),
        position=image_position(ds.get("ImagePositionPatient"), notes, label),
        orientation=image_orientation(ds.get("ImageOrientationPatient"), notes, label),
        pixel_spacing=pixel_spacing_of(ds, notes, label, str(ds.get("Modality") or "")),
        instance_number=_int(ds.get("InstanceNumber")),
    )


def frame_placements(ds: Dataset, path: str | PathLike[str],
                     notes: Notices | None = None) -> list[SlicePlacement]:
    """Where each frame of a multi-frame file sits (problems go to ``notes``).

    Enhanced files: Plane Position, Plane Orientation and Pixel Measures functional groups
    (per-frame, falling back to shared). Classic multi-frame files: ImagePositionPatient plus
    GridFrameOffsetVector (RT Dose) along the normal when present (offsets are taken relative
    to the first one, which PS3.3 C.8.8.3.2 allows to be absolute); otherwise only the first
    frame is placed (at ImagePositionPatient, so the origin is kept) and the frames keep their
    stored order. A GridFrameOffsetVector that does not give one finite number per frame adds a
    GeometryWarning note.
    """
    frames = number_of_frames(ds)
    name = Path(path).name
    shape = _shape_of(ds)
    modality = str(ds.get("Modality") or "")
    if "PerFrameFunctionalGroupsSequence" in ds or "SharedFunctionalGroupsSequence" in ds:
        placements = []
        for i in range(frames):
            label = f"{name} frame {i + 1}"
            position = _frame_attribute(ds, i, "PlanePositionSequence")
            plane = _frame_attribute(ds, i, "PlaneOrientationSequence")
            measures = _frame_attribute(ds, i, "PixelMeasuresSequence")
            placements.append(SlicePlacement(
                label=label,
                shape=shape,
                position=(image_position(position.get("ImagePositionPatient"), notes, label)
                          if position else None),
                orientation=image_orientation((plane or ds).get("ImageOrientationPatient"),
                                              notes, label),
                pixel_spacing=pixel_spacing_of(measures or ds, notes, label, modality),
                instance_number=i + 1,
            ))
        return placements
    base = file_placement(ds, path, notes)
    offsets = _grid_offsets(ds, frames, notes, name)
    positions: list[tuple[float, float, float] | None] = [base.position] + [None] * (frames - 1)
    orientation = base.orientation
    if base.position is not None and offsets is not None:
        orientation = orientation or AXIAL_ORIENTATION
        normal = slice_normal(orientation)
        positions = [_triple(tuple(np.asarray(base.position) + (o - offsets[0]) * normal))
                     for o in offsets]
    return [
        SlicePlacement(f"{name} frame {i + 1}", shape, positions[i],
                       orientation if positions[i] is not None else None,
                       base.pixel_spacing, i + 1)
        for i in range(frames)
    ]


def _grid_offsets(ds: Dataset, frames: int, notes: Notices | None,
                  label: str) -> list[float] | None:
    """GridFrameOffsetVector when it gives one finite number per frame, else None (noted)."""
    value = ds.get("GridFrameOffsetVector")
    if value is None or value == "":
        return None
    items = list(value) if isinstance(value, (MultiValue, list, tuple)) else [value]
    numbers = [_first_float(v) for v in items]
    if len(items) == frames and all(n is not None for n in numbers):
        return [float(n) for n in numbers]  # type: ignore[arg-type]
    if notes is not None:
        bad = [f"{items[i]!s} at frame {i + 1}" for i, n in enumerate(numbers) if n is None]
        problem = (f"has {'a non-finite entry' if len(bad) == 1 else 'non-finite entries'} "
                   f"({', '.join(bad[:4])})" if bad else
                   f"has {len(items)} entries for {frames} frames")
        spacing, source = fallback_slice_spacing(ds, with_source=True)
        notes.add(GeometryWarning, label,
                  f"GridFrameOffsetVector {problem}; the frames keep their stored order, the "
                  f"origin is ImagePositionPatient and the slice spacing is {spacing:g} mm "
                  f"({source})")
    return None


def fallback_slice_spacing(ds: Dataset, with_source: bool = False) -> Any:
    """Slice spacing when positions cannot tell: SpacingBetweenSlices, SliceThickness or 1.

    With ``with_source=True`` returns ``(spacing, where it came from)``.
    """
    for source in (ds, _frame_attribute(ds, 0, "PixelMeasuresSequence")):
        if source is None:
            continue
        for keyword in ("SpacingBetweenSlices", "SliceThickness"):
            value = _float(source.get(keyword), 0.0)
            if value > 0:
                return (value, f"from {keyword}") if with_source else value
    return (1.0, "assumed: no SpacingBetweenSlices or SliceThickness") if with_source else 1.0


# -- loading one file -------------------------------------------------------------------------
def load_dicom_file(path: str | PathLike[str]) -> Scan:
    """Load one DICOM file (single-frame or multi-frame) as a :class:`Scan`.

    A single-frame file gives a 2-D scan ``(y, x)``; a multi-frame file gives a volume
    ``(z, y, x)`` with frames ordered by position along the slice normal when the file says
    where they are (see :func:`medinteract.io.load` for all rules). Missing or invalid values
    replaced by a fallback are reported as warnings naming the file.
    """
    ds = read_dataset(path, force=True)
    raw = decode_frames(ds, path)
    notes = Notices()
    values = physical_frames(ds, raw, notes, Path(path).name)
    common: dict[str, Any] = dict(modality=str(ds.get("Modality") or "OT"),
                                  window=file_window(ds), metadata=metadata_table(ds),
                                  paths=(Path(path),), name=_name(ds, path),
                                  dtype=values.dtype)
    if values.shape[0] == 1:
        placement = (frame_placements(ds, path, notes)[0]
                     if "PerFrameFunctionalGroupsSequence" in ds
                     else file_placement(ds, path, notes))
        notes.issue(path, single=True)
        origin = placement.position or (0.0, 0.0, 0.0)
        return Scan(values[0], spacing=placement.pixel_spacing or (1.0, 1.0), origin=origin,
                    direction=direction_matrix(placement.orientation)[1:], **common)
    plan = plan_stack(frame_placements(ds, path, notes), path, unpositioned_note=None)
    notes.issue(path, single=True)
    warn_series(plan.warnings, path)
    spacing = (plan.slice_spacing or fallback_slice_spacing(ds), *(plan.pixel_spacing or (1, 1)))
    return Scan(values[plan.order], spacing=spacing, origin=plan.origin,
                direction=plan.direction, **common)


def _name(ds: Dataset, path: str | PathLike[str]) -> str:
    description = str(ds.get("SeriesDescription") or "").strip()
    return description or Path(path).name


# -- metadata ---------------------------------------------------------------------------------
def metadata_table(ds: Dataset) -> pd.DataFrame:
    """The elements of a dataset as a table with the columns ``tag, keyword, VR, value``.

    File meta elements (group 0002) come first. Pixel data is left out; sequences are summarised
    as ``"<sequence of N item(s)>"``, binary values as ``"<N bytes>"``; numbers stay numbers,
    multi-valued elements become tuples, everything else a readable string.
    """
    rows = [_row(element) for element in _elements(ds)]
    table = pd.DataFrame(rows, columns=list(METADATA_COLUMNS))
    return table.astype(object)


def _elements(ds: Dataset) -> Iterable[Any]:
    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        yield from meta
    for element in ds:
        if element.tag not in _PIXEL_TAGS:
            yield element


def _row(element: Any) -> tuple[str, str, str, object]:
    tag = f"({element.tag.group:04X},{element.tag.element:04X})"
    return (tag, element.keyword or "", str(element.VR), readable_value(element))


def readable_value(element: Any) -> object:
    """A display- and comparison-friendly value for one data element."""
    if element.VR == "SQ":
        n = len(element.value or [])
        return f"<sequence of {n} item{'s' if n != 1 else ''}>"
    value = element.value
    if value is None:
        return ""
    if element.VR == "AT":  # attribute tags: show as "(gggg,eeee)", not as a number
        tags = value if isinstance(value, (MultiValue, list, tuple)) else [value]
        text = [f"({int(t) >> 16:04X},{int(t) & 0xFFFF:04X})" for t in tags]
        return text[0] if len(text) == 1 else tuple(text)
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    if isinstance(value, (MultiValue, list, tuple)):
        return tuple(_scalar(v) for v in value)
    return _scalar(value)


def _scalar(value: Any) -> object:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, PersonName):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    return str(value)


# -- value parsing ----------------------------------------------------------------------------
def _float(value: Any, default: float) -> float:
    first = _first_float(value)
    return default if first is None else first


def _first_float(value: Any) -> float | None:
    if isinstance(value, (MultiValue, list, tuple)):
        value = value[0] if len(value) else None
    try:
        result = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return result if np.isfinite(result) else None


def _floats(value: Any) -> list[float] | None:
    if value is None:
        return None
    items: Sequence[Any] = value if isinstance(value, (MultiValue, list, tuple)) else [value]
    try:
        result = [float(v) for v in items]
    except (TypeError, ValueError):
        return None
    return result if result and all(np.isfinite(result)) else None


def _triple(value: Any) -> tuple[float, float, float] | None:
    values = _floats(value)
    if values is None or len(values) != 3:
        return None
    return (values[0], values[1], values[2])


def _shown(value: Any) -> str:
    """A header value as the file holds it, for messages: ``(0, 0.5)``, ``'abc'``."""
    if isinstance(value, (MultiValue, list, tuple)):
        return "(" + ", ".join(str(v) for v in value) + ")"
    return repr(str(value))


def _format(values: Iterable[float]) -> str:
    return "(" + ", ".join(f"{float(v):.6g}" for v in values) + ")"


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
