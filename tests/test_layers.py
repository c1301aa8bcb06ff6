"""Imports point downward only, and the lower layers stay light to import."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import medinteract

PACKAGE = Path(medinteract.__file__).parent

# layer -> the medinteract modules it may import (besides itself)
ALLOWED = {
    "scan": set(),
    "windowing": {"scan"},
    "errors": set(),
    "_atomic": set(),
    "_arrays": set(),
    "io": {"scan", "windowing", "errors", "_atomic"},
    "data": {"io", "scan", "windowing", "errors", "_atomic"},
    "params": {"scan", "errors"},
    "ops": {"scan", "windowing", "params", "errors", "_arrays"},
    "display": {"scan", "windowing", "params", "errors", "_arrays"},
}


def _layer_files(layer: str) -> list[Path]:
    folder = PACKAGE / layer
    return sorted(folder.rglob("*.py")) if folder.is_dir() else [PACKAGE / f"{layer}.py"]


def _imported_layers(path: Path) -> set[str]:
    layers = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                 else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level
                 else [])
        for name in names:
            parts = name.split(".")
            if parts[0] == "medinteract" and len(parts) > 1:
                layers.add(parts[1])
    return layers


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_point_downward(layer: str) -> None:
    for path in _layer_files(layer):
        upward = _imported_layers(path) - ALLOWED[layer] - {layer}
        assert not upward, f"{path.relative_to(PACKAGE)} imports {sorted(upward)}"


_PROBE = """
import json, sys
heavy = ["pandas", "ipywidgets", "matplotlib", "keras", "tensorflow", "dask", "jax"]
loaded = {}
for module in ["medinteract", "medinteract.io", "medinteract.params", "medinteract.ops"]:
    __import__(module)
    loaded[module] = [name for name in heavy if name in sys.modules]
print(json.dumps(loaded))
"""


def test_lower_layers_do_not_import_heavy_packages() -> None:
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True,
                         check=True).stdout
    loaded = json.loads(out.strip().splitlines()[-1])
    assert loaded["medinteract"] == []  # pandas too is imported on first use only
    assert set(loaded["medinteract.io"]) <= {"pandas"}
    assert "ipywidgets" not in loaded["medinteract.params"]  # widgets are made on first use
    assert "ipywidgets" not in loaded["medinteract.ops"]
