"""Where two batch workers lose time: CPU seconds per step, alone and beside a twin.

``bench_batch.py`` measures 1 vs 2 workers end to end. This script says *which steps* slow
down when two scans are processed at the same time on this machine, and what the machine
itself allows:

- **steps**: one scan of the batch benchmark (a DICOM series) goes through what a batch
  worker does (:func:`medinteract.batch.work._load`, the benchmark pipeline step by step
  through :meth:`Pipeline.iter_results`, the result image and region table written as
  :func:`medinteract.batch.work._write_outputs` does), timing every step with
  :func:`time.process_time` (CPU seconds of the process: robust to time slicing by other
  people's work, unlike wall clock). It runs once alone, then as two processes started
  together (a barrier) on the same scan, ``--repeats`` times, alternating.
- **ceiling**: two kernels, alone and as twins: a compute-bound one whose data stays in the
  core's own caches (sums of a 16 KB array) and a streaming one (``numpy.add`` of two 300 MB
  float32 arrays into a third). Their CPU-time ratio twin/alone is what sharing the memory
  system costs at best and at worst on this machine.

A ratio of 1.0 means the step is unaffected by a twin; 1.5 means it takes 1.5 times the CPU
seconds (the core stalls waiting for memory). Usage::

    .venv/bin/python benchmarks/bench_batch_steps.py            # both parts, Markdown out
    .venv/bin/python benchmarks/bench_batch_steps.py --only ceiling
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
from bench_batch import OthersMeter, pipeline, wait_for_quiet  # the same workload and rules

DEFAULT_SCAN = Path(tempfile.gettempdir()) / "medinteract-bench-batch-dicom-4x300x512x512" \
    / "patient00"


# -- what is timed ----------------------------------------------------------------------------
def run_scan(folder: str) -> dict[str, tuple[float, float, float]]:
    """Per step of one scan (load, each op, writing), in this process: CPU seconds in user
    mode, CPU seconds in the kernel, thousands of minor page faults."""
    from medinteract._atomic import staged_folder
    from medinteract.batch import work

    files = sorted(Path(folder).iterdir())
    times: dict[str, tuple[float, float, float]] = {}
    clock = _usage()

    def lap(name: str) -> None:
        nonlocal clock
        now = _usage()
        times[name] = tuple(n - c for n, c in zip(now, clock))
        clock = now

    scan, _ = work._load(files)
    lap("load")
    last = None
    for outcome in pipeline().iter_results(scan):
        if outcome.geometry is not None:
            last = outcome
        lap(outcome.step.op)
    output = work.PipelineOutput(last.geometry.scan(last.result, like=last.image),
                                 outcome.result, last.image)
    lap("result as a Scan")
    with tempfile.TemporaryDirectory(prefix="medinteract-bench-steps-") as out:
        with staged_folder(Path(out) / "scan") as stage:
            work._write_outputs(stage, output, "nifti")
            lap("write NIfTI + CSV")
    return times


def _usage() -> tuple[float, float, float]:
    """CPU seconds in user mode, in the kernel (system), and minor page faults (thousands)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime, usage.ru_minflt / 1000


def compute_kernel(seconds: float = 3.0) -> float:
    """CPU seconds per 1000 sums of a 16 KB array (stays in the core's L1/L2 cache)."""
    data = np.random.default_rng(0).random(2048)  # 16 KB
    n = 0
    start = time.process_time()
    while time.process_time() - start < seconds:
        for _ in range(1000):
            data.sum()
        n += 1
    return (time.process_time() - start) / n


def allocating_kernel(rounds: int = 10) -> float:
    """CPU seconds per ``a + b`` of two 300 MB float32 arrays into a new array (each result
    is fresh memory that the kernel maps and zeroes, as every op's output is)."""
    n = 300 * 512 * 512
    a = np.ones(n, np.float32)
    b = np.ones(n, np.float32)
    start = time.process_time()
    for _ in range(rounds):
        c = a + b
        del c
    return (time.process_time() - start) / rounds


def streaming_kernel(rounds: int = 10) -> float:
    """CPU seconds per ``numpy.add`` of two 300 MB float32 arrays into a third (0.9 GB moved)."""
    n = 300 * 512 * 512
    a = np.ones(n, np.float32)
    b = np.ones(n, np.float32)
    c = np.empty(n, np.float32)
    np.add(a, b, out=c)  # pages touched before timing
    start = time.process_time()
    for _ in range(rounds):
        np.add(a, b, out=c)
    return (time.process_time() - start) / rounds


# -- alone vs twins ---------------------------------------------------------------------------
def _worker(barrier: Any, queue: Any, func: Callable[..., Any], args: tuple) -> None:
    barrier.wait()
    queue.put(func(*args))


def run_together(func: Callable[..., Any], args: tuple, n: int) -> list[Any]:
    """``func(*args)`` in ``n`` fresh processes released together; their results."""
    ctx = mp.get_context("spawn")
    barrier, queue = ctx.Barrier(n), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(barrier, queue, func, args)) for _ in range(n)]
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    return results


def measure(func: Callable[..., Any], args: tuple, repeats: int, quiet: float,
            max_wait: float) -> tuple[list, list, list[float]]:
    """Results alone and beside a twin (each twin counts), ``repeats`` times alternating;
    before each run, wait for the rest of the machine to use < ``quiet`` cores. Also returns
    the cores others used during each run."""
    alone, twins, others = [], [], []
    meter = OthersMeter()
    for r in range(repeats):
        order = (1, 2) if r % 2 == 0 else (2, 1)
        for n in order:
            wait_for_quiet(quiet, max_wait)
            meter.start()
            results = run_together(func, args, n)
            others.append(meter.stop())
            (alone if n == 1 else twins).extend(results)
            print(f"  {func.__name__} x{n} (others {others[-1]:.2f} cores): {results}",
                  flush=True)
    return alone, twins, others


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scan", default=str(DEFAULT_SCAN), help="a DICOM series folder")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--only", choices=("steps", "ceiling"))
    parser.add_argument("--quiet", type=float, default=0.2,
                        help="wait before each run until others use fewer cores than this")
    parser.add_argument("--max-wait", type=float, default=120.0)
    args = parser.parse_args()
    lines = []
    if args.only in (None, "ceiling"):
        lines += ["| kernel | CPU s alone | CPU s beside a twin | twin / alone "
                  "| others' cores (median) |",
                  "|---|---:|---:|---:|---:|"]
        for name, func in (("compute (16 KB, in cache), per 1000 sums", compute_kernel),
                           ("streaming (numpy add, 3 x 300 MB), per add", streaming_kernel),
                           ("allocating (a + b into a new 300 MB array), per add",
                            allocating_kernel)):
            alone, twins, others = measure(func, (), args.repeats, args.quiet, args.max_wait)
            a, t = statistics.median(alone), statistics.median(twins)
            lines.append(f"| {name} | {a:.4f} | {t:.4f} | {t / a:.2f} "
                         f"| {statistics.median(others):.2f} |")
        lines.append("")
    if args.only in (None, "steps"):
        alone, twins, others = measure(run_scan, (args.scan,), args.repeats, args.quiet,
                                       args.max_wait)
        lines += ["| step | CPU s alone (user + sys) | beside a twin (user + sys) "
                  "| twin / alone | page faults (k) |",
                  "|---|---:|---:|---:|---:|"]
        total_a = total_t = 0.0
        for step in alone[0]:
            ua, sa, fa = (statistics.median(r[step][k] for r in alone) for k in range(3))
            ut, st, _ = (statistics.median(r[step][k] for r in twins) for k in range(3))
            total_a, total_t = total_a + ua + sa, total_t + ut + st
            lines.append(f"| {step} | {ua + sa:.2f} ({ua:.2f} + {sa:.2f}) | {ut + st:.2f} "
                         f"({ut:.2f} + {st:.2f}) | {(ut + st) / (ua + sa):.2f} | {fa:.0f} |")
        lines.append(f"| **total** | **{total_a:.2f}** | **{total_t:.2f}** | "
                     f"**{total_t / total_a:.2f}** | |")
        lines += ["", f"Others used {min(others):.2f}-{max(others):.2f} cores during the runs "
                  f"(median {statistics.median(others):.2f})."]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
