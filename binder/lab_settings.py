"""Install JupyterLab's default settings for a class into the running Python's environment.

JupyterLab reads ``<prefix>/share/jupyter/lab/settings/overrides.json`` as its defaults; ours
(``binder/overrides.json``) turn off the first-run "get notified about Jupyter news?" pop-up and
the update check, which a class does not need. ``binder/postBuild`` (Binder, repo2docker
images) and ``make lab`` run it with the environment's own Python::

    python binder/lab_settings.py
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

SOURCE = Path(__file__).resolve().with_name("overrides.json")


def settings_dir(prefix: str = sys.prefix) -> Path:
    """Where JupyterLab looks for ``overrides.json`` in the environment at ``prefix``."""
    return Path(prefix) / "share" / "jupyter" / "lab" / "settings"


def install(prefix: str = sys.prefix) -> Path:
    """Merge ``binder/overrides.json`` into the environment's overrides; return the file."""
    target = settings_dir(prefix) / "overrides.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    merged = json.loads(target.read_text()) if target.exists() else {}
    for plugin, values in json.loads(SOURCE.read_text()).items():
        merged.setdefault(plugin, {}).update(values)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps(merged, indent=2) + "\n")
    os.replace(tmp, target)
    return target


if __name__ == "__main__":
    print(f"wrote {install()}")
