"""The Examples sections of the learning layer run as written."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("name", ["datasets", "evaluate", "medmnist"])
def test_docstring_examples(name):
    module = importlib.import_module(f"medinteract.learn.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
