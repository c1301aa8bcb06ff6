"""A kernel started by a real Voila server knows it serves Voila (a browser), not a headless run.

Voila renders a notebook's outputs into the page it serves, so the page shows what the kernel
decided: the front end, and the note view3d gives instead of the interactive viewer.
"""

from __future__ import annotations

import html
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

pytest.importorskip("voila")
pytestmark = pytest.mark.slow

CELL = """\
import medinteract as mi
from medinteract.display import frontends
print("FRONTEND", frontends.detect_frontend().kind)
view = mi.view3d(mi.data.phantom(shape=(24, 96, 96), seed=0).scan)
print("NOTE", view.note)
print("STATUS", frontends.itkwidgets_status()[1])
"""


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_voila_kernel_is_a_browser_front_end(tmp_path: Path):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CELL)])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    nbformat.write(notebook, tmp_path / "frontend.ipynb")
    port = _free_port()
    log = (tmp_path / "voila.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "voila", "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
         "frontend.ipynb"], cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    try:
        page, deadline = "", time.monotonic() + 120
        while time.monotonic() < deadline and "STATUS" not in page:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=60) as response:
                    page = html.unescape(response.read().decode())
            except OSError:
                time.sleep(0.5)
        assert "STATUS" in page, (tmp_path / "voila.log").read_text()[-2000:]
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    found = dict(re.findall(r"(FRONTEND|NOTE|STATUS) ([^\n<\\]+)", page))
    assert found["FRONTEND"] == "voila"
    assert found["NOTE"] == found["STATUS"]
    assert "headless" not in found["NOTE"] and "without a browser" not in found["NOTE"]
    assert (found["NOTE"].startswith("Voila does not run itkwidgets' viewer")
            or "itkwidgets is not installed" in found["NOTE"])
