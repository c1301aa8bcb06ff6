"""DICOMweb against a real Orthanc (Debian's orthanc + orthanc-dicomweb) on 127.0.0.1.

One Orthanc per session (authentication on, see ``orthanc.py``) is filled over STOW-RS with a
phantom CT series and pydicom test files; every scan loaded from it over WADO-RS must equal the
scan loaded from the same files on disk. Without Orthanc these tests are skipped, unless
``MEDINTERACT_REQUIRE_ORTHANC=1`` (CI) makes them fail.
"""

from __future__ import annotations

import os
import socket
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import requests

import medinteract as mi
from medinteract.errors import DicomWebError
from medinteract.io import dicomweb
from medinteract.io.series import DICOM_TABLE_COLUMNS

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dicom_samples import dicom_file  # noqa: E402
from orthanc import (  # noqa: E402
    Orthanc,
    free_port,
    missing_parts,
    orthanc_required,
    running_orthanc,
)

#: pydicom test files put on the server next to the phantom: a CT slice, an MR slice, an
#: enhanced multi-frame MR and an RLE-compressed colour image (kept compressed on the way).
SAMPLE_FILES = ("CT_small.dcm", "MR_small.dcm", "emri_small.dcm", "SC_rgb_rle.dcm")
PHANTOM_SLICES = 12


def _skip_or_fail(reason: str) -> None:
    if orthanc_required():
        pytest.fail(f"{reason} (MEDINTERACT_REQUIRE_ORTHANC=1 forbids skipping)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def orthanc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Orthanc]:
    """One Orthanc for the session, holding the phantom series and the sample files."""
    reason = missing_parts()
    if reason:
        _skip_or_fail(reason)
    with running_orthanc(tmp_path_factory.mktemp("orthanc")) as server:
        yield server


@pytest.fixture(scope="session")
def originals(orthanc: Orthanc, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    """The files stored on the server, by name: ``phantom`` (a series) and each sample file."""
    folder = tmp_path_factory.mktemp("phantom")
    chest = mi.data.phantom(shape=(PHANTOM_SLICES, 64, 64), seed=3, n_nodules=1,
                            nodule_radius_mm=3.0)
    files = {"phantom": chest.write_dicom(folder / "chest")}
    files.update({name: [Path(dicom_file(name))] for name in SAMPLE_FILES})
    server = dicomweb.Server(orthanc.dicomweb_url, username=orthanc.username,
                             password=orthanc.password)
    for paths in files.values():
        assert dicomweb.store(server, paths, progress=False) == len(paths)
    return files


@pytest.fixture
def server(orthanc: Orthanc, originals: dict[str, list[Path]]) -> dicomweb.Server:
    return dicomweb.Server(orthanc.dicomweb_url, username=orthanc.username,
                           password=orthanc.password, timeout=20)


def _uids(path: Path) -> tuple[str, str]:
    import pydicom

    ds = pydicom.dcmread(path, stop_before_pixels=True)
    return str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID)


def assert_same_scan(remote: mi.Scan, local: mi.Scan) -> None:
    assert remote.array.dtype == local.array.dtype
    np.testing.assert_array_equal(remote.array, local.array)
    assert remote.spacing == local.spacing
    assert remote.origin == local.origin
    np.testing.assert_array_equal(remote.direction, local.direction)
    assert remote.modality == local.modality
    assert remote.window == local.window
    pd.testing.assert_frame_equal(remote.metadata, local.metadata)


# -- search -----------------------------------------------------------------------------------
def test_search_series_is_shaped_like_dicom_table(server, originals) -> None:
    table = dicomweb.search_series(server)
    assert list(table.columns) == [*DICOM_TABLE_COLUMNS, "StudyInstanceUID"]
    assert len(table) == 1 + len(SAMPLE_FILES)
    folder = originals["phantom"][0].parent
    local = mi.dicom_table(folder).iloc[0]
    remote = table.set_index("SeriesInstanceUID").loc[local["SeriesInstanceUID"]]
    for column in ("PatientName", "PatientID", "StudyDescription", "StudyDate", "SeriesNumber",
                   "SeriesDescription", "Modality", "Files"):
        assert remote[column] == local[column], column
    assert remote["Files"] == PHANTOM_SLICES
    assert remote["StudyInstanceUID"] == _uids(originals["phantom"][0])[0]
    # what a search cannot know is missing, not invented
    assert pd.isna(remote["Rows"]) and pd.isna(remote["SliceSpacing"])
    assert str(table["Files"].dtype) == "Int64"


def test_search_series_filters_by_dicom_keywords(server, originals) -> None:
    mr = dicomweb.search_series(server, Modality="MR")
    assert set(mr["Modality"]) == {"MR"} and len(mr) == 2
    study, series = _uids(originals["CT_small.dcm"][0])
    in_study = dicomweb.search_series(server, study_uid=study)
    assert series in set(in_study["SeriesInstanceUID"])
    assert set(in_study["StudyInstanceUID"]) == {study}
    assert len(dicomweb.search_series(server, limit=1)) == 1
    assert dicomweb.search_series(server, PatientID="nobody-has-this-id").empty
    with pytest.raises(ValueError, match="not keywords: \\['Modallity'\\]"):
        dicomweb.search_series(server, Modallity="CT")


def test_search_studies(server, originals) -> None:
    studies = dicomweb.search_studies(server)
    assert list(studies.columns) == list(dicomweb.STUDY_COLUMNS)
    study = _uids(originals["phantom"][0])[0]
    row = studies.set_index("StudyInstanceUID").loc[study]
    assert row["Series"] == 1 and row["Files"] == PHANTOM_SLICES
    assert "CT" in row["ModalitiesInStudy"]


# -- load -------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["phantom", *SAMPLE_FILES])
def test_loaded_series_equals_the_files_on_disk(server, originals, tmp_path, name) -> None:
    files = originals[name]
    study, series = _uids(files[0])
    with warnings.catch_warnings(record=True) as remote_warnings:
        warnings.simplefilter("always")
        remote = dicomweb.load_series(server, series, cache=tmp_path, progress=False)
    with warnings.catch_warnings(record=True) as local_warnings:
        warnings.simplefilter("always")
        local = mi.load(files[0].parent if name == "phantom" else files[0])
    assert_same_scan(remote, local)
    # the files' own problems (emri_small.dcm has no PixelSpacing) are told both ways
    assert [(w.category, str(w.message).split(": ", 1)[-1]) for w in remote_warnings] == [
        (w.category, str(w.message).split(": ", 1)[-1]) for w in local_warnings]
    assert remote.name == local.name or name != "phantom"
    folder = dicomweb.series_folder(study, series, tmp_path)
    assert all(path.parent == folder for path in remote.paths)
    assert len(remote.paths) == len(files)


def test_compressed_files_stay_as_stored(server, originals, tmp_path) -> None:
    import pydicom

    study, series = _uids(originals["SC_rgb_rle.dcm"][0])
    scan = dicomweb.load_series(server, series, study_uid=study, cache=tmp_path, progress=False)
    cached = pydicom.dcmread(scan.paths[0])
    original = pydicom.dcmread(originals["SC_rgb_rle.dcm"][0])
    assert cached.file_meta.TransferSyntaxUID == original.file_meta.TransferSyntaxUID
    assert cached.PixelData == original.PixelData


def test_cache_fetches_only_missing_files_and_leaves_no_temporary_files(
        server, originals, tmp_path) -> None:
    study, series = _uids(originals["phantom"][0])
    first = dicomweb.load_series(server, series, cache=tmp_path, progress=False)
    folder = dicomweb.series_folder(study, series, tmp_path)
    before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    assert len(before) == PHANTOM_SLICES
    lost = first.paths[5]
    lost.unlink()
    again = dicomweb.load_series(server, series, cache=tmp_path, progress=False)
    assert_same_scan(again, first)
    after = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    assert set(after) == set(before)
    changed = [name for name in after if after[name] != before[name]]
    assert changed == [lost.name]
    assert not [p for p in tmp_path.rglob(".tmp-*")]


def test_default_cache_folder_follows_the_environment(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv(dicomweb.CACHE_ENV, str(tmp_path / "cache"))
    assert dicomweb.cache_dir() == tmp_path / "cache"
    monkeypatch.delenv(dicomweb.CACHE_ENV)
    assert dicomweb.cache_dir().parts[-2:] == ("medinteract", "dicomweb")


def test_progress_bar_counts_files(server, originals, tmp_path, capsys) -> None:
    _, series = _uids(originals["phantom"][0])
    dicomweb.load_series(server, series, cache=tmp_path, progress=True)
    err = capsys.readouterr().err
    assert "DICOMweb series" in err and f"{PHANTOM_SLICES}/{PHANTOM_SLICES}" in err


def test_session_for_other_authentication(orthanc, originals) -> None:
    session = requests.Session()
    session.auth = (orthanc.username, orthanc.password)
    table = dicomweb.search_series(dicomweb.Server(orthanc.dicomweb_url, session=session))
    assert len(table) == 1 + len(SAMPLE_FILES)


# -- errors -----------------------------------------------------------------------------------
def test_bad_credentials(orthanc, originals) -> None:
    wrong = dicomweb.Server(orthanc.dicomweb_url, username=orthanc.username,
                            password="not-the-password")
    with pytest.raises(DicomWebError, match="rejected the credentials") as caught:
        dicomweb.search_series(wrong)
    assert caught.value.status == 401
    assert orthanc.dicomweb_url in str(caught.value)
    assert "not-the-password" not in str(caught.value)
    with pytest.raises(DicomWebError, match="rejected the credentials"):
        dicomweb.search_studies(dicomweb.Server(orthanc.dicomweb_url, token="made-up-token"))


def test_missing_credentials(orthanc) -> None:
    with pytest.raises(DicomWebError, match="requires authentication.*username="):
        dicomweb.search_series(orthanc.dicomweb_url)


def test_wrong_root_is_404_naming_the_url(orthanc) -> None:
    url = f"{orthanc.base_url}/no-dicom-web-here"
    server = dicomweb.Server(url, username=orthanc.username, password=orthanc.password)
    with pytest.raises(DicomWebError, match="HTTP 404") as caught:
        dicomweb.search_series(server)
    assert caught.value.status == 404 and url in str(caught.value)


def test_unknown_series(server, originals, tmp_path) -> None:
    with pytest.raises(DicomWebError, match="no series with SeriesInstanceUID 1.2.3.4"):
        dicomweb.load_series(server, "1.2.3.4", cache=tmp_path)
    study, _ = _uids(originals["phantom"][0])
    with pytest.raises(DicomWebError, match="no instances of this series") as caught:
        dicomweb.load_series(server, "1.2.3.4", study_uid=study, cache=tmp_path)
    assert f"/studies/{study}/series/1.2.3.4" in str(caught.value)
    assert not any(tmp_path.iterdir())


def test_refused_connection() -> None:
    url = f"http://127.0.0.1:{free_port()}/dicom-web"
    with pytest.raises(DicomWebError, match="could not connect.*connection refused") as caught:
        dicomweb.search_studies(url)
    assert url in str(caught.value) and caught.value.status is None


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A TCP port that accepts connections and never answers (a hung server)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/dicom-web"


def test_time_out(silent_server) -> None:
    with pytest.raises(DicomWebError, match="did not answer within 0.5 s") as caught:
        dicomweb.search_series(dicomweb.Server(silent_server, timeout=0.5))
    assert silent_server in str(caught.value)


def test_a_web_page_that_is_not_dicomweb(tmp_path) -> None:
    """A URL that serves something else (here a plain web server's file) is named as such."""
    import functools
    import http.server
    import threading

    (tmp_path / "studies").write_text("<html><body>a web page</body></html>")
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(tmp_path))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as web:
        threading.Thread(target=web.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{web.server_address[1]}"
        try:
            with pytest.raises(DicomWebError, match="not DICOM JSON.*DICOMweb root") as caught:
                dicomweb.search_studies(url)
        finally:
            web.shutdown()
    assert url in str(caught.value)


@pytest.mark.parametrize("options, message", [
    ({"url": "ftp://pacs/dicom-web"}, "starts with http"),
    ({"url": "http://me:secret@pacs/dicom-web"}, "not in the URL"),
    ({"url": "http://pacs", "username": "me"}, "both username= and password="),
    ({"url": "http://pacs", "username": "me", "password": "x", "token": "t"}, "not both"),
    ({"url": "http://pacs", "timeout": 0}, "positive number of seconds"),
])
def test_server_options_are_checked(options, message) -> None:
    with pytest.raises(ValueError, match=message):
        dicomweb.Server(**options)


def test_credentials_are_not_shown() -> None:
    shown = repr(dicomweb.Server("http://pacs/dicom-web", username="me", password="secret"))
    assert "secret" not in shown and "me" in shown
    assert "tok" not in repr(dicomweb.Server("http://pacs/dicom-web", token="tok"))


def test_uids_are_checked_before_they_name_files(tmp_path) -> None:
    with pytest.raises(ValueError, match="series_uid must be a DICOM UID"):
        dicomweb.load_series("http://127.0.0.1:9/dicom-web", "../../etc", cache=tmp_path)


# -- the tutorial section ---------------------------------------------------------------------
@pytest.mark.slow
def test_tutorial_section_loads_from_a_running_orthanc(tmp_path_factory) -> None:
    """Notebook 01's DICOMweb section, run against a local Orthanc without authentication
    (as Debian's orthanc package runs it), finds and loads the phantom without errors."""
    import nbformat
    from nbclient import NotebookClient

    reason = missing_parts()
    if reason:
        _skip_or_fail(reason)
    notebook = Path(__file__).resolve().parents[1] / "notebooks" / "01_loading_scans.ipynb"
    nb = nbformat.read(notebook, as_version=4)
    with running_orthanc(tmp_path_factory.mktemp("orthanc-open"),
                         authentication=False) as open_server:
        env = {"MEDINTERACT_DICOMWEB_URL": open_server.dicomweb_url,
               dicomweb.CACHE_ENV: str(tmp_path_factory.mktemp("cache"))}
        old = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            NotebookClient(nb, timeout=600, kernel_name="python3",
                           resources={"metadata": {"path": str(notebook.parent)}}).execute()
        finally:
            for key, value in old.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    text = "\n".join(str(output.get("text", "")) for cell in nb.cells
                     if cell.cell_type == "code" for output in cell.get("outputs", []))
    assert "loaded from the server equals the files on disk" in text
    assert "No DICOMweb server" not in text
