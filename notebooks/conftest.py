"""Notebooks under nbval run offline: real-data notebooks read synthetic MedMNIST fixtures.

Notebook 10 calls ``mi.learn.fetch_medmnist(...)``, which downloads the real files online
(Binder, a laptop). Here, before any kernel starts, :func:`medinteract.learn.medmnist_fixtures`
writes the fixtures in MedMNIST's exact layout and points ``MEDINTERACT_MEDMNIST_FIXTURES`` at
them; kernels inherit the environment, so the same cells run on the fixtures and nothing is
downloaded. A value already set (a folder of fixtures made by hand) is kept.
"""

from __future__ import annotations

from contextlib import ExitStack

from medinteract.learn.medmnist import medmnist_fixtures

_OFFLINE = ExitStack()


def pytest_configure(config):
    _OFFLINE.enter_context(medmnist_fixtures())


def pytest_unconfigure(config):
    _OFFLINE.close()
