"""De-identify DICOM files: the Basic Application Level Confidentiality Profile.

:func:`anonymize` applies DICOM PS3.15 Annex E, Table E.1-1 ("Basic Profile" column, edition
2024b) to a file or to every DICOM file below a folder, at every nesting level:

=======  ======================================================================================
code     what happens here
=======  ======================================================================================
``X``    the element is removed
``Z``    the element is kept with a zero-length value (an empty sequence for sequences)
``D``    the value is replaced by a dummy of the same VR (``ANONYMOUS``, ``19000101``, 0, ...);
         a sequence keeps its items, de-identified (see below); Patient ID gets a pseudonym
         (see ``secret``)
``U``    the UID is replaced by a new one, consistently: within one call (and across calls with
         the same ``secret``) the same input UID always gives the same output UID, so a series
         stays one series and references between objects stay valid
=======  ======================================================================================

The table's conditional codes are resolved, as PS3.15 intends, by the Type the attribute has in
the file's IOD (its SOP class), at the place it occurs (top level, or inside a given sequence):

==========  ============================  ===========================  ==========================
code        Type 1 / 1C (value needed)    Type 2 / 2C (may be empty)   Type 3 / not in the IOD
==========  ============================  ===========================  ==========================
``Z/D``     ``D``                         ``Z``                        ``Z``
``X/Z``     ``D``                         ``Z``                        ``X``
``X/D``     ``D``                         ``D``                        ``X``
``X/Z/D``   ``D``                         ``Z``                        ``X``
``X/Z/U*``  keep, replace UIDs inside     ``Z``                        ``X``
==========  ============================  ===========================  ==========================

(An ``X/Z`` attribute is never Type 1 in the standard's own tables; should one be, a dummy keeps
the file valid.) Patient ID (``Z/D``) always gets a pseudonym, a dummy that keeps the patients of
a data set apart. When the removed references leave the Common Instance Reference module's
Referenced Series Sequence indexing nothing, it is removed too (its Type 1C condition no longer
holds). The Types come from ``medinteract/io/data/attribute_types.json``, generated from
the standard's module tables (see ``make_attribute_types.py`` beside it); files of a SOP class
the table does not know are treated as Type 3 throughout (the most removal).

Sequences: ``D`` keeps the items (a dummy "value" of a sequence is its de-identified items), with
the profile applied inside and, in addition, every free-text or name value the table does not
list (VR LT, ST, UT, PN) replaced by a dummy, so that no narrative text survives in kept SR
content. ``Z`` empties a sequence, except where the IOD requires items (Type 1), where it is kept
like ``D``.

In addition, as the profile requires:

- every private element (odd group) is removed, as are curve data (groups 50xx) and whole
  overlay groups (60xx: overlays may carry burned-in text), group-length elements and the file
  meta AE titles;
- every UID that is not a registered DICOM UID (SOP classes, transfer syntaxes, coding schemes)
  is replaced (``U``), including UIDs the table does not list;
- Patient Identity Removed is set to ``YES``, De-identification Method and its code sequence
  (DCM 113100, "Basic Application Confidentiality Profile") are added, and Longitudinal
  Temporal Information Modified is set to ``REMOVED``.

Pixel data is copied byte for byte. Text burned into the pixels cannot be removed here; files
whose Burned In Annotation is ``YES`` are flagged in the report with the action ``check``.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import secrets
import warnings
from dataclasses import dataclass, field
from importlib import resources
from os import PathLike
from pathlib import Path

import pandas as pd
from pydicom import dcmread
from pydicom.datadict import keyword_for_tag
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag, Tag
from pydicom.uid import UID_dictionary, generate_uid

from medinteract._atomic import atomic_path
from medinteract.errors import AnonymizeError
from medinteract.io.dicom import truncated_elements

__all__ = ["anonymize", "BASIC_PROFILE", "REPORT_COLUMNS", "PROFILES"]

#: Columns of the report returned by :func:`anonymize`.
REPORT_COLUMNS = ("file", "element", "tag", "keyword", "action", "note")

#: Supported profiles.
PROFILES = ("basic",)

_DEIDENTIFICATION_METHOD = "PS3.15 E.1 Basic Profile (medinteract)"
_MEDIA_DIRECTORY_STORAGE = "1.2.840.10008.1.3.10"

# Table E.1-1, Basic Profile column (PS3.15 2024b): "code: group,element ..." per line.
_TABLE_E11 = """
D: 0018,11BB 006A,0005 006A,0003 0044,0104 0400,0562 300C,0127 0400,0115 0012,0081 0012,0020
D: 0012,0010 0012,0040 0012,0042 0040,0512 0040,A730 0008,0107 0008,0106 0040,A121 0040,A120
D: 0018,9701 2100,0140 3010,002D 0400,0105 0068,6226 0042,0011 3010,0035 3010,0038 0018,9804
D: 0034,0002 0034,0001 0018,9074 0034,0007 0018,9151 0018,9623 0070,0001 0072,000A 003A,0314
D: 0068,6270 300A,0741 300A,0742 300A,0783 0400,0563 300A,0760 0040,1101 0040,A123 300A,0002
D: 3010,0054 300A,062A 300A,0619 300A,0623 300A,067C 0400,0565 300A,073A 0040,A13A 3008,0162
D: 3008,0164 3008,0166 3008,0168 0072,005E 0072,005F 0072,0061 0072,0063 0072,0066 0072,0068
D: 0072,0065 0072,006A 0072,006C 0072,006E 0072,006B 0072,006D 0072,0071 0072,0070 0018,936A
D: 0034,0005 0018,9369 300A,022C 300A,022E 0040,0551 3006,0002 0040,A122 3008,0024 3008,0025
D: 300A,0608 300A,0736 300A,0734 3010,0033 3010,0034 0040,A030 0040,A075 0040,A073 0040,A027
D: 0018,9371 0018,9367
Z: 0008,0050 0018,1203 0012,0060 0012,0021 0012,0030 0012,0031 0012,0050 3010,000F 3010,0017
Z: 0008,009C 3010,001B 0040,2017 3010,007F 0040,0513 0040,0562 3010,0043 0040,A082 0010,0030
Z: 0010,0010 0010,0040 0040,2016 3010,007B 3010,0081 3006,00A6 3006,0026 300A,0615 300A,0611
Z: 3010,005A 300A,067D 3010,005C 0008,0090 300E,0004 300E,0005 0400,0564 0040,0610 3006,0008
Z: 3006,0009 0008,0020 0020,0010 0008,0030 3010,007A 0040,A088
X: 0018,4000 0018,9424 0040,4035 0010,21B0 0040,A353 0038,0010 0038,0020 0008,1084 0008,1080
X: 0038,0021 0000,1000 0010,2110 006A,0006 0044,0004 4000,0010 0044,0105 0040,A078 300A,00C3
X: 300A,00DD 0010,1081 0014,407E 0014,407C 0016,004D 0018,1007 0400,0310 0012,0082 0012,0072
X: 0012,0071 0012,0051 0040,0310 0040,0280 300A,02EB 0040,3001 0008,009D 0050,001B 0040,051A
X: 0070,0086 0018,1042 0018,1043 0018,A002 0018,A003 0010,2150 2100,0040 2100,0050 0040,A307
X: 0038,0300 0008,0025 0008,0035 0040,A07C FFFC,FFFC 0040,A110 0018,1205 0018,1200 0018,1204
X: 0018,1012 0018,1202 0018,937F 0008,2111 0050,0020 0016,004B FFFA,FFFA 0038,0030 0038,0040
X: 0038,0032 300A,079A 4008,011A 4008,0119 300A,0016 3010,0037 3010,0036 300A,0676 0012,0087
X: 0012,0086 0010,2160 0040,4011 003A,032B 0040,A023 0040,A024 300A,0196 300A,0072 0020,9158
X: 0016,0076 0016,0075 0016,008C 0016,007B 0016,008D 0016,0088 0016,008A 0016,0089 0016,0086
X: 0016,0085 0016,0087 0016,0084 0016,0083 0016,008E 0016,0081 0016,0080 0016,0072 0016,0071
X: 0016,0074 0016,0073 0016,0082 0016,007A 0016,008B 0016,0078 0016,007D 0016,007C 0016,0079
X: 0016,0077 0016,007F 0016,007E 0016,0070 0018,1008 0018,1005 0040,E004 0040,4037 0040,4036
X: 0088,0200 0008,4000 0020,4000 0028,4000 0040,2400 4008,0300 0008,0015 0400,0600 0008,0081
X: 0008,1040 0008,1041 0010,1050 3010,0085 0040,1011 4008,0112 4008,0113 4008,0111 4008,010C
X: 4008,0115 4008,0200 4008,0202 4008,0100 4008,0101 4008,0102 4008,010B 4008,010A 4008,0108
X: 4008,0109 0018,0035 0018,0027 0040,2004 0040,2005 0038,0011 0038,0014 0012,0022 0012,0073
X: 0012,0032 0012,0041 0012,0043 0012,0055 0010,0021 0038,0061 0038,0064 0010,21D0 0016,004F
X: 0016,0050 0016,0051 0016,004E 0050,0021 0400,0404 0016,002B 0010,2000 0010,1090 0010,1080
X: 0400,0550 0020,3403 0020,3406 0020,3405 0020,3401 0018,937B 0008,1060 0040,1010 0008,1000
X: 0400,0552 0400,0551 0040,A192 0040,A033 0040,A193 0010,2180 0040,2010 0040,2011 0040,2008
X: 0040,2009 0400,0561 2100,0070 0012,0023 0010,1000 0010,1002 0010,1001 0008,0024 0008,0034
X: 0040,A07A 0010,4000 300A,0794 0038,0500 0040,1004 300A,0792 300A,078E 0010,1040 0010,1010
X: 0010,1005 0010,0032 0038,0400 0010,0050 0010,1060 0010,0101 0010,0102 0010,21F0 0010,1020
X: 0010,2155 0010,2154 0010,1030 0040,0243 0040,0254 0040,0250 0040,4051 0040,0251 0040,0253
X: 0040,0244 0040,4050 0040,0245 0040,0241 0040,4030 0040,0242 0040,4028 0008,1052 0008,1050
X: 0040,1102 0040,1104 0040,1103 4008,0114 0008,1062 0008,1048 0008,1049 0018,1004 3002,0123
X: 3002,0121 0040,0012 0010,21C0 300A,000E 0070,0082 0070,0083 3010,0061 0040,4052 0044,000B
X: 0008,1088 0020,0027 3006,004D 3006,002D 3006,0028 3006,0038 3006,004E 3006,002E 3006,0088
X: 3006,0085 300A,0004 300A,0003 0018,1078 0018,1072 0018,1079 0018,1073 300C,0113 0040,100A
X: 0032,1030 0032,1066 0032,1067 0040,2001 0040,1002 0074,1234 0400,0402 0038,0004 0010,1100
X: 0008,1120 0400,0403 0008,0096 0008,0092 0008,0094 0010,2152 0040,0275 0032,1070 0040,1400
X: 0040,1001 0040,1005 0018,9937 0074,1236 0032,1032 0032,1033 0018,9185 0010,2299 0010,2297
X: 4008,4000 4008,0118 4008,0040 4008,0042 0008,0054 0100,0420 0038,001A 0038,001B 0038,001C
X: 0038,001D 0040,4034 0038,001E 0040,000B 0040,0006 0040,0007 0040,0004 0040,0005 0040,4008
X: 0040,0009 0040,0011 0040,4010 0040,0002 0040,4005 0040,0003 0040,0001 0040,4027 0040,0010
X: 0040,4025 0032,1020 0032,1021 0032,1000 0032,1001 0032,1010 0032,1011 0008,103E 0038,0062
X: 0038,0060 300A,01B2 300A,01A6 0040,06FA 0010,21A0 300A,0216 0038,0050 0040,050A 0040,0602
X: 0040,0600 0008,0055 3006,0006 3006,0004 0032,1040 0032,1041 0032,4000 0032,1050 0032,1051
X: 0008,1030 0032,0012 0032,0034 0032,0035 0032,0032 0032,0033 0044,0010 0040,A354 0040,DB07
X: 0040,DB06 4000,4000 2030,0020 0040,A112 0018,1201 0018,1014 0008,0201 0088,0910 0088,0912
X: 0088,0906 0088,0904 0018,5011 300A,000B 0018,100A 0018,1009 0040,A352 0040,A358 0038,4000
X: 0018,9373 003A,0329
U: 0008,0017 0020,9161 3010,0006 3010,0013 0018,1002 0400,0100 0020,9164 300A,0013 3010,006E
U: 0008,0058 0070,031A 0020,0052 0008,0014 0008,3010 0028,1214 0018,100B 0002,0003 003A,0310
U: 0040,A402 0040,A171 0028,1199 300A,0650 0070,1101 0070,1102 0008,0019 3010,003B 3010,000B
U: 300A,0083 3010,006F 3010,0031 3006,0024 0040,4023 0040,A172 0008,1155 0004,1511 300A,0785
U: 3006,00C2 0000,1001 0008,0018 0020,000E 3010,0015 0064,0003 0040,0554 0088,0140 0020,000D
U: 0020,0200 0018,2042 0040,DB0D 0040,DB0C 0062,0021 0008,1195 300A,0609 300A,0700 0040,A124
Z/D: 0070,0084 0008,0023 0008,0033 0018,0010 0018,9919 0010,0020
X/Z: 0040,0555 0008,0022 0008,0032 2200,0005 2200,0002 0010,2203 0008,1110 0032,1060 300E,0008
X/Z: 3008,0105 300A,00B2
X/D: 0018,1400 0018,700C 0018,700A 0018,9517 3008,0054 0008,0012 3010,004D 3010,004C 3008,0056
X/D: 0040,A032 0008,1072 0018,1030 300A,0006 300A,0007 3010,0056 0008,0021 0008,0031 0018,9516
X/D: 0018,700E 3008,0250 3010,0077 3008,0251
X/Z/D: 0008,002A 0018,1000 0008,0013 0008,0082 0008,0080 0008,1070 0008,1111 0008,1010
X/Z/U*: 0008,1140 0008,2112
"""

#: Types that need a value, and Types that may be empty (PS3.5 7.4).
_REQUIRED_TYPES = ("1", "1C")
_EMPTY_TYPES = ("2", "2C")
#: VRs of free text and names: replaced by a dummy inside sequences kept for a ``D`` action.
_FREE_TEXT_VRS = ("LT", "ST", "UT", "PN")


def _resolve(code: str, kind: str | None, is_sequence: bool) -> str:
    """The action for a table code given the attribute's Type (None: Type 3 or not in the IOD).

    Returns ``X``, ``Z``, ``D``, ``U`` or ``K`` (keep; for a sequence: keep the items and apply
    the profile inside them).
    """
    required, may_be_empty = kind in _REQUIRED_TYPES, kind in _EMPTY_TYPES
    if code == "Z/D":
        action = "D" if required else "Z"
    elif code == "X/Z":
        action = "D" if required else "Z" if may_be_empty else "X"
    elif code == "X/D":
        action = "D" if required or may_be_empty else "X"
    elif code == "X/Z/D":
        action = "D" if required else "Z" if may_be_empty else "X"
    elif code == "X/Z/U*":
        action = "K" if required else "Z" if may_be_empty else "X"
    else:
        action = code
    if is_sequence and action == "Z" and required:
        return "D"  # the IOD needs items: keep them, de-identified
    return action


class _AttributeTypes:
    """The Types of :func:`_resolve`'s attributes per IOD (``data/attribute_types.json``)."""

    def __init__(self, table: dict) -> None:
        self._iods: dict[str, int] = table["sop_classes"]
        self._types: dict[str, list[tuple[str, frozenset[int]]]] = {
            key: [(kind, frozenset(_numbers(ranges))) for kind, ranges in kinds.items()]
            for key, kinds in table["types"].items()}

    def iod(self, sop_class_uid: object) -> int | None:
        """The IOD number of a SOP class, or None when unknown."""
        return self._iods.get(str(sop_class_uid or ""))

    def type_of(self, iod: int | None, parent: str, keyword: str) -> str | None:
        """Type of ``keyword`` at the top level (``parent=""``) or inside the sequence
        ``parent`` in IOD ``iod``; None for Type 3, not in the IOD, or an unknown IOD."""
        if iod is None:
            return None
        key = f"{parent}/{keyword}" if parent else keyword
        for kind, iods in self._types.get(key, ()):
            if iod in iods:
                return kind
        return None


def _numbers(ranges: str) -> list[int]:
    numbers: list[int] = []
    for part in ranges.split():
        first, _, last = part.partition("-")
        numbers.extend(range(int(first), int(last or first) + 1))
    return numbers


@functools.cache
def _attribute_types() -> _AttributeTypes:
    text = resources.files("medinteract.io").joinpath("data/attribute_types.json").read_text()
    return _AttributeTypes(json.loads(text))


def _parse_table(text: str) -> dict[BaseTag, str]:
    table: dict[BaseTag, str] = {}
    for line in text.strip().splitlines():
        code, tags = line.split(":", 1)
        for item in tags.split():
            group, element = item.split(",")
            table[Tag(int(group, 16), int(element, 16))] = code.strip()
    return table


#: Table E.1-1 as ``{tag: code}`` with the standard's codes (``"X/Z/D"`` etc.).
BASIC_PROFILE: dict[BaseTag, str] = _parse_table(_TABLE_E11)

_DUMMY_TEXT = "ANONYMOUS"
_DUMMY_BY_VR: dict[str, object] = {
    "DA": "19000101", "TM": "000000.00", "DT": "19000101000000.000000", "AS": "000D",
    "IS": "0", "DS": "0", "US": 0, "SS": 0, "UL": 0, "SL": 0, "UV": 0, "SV": 0, "FL": 0.0,
    "FD": 0.0, "AT": 0, "OB": b"", "OW": b"", "OF": b"", "OD": b"", "OL": b"", "OV": b"",
    "UN": b"", "UR": "", "CS": _DUMMY_TEXT,
}


@dataclass
class _Session:
    """State shared by all files of one call: the secret and the UID mapping."""

    secret: bytes
    uids: dict[str, str] = field(default_factory=dict)
    rows: list[tuple[str, str, str, str, str, str]] = field(default_factory=list)

    def new_uid(self, uid: str) -> str:
        if uid not in self.uids:
            self.uids[uid] = generate_uid(entropy_srcs=[self.secret.hex(), "uid", uid])
        return self.uids[uid]

    def pseudonym(self, value: str) -> str:
        digest = hmac.new(self.secret, value.encode("utf-8", "replace"), hashlib.sha256)
        return "ANON" + digest.hexdigest()[:12].upper()

    def record(self, file: str, element: str, tag: BaseTag | None, action: str,
               note: str = "") -> None:
        tag_text = "" if tag is None else f"({tag.group:04X},{tag.element:04X})"
        keyword = "" if tag is None else (keyword_for_tag(tag) or "")
        self.rows.append((file, element, tag_text, keyword, action, note))


def anonymize(
    src: str | PathLike[str],
    dst: str | PathLike[str],
    *,
    profile: str = "basic",
    secret: str | bytes | None = None,
    overwrite: bool = False,
) -> pd.DataFrame:
    """De-identify a DICOM file or every DICOM file below a folder.

    Parameters
    ----------
    src : path-like
        A DICOM file, or a folder searched recursively. Never written to.
    dst : path-like
        For a file: the output file (or an existing folder to write it into). For a folder: the
        output folder; each file keeps its path relative to ``src``. Must not be ``src``, lie
        inside ``src``, or contain ``src``.
    profile : {"basic"}, optional
        The confidentiality profile: PS3.15 Table E.1-1, Basic Profile (see module docs).
    secret : str or bytes, optional
        Key of the UID mapping and the Patient ID pseudonyms. With the same secret, the same
        input UID always maps to the same output UID (also across calls), so files anonymized
        later still join their series. By default a random secret is used: consistent within
        this call only, and impossible to reverse. Keep a chosen secret private.
    overwrite : bool, optional
        Replace existing output files (otherwise they are refused).

    Returns
    -------
    DataFrame
        The report: one row per change with the columns ``file`` (path relative to ``src``),
        ``element`` (its location, e.g. ``SourceImageSequence[0].ReferencedSOPInstanceUID``),
        ``tag``, ``keyword``, ``action`` (``X`` removed, ``Z`` emptied, ``D`` dummy value,
        ``U`` new UID, ``added``), and ``note``. Files that are not DICOM (or are a DICOMDIR)
        get one row with the action ``skipped``, as do truncated files (an element shorter
        than its declared length, or a sequence cut before its end: a copy would look whole);
        files with burned-in annotation get a row with the action ``check``. Original values
        are never included.

    Raises
    ------
    AnonymizeError
        If ``src`` does not exist, ``dst`` overlaps ``src``, an output file exists (without
        ``overwrite``), the profile is unknown, or a single ``src`` file is not DICOM.

    Notes
    -----
    File and folder names are kept as they are: rename them first if they carry identities.
    Symbolic links inside ``src`` are not followed (they are reported as skipped).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from pydicom.data import get_testdata_file
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "anon.dcm"
    >>> report = anonymize(get_testdata_file("CT_small.dcm", download=False), out)
    >>> "PatientName" in set(report["keyword"])
    True
    """
    if profile not in PROFILES:
        raise AnonymizeError(f"unknown profile {profile!r}; choose from {', '.join(PROFILES)}")
    source, target = Path(src), Path(dst)
    if not source.exists():
        raise AnonymizeError(f"{source}: no such file or folder")
    if source.is_file() and target.is_dir():
        target = target / source.name
    _refuse_overlap(source, target)
    key = secrets.token_bytes(32) if secret is None else (
        secret if isinstance(secret, bytes) else str(secret).encode())
    session = _Session(secret=key)

    if source.is_file():
        jobs = [(source, target, source.name)]
    else:
        jobs = [(path, target / path.relative_to(source), path.relative_to(source).as_posix())
                for path in _files_below(source)]
    if not overwrite:
        existing = [out for _, out, _ in jobs if out.exists()]
        if existing:
            raise AnonymizeError(f"{existing[0]}: output file exists (pass overwrite=True to "
                                 f"replace {len(existing)} existing file(s))")

    for path, out, label in jobs:
        if path.is_symlink() and not source.is_file():
            session.record(label, "", None, "skipped", "symbolic link not followed")
            continue
        dataset = _read(path, label, session, single=source.is_file())
        if dataset is None:
            continue
        _deidentify(dataset, label, session)
        _write_atomically(dataset, out, path)
    return pd.DataFrame(session.rows, columns=list(REPORT_COLUMNS))


# -- paths ----------------------------------------------------------------------------------
def _refuse_overlap(source: Path, target: Path) -> None:
    src, dst = source.resolve(), target.resolve()
    if src == dst:
        raise AnonymizeError(f"{target}: dst is the same as src; anonymize into a new location")
    if source.is_dir() and dst.is_relative_to(src):
        raise AnonymizeError(f"{target}: dst lies inside src {source}; choose a folder outside")
    if source.is_dir() and src.is_relative_to(dst):
        raise AnonymizeError(f"{target}: dst contains src {source}; choose a separate folder")


def _files_below(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() or p.is_symlink())


# -- reading and writing --------------------------------------------------------------------------
def _read(path: Path, label: str, session: _Session, single: bool) -> Dataset | None:
    """The dataset of a DICOM file, or None (reported as skipped) for anything else."""
    problem = None
    try:
        with open(path, "rb") as handle, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            dataset = _dcmread(handle)
            truncated = truncated_elements(dataset) or [
                str(w.message).split(" in file ")[0] for w in caught
                if "End of file reached" in str(w.message)]
            for _ in dataset.iterall():  # convert every element now: problems surface here
                pass
    except (InvalidDicomError, EOFError):
        problem = "not a DICOM file"
    except Exception as exc:  # noqa: BLE001 - any unreadable file is skipped and reported
        problem = f"unreadable DICOM ({type(exc).__name__})"
    else:
        sop_class = dataset.file_meta.get("MediaStorageSOPClassUID", "") if hasattr(
            dataset, "file_meta") else ""
        if truncated:  # a copy would look whole while missing what the file lost
            problem = f"truncated ({truncated[0]}); not copied"
        elif sop_class == _MEDIA_DIRECTORY_STORAGE or "DirectoryRecordSequence" in dataset:
            problem = "DICOMDIR (media directory) not copied; rebuild it from the output files"
        elif len(dataset) == 0:
            problem = "no data elements"
        else:
            return dataset
    if single:
        raise AnonymizeError(f"{path}: {problem}")
    session.record(label, "", None, "skipped", problem)
    return None


def _dcmread(handle) -> Dataset:
    """Read a DICOM file, also a bare dataset without preamble and file meta information."""
    try:
        return dcmread(handle)
    except InvalidDicomError:
        handle.seek(0)
        dataset = dcmread(handle, force=True)
        first = next(iter(dataset.keys()), None)
        if first is None or Tag(first).group not in (0x0008, 0x0002) or not any(
                keyword in dataset for keyword in ("SOPClassUID", "Modality", "PatientID")):
            raise
        return dataset


def _write_atomically(dataset: Dataset, out: Path, source: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        with atomic_path(out) as temporary, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dataset.save_as(temporary)
    except Exception as exc:
        raise AnonymizeError(f"{source}: could not write the anonymized copy "
                             f"({type(exc).__name__})") from None


# -- de-identification ----------------------------------------------------------------------------
@dataclass(frozen=True)
class _Context:
    """Where the elements being cleaned sit: the file's IOD, the enclosing sequence, and
    whether that sequence is kept for a ``D`` action (free text then gets dummies too)."""

    iod: int | None
    parent: str = ""
    in_dummy_sequence: bool = False


def _deidentify(dataset: Dataset, label: str, session: _Session) -> None:
    meta = getattr(dataset, "file_meta", None)
    if meta is not None:
        _clean_meta(meta, label, session)
    sop_class = dataset.get("SOPClassUID") or (meta.get("MediaStorageSOPClassUID")
                                               if meta is not None else None)
    _clean(dataset, label, "", session, _Context(_attribute_types().iod(sop_class)))
    _drop_stale_instance_references(dataset, label, session)
    if str(dataset.get("BurnedInAnnotation", "")).upper() == "YES":
        session.record(label, "BurnedInAnnotation", Tag(0x0028, 0x0301), "check",
                       "pixels may show identifying text; review them")
    _mark(dataset, label, session)


#: Common Instance Reference module: Type 1C, required only while the file references other
#: instances.
_INSTANCE_REFERENCE_INDEX = ("ReferencedSeriesSequence",
                             "StudiesContainingOtherReferencedInstancesSequence")


def _drop_stale_instance_references(dataset: Dataset, label: str, session: _Session) -> None:
    """Remove the Common Instance Reference index once the profile has removed every reference
    it indexed (its condition, "this instance references other instances", no longer holds)."""
    index = [keyword for keyword in _INSTANCE_REFERENCE_INDEX if keyword in dataset]
    if not index:
        return
    references = any(element.keyword == "ReferencedSOPInstanceUID"
                     for element in _elements_outside(dataset, set(index)))
    if references:
        return
    for keyword in index:
        tag = dataset[keyword].tag
        del dataset[keyword]
        session.record(label, keyword, tag, "X", "no instance references remain to index")


def _elements_outside(dataset: Dataset, skip: set[str]):
    for element in dataset:
        if element.keyword in skip:
            continue
        yield element
        if element.VR == "SQ":
            for item in element.value or ():
                yield from _elements_outside(item, skip)


def _clean_meta(meta: Dataset, label: str, session: _Session) -> None:
    for tag in list(meta.keys()):
        keyword = keyword_for_tag(tag)
        if keyword == "MediaStorageSOPInstanceUID" and meta[tag].value:
            meta[tag].value = session.new_uid(str(meta[tag].value))
            session.record(label, keyword, tag, "U")
        elif keyword in ("SourceApplicationEntityTitle", "SendingApplicationEntityTitle",
                         "ReceivingApplicationEntityTitle", "PrivateInformationCreatorUID",
                         "PrivateInformation", "SourcePresentationAddress",
                         "SendingPresentationAddress", "ReceivingPresentationAddress"):
            del meta[tag]
            session.record(label, keyword, tag, "X")


def _clean(dataset: Dataset, label: str, prefix: str, session: _Session,
           context: _Context) -> None:
    """Apply the profile to every element of ``dataset``, recursing into sequences."""
    for tag in list(dataset.keys()):
        tag = Tag(tag)
        element = dataset[tag]
        name = prefix + (element.keyword or f"({tag.group:04X},{tag.element:04X})")
        action = _action_for(tag, element, context)
        if element.VR == "UN" and action in ("D", "U"):
            action = "X"  # a value of unknown encoding cannot be replaced safely
        if action == "X":
            del dataset[tag]
            session.record(label, name, tag, "X")
        elif element.VR == "SQ":
            _clean_sequence(element, action, label, name, session, context)
        elif action == "Z":
            if not _is_empty(element.value):
                element.value = None
                session.record(label, name, tag, "Z")
        elif action == "D":
            element.value = _dummy(element, session)
            session.record(label, name, tag, "D")
        elif action == "T":  # free text inside a sequence kept for a D action
            if not _is_empty(element.value):
                element.value = _DUMMY_TEXT
                session.record(label, name, tag, "D", "free text in a de-identified sequence")
        elif element.VR == "UI" and not _is_empty(element.value) and (
                action == "U" or not _is_public_uid(element)):
            element.value = _map_uids(element.value, session)
            session.record(label, name, tag, "U")


def _clean_sequence(element: DataElement, action: str, label: str, name: str,
                    session: _Session, context: _Context) -> None:
    if action == "Z":
        if len(element.value):
            element.value = Sequence([])
            session.record(label, name, element.tag, action)
        return
    dummy = context.in_dummy_sequence or action == "D"
    if action == "D" and len(element.value):
        session.record(label, name, element.tag, "D", "items kept, de-identified")
    inner = _Context(context.iod, element.keyword or "", dummy)
    for index, item in enumerate(element.value):
        _clean(item, label, f"{name}[{index}].", session, inner)


def _action_for(tag: BaseTag, element: DataElement, context: _Context) -> str:
    """The action for an element: X, Z, D, U, T (dummy free text) or K (keep, then the
    generic rules)."""
    if tag.is_private or tag.element == 0x0000:
        return "X"  # private elements; group lengths (invalid once values change)
    if 0x5000 <= tag.group <= 0x50FF or 0x6000 <= tag.group <= 0x60FF:
        return "X"  # curve data; overlays (removed as whole groups)
    code = BASIC_PROFILE.get(tag)
    if code is None:
        return "T" if context.in_dummy_sequence and element.VR in _FREE_TEXT_VRS else "K"
    if element.keyword == "PatientID":
        return "D"  # Z/D: a pseudonym (a dummy the IOD always accepts) keeps patients apart
    kind = None
    if "/" in code or element.VR == "SQ":
        kind = _attribute_types().type_of(context.iod, context.parent, element.keyword or "")
    return _resolve(code, kind, element.VR == "SQ")


def _is_empty(value: object) -> bool:
    return value is None or (hasattr(value, "__len__") and len(value) == 0)  # type: ignore


def _is_public_uid(element: DataElement) -> bool:
    """True for UIDs that identify no one: classes, transfer syntaxes, registered UIDs."""
    keyword = element.keyword or ""
    if keyword.endswith(("ClassUID", "SyntaxUID")) or keyword == "CodingSchemeUID":
        return True
    values = element.value if element.VM > 1 else [element.value]
    return all(str(v) in UID_dictionary for v in values)


def _map_uids(value: object, session: _Session) -> object:
    if isinstance(value, (list, tuple)) or hasattr(value, "__iter__") and not isinstance(
            value, str):
        return [session.new_uid(str(v)) for v in value]  # type: ignore[union-attr]
    return session.new_uid(str(value))


def _dummy(element: DataElement, session: _Session) -> object:
    if element.keyword == "PatientID":
        return session.pseudonym(str(element.value or ""))
    if element.VR == "UI":
        return _map_uids(element.value, session) if not _is_empty(element.value) else None
    return _DUMMY_BY_VR.get(element.VR, _DUMMY_TEXT)


def _mark(dataset: Dataset, label: str, session: _Session) -> None:
    """Record the de-identification in the dataset (PS3.15 E.1.1)."""
    dataset.PatientIdentityRemoved = "YES"
    dataset.DeidentificationMethod = _DEIDENTIFICATION_METHOD
    code = Dataset()
    code.CodeValue = "113100"
    code.CodingSchemeDesignator = "DCM"
    code.CodeMeaning = "Basic Application Confidentiality Profile"
    dataset.DeidentificationMethodCodeSequence = Sequence([code])
    dataset.LongitudinalTemporalInformationModified = "REMOVED"
    for keyword in ("PatientIdentityRemoved", "DeidentificationMethod",
                    "DeidentificationMethodCodeSequence",
                    "LongitudinalTemporalInformationModified"):
        session.record(label, keyword, dataset[keyword].tag, "added")

