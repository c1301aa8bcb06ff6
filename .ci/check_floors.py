"""Check that the lowest-versions environment holds exactly the floors pyproject.toml declares.

Run with the lowest-versions venv's Python after ``uv pip install --resolution lowest-direct``.
A direct dependency installed above its declared floor means the floor cannot be installed
with the rest (it would be a floor nobody tests): raise it to the version named here.
"""

from __future__ import annotations

import sys
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

EXTRAS = ("test",)  # the extras installed in the lowest-versions environment


def declared_floors(pyproject: Path) -> dict[str, Version]:
    """Each direct requirement's ``>=`` floor (core dependencies and the extras above)."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    lines = list(project["dependencies"])
    for extra in EXTRAS:
        lines += project["optional-dependencies"][extra]
    floors: dict[str, Version] = {}
    for line in lines:
        requirement = Requirement(line)
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        for spec in requirement.specifier:
            if spec.operator == ">=":
                name = requirement.name.lower().replace("_", "-")
                floors[name] = max(floors.get(name, Version(spec.version)), Version(spec.version))
    return floors


def main() -> int:
    floors = declared_floors(Path(__file__).resolve().parents[1] / "pyproject.toml")
    problems = []
    for name, floor in sorted(floors.items()):
        try:
            installed = Version(version(name))
        except PackageNotFoundError:
            problems.append(f"{name}: declared >={floor} but not installed")
            continue
        if installed != floor:
            problems.append(f"{name}: declared >={floor}, lowest installable {installed}")
    for line in problems:
        print(line, file=sys.stderr)
    print(f"{len(floors) - len(problems)}/{len(floors)} floors installed exactly")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
