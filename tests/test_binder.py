"""Binder builds the same stack as pyproject.toml: fail when the two drift apart."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"
BINDER_EXTRAS = ("course",)


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _pins() -> dict[str, Version]:
    pins = {}
    for line in (BINDER / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, version = line.partition("==")
        assert sep, f"binder/requirements.txt: {line!r} is not pinned with =="
        pins[canonicalize_name(name)] = Version(version)
    return pins


def _binder_requirements() -> list[Requirement]:
    """The core dependencies and those of the Binder extras, self-references expanded."""
    project = _project()
    reqs = [Requirement(r) for r in project["dependencies"]]
    extras, seen = list(BINDER_EXTRAS), set()
    while extras:
        extra = extras.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for text in project["optional-dependencies"][extra]:
            req = Requirement(text)
            if canonicalize_name(req.name) == canonicalize_name(project["name"]):
                extras += sorted(req.extras)  # medinteract[itk,decoders] within [course]
            else:
                reqs.append(req)
    return reqs


def _header() -> dict[str, str]:
    lines = (BINDER / "requirements.txt").read_text().splitlines()
    header = " ".join(line for line in lines if line.startswith("#"))
    resolved = re.search(r"Resolved for Python (\d+)\.(\d+)\.(\d+)", header)
    floor = re.search(r"Needs Python >= ([\d.]+) \((.+?)\)", header)
    extras = re.search(r"extras: ([\w, ]+)\.", header)
    assert resolved and floor and extras, "binder/requirements.txt header: run `make binder`"
    return {"resolved": ".".join(resolved.groups()), "floor": floor.group(1),
            "extras": extras.group(1)}


@pytest.mark.parametrize("req", _binder_requirements(), ids=str)
def test_every_dependency_is_pinned_for_binder(req: Requirement) -> None:
    pins = _pins()
    name = canonicalize_name(req.name)
    assert name in pins, (
        f"pyproject.toml needs {req} but binder/requirements.txt lacks it: run `make binder`"
    )
    assert req.specifier.contains(pins[name], prereleases=True), (
        f"binder pins {req.name}=={pins[name]}, outside pyproject's {req}: run `make binder`"
    )


def test_binder_extras_cover_the_3d_view_and_the_decoders() -> None:
    names = {canonicalize_name(req.name) for req in _binder_requirements()}
    assert {"itkwidgets", "anywidget", "pylibjpeg", "notebook"} <= names
    assert not names & {"pytest", "playwright", "nbval", "hypothesis", "jax"}


def test_pins_were_resolved_for_the_runtime_python() -> None:
    """runtime.txt, the Python that resolved the pins and their floor agree.

    repo2docker installs the newest patch release of runtime.txt's X.Y (3.11.14 in its
    current lock file); CI builds with the newest X.Y it finds that meets the floor.
    """
    runtime = (BINDER / "runtime.txt").read_text().strip()
    assert re.fullmatch(r"python-3\.\d+", runtime), runtime
    header = _header()
    assert header["resolved"].rsplit(".", 1)[0] == runtime.removeprefix("python-")
    assert Version(header["floor"]) <= Version(header["resolved"])
    assert header["extras"] == ", ".join(BINDER_EXTRAS)
    assert SpecifierSet(_project()["requires-python"]).contains(header["resolved"])


def test_postbuild_installs_the_package_sets_up_lab_and_slims() -> None:
    script = (BINDER / "postBuild").read_text()
    assert re.search(r"^set -e", script, re.M)
    assert "pip install" in script and " -e ." in script
    assert "python binder/lab_settings.py" in script and "python binder/slim.py" in script
    assert os.access(BINDER / "postBuild", os.X_OK)


def test_lab_settings_turn_the_news_pop_up_off(tmp_path) -> None:
    sys.path.insert(0, str(BINDER))
    try:
        import lab_settings
    finally:
        sys.path.remove(str(BINDER))
    target = lab_settings.settings_dir(str(tmp_path)) / "overrides.json"
    target.parent.mkdir(parents=True)
    target.write_text(json.dumps({"@jupyterlab/apputils-extension:themes": {"theme": "x"}}))
    assert lab_settings.install(str(tmp_path)) == target
    merged = json.loads(target.read_text())
    assert merged["@jupyterlab/apputils-extension:notification"] == {
        "fetchNews": "false", "checkForUpdates": False}
    assert merged["@jupyterlab/apputils-extension:themes"] == {"theme": "x"}  # kept


def test_slim_removes_headers_and_test_suites_only(tmp_path) -> None:
    sys.path.insert(0, str(BINDER))
    try:
        import slim
    finally:
        sys.path.remove(str(BINDER))
    kept = ["tensorflow/python/platform/test.py", "tensorflow/_api/v2/test/__init__.py",
            "tensorflow/dtensor/python/tests/t.py", "keras/src/backend/tests/t.py",
            "tornado/test/t.py", "skimage/data/camera.png", "numpy/testing/__init__.py",
            "pkg-1.0.dist-info/RECORD"]
    removed = ["tensorflow/include/a.h", "pandas/tests/test_x.py", "pandas/tests/io/test_y.py",
               "scipy/stats/tests/t.py"]
    for name in kept + removed:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x" * 10)
    assert slim.slim(tmp_path, dry_run=True) == 40 and (tmp_path / "pandas/tests").exists()
    assert slim.slim(tmp_path) == 40
    left = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert left == sorted(kept)  # tf.test is an API module, TensorFlow and Keras stay whole


def test_make_lab_installs_the_course_and_make_test_the_test_extras() -> None:
    makefile = (ROOT / "Makefile").read_text()
    lab_recipe = makefile.split("$(LAB_STAMP):", 1)[1].split("\n\n", 1)[0]
    test_recipe = makefile.split("$(STAMP):", 1)[1].split("\n\n", 1)[0]
    assert "-e '.[course]'" in lab_recipe and "test" not in lab_recipe.split("-e", 1)[1]
    assert "lab_settings.py" in lab_recipe
    assert "-e '.[test,bench,dev]'" in test_recipe
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    dry_run = subprocess.run(["make", "--no-print-directory", "-n", "lab", "LAB_VENV=/nonexistent"],
                             cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout
    command = dry_run.strip().splitlines()[-1]
    assert command.startswith("/nonexistent/bin/jupyter lab --notebook-dir=notebooks")
    assert ("--allow-root" in command) == (os.getuid() == 0)


def test_readme_badge_opens_jupyterlab_on_a_notebook() -> None:
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"mybinder\.org/v2/gh/[^)\s]+urlpath=lab/tree/(notebooks/[\w.-]+\.ipynb)",
                      readme)
    assert match, "README.md needs a Binder badge with urlpath=lab/tree/notebooks/..."
    assert (ROOT / match.group(1)).exists()
