"""The Binder environment as built: what is in it, and the class set-up served from it.

``.ci/binder`` builds the environment as repo2docker does and points
``MEDINTERACT_JUPYTER_PYTHON`` at it; it also sets ``MEDINTERACT_REQUIRE_BINDER=1`` so that
these tests fail instead of skipping when the environment is missing. ``tests/test_binder.py``
checks the files that describe it (pins, runtime, postBuild) without building anything.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PYTHON = os.environ.get("MEDINTERACT_JUPYTER_PYTHON", "")
# Not for a class: test runners, browsers drivers, benchmarks, linters, other Keras backends
# (scikit-learn is not here: medinteract.learn's evaluation uses it).
TEST_ONLY = ("pytest", "pytest-xdist", "hypothesis", "nbval", "playwright", "jax", "jaxlib",
             "stackview", "ipympl", "ruff", "mypy", "tensorflow", "nbgrader")

if not PYTHON:
    reason = "no Binder environment (.ci/binder builds one and sets MEDINTERACT_JUPYTER_PYTHON)"
    if os.environ.get("MEDINTERACT_REQUIRE_BINDER") == "1":
        raise RuntimeError(reason)
    pytest.skip(reason, allow_module_level=True)


def _in_binder(code: str, **env: str) -> str:
    done = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, check=True,
                          env={**os.environ, **env}, timeout=300)
    return done.stdout


def _installed() -> dict[str, str]:
    code = ("import json; from importlib import metadata; print(json.dumps({d.metadata['Name']: "
            "d.version for d in metadata.distributions()}))")
    return {canonicalize_name(name): version
            for name, version in json.loads(_in_binder(code)).items()}


def _pins() -> dict[str, str]:
    lines = (ROOT / "binder" / "requirements.txt").read_text().splitlines()
    return {canonicalize_name(name): version for name, _, version in
            (line.partition("==") for line in lines if line and not line.startswith("#"))}


def test_the_environment_is_exactly_the_pins_plus_medinteract():
    installed, pins = _installed(), _pins()
    assert {name: installed.get(name) for name in pins} == pins
    extra = set(installed) - set(pins) - {"medinteract", "pip"}
    assert not extra, f"installed but not pinned: {sorted(extra)}"


def test_nothing_test_only_and_no_duplicate_wheels():
    installed = _installed()
    assert not [name for name in TEST_ONLY if name in installed]
    assert "tensorflow-cpu" in installed  # one TensorFlow: the CPU wheel, not both


def test_the_course_extra_installs_all_it_needs():
    code = ("from medinteract.display import frontends; "
            "print(frontends.unmet_requirements('course'), frontends.unmet_requirements('itk'))")
    assert _in_binder(code).split() == ["[]", "[]"]


def test_headers_and_test_suites_are_gone():
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(_in_binder(code).strip())
    assert not (site / "tensorflow" / "include").exists()
    assert not (site / "pandas" / "tests").exists()
    assert (site / "skimage" / "data").is_dir()  # data the tutorials use stays


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


@pytest.mark.slow
def test_make_lab_runs_as_root_without_the_news_pop_up(tmp_path):
    """`make lab` with the Binder environment as its venv: installs [course], starts as root.

    The settings JupyterLab serves to the page (no user settings: a first run) turn the
    news question and the update check off.
    """
    venv = Path(PYTHON).parents[1]
    port, token = _free_port(), secrets.token_hex(8)
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces")}
    for name in ("JUPYTER_PATH", "MAKEFLAGS", "MFLAGS", "MAKELEVEL"):
        env.pop(name, None)
    args = (f"--no-browser --ServerApp.ip=127.0.0.1 --port={port} --ServerApp.port_retries=0 "
            f"--IdentityProvider.token={token}")
    log = (tmp_path / "make-lab.log").open("wb")
    make = subprocess.Popen(["make", "lab", f"LAB_VENV={venv}", f"LAB_ARGS={args}"], cwd=ROOT,
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and make.poll() is None:
            try:
                _get_json(f"{url}/api/status?token={token}")
                break
            except OSError:
                time.sleep(0.5)
        assert make.poll() is None, (tmp_path / "make-lab.log").read_text()[-3000:]
        settings = _get_json(f"{url}/lab/api/settings/@jupyterlab/apputils-extension:"
                             f"notification?token={token}")
        assert settings["settings"] == {}  # a first run: the user has set nothing
        defaults = {key: spec.get("default")  # JupyterLab folds overrides.json into these
                    for key, spec in settings["schema"]["properties"].items()}
        assert defaults["fetchNews"] == "false" and defaults["checkForUpdates"] is False
        if os.getuid() == 0:
            assert "--allow-root" in (tmp_path / "make-lab.log").read_text()
    finally:
        os.killpg(make.pid, signal.SIGTERM)
        make.wait(timeout=30)
        log.close()
    assert shutil.which("make")
    assert sys.executable != PYTHON  # the tests drive; the Binder environment serves
