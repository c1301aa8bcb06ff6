"""Binder builds the same stack as pyproject.toml: fail when the two drift apart."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"
BINDER_EXTRAS = ("itk", "decoders")


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
    project = _project()
    reqs = [Requirement(r) for r in project["dependencies"]]
    for extra in BINDER_EXTRAS:
        reqs += [Requirement(r) for r in project["optional-dependencies"][extra]]
    return reqs


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


def test_postbuild_installs_the_package_and_stops_on_error() -> None:
    script = (BINDER / "postBuild").read_text()
    assert re.search(r"^set -e", script, re.M)
    assert "pip install" in script and " -e ." in script


def test_readme_badge_opens_jupyterlab_on_a_notebook() -> None:
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"mybinder\.org/v2/gh/[^)\s]+urlpath=lab/tree/(notebooks/[\w.-]+\.ipynb)",
                      readme)
    assert match, "README.md needs a Binder badge with urlpath=lab/tree/notebooks/..."
    assert (ROOT / match.group(1)).exists()
