"""Which Keras backend should medinteract default to? Measure, don't guess.

For each backend (``KERAS_BACKEND=tensorflow``, ``jax``; ``torch`` when installed) this script
starts a *fresh* Python process (Keras reads ``KERAS_BACKEND`` once, at import) that

1. times ``import keras`` (which imports the backend),
2. builds :func:`medinteract.learn.models.small_cnn` and trains it on 2048 random 64x64
   single-channel images (batch 64) for a few epochs,
3. reports the first epoch (tracing/compilation included) separately from the steady-state
   epochs (median of epochs 2..n), and the peak resident memory of the process.

Each backend is run ``--repeats`` times, interleaved (tf, jax, tf, jax, ...) so that load from
other processes on a shared machine hits both alike; the table reports medians.

The installed size of each backend is the sum of the file sizes recorded in the
``RECORD`` of every distribution that the backend pulls in and that the rest of medinteract
does not need anyway (``importlib.metadata``; dependencies resolved recursively from the
installed metadata, extras ignored).

Usage::

    .venv/bin/python benchmarks/bench_backends.py              # prints a Markdown table
    .venv/bin/python benchmarks/bench_backends.py --repeats 5 --epochs 6 --markdown out.md
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import importlib.util
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

BACKENDS = ("tensorflow", "jax", "torch")
#: The distribution that *is* each backend (its own dependencies are found from metadata).
BACKEND_ROOTS = {"tensorflow": ["tensorflow-cpu"], "jax": ["jax", "jaxlib"], "torch": ["torch"]}
N_IMAGES, SIZE, BATCH = 2048, 64, 64


# -- worker (runs inside the fresh process) ------------------------------------------------
def worker(epochs: int) -> dict:
    """Train once in this process and return the measurements (backend from the env)."""
    import resource

    t0 = time.perf_counter()
    import keras  # imports the backend named by KERAS_BACKEND

    import_s = time.perf_counter() - t0
    import numpy as np

    from medinteract.learn.models import small_cnn

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.random((N_IMAGES, SIZE, SIZE, 1), dtype=np.float32)
    y = rng.integers(0, 2, N_IMAGES)

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.start)

    times: list[float] = []
    t0 = time.perf_counter()
    model = small_cnn((SIZE, SIZE, 1), 2)
    build_s = time.perf_counter() - t0
    model.fit(x, y, batch_size=BATCH, epochs=epochs, verbose=0, callbacks=[EpochTimer()])
    t0 = time.perf_counter()
    model.predict(x[:256], verbose=0)
    predict_s = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "import_s": import_s,
        "build_s": build_s,
        "first_epoch_s": times[0],
        "epoch_s": statistics.median(times[1:]) if len(times) > 1 else float("nan"),
        "epoch_times": times,
        "predict256_s": predict_s,
        "peak_rss_mb": peak_kb / 1024,
        "params": model.count_params(),
    }


def run_worker(backend: str, epochs: int) -> dict:
    """Run :func:`worker` in a fresh interpreter with ``KERAS_BACKEND=backend``."""
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run(
        [sys.executable, __file__, "--worker", "--epochs", str(epochs)],
        env=env, capture_output=True, text=True, check=False,
    )
    if out.returncode:
        raise RuntimeError(f"{backend} worker failed:\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if result["backend"] != backend:
        raise RuntimeError(f"asked for {backend}, Keras used {result['backend']}")
    return result


# -- installed size -------------------------------------------------------------------------
def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirements(dist_name: str) -> list[str]:
    """Names of the installed runtime requirements of a distribution (no extras)."""
    from packaging.requirements import Requirement

    try:
        reqs = md.distribution(dist_name).requires or []
    except md.PackageNotFoundError:
        return []
    names = []
    for text in reqs:
        req = Requirement(text)
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        names.append(_norm(req.name))
    return names


def closure(roots: list[str]) -> set[str]:
    """All installed distributions reachable from ``roots`` through requirements."""
    seen: set[str] = set()
    todo = [_norm(r) for r in roots]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        try:
            md.distribution(name)
        except md.PackageNotFoundError:
            continue
        seen.add(name)
        todo.extend(_requirements(name))
    return seen


def dist_size(name: str) -> int:
    """Bytes on disk of one installed distribution (from its RECORD)."""
    files = md.distribution(name).files or []
    total = 0
    for f in files:
        try:
            total += os.stat(f.locate()).st_size
        except OSError:
            pass
    return total


def backend_footprint(backend: str) -> tuple[int, list[tuple[str, int]]]:
    """Size of the distributions a backend adds on top of the rest of medinteract."""
    base_roots = [r for r in _requirements("medinteract") if r not in {"tensorflow-cpu"}]
    base = closure(base_roots)
    own = closure(BACKEND_ROOTS[backend]) - base
    sizes = sorted(((n, dist_size(n)) for n in own), key=lambda t: -t[1])
    return sum(s for _, s in sizes), sizes


# -- report ---------------------------------------------------------------------------------
def markdown(results: dict[str, list[dict]], sizes: dict, repeats: int, epochs: int) -> str:
    load = os.getloadavg()
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, Keras {next(iter(results.values()))[0]['keras']}; "
        f"load average at the end {load[0]:.1f}/{load[1]:.1f} (shared with other jobs).",
        f"Workload: `small_cnn` ({next(iter(results.values()))[0]['params']} parameters), "
        f"{N_IMAGES} images {SIZE}x{SIZE}x1, batch {BATCH}, {epochs} epochs per run, "
        f"{repeats} fresh processes per backend (interleaved); medians over runs.",
        "",
        "| backend | import keras (s) | first epoch incl. compile (s) | steady epoch (s) "
        "| predict 256 (s) | peak RSS (MB) | installed size (MB) |",
        "|---|---|---|---|---|---|---|",
    ]
    for backend, runs in results.items():
        med = {k: statistics.median(r[k] for r in runs)
               for k in ("import_s", "first_epoch_s", "epoch_s", "predict256_s", "peak_rss_mb")}
        spread = [r["epoch_s"] for r in runs]
        lines.append(
            f"| {backend} | {med['import_s']:.2f} | {med['first_epoch_s']:.2f} "
            f"| {med['epoch_s']:.2f} ({min(spread):.2f}-{max(spread):.2f}) "
            f"| {med['predict256_s']:.2f} | {med['peak_rss_mb']:.0f} "
            f"| {sizes[backend][0] / 1e6:.0f} |")
    lines += ["", "Distributions counted in the installed size (MB):", ""]
    for backend, (_, parts) in sizes.items():
        listed = ", ".join(f"{n} {s / 1e6:.1f}" for n, s in parts if s > 0.5e6)
        lines.append(f"- {backend}: {listed}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--backends", nargs="*", default=list(BACKENDS))
    parser.add_argument("--markdown", type=Path, help="also write the table to this file")
    parser.add_argument("--json", type=Path, help="also write raw results to this file")
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.epochs)))
        return 0
    available = []
    for backend in args.backends:
        if importlib.util.find_spec(backend) is None:
            print(f"# {backend}: not installed, skipped", file=sys.stderr)
        else:
            available.append(backend)
    results: dict[str, list[dict]] = {b: [] for b in available}
    for i in range(args.repeats):
        for backend in available:
            r = run_worker(backend, args.epochs)
            results[backend].append(r)
            print(f"# run {i + 1} {backend}: first {r['first_epoch_s']:.2f} s, steady "
                  f"{r['epoch_s']:.2f} s/epoch, import {r['import_s']:.2f} s, "
                  f"peak {r['peak_rss_mb']:.0f} MB", file=sys.stderr, flush=True)
    sizes = {b: backend_footprint(b) for b in available}
    text = markdown(results, sizes, args.repeats, args.epochs)
    print(text)
    if args.markdown:
        tmp = args.markdown.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, args.markdown)
    if args.json:
        tmp = args.json.with_suffix(".tmp")
        tmp.write_text(json.dumps({"results": results,
                                   "sizes": {b: s[0] for b, s in sizes.items()}}, indent=1))
        os.replace(tmp, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
