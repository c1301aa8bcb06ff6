"""Run a pipeline over a whole dataset with Dask, with progress bars and safe, resumable outputs.

- :func:`find_scans`: the scans under a folder (each DICOM series, each NIfTI/NumPy/image file).
- :func:`run`: run a :class:`~medinteract.pipeline.Pipeline` over them, locally (Dask processes or
  threads) or on a ``dask.distributed`` cluster; per-scan result images and region tables, one
  merged CSV, failures reported and skipped, finished scans skipped when re-run.
- :class:`BatchReport`: what happened, as tables; :func:`read_table` reads a table a run wrote
  back exactly.

From the command line::

    python -m medinteract.batch PIPELINE.json INPUT_DIR OUTPUT_DIR [--workers N]
"""

from __future__ import annotations

from medinteract.batch.inputs import SCAN_COLUMNS, find_scans
from medinteract.batch.outputs import read_table
from medinteract.batch.report import REPORT_COLUMNS, BatchReport
from medinteract.batch.runner import DEFAULT_SCHEDULER, SCHEDULERS, run

__all__ = ["find_scans", "run", "read_table", "BatchReport", "SCAN_COLUMNS", "REPORT_COLUMNS",
           "DEFAULT_SCHEDULER", "SCHEDULERS"]
