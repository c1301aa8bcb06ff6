"""Running a pipeline over many scans with Dask: local threads/processes or a cluster.

Why :func:`dask.delayed` (one task per scan) rather than ``client.map``: the same task list
runs on Dask's local schedulers, which have no futures, and on a cluster, where
``client.compute`` turns it into futures that :func:`distributed.as_completed` collects as they
finish. Scans are independent and coarse (seconds each), so there is no graph to optimise and
nothing to gain from chunking a scan; each task returns a record of a few hundred bytes.
"""

from __future__ import annotations

import os
import secrets
import time
from os import PathLike
from pathlib import Path
from typing import Any, Iterable, Sequence

import pandas as pd

from medinteract._atomic import write_atomic
from medinteract.batch.inputs import files_of, find_scans, safe_id, scan_table
from medinteract.batch.outputs import (
    IMAGE_FORMATS,
    read_table,
    remove_leftovers,
    run_lock,
    write_text_if_changed,
)
from medinteract.batch.report import REPORT_COLUMNS, BatchReport
from medinteract.batch.work import finished_record, pipeline_hash, process_scan
from medinteract.errors import LoadError
from medinteract.io.loader import SUPPORTED

__all__ = ["run", "DEFAULT_SCHEDULER", "SCHEDULERS", "MERGED_REGIONS_NAME", "REPORT_NAME"]

#: Local Dask schedulers accepted by ``scheduler=``.
SCHEDULERS = ("threads", "processes", "sync")
#: The local scheduler used when neither ``client`` nor ``scheduler`` is given: threads start
#: instantly, share memory and work in scripts without a ``__main__`` guard; the process pool
#: costs several seconds of start-up (and imports) per run, which a batch of tens of scans never
#: wins back on a 2-core machine (benchmarks/BATCH.md). For long runs on free cores use
#: ``scheduler="processes"`` or, better, a ``distributed`` client whose workers stay warm.
DEFAULT_SCHEDULER = "threads"
#: The merged region table, written last.
MERGED_REGIONS_NAME = "regions.csv"
#: One row per scan of the last run (status, seconds, errors).
REPORT_NAME = "batch_report.csv"
PIPELINE_JSON = "pipeline.json"
PIPELINE_CODE = "pipeline.py"
_TASK_PREFIX = "medinteract-scan"

InputsLike = str | PathLike[str] | pd.DataFrame | Sequence[str | PathLike[str]]


def run(pipeline: Any, inputs: InputsLike, output_dir: str | PathLike[str], *,
        client: Any = None, scheduler: str | None = None, workers: int | None = None,
        overwrite: bool = False, progress: bool = True, image_format: str = "nifti",
        ) -> BatchReport:
    """Run a pipeline over every scan and save each result, region table and a merged table.

    Parameters
    ----------
    pipeline : Pipeline or callable
        A :class:`~medinteract.pipeline.Pipeline` (saved next to the outputs as
        ``pipeline.json`` and as Python in ``pipeline.py``), or a function ``f(scan)``
        returning an array, a Scan or a DataFrame (it must be picklable for processes and
        clusters, i.e. defined in an importable module).
    inputs : path-like, DataFrame or sequence of path-like
        A folder (searched with :func:`find_scans`), a table made by :func:`find_scans`
        (filter its rows to run a subset), or a list of files/series folders (one scan each).
    output_dir : path-like
        Where to write; created if needed. Must not hold any input file.
    client : dask.distributed.Client, optional
        Run on this cluster (workers must see ``output_dir`` and the inputs at the same
        paths). Without it the work runs locally.
    scheduler : {"threads", "processes", "sync"}, optional
        The local Dask scheduler; :data:`DEFAULT_SCHEDULER` (``"threads"``) when None.
        ``"processes"`` runs scans truly in parallel but pays a process start-up per run (and
        a script using it needs the ``if __name__ == "__main__":`` guard); ``"sync"`` runs
        in the calling thread (for debugging).
    workers : int, optional
        Number of local workers (default: the number of CPUs).
    overwrite : bool, optional
        Recompute every scan, even those finished by an earlier run.
    progress : bool, optional
        Show a progress bar (``tqdm.auto``: a widget in Jupyter, text in a terminal).
    image_format : {"nifti", "npz"}, optional
        How the result image is saved: ``result.nii.gz`` (NIfTI, geometry in the affine) or
        ``result.npz`` (``image``, ``spacing``, ``origin``). Both load with
        :func:`medinteract.load` in the scan's geometry.

    Returns
    -------
    BatchReport
        ``.table`` (one row per scan: status ok/failed/skipped, seconds, message, outputs),
        ``.ok``, ``.failed``, ``.skipped``, ``.regions`` (the merged region table).

    Notes
    -----
    Output layout::

        output_dir/
          pipeline.json, pipeline.py     the pipeline, as data and as code
          <scan id>/result.nii.gz        the last image/mask/labels, aligned with the scan
          <scan id>/regions.csv          region table (mm, mm^3, HU in the column names)
          <scan id>/manifest.json        inputs, pipeline hash, outputs; written last
          batch_report.csv               one row per scan of this run
          regions.csv                    every scan's regions with a scan_id column; last

    - **One task per scan** (:func:`dask.delayed`): load, run, measure and write happen in the
      worker, which returns only a small record, so images never travel between processes.
      Locally the tasks run with :func:`dask.compute`; on a cluster they become futures and
      :func:`distributed.as_completed` drives the progress bar.
    - **Failures** are caught per scan: the report names the error type and the file; the
      other scans complete. A DICOM file that cannot even be parsed is reported on its own.
    - **Atomic outputs**: a scan's files are written into a hidden staging folder and published
      by renaming the folder, so a scan has all its outputs or none; every file is itself
      written to a temporary name and renamed. Leftovers of a crashed run are removed at the
      next run; a lock file keeps two runs from writing into one folder at once. The merged
      ``regions.csv`` is written last.
    - **Re-running** skips a scan whose ``manifest.json`` records the same pipeline hash and
      the same input file sizes and modification times; other scans are recomputed and their
      folder replaced. Unchanged files are not rewritten. A scan that fails keeps what an
      earlier successful run left in its folder (its manifest names that pipeline), but only
      scans finished with the current pipeline enter the merged table.
    - **Inputs are only read**, never modified.

    Examples
    --------
    >>> from medinteract.pipeline import Pipeline
    >>> from medinteract import batch
    >>> p = Pipeline().append("gaussian", sigma=1.0).append("threshold", low=300.0)
    >>> report = batch.run(p, "scans/", "results/")  # doctest: +SKIP
    >>> report.failed[["id", "error", "message"]]  # doctest: +SKIP
    """
    started = time.perf_counter()
    output_dir = Path(output_dir).expanduser()
    if image_format not in IMAGE_FORMATS:
        raise ValueError(f"image_format must be one of {sorted(IMAGE_FORMATS)}, "
                         f"got {image_format!r}")
    if client is not None and scheduler is not None:
        raise ValueError("give either client= (a cluster) or scheduler= (local), not both")
    if scheduler is not None and scheduler not in SCHEDULERS:
        raise ValueError(f"scheduler must be one of {SCHEDULERS}, got {scheduler!r}")
    scans = _scan_table(inputs, output_dir)
    _check_outside(scans, output_dir)
    digest = pipeline_hash(pipeline)
    output_dir.mkdir(parents=True, exist_ok=True)
    with run_lock(output_dir):
        remove_leftovers(output_dir)
        _save_pipeline(pipeline, output_dir)
        table = _run_scans(scans, pipeline, digest, output_dir, client=client,
                           scheduler=scheduler, workers=workers, overwrite=overwrite,
                           progress=progress, image_format=image_format)
        regions = _merge_regions(table)
        write_atomic(output_dir / REPORT_NAME, table.to_csv(index=False))
        if len(regions) or (output_dir / MERGED_REGIONS_NAME).exists():
            write_text_if_changed(output_dir / MERGED_REGIONS_NAME, regions.to_csv(index=False))
    return BatchReport(table=table, regions=regions, output_dir=output_dir,
                       pipeline_sha256=digest, seconds=time.perf_counter() - started)


def _run_scans(scans: pd.DataFrame, pipeline: Any, digest: str, output_dir: Path, *,
               client: Any, scheduler: str | None, workers: int | None, overwrite: bool,
               progress: bool, image_format: str) -> pd.DataFrame:
    """Skip finished scans, run the others, and return the report table."""
    records: dict[str, dict[str, Any]] = {}
    jobs = []
    for job in _jobs(scans):
        if job["problem"]:
            records[job["id"]] = _failed(job["id"], "LoadError", job["problem"])
            continue
        done = None if overwrite else finished_record(job, digest, str(output_dir), image_format)
        if done is not None:
            records[job["id"]] = done
        else:
            jobs.append(job)
    if jobs:
        execute = _run_distributed if client is not None else _run_local
        options = {"client": client} if client is not None else {
            "scheduler": scheduler or DEFAULT_SCHEDULER, "workers": workers}
        records.update(execute(jobs, pipeline, digest, str(output_dir), image_format,
                               progress=progress, **options))

    return _report_table(scans, records)


# -- inputs ---------------------------------------------------------------------------------
def _scan_table(inputs: InputsLike, output_dir: Path) -> pd.DataFrame:
    if isinstance(inputs, pd.DataFrame):
        return scan_table(inputs)
    if isinstance(inputs, (str, PathLike)):
        found = find_scans(inputs, exclude=[output_dir])
        if found.empty:
            raise LoadError(inputs, "holds no scans", f"batch.run reads {SUPPORTED}")
        return found
    rows: list[dict[str, Any]] = []
    for item in inputs:
        path = Path(item).expanduser()
        kind, files = files_of(path)
        rows.append({"id": _unique(safe_id(path.name.split(".")[0]), rows), "kind": kind,
                     "path": path, "files": files})
    return scan_table(rows)


def _unique(base: str, rows: list[dict[str, Any]]) -> str:
    taken = {r["id"] for r in rows}
    name, k = base, 2
    while name in taken:
        name, k = f"{base}-{k}", k + 1
    return name


def _check_outside(scans: pd.DataFrame, output_dir: Path) -> None:
    out = output_dir.resolve()
    for files in scans["files"]:
        for f in files:
            resolved = Path(f).resolve()
            if resolved == out or out in resolved.parents:
                raise ValueError(f"{f}: input file lies inside the output folder {output_dir}; "
                                 "choose an output folder apart from the inputs")


def _jobs(scans: pd.DataFrame) -> Iterable[dict[str, Any]]:
    for row in _records(scans):
        yield {"id": row["id"], "path": str(row["path"]), "files": [str(f) for f in row["files"]],
               "problem": row["problem"]}


def _save_pipeline(pipeline: Any, output_dir: Path) -> None:
    if hasattr(pipeline, "to_json"):
        write_text_if_changed(output_dir / PIPELINE_JSON, pipeline.to_json() + "\n")
    if hasattr(pipeline, "to_code"):
        write_text_if_changed(output_dir / PIPELINE_CODE, pipeline.to_code())


# -- execution ------------------------------------------------------------------------------
def _tasks(jobs: list[dict[str, Any]], pipeline: Any, digest: str, output_dir: str,
           image_format: str) -> tuple[list[Any], dict[str, dict[str, Any]]]:
    """One :func:`dask.delayed` task per scan, with keys unique to this run."""
    import dask

    token = secrets.token_hex(4)
    work = dask.delayed(process_scan, pure=False)
    tasks, jobs_by_key = [], {}
    for job in jobs:
        key = f"{_TASK_PREFIX}-{token}-{job['id']}"
        payload = {k: job[k] for k in ("id", "path", "files")}
        tasks.append(work(payload, pipeline, digest, output_dir, image_format,
                          dask_key_name=key))
        jobs_by_key[key] = job
    return tasks, jobs_by_key


def _progress_bar(total: int, progress: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="medinteract batch", unit="scan", disable=not progress)


def _run_local(jobs: list[dict[str, Any]], pipeline: Any, digest: str, output_dir: str,
               image_format: str, *, scheduler: str, workers: int | None,
               progress: bool) -> dict[str, dict[str, Any]]:
    import dask
    from dask.callbacks import Callback

    tasks, jobs_by_key = _tasks(jobs, pipeline, digest, output_dir, image_format)
    bar = _progress_bar(len(tasks), progress)
    failed = 0

    def posttask(key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
        nonlocal failed
        if key in jobs_by_key:
            failed += result.get("status") == "failed"
            bar.update(1)
            if failed:
                bar.set_postfix(failed=failed)

    options: dict[str, Any] = {"scheduler": scheduler}
    if scheduler != "sync":
        # One scan per dispatch. Dask's process pool otherwise hands out ready tasks in chunks
        # of 6 (its default for many small tasks): a batch of up to 6 scans ran on one worker
        # while the others idled, and 8 scans split 6 + 2 (benchmarks/BATCH.md).
        options.update(num_workers=workers or os.cpu_count() or 1, chunksize=1)
    try:
        with Callback(posttask=posttask):
            results = dask.compute(*tasks, **options)
    finally:
        bar.close()
    return {r["id"]: r for r in results}


def _run_distributed(jobs: list[dict[str, Any]], pipeline: Any, digest: str, output_dir: str,
                     image_format: str, *, client: Any,
                     progress: bool) -> dict[str, dict[str, Any]]:
    from distributed import as_completed

    tasks, jobs_by_key = _tasks(jobs, pipeline, digest, output_dir, image_format)
    futures = client.compute(tasks)
    bar = _progress_bar(len(futures), progress)
    records: dict[str, dict[str, Any]] = {}
    try:
        for future in as_completed(futures):
            try:
                record = future.result()
            except Exception as error:  # the worker died (memory, crash): report the scan
                job = jobs_by_key[str(future.key)]
                record = _failed(job["id"], type(error).__name__,
                                 f"{job['path']}: the worker processing this scan failed "
                                 f"({error})")
            records[record["id"]] = record
            bar.update(1)
            failed = sum(r["status"] == "failed" for r in records.values())
            if failed:
                bar.set_postfix(failed=failed)
    finally:
        bar.close()
        for future in futures:
            future.release()
    return records


# -- results --------------------------------------------------------------------------------
def _failed(scan_id: str, error: str, message: str) -> dict[str, Any]:
    return {"id": scan_id, "status": "failed", "seconds": 0.0, "n_regions": None,
            "error": error, "message": message, "warnings": "", "image": "", "regions": ""}


def _report_table(scans: pd.DataFrame, records: dict[str, dict[str, Any]]) -> pd.DataFrame:
    rows = []
    for row in _records(scans):
        record = dict(records[row["id"]])
        record["path"] = str(row["path"])
        rows.append(record)
    table = pd.DataFrame(rows, columns=list(REPORT_COLUMNS))
    table["seconds"] = table["seconds"].astype(float)
    table["n_regions"] = table["n_regions"].astype("Int64")
    for column in ("error", "message", "warnings", "image", "regions", "path"):
        table[column] = table[column].fillna("").astype(str)
    return table


def _merge_regions(table: pd.DataFrame) -> pd.DataFrame:
    parts = []
    for row in _records(table):
        if row["status"] in ("ok", "skipped") and row["regions"]:
            regions = read_table(row["regions"])
            regions.insert(0, "scan_id", row["id"])
            parts.append(regions)
    if not parts:
        return pd.DataFrame({"scan_id": pd.Series(dtype=str)})
    return pd.concat(parts, ignore_index=True)


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of a table as plain dicts (column name -> value)."""
    return [dict(zip(map(str, table.columns), values))
            for values in table.itertuples(index=False, name=None)]
