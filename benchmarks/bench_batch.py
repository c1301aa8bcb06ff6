"""Batch throughput at real size: does a second Dask worker double the scans per second?

A folder of phantom CT series (``--scans``, default 4, of ``--shape``, default 300x512x512:
a realistic chest CT, written as real DICOM series of 300 files, or as NIfTI with
``--format nifti``) is processed by a realistic pipeline::

    gaussian(sigma 0.8 mm) -> threshold(>= 825 HU) -> opening(radius 1 mm)
        -> remove_small(20 mm^3) -> label -> region_table

(loading the series, writing a NIfTI label image, a region CSV and a manifest per scan are
part of the work measured). Every configuration starts from an empty output folder and runs
with 1 and with 2 workers:

- the local Dask ``threads`` scheduler (``batch.run``'s default);
- the local Dask ``processes`` scheduler (a process pool created per run, so its start-up is
  part of the time, as it is for a user);
- a ``distributed.LocalCluster`` (processes, 1 thread each), a fresh one per run, started
  before the clock starts (its start-up is reported apart), as a user keeps one for a
  session; it is closed after its run, so no idle cluster runs beside the other
  configurations.

**Quiet machine.** The cores are shared with other people's work, and a run that competes
with it measures them, not medinteract. Before every timed run the script waits (up to
``--max-wait`` seconds) until the rest of the machine uses less than ``--quiet`` cores, and
during the run it measures how much CPU everything else took (all CPU time on the machine
minus that of this process and its children), reported as "others' cores". Runs disturbed by
more than ``--quiet`` cores are flagged and left out of the best/median figures when
undisturbed repeats exist. Configurations are interleaved and repeated (``--repeats``).

Usage::

    .venv/bin/python benchmarks/bench_batch.py                      # prints Markdown
    .venv/bin/python benchmarks/bench_batch.py --markdown out.md    # what run_all.py calls
    .venv/bin/python benchmarks/bench_batch.py --scans 2 --shape 48,128,128 --repeats 1  # quick
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import platform
import resource
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ContextManager, Iterator

import psutil

from medinteract import batch
from medinteract.data import phantom
from medinteract.pipeline import Pipeline

#: The local Dask schedulers measured (besides a LocalCluster).
LOCAL = ("threads", "processes")


def pipeline() -> Pipeline:
    """The benchmark pipeline: denoise, segment calcified nodules, clean up, measure."""
    return (Pipeline()
            .append("gaussian", sigma=0.8)
            .append("threshold", low=825.0)
            .append("opening", radius=1.0)
            .append("remove_small", min_size=20.0)
            .append("label")
            .append("region_table"))


def make_inputs(folder: Path, n_scans: int, shape: tuple[int, ...], kind: str) -> None:
    """``n_scans`` phantom CTs (different seeds) under ``folder``, as DICOM series or NIfTI.

    An existing folder holding as many scans is reused (inputs take minutes to make).
    """
    if folder.is_dir() and len(list(folder.iterdir())) == n_scans:
        return
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for seed in range(n_scans):
        p = phantom(shape=shape, seed=seed, n_nodules=3, nodule_hu=2500.0)
        if kind == "dicom":
            p.write_dicom(folder / f"patient{seed:02d}")
        else:
            from medinteract.io import write_nifti

            write_nifti(p.scan, folder / f"patient{seed:02d}.nii.gz")


# -- measuring other people's load ------------------------------------------------------------
def busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (all cores) since boot."""
    t = psutil.cpu_times()
    return sum(t) - t.idle - getattr(t, "iowait", 0.0) - getattr(t, "guest", 0.0) \
        - getattr(t, "guest_nice", 0.0)


def _own_seconds() -> float:
    """CPU seconds used by this process, its finished children and its live descendants."""
    total = sum(resource.getrusage(who).ru_utime + resource.getrusage(who).ru_stime
                for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    for child in psutil.Process().children(recursive=True):
        try:
            times = child.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


def _steal_seconds() -> float:
    """CPU seconds the hypervisor ran something else while this machine's cores wanted to run
    (0 outside a virtual machine)."""
    return getattr(psutil.cpu_times(), "steal", 0.0)


class OthersMeter:
    """Cores used by everything but this benchmark between ``start()`` and ``stop()``.

    ``stop()`` returns them (also kept as ``others``) and sets ``steal``: the part of them
    that the hypervisor gave other guests of the host while this machine wanted to run.
    """

    others: float = 0.0
    steal: float = 0.0

    def start(self) -> None:
        self._busy, self._own, self._wall = busy_seconds(), _own_seconds(), time.perf_counter()
        self._steal = _steal_seconds()

    def stop(self) -> float:
        wall = time.perf_counter() - self._wall
        others = (busy_seconds() - self._busy) - (_own_seconds() - self._own)
        self.steal = max(_steal_seconds() - self._steal, 0.0) / wall if wall > 0 else 0.0
        self.others = max(others, 0.0) / wall if wall > 0 else 0.0
        return self.others


def wait_for_quiet(limit: float, max_wait: float, sample: float = 3.0) -> float:
    """Wait until others use fewer than ``limit`` cores over ``sample`` seconds (at most
    ``max_wait`` seconds); return the last measured figure."""
    meter = OthersMeter()
    deadline = time.monotonic() + max_wait
    while True:
        meter.start()
        time.sleep(sample)
        others = meter.stop()
        if others < limit or time.monotonic() >= deadline:
            return others
        time.sleep(5.0)


# -- runs -------------------------------------------------------------------------------------
@dataclass
class Runs:
    """The timed runs of one configuration."""

    seconds: list[float] = field(default_factory=list)
    others: list[float] = field(default_factory=list)
    steal: list[float] = field(default_factory=list)
    per_scan: list[float] = field(default_factory=list)

    def kept(self, quiet: float) -> list[int]:
        """Indices of undisturbed runs (all runs when none was undisturbed)."""
        calm = [i for i, o in enumerate(self.others) if o < quiet]
        return calm or list(range(len(self.seconds)))


@contextlib.contextmanager
def local_cluster(n_workers: int, startup: list[float]) -> Iterator[dict[str, Any]]:
    """A fresh ``LocalCluster`` of ``n_workers`` (processes, 1 thread each) with medinteract
    imported, for one timed run; its start-up time is appended to ``startup``.

    One cluster per run, closed after it: an idle cluster left running beside the others (its
    scheduler in this process, its workers' heartbeats and profilers) slowed every other
    configuration's runs, the 1-worker ones most.
    """
    from distributed import Client, LocalCluster

    start = time.perf_counter()
    cluster = LocalCluster(n_workers=n_workers, processes=True, threads_per_worker=1,
                           host="127.0.0.1", dashboard_address=":0",
                           silence_logs=logging.ERROR)
    client = Client(cluster)
    try:
        client.run(lambda: __import__("medinteract.batch.work"))  # warm imports
        startup.append(time.perf_counter() - start)
        yield {"client": client}
    finally:
        client.close()
        cluster.close()


def timed_run(inputs: Any, out: Path,
              **options: Any) -> tuple[float, OthersMeter, batch.BatchReport]:
    shutil.rmtree(out, ignore_errors=True)
    meter = OthersMeter()
    meter.start()
    start = time.perf_counter()
    report = batch.run(pipeline(), inputs, out, progress=False, **options)
    seconds = time.perf_counter() - start
    meter.stop()
    if not report.all_ok or len(report.ok) != len(report.table):
        raise RuntimeError(f"benchmark run failed: {report.table.to_string()}")
    return seconds, meter, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scans", type=int, default=4)
    parser.add_argument("--shape", default="300,512,512")
    parser.add_argument("--format", choices=("dicom", "nifti"), default="dicom")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quiet", type=float, default=0.2,
                        help="cores others may use for a run to count as undisturbed")
    parser.add_argument("--max-wait", type=float, default=120.0,
                        help="seconds to wait for a quiet machine before each run")
    parser.add_argument("--inputs", type=Path,
                        help="folder for the inputs, kept and reused (default: one per "
                             "scans/shape/format under the system's temporary folder)")
    parser.add_argument("--markdown", type=Path, help="write the results to this file")
    args = parser.parse_args()
    shape = tuple(int(v) for v in args.shape.split(","))
    logging.getLogger("distributed").setLevel(logging.ERROR)  # no INFO lines as clusters close

    work = Path(tempfile.mkdtemp(prefix="medinteract-bench-batch-"))
    inputs = args.inputs or Path(tempfile.gettempdir()) / (
        f"medinteract-bench-batch-{args.format}-{args.scans}x{'x'.join(map(str, shape))}")
    runs: dict[str, Runs] = {}
    startup: dict[int, list[float]] = {1: [], 2: []}
    try:
        started = time.perf_counter()
        make_inputs(inputs, args.scans, shape, args.format)
        make_s = time.perf_counter() - started
        configs: list[tuple[str, int, Callable[[], ContextManager[dict[str, Any]]]]] = []
        for n in (1, 2):
            for scheduler in LOCAL:
                configs.append((scheduler, n, lambda s=scheduler, n=n: contextlib.nullcontext(
                    {"scheduler": s, "workers": n})))
            configs.append(("LocalCluster", n, lambda n=n: local_cluster(n, startup[n])))
        load_before = os.getloadavg()
        first = batch.find_scans(inputs).iloc[:1]
        timed_run(first, work / "out", scheduler="threads", workers=1)  # warm-up
        for repeat in range(args.repeats):
            order = configs if repeat % 2 == 0 else configs[::-1]  # interleave both ways
            for name, n, options in order:
                with options() as chosen:
                    waited = wait_for_quiet(args.quiet, args.max_wait)
                    seconds, meter, report = timed_run(inputs, work / "out", **chosen)
                others = meter.others
                entry = runs.setdefault(f"{name} x{n}", Runs())
                entry.seconds.append(seconds)
                entry.others.append(others)
                entry.steal.append(meter.steal)
                entry.per_scan.append(float(report.table["seconds"].median()))
                print(f"{name} x{n}: {seconds:.1f} s, others {others:.2f} cores, "
                      f"hypervisor steal {meter.steal:.2f} cores "
                      f"(before: {waited:.2f})", flush=True)
                if args.markdown:  # so far, in case the run is stopped
                    args.markdown.write_text(markdown(
                        args, shape, runs, startup, make_s, load_before,
                        os.getloadavg()), encoding="utf-8")
        load_after = os.getloadavg()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    text = markdown(args, shape, runs, startup, make_s, load_before, load_after)
    print(text)
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")


def markdown(args: argparse.Namespace, shape: tuple[int, ...], runs: dict[str, Runs],
             startup: dict[int, list[float]], make_s: float, load_before: tuple[float, ...],
             load_after: tuple[float, ...]) -> str:
    """The results as a Markdown section."""
    files = f"{shape[0]} files each" if args.format == "dicom" else "one .nii.gz each"
    all_others = [o for r in runs.values() for o in r.others]
    disturbed = sum(o >= args.quiet for o in all_others)
    done = len(all_others)
    planned = 6 * args.repeats
    lines = [
        "## Batch throughput at real size (`benchmarks/bench_batch.py`)",
        "",
        f"{args.scans} phantom CT scans of {'x'.join(map(str, shape))} voxels "
        f"({args.format.upper()}, {files}; made in {make_s:.0f} s); pipeline gaussian -> "
        "threshold -> opening -> remove_small -> label -> region_table, with a NIfTI label "
        f"image, a region CSV and a manifest written per scan. {args.repeats} interleaved "
        f"repeats on {os.cpu_count()} CPUs ({platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()})."
        + ("" if done == planned else f" **Partial: {done} of {planned} runs done.**"),
        "",
        f"Load from others: before each run the script waited for the rest of the machine to "
        f"use < {args.quiet} cores; during the runs others used {min(all_others):.2f}-"
        f"{max(all_others):.2f} cores (median {statistics.median(all_others):.2f}); "
        f"{disturbed} of {len(all_others)} runs were disturbed (>= {args.quiet} cores) and are "
        "left out below where undisturbed repeats exist. 1-minute load average "
        f"{load_before[0]:.1f} before and {load_after[0]:.1f} after (it counts this benchmark "
        "too). Steal (cores the hypervisor gave other guests while this machine wanted them): "
        f"median {statistics.median(s for r in runs.values() for s in r.steal):.2f}, "
        f"max {max(s for r in runs.values() for s in r.steal):.2f}.",
        "",
        "| scheduler | workers | best s | median s | s per scan (median) | scans/s (best) "
        "| 2 workers vs 1 (best) | 2 workers vs 1 (median) | others' cores (median) "
        "| runs kept |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, entry in runs.items():
        label, n = name.rsplit(" x", 1)
        kept = entry.kept(args.quiet)
        seconds = [entry.seconds[i] for i in kept]
        best = min(seconds)
        one = runs.get(f"{label} x1")
        ratio = median_ratio = ""
        if n != "1" and one is not None:
            alone = [one.seconds[i] for i in one.kept(args.quiet)]
            ratio = f"{min(alone) / best:.2f}"
            median_ratio = f"{statistics.median(alone) / statistics.median(seconds):.2f}"
        lines.append(
            f"| {label} | {n} | {best:.1f} | {statistics.median(seconds):.1f} | "
            f"{statistics.median(entry.per_scan[i] for i in kept):.1f} | "
            f"{args.scans / best:.3f} | {ratio} | {median_ratio} | "
            f"{statistics.median(entry.others):.2f} | {len(kept)}/{len(entry.seconds)} |")
    lines += [
        "",
        "LocalCluster: a fresh cluster per run, started before the clock starts; start-up with "
        f"warm imports (median, not in the times above): 1 worker {_median(startup[1])}, "
        f"2 workers {_median(startup[2])}.",
        "",
    ]
    return "\n".join(lines)


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} s" if values else "not measured"


if __name__ == "__main__":
    main()
