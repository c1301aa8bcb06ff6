"""What a Binder launch costs: the image's environment, cold imports, and JupyterLab to a kernel.

Measured on the environment ``binder/build-env`` builds (as repo2docker builds it), side by
side with the development environment (``make test``: the test and benchmark extras), in one
interleaved run:

- size: the environment on disk (what the image adds to the base image), the largest
  distributions, and what ``binder/slim.py`` removed;
- cold start: a new process importing the first tutorials' modules (01's imports; 08's
  ``import keras`` with TensorFlow), after the page cache is dropped (as on a freshly pulled
  image) and again warm;
- launch: JupyterLab started from the environment until it answers, then tutorial 00 opened in
  chromium until its kernel is idle and Run All has finished (cold page cache).

Image pull and pod scheduling on a BinderHub are not measured here: they depend on the
cluster, and grow with the image size given above.

    python benchmarks/bench_binder.py --env /tmp/binder-env [--build] [--trials 3] [--markdown F]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests" / "browser"))

FIRST_IMPORTS = ("import matplotlib.pyplot as plt; import numpy as np; import pydicom; "
                 "import medinteract as mi; from medinteract import teach; "
                 "mi.data.list_samples()")
KERAS_IMPORT = "import os; os.environ.setdefault('KERAS_BACKEND', 'tensorflow'); import keras"
SIZES_CODE = """
import json, sys
from importlib import metadata
from pathlib import Path
sizes = {}
for dist in metadata.distributions():
    total = 0
    for f in dist.files or []:
        try:
            total += Path(dist.locate_file(f)).stat().st_size
        except OSError:
            pass
    sizes[dist.metadata["Name"]] = total
print(json.dumps(sizes))
"""


def drop_caches() -> bool:
    """Drop the page cache (root only); False when the system does not allow it."""
    try:
        subprocess.run(["sync"], check=True)
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def disk_mb(folder: Path) -> float:
    out = subprocess.run(["du", "-sb", str(folder)], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[0]) / 1e6


def timed_python(python: str, code: str) -> float:
    started = time.perf_counter()
    subprocess.run([python, "-c", code], check=True, capture_output=True,
                   env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    return time.perf_counter() - started


def launch_seconds(python: str) -> dict[str, float]:
    """JupyterLab from ``python`` until it answers; tutorial 00 in chromium to Run All done."""
    import shutil

    import labdriver

    os.environ["MEDINTERACT_JUPYTER_PYTHON"] = python
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        server = labdriver.start_lab_server(Path(folder))
        try:
            server_s = time.perf_counter() - started
            shutil.copytree(ROOT / "notebooks", server.root_dir / "notebooks")
            with labdriver.chromium() as browser, labdriver.lab_page_on(browser, server) as page:
                opened = time.perf_counter()
                labdriver.open_notebook(page, "notebooks/00_start_here.ipynb")
                kernel_s = time.perf_counter() - opened
                run = labdriver.open_and_run_all(page, "notebooks/00_start_here.ipynb")
                run.assert_clean()
                run_s = run.seconds
        finally:
            labdriver.stop_lab_server(server)
    return {"server": server_s, "kernel": kernel_s, "run_all_00": run_s}


def build(env: Path) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(["bash", str(ROOT / "binder" / "build-env"), str(env)], check=True,
                          capture_output=True, text=True)
    slim_line = next((line for line in done.stdout.splitlines() if "slim.py" in line), "")
    return time.perf_counter() - started, slim_line


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", type=Path, required=True, help="the Binder environment")
    parser.add_argument("--build", action="store_true", help="build it first (timed)")
    parser.add_argument("--dev", default=str(ROOT / ".venv" / "bin" / "python"),
                        help="the development environment's python")
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--no-launch", action="store_true",
                        help="skip JupyterLab and chromium (sizes and imports only)")
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args()

    build_s, slim_line = build(args.env) if args.build else (None, "")
    envs = {"Binder (binder/requirements.txt + postBuild)": str(args.env / "bin" / "python"),
            "development (make test: test + bench extras)": args.dev}
    sizes = {name: disk_mb(Path(python).parents[1]) for name, python in envs.items()}
    dists = json.loads(subprocess.run([str(args.env / "bin" / "python"), "-c", SIZES_CODE],
                                      capture_output=True, text=True, check=True).stdout)

    cold_ok = drop_caches()
    timings: dict[tuple[str, str], list[float]] = {}
    launches: dict[str, list[dict[str, float]]] = {}
    for _trial in range(args.trials):  # interleaved: every environment in every trial
        for name, python in envs.items():
            for label, code in (("01 imports", FIRST_IMPORTS), ("import keras", KERAS_IMPORT)):
                drop_caches()
                for state in ("cold", "warm"):  # the cold run fills the cache for the warm one
                    seconds = timed_python(python, code)
                    timings.setdefault((name, f"{label}, {state}"), []).append(seconds)
            if not args.no_launch:
                drop_caches()
                launches.setdefault(name, []).append(launch_seconds(python))

    lines = [f"- trials: {args.trials}, interleaved; page cache "
             f"{'dropped before each cold run' if cold_ok else 'NOT dropped (not permitted)'}",
             f"- load average before: {os.getloadavg()[0]:.1f} (2 cores)"]
    if build_s is not None:
        lines.append(f"- building the Binder environment (binder/build-env, pip cache warm): "
                     f"{build_s:.0f} s; {slim_line.strip()}")
    lines += ["", "| environment | on disk MB |", "|---|---:|"]
    lines += [f"| {name} | {mb:.0f} |" for name, mb in sizes.items()]
    total = sum(dists.values())
    lines += ["", f"Largest distributions of the Binder environment (of {total / 1e6:.0f} MB in "
              f"{len(dists)} distributions):", "",
              "| distribution | MB | share |", "|---|---:|---:|"]
    for dist, size in sorted(dists.items(), key=lambda kv: -kv[1])[:8]:
        lines.append(f"| {dist} | {size / 1e6:.0f} | {100 * size / total:.0f} % |")
    lines += ["", "| environment | what | median s | min s |", "|---|---|---:|---:|"]
    for (name, label), values in timings.items():
        lines.append(f"| {name} | {label} | {statistics.median(values):.2f} | {min(values):.2f} |")
    for name, runs in launches.items():
        for key, label in (("server", "JupyterLab start -> answers (cold)"),
                           ("kernel", "open 00 in chromium -> kernel idle"),
                           ("run_all_00", "open 00 -> Run All done")):
            values = [run[key] for run in runs]
            lines.append(f"| {name} | {label} | {statistics.median(values):.2f} | "
                         f"{min(values):.2f} |")
    text = "\n".join(lines) + "\n"
    if args.markdown:
        args.markdown.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
