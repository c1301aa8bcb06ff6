"""Notebooks under nbval run offline: real-data notebooks read synthetic MedMNIST fixtures.

Notebook 10 calls ``mi.learn.fetch_medmnist(...)``, which downloads the real files online
(Binder, a laptop). Here, before any kernel starts, the fixtures are written into a temporary
folder in MedMNIST's exact layout and ``MEDINTERACT_MEDMNIST_FIXTURES`` points at it; kernels
inherit the environment, so the same cells run on the fixtures and nothing is downloaded.
A value already set (a folder of fixtures made by hand) is kept.
"""

from __future__ import annotations

import os
import shutil
import tempfile

from medinteract.learn.medmnist import FIXTURE_ENV, MEDMNIST, write_medmnist_fixture

_CREATED: list[str] = []


def pytest_configure(config):
    if os.environ.get(FIXTURE_ENV):
        return
    folder = tempfile.mkdtemp(prefix="medinteract-medmnist-")
    for name in MEDMNIST:
        write_medmnist_fixture(folder, name)
    os.environ[FIXTURE_ENV] = folder
    _CREATED.append(folder)


def pytest_unconfigure(config):
    for folder in _CREATED:
        shutil.rmtree(folder, ignore_errors=True)
        if os.environ.get(FIXTURE_ENV) == folder:
            del os.environ[FIXTURE_ENV]
