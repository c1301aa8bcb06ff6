"""Wall time and peak memory of each tutorial notebook, run top to bottom as CI runs it.

Each notebook in ``notebooks/`` is run with nbclient in a fresh ``python3`` kernel from this
venv, from a temporary copy of the folder, skipping the cells nbval skips (``NBVAL_SKIP`` as a
comment line or ``nbval-skip`` tag), like ``pytest --nbval-lax`` in CI, and offline as there
(the MedMNIST notebook reads the fixtures of ``medinteract.learn.medmnist_fixtures``). Peak
memory is the kernel process's resident-set high-water mark (``VmHWM`` in
``/proc/PID/status``), read just before the kernel shuts down; processes the notebook starts
itself (e.g. Dask workers) are not included.

Goals (issue "Ready for a classroom"): the whole series under 5 minutes on 2 cores with the
default CI training length, each notebook under 1.5 GB (the Binder budget).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from medinteract.learn.medmnist import medmnist_fixtures

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = REPO_ROOT / "notebooks"
CELL_TIMEOUT_S = 900
SKIP_MARKERS = ("NBVAL_SKIP",)
SKIP_TAGS = ("nbval-skip",)


@dataclass(frozen=True)
class NotebookRun:
    """Cost of running one notebook (or why it failed)."""

    name: str
    seconds: float
    peak_mib: float | None
    cells_run: int
    cells_skipped: int
    error: str | None = None


def nbval_skips(cell: nbformat.NotebookNode) -> bool:
    """True for a cell nbval skips (a ``# NBVAL_SKIP`` comment line or an nbval-skip tag)."""
    if any(tag in SKIP_TAGS for tag in cell.get("metadata", {}).get("tags", [])):
        return True
    for line in cell.source.splitlines():
        line = line.strip()
        if line.startswith("#") and line.lstrip("#").strip() in SKIP_MARKERS:
            return True
    return False


def peak_rss_mib(pid: int) -> float | None:
    """The resident-set high-water mark of process ``pid`` in MiB (None if unreadable)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def run_notebook(path: Path, workdir: Path) -> NotebookRun:
    """Run one notebook in ``workdir``; time it and read the kernel's peak memory."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},
    )
    run = skipped = 0
    started = time.perf_counter()
    peak: float | None = None
    error: str | None = None
    with client.setup_kernel(cwd=str(workdir)):
        try:
            for index, cell in enumerate(notebook.cells):
                if cell.cell_type != "code":
                    continue
                if nbval_skips(cell):
                    skipped += 1
                    continue
                client.execute_cell(cell, index)
                run += 1
        except Exception as failure:  # noqa: BLE001 - reported in the table
            error = f"{type(failure).__name__}: {str(failure).strip().splitlines()[-1][:200]}"
        seconds = time.perf_counter() - started
        pid = getattr(getattr(client.km, "provisioner", None), "pid", None)
        if pid is not None:
            peak = peak_rss_mib(pid)
    return NotebookRun(path.stem, seconds, peak, run, skipped, error)


def run(*, log=print) -> list[NotebookRun]:
    """Run every notebook in ``notebooks/`` from a temporary copy of the folder."""
    results = []
    with tempfile.TemporaryDirectory(prefix="medinteract-bench-nb-") as base:
        workdir = Path(base) / "notebooks"
        shutil.copytree(
            NOTEBOOK_DIR, workdir, ignore=shutil.ignore_patterns(".ipynb_checkpoints")
        )
        with medmnist_fixtures():  # offline, as under nbval (the kernels inherit it)
            for path in sorted(workdir.glob("*.ipynb")):
                log(f"  notebook: {path.name} ...")
                result = run_notebook(path, workdir)
                log(f"    {result.seconds:.1f} s, peak {result.peak_mib or 0:.0f} MiB"
                    + (f", FAILED: {result.error}" if result.error else ""))
                results.append(result)
    return results


def markdown_table(results: list[NotebookRun]) -> str:
    """A markdown table: time and peak memory per notebook, and the total time."""
    lines = [
        "| notebook | wall time s | kernel peak RSS MiB | cells run | cells skipped (NBVAL_SKIP) "
        "| result |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for result in results:
        peak = "-" if result.peak_mib is None else f"{result.peak_mib:.0f}"
        lines.append(
            f"| {result.name} | {result.seconds:.1f} | {peak} | {result.cells_run} "
            f"| {result.cells_skipped} | {result.error or 'ok'} |"
        )
    total = sum(result.seconds for result in results)
    peaks = [result.peak_mib for result in results if result.peak_mib is not None]
    lines.append(
        f"| **all {len(results)}** | **{total:.1f}** | max {max(peaks):.0f} | | | |"
        if peaks
        else f"| **all {len(results)}** | **{total:.1f}** | - | | | |"
    )
    return "\n".join(lines) + "\n"


def main() -> None:
    """Run the series and print the table."""
    print(markdown_table(run()))


if __name__ == "__main__":
    main()
