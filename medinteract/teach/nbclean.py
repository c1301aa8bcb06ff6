"""Keep notebooks clean: stored outputs only where nbval checks them, no machine noise.

The policy (documented in ``notebooks/README.md``):

- A code cell keeps its outputs only when nbval compares them: a ``# NBVAL_CHECK_OUTPUT``
  comment line in its source or the ``nbval-check-output`` tag (and no ``NBVAL_SKIP`` /
  ``NBVAL_IGNORE_OUTPUT`` marker). Every other cell is stored without outputs, so notebooks
  stay small, diffs stay readable, and nothing stale or machine-specific is committed.
- Execution counts are cleared, except on cells that keep outputs: nbval rejects stored output
  of a cell without one, so those are numbered by their position among the code cells.
- Cell metadata keeps only what authors set on purpose (``tags``, ``jupyter``,
  ``editable``, ``deletable``, ``slideshow``); execution timings and view state go.
- Notebook metadata keeps ``kernelspec`` (always the ``python3`` kernel),
  ``language_info`` without the machine's Python version, ``title`` and ``authors``; saved
  widget state goes (the outputs it belonged to are stripped).

Usage::

    python -m medinteract.teach.nbclean notebooks/          # clean in place
    python -m medinteract.teach.nbclean --check notebooks/  # list what is not clean; exit 1

Files are written atomically (a temporary file in the same folder, then ``os.replace``) and only
when something changes.
"""

from __future__ import annotations

import argparse
import copy
import os
import stat
import sys
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import nbformat

__all__ = ["KERNELSPEC", "is_checked", "clean_notebook", "clean_file", "find_notebooks", "main"]

#: The kernel every notebook runs on.
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
_CELL_METADATA = ("tags", "jupyter", "editable", "deletable", "slideshow")
_NOTEBOOK_METADATA = ("kernelspec", "language_info", "title", "authors")
# nbval's comment markers and their tag spellings ("NBVAL_CHECK_OUTPUT" -> "nbval-check-output")
_CHECK, _NO_CHECK = "NBVAL_CHECK_OUTPUT", ("NBVAL_IGNORE_OUTPUT", "NBVAL_SKIP")


def _markers(cell: Any) -> set[str]:
    source = cell.get("source", "")
    if isinstance(source, list):
        source = "".join(source)
    comments = {line.strip().lstrip("#").strip() for line in source.splitlines()
                if line.strip().startswith("#")}
    tags = {str(t).upper().replace("-", "_") for t in cell.get("metadata", {}).get("tags", [])}
    return comments | tags


def is_checked(cell: Any) -> bool:
    """True for a code cell whose outputs nbval compares (``# NBVAL_CHECK_OUTPUT``).

    Examples
    --------
    >>> from nbformat.v4 import new_code_cell
    >>> is_checked(new_code_cell("# NBVAL_CHECK_OUTPUT\\nprint(1)"))
    True
    >>> is_checked(new_code_cell("print(1)"))
    False
    """
    if cell.get("cell_type") != "code":
        return False
    markers = _markers(cell)
    return _CHECK in markers and not markers.intersection(_NO_CHECK)


def _clean_cell(cell: Any, position: int, changes: dict[str, int]) -> None:
    def note(what: str) -> None:
        changes[what] = changes.get(what, 0) + 1

    extra = set(cell.get("metadata", {})) - set(_CELL_METADATA)
    if extra:
        note("cells with metadata noise (" + ", ".join(sorted(extra)) + ")")
        for key in extra:
            del cell["metadata"][key]
    if cell["cell_type"] != "code":
        return
    if not is_checked(cell) and cell.get("outputs"):
        note("cells with outputs nbval does not check")
        cell["outputs"] = []
    # nbval rejects stored outputs of a cell without an execution count ("unrun reference
    # cell"), so a cell with kept outputs is numbered by its position among the code cells:
    # deterministic, whatever order the author ran the cells in.
    count = position if cell.get("outputs") else None
    if cell.get("execution_count") != count:
        note("cells with an execution count" if count is None
             else "checked cells not numbered by position")
        cell["execution_count"] = count
    for output in cell.get("outputs", []):
        if output.get("output_type") == "execute_result" and \
                output.get("execution_count") != count:
            note("outputs with a stale execution count")
            output["execution_count"] = count


def clean_notebook(nb: Any) -> tuple[Any, list[str]]:
    """A cleaned copy of a notebook and what was changed (empty when already clean).

    Parameters
    ----------
    nb : NotebookNode
        A notebook as read by :func:`nbformat.read` (version 4); not modified.

    Returns
    -------
    cleaned : NotebookNode
    changes : list of str
        One line per kind of change, with counts, e.g. ``"12 cells with outputs nbval does
        not check"``.
    """
    nb = copy.deepcopy(nb)
    changes: dict[str, int] = {}
    position = 0
    for cell in nb.cells:
        position += cell.get("cell_type") == "code"
        _clean_cell(cell, position, changes)
    messages = [f"{n} {what}" for what, n in changes.items()]
    meta = nb.metadata
    if "widgets" in meta:
        messages.append("saved widget state (metadata.widgets)")
    extra = sorted(set(meta) - set(_NOTEBOOK_METADATA))
    if set(extra) - {"widgets"}:
        messages.append("notebook metadata noise (" + ", ".join(k for k in extra
                                                                 if k != "widgets") + ")")
    for key in extra:
        del meta[key]
    if dict(meta.get("kernelspec", {})) != KERNELSPEC:
        messages.append(f"kernelspec {dict(meta.get('kernelspec', {}))} is not python3")
        meta["kernelspec"] = nbformat.from_dict(dict(KERNELSPEC))
    info = meta.get("language_info", {})
    if "version" in info:
        messages.append("language_info.version (the machine's Python version)")
        del info["version"]
    return nb, messages


def clean_file(path: str | os.PathLike[str], *, check: bool = False) -> list[str]:
    """Clean one notebook file in place (unless ``check``); return what was (or would be) changed.

    Raises
    ------
    nbformat.ValidationError, json.JSONDecodeError
        When the file is not a valid notebook.
    """
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    cleaned, changes = clean_notebook(nb)
    if not changes or check:
        return changes
    text = nbformat.writes(cleaned)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".ipynb.tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text if text.endswith("\n") else text + "\n")
        os.chmod(tmp, stat.S_IMODE(path.stat().st_mode))  # mkstemp creates files as 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return changes


def find_notebooks(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The ``.ipynb`` files given, and those under the folders given (checkpoints skipped)."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found += sorted(f for f in p.rglob("*.ipynb") if ".ipynb_checkpoints" not in f.parts)
        else:
            found.append(p)
    return found


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: clean notebooks in place, or ``--check`` and exit 1 when any is unclean."""
    parser = argparse.ArgumentParser(
        prog="python -m medinteract.teach.nbclean",
        description="Strip outputs nbval does not check, execution counts and metadata noise.")
    parser.add_argument("paths", nargs="+", help="notebooks or folders (searched recursively)")
    parser.add_argument("--check", action="store_true",
                        help="change nothing; list unclean notebooks and exit 1 if any")
    args = parser.parse_args(argv)
    dirty = 0
    for path in find_notebooks(args.paths):
        changes = clean_file(path, check=args.check)
        if changes:
            dirty += 1
            verb = "would clean" if args.check else "cleaned"
            print(f"{verb} {path}: " + "; ".join(changes))
    if args.check and dirty:
        print(f"{dirty} notebook(s) not clean; run: python -m medinteract.teach.nbclean "
              + " ".join(args.paths), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
