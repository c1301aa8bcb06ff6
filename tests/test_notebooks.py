"""Notebook hygiene, without executing anything (nbval runs the notebooks separately).

For every ``notebooks/**/*.ipynb``: valid nbformat, the python3 kernel, no stored error output,
no machine paths, and clean per :mod:`medinteract.teach.nbclean` (outputs stored only in cells
nbval checks, no execution counts, timings or widget state). Cells nbval checks must carry
their stored output. Tutorials ship their exercises unsolved and are listed in the index.
The cleaner itself is tested on small notebooks built here.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from medinteract.teach import nbclean

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = nbclean.find_notebooks([NOTEBOOK_DIR])
TUTORIALS = [p for p in NOTEBOOKS if p.parent == NOTEBOOK_DIR]
MACHINE_PATH = re.compile(r"/(?:work|tmp|root|home)/|[A-Za-z]:\\\\Users\\\\")
FIX = "run `python -m medinteract.teach.nbclean notebooks/`"


def _params(paths: list[Path]) -> list:
    return [pytest.param(p, id=str(p.relative_to(NOTEBOOK_DIR))) for p in paths]


def _read(path: Path):
    return nbformat.read(path, as_version=4)


def test_there_are_notebooks():
    assert (NOTEBOOK_DIR / "00_start_here.ipynb") in NOTEBOOKS


@pytest.mark.parametrize("path", _params(NOTEBOOKS))
def test_valid_nbformat_and_python3_kernel(path: Path):
    nb = _read(path)
    nbformat.validate(nb)
    assert nb.nbformat == 4
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"


@pytest.mark.parametrize("path", _params(NOTEBOOKS))
def test_no_stored_error_output(path: Path):
    for i, cell in enumerate(_read(path).cells):
        for output in cell.get("outputs", []):
            assert output.output_type != "error", (
                f"cell {i} stores an error: {output.get('ename')}: {output.get('evalue')}")


@pytest.mark.parametrize("path", _params(NOTEBOOKS))
def test_no_machine_paths(path: Path):
    hits = sorted({m.group(0) for m in MACHINE_PATH.finditer(path.read_text(encoding="utf-8"))})
    assert not hits, f"machine-specific paths in sources or outputs: {hits}"


@pytest.mark.parametrize("path", _params(NOTEBOOKS))
def test_clean_per_nbclean(path: Path):
    _, changes = nbclean.clean_notebook(_read(path))
    assert not changes, f"{path.name} is not clean ({'; '.join(changes)}); {FIX}"


@pytest.mark.parametrize("path", _params(NOTEBOOKS))
def test_checked_cells_store_their_output(path: Path):
    for i, cell in enumerate(_read(path).cells):
        if nbclean.is_checked(cell):
            assert cell.outputs, (f"cell {i} is marked NBVAL_CHECK_OUTPUT but stores no output:"
                                  " execute the notebook (nbclient) before committing it")


@pytest.mark.parametrize("path", _params(TUTORIALS))
def test_tutorial_exercises_ship_unsolved(path: Path):
    """An exercise cell is tagged ``exercise`` and still holds the placeholder ``...``."""
    for i, cell in enumerate(_read(path).cells):
        if cell.cell_type != "code" or "teach.check(" not in cell.source:
            continue
        assert "exercise" in cell.metadata.get("tags", []), f"cell {i}: tag it `exercise`"
        assert re.search(r"^answer = \.\.\.", cell.source, re.M), (
            f"cell {i}: a tutorial's exercise starts from `answer = ...`; solutions belong in "
            f"notebooks/solutions/")
        assert "assert" not in cell.source, f"cell {i}: an unsolved exercise must not assert"


def test_index_lists_every_tutorial():
    index = (NOTEBOOK_DIR / "README.md").read_text(encoding="utf-8")
    for path in TUTORIALS:
        assert f"]({path.name})" in index, f"notebooks/README.md does not link {path.name}"
        assert re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", path.name), path.name


# -- the cleaner ---------------------------------------------------------------------------
def _dirty_notebook():
    checked = new_code_cell("# NBVAL_CHECK_OUTPUT\nprint(42)", execution_count=3)
    checked.outputs = [new_output("stream", name="stdout", text="42\n"),
                       new_output("execute_result", data={"text/plain": "42"},
                                  execution_count=3)]
    checked.metadata["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00Z"}
    tagged = new_code_cell("print(1)", execution_count=4)
    tagged.metadata["tags"] = ["nbval-check-output"]
    tagged.outputs = [new_output("stream", name="stdout", text="1\n")]
    plain = new_code_cell("show()", execution_count=5)
    plain.outputs = [new_output("display_data", data={"image/png": "iVBOR", "text/plain": "x"})]
    plain.metadata.update(collapsed=True, scrolled=False, tags=["keep-me"])
    ignored = new_code_cell("# NBVAL_CHECK_OUTPUT\n# NBVAL_IGNORE_OUTPUT\nprint(2)")
    ignored.outputs = [new_output("stream", name="stdout", text="2\n")]
    nb = new_notebook(cells=[new_markdown_cell("# Title"), checked, tagged, plain, ignored])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python", "version": "3.12.1"}
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    nb.metadata["toc"] = {"number_sections": True}
    return nb


def test_cleaner_keeps_outputs_only_where_nbval_checks_them():
    dirty = _dirty_notebook()
    clean, changes = nbclean.clean_notebook(dirty)
    md, checked, tagged, plain, ignored = clean.cells
    assert [o.output_type for o in checked.outputs] == ["stream", "execute_result"]
    # nbval needs an execution count on cells with stored output: numbered by position
    assert checked.execution_count == checked.outputs[1].execution_count == 1
    assert tagged.execution_count == 2 and plain.execution_count is None
    assert checked.metadata == {} and tagged.outputs and not plain.outputs
    assert not ignored.outputs and ignored.execution_count is None
    assert plain.metadata == {"tags": ["keep-me"]}
    assert set(clean.metadata) == {"kernelspec", "language_info"}
    assert clean.metadata.kernelspec == nbclean.KERNELSPEC
    assert clean.metadata.language_info == {"name": "python"}
    assert len(dirty.cells[3].outputs) == 1, "the input notebook is not modified"
    text = " ".join(changes)
    for phrase in ("2 cells with outputs nbval does not check", "widget state", "toc",
                   "language_info.version", "1 cells with an execution count",
                   "2 checked cells not numbered by position", "stale execution count",
                   "metadata noise"):
        assert phrase in text
    nbformat.validate(clean)
    assert nbclean.clean_notebook(clean)[1] == []  # idempotent


def test_cleaner_command_line_checks_then_cleans_atomically(tmp_path: Path, capsys):
    folder = tmp_path / "course"
    (folder / "solutions").mkdir(parents=True)
    dirty = folder / "solutions" / "01_x.ipynb"
    nbformat.write(_dirty_notebook(), dirty)
    dirty.chmod(0o644)
    clean = folder / "00_y.ipynb"
    nbformat.write(nbclean.clean_notebook(_dirty_notebook())[0], clean)
    clean_stamp = clean.stat().st_mtime_ns
    (folder / ".ipynb_checkpoints").mkdir()
    nbformat.write(_dirty_notebook(), folder / ".ipynb_checkpoints" / "00_y-checkpoint.ipynb")

    before = dirty.read_bytes()
    assert nbclean.main(["--check", str(folder)]) == 1
    out = capsys.readouterr()
    assert "would clean" in out.out and "01_x.ipynb" in out.out and "00_y" not in out.out
    assert dirty.read_bytes() == before

    assert nbclean.main([str(folder)]) == 0
    assert "cleaned" in capsys.readouterr().out
    assert nbclean.main(["--check", str(folder)]) == 0
    assert clean.stat().st_mtime_ns == clean_stamp, "a clean notebook is not rewritten"
    assert sorted(p.name for p in (folder / "solutions").iterdir()) == ["01_x.ipynb"]
    assert dirty.stat().st_mode & 0o777 == 0o644, "the file keeps its permissions"
    nbformat.validate(nbformat.read(dirty, as_version=4))
