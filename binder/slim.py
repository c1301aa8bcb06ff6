"""Remove from the Binder image what no course notebook runs: C/C++ headers and test suites.

TensorFlow installs 0.27 GB of C++ headers (for compiling custom ops) and the scientific stack
about 0.1 GB of its own test suites (``pandas/tests``, ``scipy/*/tests``, ...). A class never
uses them, and every megabyte of the image is pulled before a cold Binder launch starts.
``binder/postBuild`` runs this after installing; CI then runs every tutorial in the slimmed
environment, headless and in chromium, so a removal that mattered would fail there.

Run it with the environment's own Python; ``--dry-run`` only reports::

    python binder/slim.py [--dry-run]
"""

from __future__ import annotations

import argparse
import shutil
import sysconfig
from collections.abc import Iterator
from pathlib import Path

#: Folders, relative to site-packages, that hold only headers for building extensions.
HEADER_DIRS = ("tensorflow/include",)
#: The name of the folders that hold a package's own test suite. Not ``test``: TensorFlow's
#: public API has modules of that name (``tf.test``, ``tf.__internal__.test``).
TEST_DIR_NAME = "tests"
#: Packages left whole: the course imports deep into them, and their folder names are API.
KEEP_PACKAGES = frozenset({"tensorflow", "keras"})


def removable(site_packages: Path) -> Iterator[Path]:
    """The header folders and the test-suite folders inside installed packages."""
    for relative in HEADER_DIRS:
        if (site_packages / relative).is_dir():
            yield site_packages / relative
    for package in sorted(site_packages.iterdir()):
        if (not package.is_dir() or package.name in KEEP_PACKAGES
                or package.name.endswith((".dist-info", ".egg-info"))):
            continue
        for folder in sorted(package.rglob(TEST_DIR_NAME)):
            if folder.is_dir() and not any(p.name == TEST_DIR_NAME for p in folder.parents):
                yield folder


def folder_size(folder: Path) -> int:
    """Bytes in the files below ``folder``."""
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def slim(site_packages: Path, *, dry_run: bool = False) -> int:
    """Remove :func:`removable` folders; return the bytes freed (or that would be)."""
    freed = 0
    for folder in list(removable(site_packages)):
        freed += folder_size(folder)
        if not dry_run:
            shutil.rmtree(folder)
    return freed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="report, remove nothing")
    args = parser.parse_args(argv)
    site_packages = Path(sysconfig.get_paths()["purelib"])
    freed = slim(site_packages, dry_run=args.dry_run)
    verb = "would free" if args.dry_run else "freed"
    print(f"binder/slim.py: {verb} {freed / 1e6:.0f} MB of headers and test suites "
          f"in {site_packages}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
