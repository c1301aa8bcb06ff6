"""What happens to one scan: load, run the pipeline, measure, write the outputs atomically.

These functions run inside Dask workers (threads or processes, local or on a cluster); they
take plain arguments, write straight into the output folder (so image arrays never travel back
to the client) and return a small record. A scan that fails never raises out of
:func:`process_scan`: the failure becomes a record naming the file.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
import threading
import time
import warnings
from pathlib import Path
from typing import Any, Iterator, NamedTuple

import numpy as np
import pandas as pd

from medinteract._atomic import staged_folder, write_atomic
from medinteract.batch.outputs import (
    MANIFEST_NAME,
    file_fingerprint,
    image_name,
    read_manifest,
    write_image,
    write_manifest,
)
from medinteract.scan import Geometry, Scan

__all__ = ["process_scan", "pipeline_hash", "run_pipeline", "PipelineOutput", "finished_record",
           "REGIONS_NAME"]

#: Per-scan region table file name.
REGIONS_NAME = "regions.csv"
_NOT_ALIGNED = ("the result's shape {shape} differs from the scan's {scan}: saved with 1 mm "
                "spacing and no region table (its geometry is unknown: return a Scan, or run "
                "a Pipeline whose ops declare their geometry)")


# -- the pipeline ---------------------------------------------------------------------------
def pipeline_hash(pipeline: Any) -> str:
    """SHA-256 identifying what a pipeline computes.

    A :class:`~medinteract.pipeline.Pipeline` is hashed through its canonical JSON (ops and
    parameters, key order ignored) plus the source code of any step that is the user's own
    function (not a registered op); a plain function through its module, name and source
    code. (Registered ops are identified by name: a new medinteract version that changes an
    op does not by itself recompute finished scans; use ``overwrite=True``.)
    """
    if hasattr(pipeline, "to_dict"):
        text = json.dumps(pipeline.to_dict(), sort_keys=True, separators=(",", ":"))
        text += "".join(_source(step.func) for step in pipeline.steps if ":" in step.op)
    elif callable(pipeline):
        name = f"{getattr(pipeline, '__module__', '')}:{getattr(pipeline, '__qualname__', '')}"
        text = f"{name}\n{_source(pipeline)}"
    else:
        raise TypeError(f"a batch runs a medinteract Pipeline or a function of a Scan, "
                        f"got {type(pipeline).__name__}")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _source(func: Any) -> str:
    try:
        return inspect.getsource(func)
    except (OSError, TypeError):
        return repr(func)


class PipelineOutput(NamedTuple):
    """What a pipeline made of one scan.

    Attributes
    ----------
    result : Scan or None
        The last image, mask or label image, on its own geometry (a resampled or cropped
        result lies on its new grid); None when the pipeline made only a table.
    table : DataFrame or None
        The pipeline's final table (e.g. of ``region_table``), if it ends in one.
    image : Scan or None
        The scan's intensities on the result's geometry, to measure the result's regions
        (None when unknown).
    note : str
        Why the result's geometry is unknown ("" when it is known).
    """

    result: Scan | None
    table: pd.DataFrame | None
    image: Scan | None
    note: str = ""


def run_pipeline(pipeline: Any, scan: Scan) -> PipelineOutput:
    """Run a pipeline on a scan; return its last image/mask/labels and its final table.

    A :class:`~medinteract.pipeline.Pipeline` runs once through
    :meth:`Pipeline.iter_results <medinteract.pipeline.Pipeline.iter_results>`, exactly as
    :meth:`Pipeline.run <medinteract.pipeline.Pipeline.run>` does: the last image/mask/labels
    is kept as a Scan on the geometry its step declared (saved as the result image, with that
    geometry in its affine), together with the final table of a pipeline that ends in a
    measuring step. A plain function is called with the scan and may return an array (on the
    scan's grid when it has the scan's shape; otherwise its geometry is unknown), a Scan or a
    DataFrame.
    """
    steps = getattr(pipeline, "steps", None)
    if steps is None:
        return _function_output(pipeline(scan), scan)
    if not steps:
        return PipelineOutput(scan, None, scan)
    last_array: Any = None
    outcome: Any = None
    for outcome in pipeline.iter_results(scan):
        if outcome.geometry is not None:
            last_array = outcome
    result = outcome.result
    table = result if isinstance(result, pd.DataFrame) else None
    if table is None and outcome is not last_array:
        raise TypeError(f"the pipeline ends in {steps[-1].op}, which returns "
                        f"{type(result).__name__}; a batch saves images, masks, labels and "
                        "tables")
    if last_array is None:
        return PipelineOutput(None, table, None)
    image = last_array.image
    return PipelineOutput(last_array.geometry.scan(last_array.result, like=image), table, image)


def _function_output(result: Any, scan: Scan) -> PipelineOutput:
    if isinstance(result, pd.DataFrame):
        return PipelineOutput(None, result, None)
    if isinstance(result, Scan):
        aligned = result.geometry.isclose(scan.geometry)
        return PipelineOutput(result, None, scan if aligned else None)
    if isinstance(result, np.ndarray):
        if result.shape[:scan.spatial_ndim] == scan.geometry.shape:
            return PipelineOutput(scan.geometry.scan(result, like=scan), None, scan)
        note = _NOT_ALIGNED.format(shape=result.shape, scan=scan.shape)
        return PipelineOutput(Geometry.of(result).scan(result, like=scan), None, None, note)
    raise TypeError(f"the pipeline returned {type(result).__name__}; a batch saves images, "
                    "masks, labels and tables")


def region_table_of(result: Scan, image: Scan | None) -> pd.DataFrame | None:
    """The region table of a mask or label result (None for an intensity image).

    A mask is labelled (26-/8-connectivity) first; intensities come from ``image`` (the scan on
    the result's geometry), lengths and volumes from the result's spacing.
    """
    from medinteract.ops import label, region_table

    if result.array.dtype == np.bool_:
        labels = label(result)
    elif np.issubdtype(result.array.dtype, np.integer):
        labels = result.array
    else:
        return None
    return region_table(image, labels, spacing=result.spacing)


# -- one scan --------------------------------------------------------------------------------
def process_scan(job: dict[str, Any], pipeline: Any, digest: str, output_dir: str,
                 image_format: str) -> dict[str, Any]:
    """Process one scan and return its record (never raises for a bad scan).

    Parameters
    ----------
    job : dict
        ``id``, ``path`` and ``files`` of the scan (a row of :func:`find_scans`).
    pipeline : Pipeline or callable
    digest : str
        :func:`pipeline_hash` of the pipeline (stored in the manifest).
    output_dir : str
        The batch output folder; the scan's outputs go to ``output_dir/<id>/``.
    image_format : {"nifti", "npz"}

    Returns
    -------
    dict
        ``id``, ``status`` (``"ok"`` or ``"failed"``), ``seconds``, ``n_regions``, ``error``,
        ``message``, ``warnings``, ``image``, ``regions``.
    """
    start = time.perf_counter()
    record: dict[str, Any] = {"id": job["id"], "status": "ok", "n_regions": None, "error": "",
                              "message": "", "warnings": "", "image": "", "regions": ""}
    try:
        files = [Path(f) for f in job["files"]]
        scan, record["warnings"] = _load(files)
        output = run_pipeline(pipeline, scan)
        target = Path(output_dir) / job["id"]
        # everything goes to a staging folder that replaces ``target`` only once complete
        with staged_folder(target) as stage:
            outputs, table = _write_outputs(stage, output, image_format)
            record["warnings"] = "; ".join(filter(None, [record["warnings"], output.note]))
            record["n_regions"] = None if table is None else int(len(table))
            result = output.result
            write_manifest(stage, {
                "id": job["id"], "pipeline_sha256": digest, "inputs": file_fingerprint(files),
                "outputs": outputs, "n_regions": record["n_regions"],
                "seconds": round(time.perf_counter() - start, 4),
                "warnings": record["warnings"], "shape": list(scan.shape),
                "spacing_mm": list(scan.spacing), "result_aligned": not output.note,
                **({} if result is None else {"result_shape": list(result.shape),
                                              "result_spacing_mm": list(result.spacing)}),
            })
        for kind, name in outputs.items():
            record[kind] = str(target / name)
    except Exception as error:  # a bad scan is reported, never fatal for the batch
        record.update(status="failed", error=type(error).__name__,
                      message=failure_message(error, job), n_regions=None, image="",
                      regions="")
    record["seconds"] = time.perf_counter() - start
    return record


def _write_outputs(stage: Path, output: PipelineOutput, image_format: str,
                   ) -> tuple[dict[str, str], pd.DataFrame | None]:
    """Write the result image (with its geometry) and region table into ``stage``.

    Returns the outputs (``{"image": name, "regions": name}``) and the region table. The image
    is written before a region table is computed from it, so a failure while measuring happens
    after a first file exists: the staging folder makes sure none of it is published.
    """
    outputs: dict[str, str] = {}
    table = output.table
    if output.result is not None:
        write_image(output.result.array, output.result, stage / image_name(image_format))
        outputs["image"] = image_name(image_format)
        if table is None and not output.note:
            table = region_table_of(output.result, output.image)
    if table is not None:
        write_atomic(stage / REGIONS_NAME, table.to_csv(index=False))
        outputs["regions"] = REGIONS_NAME
    return outputs, table


def _load(files: list[Path]) -> tuple[Scan, str]:
    from medinteract.io import load

    with collected_warnings() as caught:
        scan = load(files[0] if len(files) == 1 else files)
    messages = dict.fromkeys(str(w.message) for w in caught)  # unique, in order
    return scan, "; ".join(messages)


# -- warnings, per thread -------------------------------------------------------------------
# ``warnings.catch_warnings`` swaps process-wide state, so threads cannot each hold one: an
# earlier version made the loads of a worker's threads take turns, which serialised about half
# of every scan's work. Instead, while any thread collects, one shared hook is installed (its
# entry and exit counted) that hands each warning to the list of the thread that raised it.
_hook_lock = threading.Lock()
_hook_users = 0
_hook_guard: Any = None
_shown_before: Any = None  # how warnings were shown before the hook (for other threads)
_collecting = threading.local()


@contextlib.contextmanager
def collected_warnings() -> Iterator[list[warnings.WarningMessage]]:
    """Collect the warnings this thread raises in the block (every one, as ``"always"``).

    Threads may collect at the same time, each getting only its own warnings; warnings of
    threads that do not collect are shown as usual.
    """
    global _hook_users, _hook_guard, _shown_before
    with _hook_lock:
        if _hook_users == 0:
            _hook_guard = warnings.catch_warnings()
            _hook_guard.__enter__()
            _shown_before = warnings.showwarning
            warnings.simplefilter("always")
            warnings.showwarning = _dispatch_warning
        _hook_users += 1
    caught: list[warnings.WarningMessage] = []
    outer = getattr(_collecting, "caught", None)
    _collecting.caught = caught
    try:
        yield caught
    finally:
        _collecting.caught = outer
        with _hook_lock:
            _hook_users -= 1
            if _hook_users == 0:
                _hook_guard.__exit__(None, None, None)
                _hook_guard = None


def _dispatch_warning(message: Warning | str, category: type[Warning], filename: str,
                      lineno: int, file: Any = None, line: str | None = None) -> None:
    caught = getattr(_collecting, "caught", None)
    if caught is not None:
        caught.append(warnings.WarningMessage(message, category, filename, lineno, file, line))
    else:
        (_shown_before or warnings.showwarning)(message, category, filename, lineno, file, line)


def failure_message(error: BaseException, job: dict[str, Any]) -> str:
    """The error's message, naming the input when the message does not already do so."""
    message = str(error) or type(error).__name__
    notes = [str(n) for n in getattr(error, "__notes__", ())]
    if notes:
        message = f"{message} ({'; '.join(notes)})"
    names = [str(job["path"]), *(Path(f).name for f in job["files"])]
    if not any(name and name in message for name in names):
        message = f"{job['path']}: {message}"
    return message


# -- finished scans ------------------------------------------------------------------------
def finished_record(job: dict[str, Any], digest: str, output_dir: str,
                    image_format: str) -> dict[str, Any] | None:
    """The record of a scan finished earlier with the same pipeline and unchanged inputs.

    None when the scan must be (re)computed: no manifest, another pipeline, input files
    changed (size or modification time), the result image in another format, or an output
    file missing.
    """
    folder = Path(output_dir) / job["id"]
    manifest = read_manifest(folder)
    if manifest is None or manifest.get("pipeline_sha256") != digest:
        return None
    try:
        if manifest.get("inputs") != file_fingerprint(job["files"]):
            return None
    except OSError:
        return None
    outputs = manifest.get("outputs") or {}
    if outputs.get("image", image_name(image_format)) != image_name(image_format):
        return None
    if not all((folder / name).is_file() for name in outputs.values()):
        return None
    return {"id": job["id"], "status": "skipped", "seconds": 0.0,
            "n_regions": manifest.get("n_regions"), "error": "",
            "message": f"finished earlier ({manifest.get('finished', '?')}); "
                       f"{MANIFEST_NAME} matches the pipeline and inputs",
            "warnings": manifest.get("warnings", ""),
            "image": str(folder / outputs["image"]) if "image" in outputs else "",
            "regions": str(folder / outputs["regions"]) if "regions" in outputs else ""}
