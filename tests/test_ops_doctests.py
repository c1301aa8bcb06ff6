"""The Examples sections of every ops module run as written (they are the user's first contact)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["", ".registry", "._util", ".denoise", ".preprocess", ".enhance", ".segment",
           ".morphology", ".measure", ".metrics"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"medinteract.ops{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0


@pytest.mark.parametrize("name", ["", ".kinds", ".signature", ".markers"])
def test_params_docstring_examples(name):
    module = importlib.import_module(f"medinteract.params{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0


def test_array_helpers_docstring_examples():
    module = importlib.import_module("medinteract._arrays")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
