"""Command line: ``python -m medinteract.batch PIPELINE.json INPUT_DIR OUTPUT_DIR``.

Runs a saved pipeline over every scan under ``INPUT_DIR`` and prints a summary; the exit status
is 0 when every scan finished (computed now or earlier), 1 when some failed, 2 for bad
arguments (an unreadable pipeline, a missing folder, an output folder in use).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from medinteract.errors import MedinteractError


def parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m medinteract.batch``."""
    p = argparse.ArgumentParser(
        prog="python -m medinteract.batch",
        description="Run a saved medinteract pipeline over every scan in a folder.")
    p.add_argument("pipeline", type=Path, help="pipeline JSON file (Pipeline.save)")
    p.add_argument("input_dir", type=Path, help="folder of DICOM series and image files")
    p.add_argument("output_dir", type=Path, help="where to write results")
    p.add_argument("--workers", type=int, default=None,
                   help="number of local workers (default: number of CPUs)")
    p.add_argument("--scheduler", choices=("processes", "threads", "sync"), default=None,
                   help="local Dask scheduler (default: threads)")
    p.add_argument("--address", default=None,
                   help="address of a dask.distributed scheduler (tcp://host:port) to run on")
    p.add_argument("--format", dest="image_format", choices=("nifti", "npz"), default="nifti",
                   help="format of the result images (default: nifti)")
    p.add_argument("--overwrite", action="store_true", help="recompute finished scans too")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = parser().parse_args(argv)
    from medinteract.batch import run
    from medinteract.pipeline import Pipeline

    client = None
    try:
        pipeline = Pipeline.load(args.pipeline)
        if args.address:
            from distributed import Client

            client = Client(args.address)
        report = run(pipeline, args.input_dir, args.output_dir, client=client,
                     scheduler=args.scheduler, workers=args.workers,
                     overwrite=args.overwrite, progress=not args.quiet,
                     image_format=args.image_format)
    except (MedinteractError, ValueError, OSError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        if client is not None:
            client.close()
    print(report.summary())
    for row in report.failed.itertuples(index=False):
        print(f"failed {row.id}: {row.error}: {row.message}", file=sys.stderr)
    return 0 if report.all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
