"""A real Orthanc with its DICOMweb plugin, started on 127.0.0.1 for the DICOMweb tests.

Debian's ``orthanc`` and ``orthanc-dicomweb`` packages provide the server and the plugin
(``.ci/run`` installs them). :func:`running_orthanc` writes a configuration of its own into a
folder (storage and index there, the DICOM network port off, HTTP on a free port, remote access
refused, authentication on with one user), starts ``Orthanc`` and waits until its DICOMweb root
answers. Without Orthanc the tests are skipped, unless ``MEDINTERACT_REQUIRE_ORTHANC=1`` is set
(CI sets it); then they fail.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import requests

#: Where Debian's orthanc-dicomweb package puts the plugin.
PLUGIN_FOLDER = Path("/usr/share/orthanc/plugins")
PLUGIN = PLUGIN_FOLDER / "libOrthancDicomWeb.so"
USERNAME = "medinteract"
PASSWORD = "test-password-1"
START_TIMEOUT_S = 60


def orthanc_required() -> bool:
    """True when ``MEDINTERACT_REQUIRE_ORTHANC=1``: a missing Orthanc fails instead of skips."""
    return os.environ.get("MEDINTERACT_REQUIRE_ORTHANC", "") == "1"


def orthanc_executable() -> str | None:
    """The Orthanc program (``/usr/sbin/Orthanc`` on Debian), or None."""
    return shutil.which("Orthanc") or shutil.which("Orthanc", path="/usr/sbin:/usr/bin")


def missing_parts() -> str:
    """Why Orthanc cannot be started here ("" when it can)."""
    if orthanc_executable() is None:
        return "Orthanc is not installed (apt-get install orthanc orthanc-dicomweb)"
    if not PLUGIN.is_file():
        return f"{PLUGIN} not found (apt-get install orthanc-dicomweb)"
    return ""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Orthanc:
    """A running Orthanc: its URLs and the credentials of its one user."""

    port: int
    folder: Path
    username: str = USERNAME
    password: str = PASSWORD

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def dicomweb_url(self) -> str:
        return f"{self.base_url}/dicom-web"

    def log(self) -> str:
        """The end of Orthanc's log (for failure messages)."""
        try:
            return (self.folder / "orthanc.log").read_text(errors="replace")[-3000:]
        except OSError:
            return ""


def _config(folder: Path, port: int, authentication: bool) -> dict:
    return {
        "Name": "medinteract-tests",
        "StorageDirectory": str(folder / "storage"),
        "IndexDirectory": str(folder / "index"),
        "HttpPort": port,
        "DicomServerEnabled": False,
        "RemoteAccessAllowed": False,  # only 127.0.0.1 may connect
        "AuthenticationEnabled": authentication,
        "RegisteredUsers": {USERNAME: PASSWORD},
        "HttpDescribeErrors": True,
        "SaveJobs": False,
        "ConcurrentJobs": 1,
        "HttpThreadsCount": 8,
        "Plugins": [str(PLUGIN)],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "EnableWado": False,
                     "Host": "127.0.0.1", "Ssl": False},
    }


@contextlib.contextmanager
def running_orthanc(folder: Path, *, authentication: bool = True) -> Iterator[Orthanc]:
    """Start Orthanc with a configuration of its own in ``folder``; stop it on exit.

    With ``authentication=False`` it runs as Debian's orthanc package does by default (no
    credentials, connections from this machine only).

    Raises
    ------
    RuntimeError
        Orthanc did not start, or its DICOMweb root did not answer within
        :data:`START_TIMEOUT_S` seconds (the message holds the end of its log).
    """
    executable = orthanc_executable()
    if executable is None:
        raise RuntimeError(missing_parts())
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = folder / "orthanc.json"
    config.write_text(json.dumps(_config(folder, port, authentication), indent=2))
    server = Orthanc(port=port, folder=folder)
    with open(folder / "orthanc.log", "wb") as log:
        process = subprocess.Popen([executable, str(config)], stdout=log,
                                   stderr=subprocess.STDOUT, cwd=folder)
    try:
        _wait_until_ready(server, process)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:  # pragma: no cover
            process.kill()
            process.wait()


def _wait_until_ready(server: Orthanc, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    url = f"{server.dicomweb_url}/studies"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Orthanc exited with code {process.returncode}:\n{server.log()}")
        try:
            answer = requests.get(url, auth=(server.username, server.password), timeout=2)
            if answer.status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"Orthanc's DICOMweb root {url} did not answer within "
                       f"{START_TIMEOUT_S} s:\n{server.log()}")
