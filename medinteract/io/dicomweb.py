"""Scans from a PACS: search a DICOMweb server (QIDO-RS) and load a series (WADO-RS).

Hospital archives (Orthanc, dcm4chee, vendor PACS) and public ones such as the NCI Imaging Data
Commons speak DICOMweb, the HTTP face of DICOM. This module talks to them with
`dicomweb-client <https://dicomweb-client.readthedocs.io>`_:

- :func:`search_studies` and :func:`search_series` ask the server what it holds and answer with
  a pandas DataFrame (the series table has the columns of :func:`medinteract.io.dicom_table`,
  plus ``StudyInstanceUID``);
- :func:`load_series` retrieves the files of one series into a local cache and loads them as a
  :class:`~medinteract.Scan`, with exactly the rules (and the code) of :func:`medinteract.load`
  for a series folder: the scan equals the one loaded from the same files on disk;
- :func:`store` sends DICOM files to a server (STOW-RS), e.g. to fill a local test server;
- :class:`Server` holds the URL with the authentication and time-out to use.

Why functions taking a server, and not ``mi.load("dicomweb+http://...")``: a network source
needs options a file does not (credentials, a time-out, a cache folder, a progress bar), and
its failures are of another kind (refused connections, HTTP 401/404, time-outs). Keeping them
out of :func:`medinteract.load` keeps that function a pure file reader, keeps credentials out
of URLs (which end up in notebooks, logs and error messages) and mirrors the DICOMweb services
(search, retrieve, store) a user reads about in the standard and in dicomweb-client. What comes
back is the same: a plain :class:`~medinteract.Scan` and a table shaped like ``dicom_table``'s.

**Cache.** Each retrieved file is kept as ``<cache>/<StudyInstanceUID>/<SeriesInstanceUID>/
<SOPInstanceUID>.dcm`` (UIDs identify DICOM objects worldwide), written to a temporary name
and renamed into place, so an interrupted download never leaves half a file. Loading a series
again only fetches the files that are missing. The cache folder is
``$MEDINTERACT_DICOMWEB_CACHE`` or the operating system's cache folder for medinteract (e.g.
``~/.cache/medinteract/dicomweb``, as :mod:`pooch` chooses); ``cache=`` chooses another one.
The files are the server's own (any transfer syntax is accepted, so nothing is re-encoded);
delete the folder to remove them.

**Authentication.** ``Server(url, username=..., password=...)`` for HTTP basic
authentication, ``Server(url, token=...)`` for an OAuth 2 bearer token (e.g. Google Cloud
Healthcare: ``gcloud auth print-access-token``), ``Server(url, session=...)`` for anything else
(a :class:`requests.Session` configured with client certificates, a proxy or an auth plugin).
A plain URL string is accepted wherever a :class:`Server` is, for open servers.

Examples
--------
>>> from medinteract.io import dicomweb
>>> pacs = dicomweb.Server("http://127.0.0.1:8042/dicom-web", username="me", password="...")
>>> table = dicomweb.search_series(pacs, Modality="CT")  # doctest: +SKIP
>>> scan = dicomweb.load_series(pacs, table.SeriesInstanceUID[0])  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence
from urllib.parse import urlsplit, urlunsplit

from medinteract._atomic import atomic_path
from medinteract.errors import DicomWebError, LoadError
from medinteract.io.series import DICOM_TABLE_COLUMNS, load_series as _stack_series
from medinteract.io.series import series_from_files
from medinteract.scan import Scan

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import requests
    from dicomweb_client.api import DICOMwebClient
    from pydicom.dataset import Dataset

__all__ = [
    "Server",
    "search_studies",
    "search_series",
    "load_series",
    "store",
    "cache_dir",
    "series_folder",
    "CACHE_ENV",
    "STUDY_COLUMNS",
    "SERIES_COLUMNS",
    "DicomWebError",
]

#: Environment variable naming the cache folder of retrieved files.
CACHE_ENV = "MEDINTERACT_DICOMWEB_CACHE"

#: Columns of :func:`search_studies`.
STUDY_COLUMNS = (
    "PatientName", "PatientID", "StudyDate", "StudyDescription", "AccessionNumber",
    "ModalitiesInStudy", "Series", "Files", "StudyInstanceUID",
)
#: Columns of :func:`search_series`: those of :func:`medinteract.io.dicom_table` and the
#: StudyInstanceUID that retrieving the series needs.
SERIES_COLUMNS = (*DICOM_TABLE_COLUMNS, "StudyInstanceUID")

# Attributes asked for with ``includefield`` (servers return their default ones as well).
_STUDY_FIELDS = ("PatientName", "PatientID", "StudyDate", "StudyDescription", "AccessionNumber",
                 "ModalitiesInStudy", "NumberOfStudyRelatedSeries",
                 "NumberOfStudyRelatedInstances", "StudyInstanceUID")
_SERIES_FIELDS = ("PatientName", "PatientID", "StudyDate", "StudyDescription", "SeriesNumber",
                  "SeriesDescription", "Modality", "NumberOfSeriesRelatedInstances",
                  "SeriesInstanceUID", "StudyInstanceUID")
# Any transfer syntax: the server sends its files as stored (nothing re-encoded, nothing lost).
_AS_STORED = (("application/dicom", "*"),)
# A DICOM UID: digits and dots, at most 64 characters. Checked before a UID names a file.
_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")
# Files sent per STOW-RS request.
_STORE_BATCH = 16


@dataclass(frozen=True)
class Server:
    """A DICOMweb service and how to talk to it.

    Parameters
    ----------
    url : str
        The DICOMweb root, e.g. ``http://127.0.0.1:8042/dicom-web`` (Orthanc),
        ``https://pacs.example.org/dcm4chee-arc/aets/DCM4CHEE/rs`` (dcm4chee); the paths
        ``/studies``, ``/series`` and ``/instances`` are appended to it.
    username, password : str, optional
        HTTP basic authentication.
    token : str, optional
        An OAuth 2 bearer token, sent as ``Authorization: Bearer <token>``.
    session : requests.Session, optional
        A session configured for anything else (client certificates, proxies, an auth
        plugin); ``username``/``password``/``token`` are applied on top of it when given.
        dicomweb-client adds its headers to this session.
    timeout : float, optional
        Seconds to wait for the server to connect and to send each piece of an answer.

    Notes
    -----
    Credentials are never shown: not in the repr, not in error messages.
    """

    url: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    session: requests.Session | None = field(default=None, repr=False, compare=False)
    timeout: float = 30.0

    def __post_init__(self) -> None:
        parts = urlsplit(str(self.url))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"a DICOMweb URL starts with http:// or https:// and names a "
                             f"host, got {_public(str(self.url))!r}")
        if parts.username or parts.password:
            raise ValueError("put credentials in username=/password= (or token=), not in the "
                             "URL, where they would be shown in notebooks and messages")
        if self.token is not None and (self.username is not None or self.password is not None):
            raise ValueError("give either username=/password= (basic) or token= (bearer), "
                             "not both")
        if (self.username is None) != (self.password is None):
            raise ValueError("HTTP basic authentication needs both username= and password=")
        if not self.timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, got "
                             f"{self.timeout!r}")
        object.__setattr__(self, "url", str(self.url).rstrip("/"))

    @property
    def has_credentials(self) -> bool:
        """True when a username, a token or a session of one's own is given."""
        return self.username is not None or self.token is not None or self.session is not None

    def client(self) -> DICOMwebClient:
        """A :class:`dicomweb_client.DICOMwebClient` for this server."""
        import requests
        from dicomweb_client.api import DICOMwebClient

        session = self.session if self.session is not None else requests.Session()
        if self.username is not None:
            session.auth = (self.username, self.password or "")
        headers = {"Authorization": f"Bearer {self.token}"} if self.token is not None else None
        client = DICOMwebClient(self.url, session=session, headers=headers,
                                timeout=self.timeout)
        # fail at once on "server busy" answers instead of waiting through back-off retries
        client.set_http_retry_params(retry=False)
        return client


ServerLike = str | Server


def _as_server(server: ServerLike) -> Server:
    if isinstance(server, Server):
        return server
    if isinstance(server, str):
        return Server(server)
    raise TypeError(f"server must be a URL or a dicomweb.Server, got {type(server).__name__}")


# -- errors -----------------------------------------------------------------------------------
def _public(url: str | bytes | None) -> str:
    """A URL without any credentials in it (for messages)."""
    if isinstance(url, bytes):
        url = url.decode("utf-8", "replace")
    url = url or ""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


@contextlib.contextmanager
def _translated(server: Server, url: str) -> Iterator[None]:
    """Turn what requests and dicomweb-client raise into a :class:`DicomWebError`."""
    import requests
    from pydicom.errors import InvalidDicomError

    try:
        yield
    except DicomWebError:
        raise
    except requests.HTTPError as err:
        response = err.response
        where = _public(response.url if response is not None and response.url else url)
        status = response.status_code if response is not None else None
        raise _http_error(server, where, status,
                          response.reason if response is not None else "") from None
    except requests.Timeout as err:
        where = _public(err.request.url if err.request is not None else url)
        raise DicomWebError(where, f"the server did not answer within {server.timeout:g} s",
                            "check that the server is up, or give a longer timeout= to "
                            "dicomweb.Server") from None
    except requests.ConnectionError as err:
        where = _public(err.request.url if err.request is not None else url)
        raise DicomWebError(where, f"could not connect to the server ({_reason(err)})",
                            "check the URL and that the server is running and reachable "
                            "from this machine") from None
    except requests.JSONDecodeError:
        raise DicomWebError(_public(url), "the server's answer is not DICOM JSON",
                            "check that the URL is the server's DICOMweb root") from None
    except requests.RequestException as err:
        raise DicomWebError(_public(url), f"the request failed ({type(err).__name__}: "
                                          f"{err})") from None
    except (ValueError, InvalidDicomError) as err:  # dicomweb-client / pydicom on the answer
        raise DicomWebError(_public(url), f"the server's answer could not be read as DICOMweb "
                                          f"({type(err).__name__}: {err})",
                            "check that the URL is the server's DICOMweb root") from None


def _http_error(server: Server, url: str, status: int | None, reason: str) -> DicomWebError:
    label = f"HTTP {status}{f' {reason}' if reason else ''}"
    if status == 401:
        if server.has_credentials:
            return DicomWebError(url, f"the server rejected the credentials ({label})",
                                 "check username= and password= (or token=)", status=status)
        return DicomWebError(url, f"the server requires authentication ({label})",
                             "give username= and password=, or token=, to dicomweb.Server",
                             status=status)
    if status == 403:
        return DicomWebError(url, f"access is forbidden for these credentials ({label})",
                             "ask the server's administrator for access", status=status)
    if status == 404:
        return DicomWebError(url, f"not found on the server ({label})",
                             "check the DICOMweb root URL (e.g. http://host:8042/dicom-web for "
                             "Orthanc) and the UIDs", status=status)
    return DicomWebError(url, f"the server answered with an error ({label})", status=status)


def _reason(err: Exception) -> str:
    text = str(err)
    for known in ("Connection refused", "Name or service not known", "No route to host",
                  "Temporary failure in name resolution", "Network is unreachable"):
        if known in text:
            return known.lower()
    return type(err).__name__


# -- search (QIDO-RS) -------------------------------------------------------------------------
def search_studies(server: ServerLike, *, limit: int | None = None,
                   **filters: str) -> pd.DataFrame:
    """The studies a DICOMweb server holds (QIDO-RS), one row per study.

    Parameters
    ----------
    server : str or Server
        The DICOMweb root URL, or a :class:`Server` with credentials.
    limit : int, optional
        At most this many studies (default: all, fetched page by page).
    **filters : str
        Matching attributes by DICOM keyword, as QIDO-RS defines them: exact values,
        ``*``/``?`` wildcards for text (``PatientName="DOE^*"``), date ranges
        (``StudyDate="20240101-20241231"``), ``ModalitiesInStudy="CT"``.

    Returns
    -------
    DataFrame
        Columns :data:`STUDY_COLUMNS`; ``Series`` and ``Files`` are the numbers of series and
        instances in the study (missing when the server does not say).

    Raises
    ------
    DicomWebError
        The server cannot be reached, refuses the credentials, or answers with an error.
    """
    server = _as_server(server)
    found = _search(server, "studies", filters, _STUDY_FIELDS, limit=limit)
    rows = [{
        "PatientName": _text(item, "PatientName"),
        "PatientID": _text(item, "PatientID"),
        "StudyDate": _text(item, "StudyDate"),
        "StudyDescription": _text(item, "StudyDescription"),
        "AccessionNumber": _text(item, "AccessionNumber"),
        "ModalitiesInStudy": "\\".join(map(str, _values(item, "ModalitiesInStudy"))),
        "Series": _number(item, "NumberOfStudyRelatedSeries"),
        "Files": _number(item, "NumberOfStudyRelatedInstances"),
        "StudyInstanceUID": _text(item, "StudyInstanceUID"),
    } for item in found]
    return _table(rows, STUDY_COLUMNS, ("Series", "Files"))


def search_series(server: ServerLike, *, study_uid: str | None = None,
                  limit: int | None = None, **filters: str) -> pd.DataFrame:
    """The series a DICOMweb server holds (QIDO-RS), as a table like ``dicom_table``'s.

    Parameters
    ----------
    server : str or Server
        The DICOMweb root URL, or a :class:`Server` with credentials.
    study_uid : str, optional
        Only the series of this study.
    limit : int, optional
        At most this many series (default: all, fetched page by page).
    **filters : str
        Matching attributes by DICOM keyword (see :func:`search_studies`), e.g.
        ``Modality="CT"``, ``PatientID="LIDC-IDRI-0001"``, ``SeriesDescription="*lung*"``.

    Returns
    -------
    DataFrame
        Columns :data:`SERIES_COLUMNS`: those of :func:`medinteract.io.dicom_table` and
        ``StudyInstanceUID``. ``Files`` is the number of instances the server reports.
        Search results carry no image attributes, so ``Rows``, ``Columns``, ``Frames``,
        ``PixelSpacing`` and ``SliceSpacing`` are missing (NA/NaN) and ``Notes`` is empty:
        :func:`load_series` (or ``dicom_table`` of its cache folder) tells them.

    Raises
    ------
    DicomWebError
        The server cannot be reached, refuses the credentials, or answers with an error.

    Examples
    --------
    >>> from medinteract.io import dicomweb
    >>> dicomweb.search_series("http://127.0.0.1:8042/dicom-web", Modality="CT")  # doctest: +SKIP
    """
    server = _as_server(server)
    found = _search(server, "series", filters, _SERIES_FIELDS, limit=limit, study_uid=study_uid)
    rows = [{
        "PatientName": _text(item, "PatientName"),
        "PatientID": _text(item, "PatientID"),
        "StudyDescription": _text(item, "StudyDescription"),
        "StudyDate": _text(item, "StudyDate"),
        "SeriesNumber": _number(item, "SeriesNumber"),
        "SeriesDescription": _text(item, "SeriesDescription").strip(),
        "Modality": _text(item, "Modality") or "OT",
        "Rows": None,
        "Columns": None,
        "Files": _number(item, "NumberOfSeriesRelatedInstances"),
        "Frames": None,
        "PixelSpacing": None,
        "SliceSpacing": float("nan"),
        "Notes": "",
        "SeriesInstanceUID": _text(item, "SeriesInstanceUID"),
        "StudyInstanceUID": _text(item, "StudyInstanceUID") or (study_uid or ""),
    } for item in found]
    rows.sort(key=lambda r: (r["PatientID"], r["StudyDate"], r["StudyInstanceUID"],
                             r["SeriesNumber"] is None, r["SeriesNumber"] or 0,
                             r["SeriesDescription"], r["SeriesInstanceUID"]))
    return _table(rows, SERIES_COLUMNS, ("SeriesNumber", "Rows", "Columns", "Files", "Frames"))


def _search(server: Server, level: str, filters: dict[str, str], fields: Sequence[str], *,
            limit: int | None, study_uid: str | None = None) -> list[dict[str, Any]]:
    _check_keywords(filters)
    if study_uid is not None:
        _check_uid(study_uid, "study_uid")
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be a positive integer, got {limit!r}")
    client = server.client()
    options: dict[str, Any] = dict(fields=list(fields), search_filters=dict(filters) or None,
                                   limit=limit, get_remaining=limit is None)
    url = f"{server.url}/{level}"
    with _translated(server, url):
        if level == "studies":
            return client.search_for_studies(**options)
        return client.search_for_series(study_instance_uid=study_uid, **options)


def _check_keywords(filters: dict[str, str]) -> None:
    from pydicom.datadict import tag_for_keyword

    unknown = [k for k in filters if tag_for_keyword(k) is None]
    if unknown:
        raise ValueError(f"search filters are DICOM keywords (e.g. PatientID, Modality, "
                         f"StudyDate); not keywords: {unknown}")


def _values(item: dict[str, Any], keyword: str) -> list[Any]:
    from pydicom.datadict import tag_for_keyword

    tag = tag_for_keyword(keyword)
    element = item.get(f"{tag:08X}") if tag is not None else None
    return list((element or {}).get("Value") or [])


def _text(item: dict[str, Any], keyword: str) -> str:
    values = _values(item, keyword)
    if not values:
        return ""
    value = values[0]
    if isinstance(value, dict):  # PN: {"Alphabetic": "DOE^JOHN"}
        value = value.get("Alphabetic", "")
    return str(value)


def _number(item: dict[str, Any], keyword: str) -> int | None:
    try:
        return int(_values(item, keyword)[0])
    except (IndexError, TypeError, ValueError):
        return None


def _table(rows: list[dict[str, Any]], columns: Sequence[str],
           integers: Sequence[str]) -> pd.DataFrame:
    import pandas as pd

    table = pd.DataFrame(rows, columns=list(columns))
    floats = [c for c in columns if c == "SliceSpacing"]
    kinds = {c: "Int64" if c in integers else float if c in floats else object
             for c in columns}
    return table.astype(kinds)


# -- retrieve (WADO-RS) -----------------------------------------------------------------------
def cache_dir() -> Path:
    """The cache of retrieved files: ``$MEDINTERACT_DICOMWEB_CACHE`` or the OS cache folder.

    Returns
    -------
    Path
        E.g. ``~/.cache/medinteract/dicomweb`` on Linux (created when first written to).
    """
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured).expanduser()
    import pooch

    return Path(pooch.os_cache("medinteract")) / "dicomweb"


def series_folder(study_uid: str, series_uid: str,
                  cache: str | PathLike[str] | None = None) -> Path:
    """The cache folder holding the files of one series (whether retrieved yet or not)."""
    _check_uid(study_uid, "study_uid")
    _check_uid(series_uid, "series_uid")
    root = Path(cache).expanduser() if cache is not None else cache_dir()
    return root / study_uid / series_uid


def load_series(server: ServerLike, series_uid: str, *, study_uid: str | None = None,
                cache: str | PathLike[str] | None = None, progress: bool = True) -> Scan:
    """Retrieve one series (WADO-RS) and load it as a :class:`~medinteract.Scan`.

    The files are stored in the cache (see the module's notes) and then loaded with the very
    rules of :func:`medinteract.load` for a series folder: sorted along the slice normal,
    Hounsfield units, spacing from the slice positions, gaps and duplicates reported. The scan
    equals ``mi.load`` of the same files on disk, except that ``paths`` are the cached files.

    Parameters
    ----------
    server : str or Server
        The DICOMweb root URL, or a :class:`Server` with credentials.
    series_uid : str
        SeriesInstanceUID (the ``SeriesInstanceUID`` column of :func:`search_series`).
    study_uid : str, optional
        Its StudyInstanceUID; looked up on the server (one more request) when not given.
    cache : path-like, optional
        Cache folder (default :func:`cache_dir`). Files already there are not fetched again.
    progress : bool, optional
        Show a progress bar over the files (``tqdm.auto``: a widget in Jupyter).

    Returns
    -------
    Scan

    Raises
    ------
    DicomWebError
        The server cannot be reached, does not answer in time, refuses the credentials, does
        not hold the series (HTTP 404 or an empty answer), or sends fewer files than it lists.
    LoadError, SeriesError
        The files retrieved do not form a loadable series (as :func:`medinteract.load`).

    Warns
    -----
    SeriesWarning
        As :func:`medinteract.load`: gaps, duplicates, uneven spacing.
    """
    server = _as_server(server)
    _check_uid(series_uid, "series_uid")
    client = server.client()
    if study_uid is None:
        study_uid = _study_of(server, client, series_uid)
    folder = series_folder(study_uid, series_uid, cache)
    url = f"{server.url}/studies/{study_uid}/series/{series_uid}"
    with _translated(server, url):
        listed = client.search_for_instances(study_instance_uid=study_uid,
                                             series_instance_uid=series_uid,
                                             fields=["SOPInstanceUID"], get_remaining=True)
    sop_uids = list(dict.fromkeys(_text(item, "SOPInstanceUID") for item in listed))
    if not sop_uids:
        raise DicomWebError(url, "the server holds no instances of this series",
                            "check the UIDs with dicomweb.search_series()", status=404)
    for uid in sop_uids:
        _check_uid(uid, "SOPInstanceUID", url)
    paths = [folder / f"{uid}.dcm" for uid in sop_uids]
    missing = [uid for uid, path in zip(sop_uids, paths) if not path.is_file()]
    if missing:
        folder.mkdir(parents=True, exist_ok=True)
        _retrieve(server, client, study_uid, series_uid, missing, len(sop_uids), folder, url,
                  progress)
    return _stack_series(series_from_files(paths), series_uid, url, name=series_uid)


def _study_of(server: Server, client: DICOMwebClient, series_uid: str) -> str:
    url = f"{server.url}/series?SeriesInstanceUID={series_uid}"
    with _translated(server, url):
        found = client.search_for_series(search_filters={"SeriesInstanceUID": series_uid},
                                         fields=["StudyInstanceUID"])
    studies = sorted({_text(item, "StudyInstanceUID") for item in found} - {""})
    if not studies:
        raise DicomWebError(url, f"the server holds no series with SeriesInstanceUID "
                                 f"{series_uid}", "check the UID with dicomweb.search_series()",
                            status=404)
    if len(studies) > 1:
        raise DicomWebError(url, f"the series {series_uid} is listed in {len(studies)} "
                                 f"studies ({', '.join(studies)})", "give study_uid=")
    _check_uid(studies[0], "StudyInstanceUID", url)
    return studies[0]


def _retrieve(server: Server, client: DICOMwebClient, study_uid: str, series_uid: str,
              missing: list[str], total: int, folder: Path, url: str, progress: bool) -> None:
    """Fetch the missing instances into ``folder``: the whole series in one streamed request
    when none is cached, else instance by instance."""
    from tqdm.auto import tqdm

    wanted = set(missing)
    bar = tqdm(total=total, initial=total - len(missing), unit="file", disable=not progress,
               desc=f"DICOMweb series …{series_uid[-12:]}")
    try:
        with _translated(server, url):
            if len(missing) == total:
                datasets: Any = client.iter_series(study_uid, series_uid, media_types=_AS_STORED)
            else:
                datasets = (client.retrieve_instance(study_uid, series_uid, uid,
                                                     media_types=_AS_STORED) for uid in missing)
            for dataset in datasets:
                uid = str(dataset.get("SOPInstanceUID") or "")
                if uid not in wanted:
                    continue  # an instance stored after the listing: not part of this load
                _write_instance(dataset, folder / f"{uid}.dcm", url)
                wanted.discard(uid)
                bar.update(1)
    finally:
        bar.close()
    if wanted:
        raise DicomWebError(url, f"the server listed {total} instances but sent "
                                 f"{total - len(wanted)}; missing e.g. {sorted(wanted)[0]}",
                            "try again; the files received are kept in the cache")


def _write_instance(dataset: Dataset, path: Path, url: str) -> None:
    with atomic_path(path) as temporary:
        try:
            dataset.save_as(temporary, enforce_file_format=False)
        except Exception as err:
            raise DicomWebError(url, f"the server sent an instance that cannot be stored as "
                                     f"a DICOM file ({type(err).__name__}: {err})") from None


def _check_uid(uid: object, what: str, url: str | None = None) -> None:
    if isinstance(uid, str) and len(uid) <= 64 and _UID.match(uid):
        return
    problem = f"{what} must be a DICOM UID (digits and dots, at most 64 characters), " \
              f"got {uid!r}"
    if url is not None:
        raise DicomWebError(url, f"the server sent an invalid {problem[len(what) + 1:]}")
    raise ValueError(problem)


# -- store (STOW-RS) --------------------------------------------------------------------------
def store(server: ServerLike, files: str | PathLike[str] | Sequence[str | PathLike[str]], *,
          progress: bool = True) -> int:
    """Send DICOM files to a DICOMweb server (STOW-RS).

    Parameters
    ----------
    server : str or Server
        The DICOMweb root URL, or a :class:`Server` with credentials.
    files : path-like or sequence of path-like
        DICOM files, or a folder whose DICOM files (those with the ``DICM`` marker, searched
        recursively) are sent.
    progress : bool, optional
        Show a progress bar over the files.

    Returns
    -------
    int
        The number of files the server accepted (files it already held count as accepted).

    Raises
    ------
    LoadError
        A file cannot be read as DICOM.
    DicomWebError
        The server cannot be reached, refuses the credentials, or rejects a file.
    """
    from tqdm.auto import tqdm

    from medinteract.io.dicom import looks_like_dicom, read_dataset

    server = _as_server(server)
    if isinstance(files, (str, PathLike)) and Path(files).is_dir():
        paths = sorted(p for p in Path(files).rglob("*") if p.is_file() and looks_like_dicom(p))
        if not paths:
            raise LoadError(files, "holds no DICOM files to store")
    else:
        paths = [Path(files)] if isinstance(files, (str, PathLike)) else [Path(f) for f in files]
    client = server.client()
    url = f"{server.url}/studies"
    stored = 0
    with tqdm(total=len(paths), unit="file", disable=not progress, desc="DICOMweb store") as bar:
        for start in range(0, len(paths), _STORE_BATCH):
            batch = paths[start:start + _STORE_BATCH]
            datasets = [read_dataset(path, force=True) for path in batch]
            with _translated(server, url):
                answer = client.store_instances(datasets)
            failed = answer.get("FailedSOPSequence") if answer is not None else None
            if failed:
                reason = failed[0].get("FailureReason", "?")
                uid = failed[0].get("ReferencedSOPInstanceUID", "?")
                raise DicomWebError(url, f"the server rejected {len(failed)} of {len(batch)} "
                                         f"files, e.g. SOPInstanceUID {uid} (failure reason "
                                         f"{reason})")
            stored += len(batch)
            bar.update(len(batch))
    return stored
