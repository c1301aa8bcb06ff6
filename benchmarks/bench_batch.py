"""Batch throughput: how many scans per second does ``medinteract.batch.runner`` process?

A folder of phantom CT series (``--scans``, default 8, shape ``--shape``, default 48x128x128,
written as real DICOM series) is processed by a realistic pipeline::

    gaussian(sigma 0.8 mm) -> threshold(>= 825 HU) -> opening(radius 1 mm)
        -> remove_small(20 mm^3) -> label -> region_table

(loading the DICOM series, writing a NIfTI mask, a region CSV and a manifest per scan are part
of the work measured). Every configuration starts from an empty output folder:

- ``sync``: one worker in the calling thread (the baseline);
- local Dask ``threads`` and ``processes`` schedulers with 1 and 2 workers (a process pool is
  created per run, so its start-up is part of the time, as it is for a user);
- a ``distributed.LocalCluster`` (processes, 1 thread each) with 1 and 2 workers; the cluster
  is started before the clock starts (its start-up is reported apart).

A GIL probe tells why threads do or do not overlap: while one thread runs a step over and
over, the main thread counts pure-Python loop iterations; the count relative to an idle second
thread is ~1 when the step releases the GIL (and a core is free) and drops towards 0 when it
holds it.

Each configuration runs ``--repeats`` times, interleaved, and the best and the median are
reported (the machine is shared: interleaving spreads outside load over all configurations
alike, and the best run is the one least disturbed by it). Also
reported: a re-run over the finished folder (every scan skipped).

Usage::

    .venv/bin/python benchmarks/bench_batch.py                    # prints Markdown
    .venv/bin/python benchmarks/bench_batch.py --markdown benchmarks/BATCH.md
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from medinteract import batch
from medinteract.data import phantom
from medinteract.pipeline import Pipeline


def pipeline() -> Pipeline:
    """The benchmark pipeline: denoise, segment calcified nodules, clean up, measure."""
    return (Pipeline()
            .append("gaussian", sigma=0.8)
            .append("threshold", low=825.0)
            .append("opening", radius=1.0)
            .append("remove_small", min_size=20.0)
            .append("label")
            .append("region_table"))


def make_inputs(folder: Path, n_scans: int, shape: tuple[int, ...]) -> None:
    """``n_scans`` phantom series (different seeds) as DICOM folders under ``folder``."""
    for seed in range(n_scans):
        p = phantom(shape=shape, seed=seed, n_nodules=3, nodule_hu=2500.0)
        p.write_dicom(folder / f"patient{seed:02d}")


def timed_run(inputs: Path, out: Path, **options) -> tuple[float, batch.BatchReport]:
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    report = batch.run(pipeline(), inputs, out, progress=False, **options)
    seconds = time.perf_counter() - start
    if not report.all_ok or len(report.ok) != len(report.table):
        raise RuntimeError(f"benchmark run failed: {report!r}")
    return seconds, report


def gil_probe(inputs: Path, seconds: float = 1.0) -> dict[str, float]:
    """Rate of a pure-Python counter while another thread runs each step, relative to idle."""
    import threading

    import medinteract as mi
    from medinteract.ops import gaussian, label, median, region_table, threshold

    scan = mi.load(sorted(inputs.iterdir())[0])
    labels = label(threshold(scan, low=825.0))
    steps = {
        "load a DICOM series (pydicom)": lambda: mi.load(sorted(inputs.iterdir())[0]),
        "gaussian (scipy.ndimage)": lambda: gaussian(scan, sigma=0.8),
        "median size 5 (scipy.ndimage)": lambda: median(scan, size=5),
        "region_table (skimage, pandas)": lambda: region_table(scan, labels),
    }

    def count(duration: float) -> int:
        n, end = 0, time.perf_counter() + duration
        while time.perf_counter() < end:
            n += 1
        return n

    rates = {}
    for name, step in steps.items():
        step()
        stop = threading.Event()

        def busy() -> None:
            while not stop.is_set():
                step()

        idle = count(seconds)
        worker = threading.Thread(target=busy)
        worker.start()
        time.sleep(0.05)
        during = count(seconds)
        stop.set()
        worker.join()
        idle = (idle + count(seconds)) / 2
        rates[name] = during / idle
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scans", type=int, default=8)
    parser.add_argument("--shape", default="48,128,128")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--markdown", type=Path, help="write the results to this file")
    args = parser.parse_args()
    shape = tuple(int(v) for v in args.shape.split(","))

    from distributed import Client, LocalCluster

    work = Path(tempfile.mkdtemp(prefix="medinteract-bench-batch-"))
    try:
        inputs = work / "inputs"
        make_inputs(inputs, args.scans, shape)
        local = [("sync", "sync", 1), ("threads", "threads", 1), ("threads", "threads", 2),
                 ("processes", "processes", 1), ("processes", "processes", 2)]
        times: dict[str, list[float]] = {}
        per_scan: list[float] = []
        clusters = {}
        startup = {}
        for n in (1, 2):
            start = time.perf_counter()
            cluster = LocalCluster(n_workers=n, processes=True, threads_per_worker=1,
                                   host="127.0.0.1", dashboard_address=None)
            client = Client(cluster)
            startup[n] = time.perf_counter() - start
            clusters[n] = (cluster, client)
            client.run(lambda: __import__("medinteract.batch.work"))  # warm imports
        load_before = os.getloadavg()
        probe = gil_probe(inputs)
        try:
            timed_run(inputs, work / "out", scheduler="sync")  # warm-up: imports, file cache
            for _ in range(args.repeats):
                for label, scheduler, n in local:
                    seconds, report = timed_run(inputs, work / "out", scheduler=scheduler,
                                                workers=n)
                    times.setdefault(f"{label} x{n}", []).append(seconds)
                    if label == "sync":
                        per_scan.append(float(report.table["seconds"].median()))
                for n, (_, client) in clusters.items():
                    seconds, _ = timed_run(inputs, work / "out", client=client)
                    times.setdefault(f"LocalCluster x{n}", []).append(seconds)
            start = time.perf_counter()
            rerun = batch.run(pipeline(), inputs, work / "out", progress=False,
                              client=clusters[2][1])
            rerun_s = time.perf_counter() - start
            assert len(rerun.skipped) == args.scans
            load_after = os.getloadavg()
        finally:
            for cluster, client in clusters.values():
                client.close()
                cluster.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    baseline = min(times["sync x1"])
    lines = [
        "## Batch throughput (`benchmarks/bench_batch.py`)",
        "",
        f"{args.scans} phantom CT series of {'x'.join(map(str, shape))} voxels (DICOM, "
        f"{shape[0]} files each); pipeline gaussian -> threshold -> opening -> remove_small -> "
        "label -> region_table, with a NIfTI mask, a region CSV and a manifest written per scan. "
        f"Best and median of {args.repeats} interleaved runs on {os.cpu_count()} CPUs "
        f"({platform.processor() or platform.machine()}, Python {platform.python_version()}); "
        f"one scan takes {statistics.median(per_scan):.2f} s of work in the sync run. "
        f"The machine was shared with other jobs: 1-minute load average {load_before[0]:.1f} "
        f"before and {load_after[0]:.1f} after the runs (2 would mean both cores busy), so "
        "treat these as figures for a busy machine.",
        "",
        "| scheduler | workers | best s | median s | scans/s (best) | speed-up vs sync (best) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, values in times.items():
        label, n = name.rsplit(" x", 1)
        best = min(values)
        lines.append(f"| {label} | {n} | {best:.2f} | {statistics.median(values):.2f} | "
                     f"{args.scans / best:.2f} | {baseline / best:.2f} |")
    lines += [
        "",
        f"LocalCluster start-up (not in the times above): 1 worker {startup[1]:.1f} s, "
        f"2 workers {startup[2]:.1f} s. Re-running over the finished folder (all "
        f"{args.scans} scans skipped, checked by manifest): {rerun_s:.2f} s.",
        "",
    ]
    lines += [
        "GIL probe (pure-Python counter rate while another thread runs the step, relative to "
        "idle; ~1: the step releases the GIL, ~0: it holds it):",
        "",
        "| step | counter rate |",
        "|---|---:|",
        *[f"| {name} | {rate:.2f} |" for name, rate in probe.items()],
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
