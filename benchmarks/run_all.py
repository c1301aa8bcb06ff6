"""Run the benchmarks and write their figures into ``benchmarks/RESULTS.md``.

``make bench`` runs this with the venv's python. Each benchmark owns one generated section of
RESULTS.md, between ``<!-- BEGIN name -->`` and ``<!-- END name -->``; text outside the
sections (the interpretation) is kept as it is.

    python benchmarks/run_all.py                     # everything
    python benchmarks/run_all.py --only display      # kernel-side display latency only
    python benchmarks/run_all.py --only browser      # chromium key press -> image only
    python benchmarks/run_all.py --only notebooks    # tutorial series: time and memory
    python benchmarks/run_all.py --only panels       # also: batch, backends (their own scripts)
    python benchmarks/run_all.py --trials 10 --dry-run   # quick look, RESULTS.md untouched
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime, UTC
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_browser  # noqa: E402
import bench_display  # noqa: E402
import bench_notebooks  # noqa: E402

RESULTS = HERE / "RESULTS.md"
# Benchmarks that are scripts of their own with a ``--markdown PATH`` option:
# part name -> (script, section title).
SCRIPTS = {
    "panels": ("bench_panels.py", "Panels: parameter slider -> new image (real kernel)"),
    "batch": ("bench_batch.py", "Batch: pipeline throughput on 1 vs 2 Dask workers"),
    "backends": ("bench_backends.py", "Keras backends: training time, memory, install size"),
}
SCRIPT_TIMEOUT_S = 3600
PACKAGES = (
    "medinteract", "numpy", "pillow", "ipywidgets", "ipykernel", "jupyter_client",
    "jupyterlab", "matplotlib", "stackview", "ipycanvas", "playwright",
)  # fmt: skip
RESULTS_HEADER = """# Benchmark results

Written by `make bench` (`benchmarks/run_all.py`); see `benchmarks/README.md` for what is
measured and how. Generated sections are replaced on every run; the interpretation is written
by hand.
"""


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_gib() -> str:
    """Total memory from /proc/meminfo."""
    try:
        match = re.search(r"MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text())
        if match:
            return f"{int(match.group(1)) / 2**20:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def load_average() -> str:
    """The 1/5/15-minute load averages."""
    try:
        return "/".join(f"{value:.1f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def chromium_version() -> str:
    """``chromium --version``, or why it is missing."""
    try:
        done = subprocess.run(
            [str(bench_browser.CHROMIUM), "--version"], capture_output=True, text=True, timeout=30
        )
        return done.stdout.strip() or done.stderr.strip()
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"not available ({error})"


def package_versions() -> str:
    """``name version`` of the packages that matter for these figures."""
    found = []
    for name in PACKAGES:
        try:
            found.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            found.append(f"{name} (not installed)")
    return ", ".join(found)


def machine_facts(load_before: str) -> str:
    """A markdown list of the machine and software the figures come from."""
    return (
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n"
        f"- machine: {os.cpu_count()} cores (nproc), {cpu_model()}, {memory_gib()} RAM, "
        f"{platform.system()} {platform.release()}\n"
        f"- load average (1/5/15 min): {load_before} before, {load_average()} after "
        "(2 cores: above 2 means other work competed for the CPU)\n"
        f"- python {platform.python_version()}; {package_versions()}\n"
        f"- browser: {chromium_version()}\n"
    )


def replace_section(text: str, name: str, body: str) -> str:
    """Put ``body`` between the BEGIN/END markers of section ``name`` (appending if absent)."""
    begin, end = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"
    block = f"{begin}\n{body.rstrip()}\n{end}"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        return pattern.sub(lambda _match: block, text)
    return text.rstrip() + "\n\n" + block + "\n"


def write_results(sections: dict[str, str]) -> None:
    """Update the generated sections of RESULTS.md atomically."""
    text = RESULTS.read_text() if RESULTS.exists() else RESULTS_HEADER
    for name, body in sections.items():
        text = replace_section(text, name, body)
    temporary = RESULTS.with_suffix(".md.tmp")
    temporary.write_text(text)
    os.replace(temporary, RESULTS)


def display_section(results: list[bench_display.Result], facts: str, trials: int) -> str:
    """The generated markdown of the kernel-side display benchmark."""
    titles = "\n".join(f"- `{s.key}`: {s.title}" for s in bench_display.SCENARIOS)
    return (
        "## Display: slider change -> new image message (real kernel)\n\n"
        f"{facts}\n"
        f"Scenarios:\n{titles}\n\n"
        f"{trials} slice changes per row (after {bench_display.WARMUP} warm-up changes), each "
        "one slice further, sent as the ipywidgets comm `update` a browser sends. p50/p90: "
        "time to the first image message on IOPub; last image: to the last one; kernel idle: "
        "until the kernel reported idle; image msgs: messages carrying pixels per change.\n\n"
        "### Slice viewer\n\n"
        + bench_display.markdown_table(results, compare=False)
        + "\n### Compare (before/after), slice change on `ct512`\n\n"
        + bench_display.markdown_table(results, compare=True)
    )


def browser_section(
    results: list[bench_browser.Result], problems: list[str], facts: str, presses: int
) -> str:
    """The generated markdown of the browser benchmark."""
    problem_text = "".join(f"- notebook problem: {p}\n" for p in problems) or ""
    return (
        "## Browser: viewers in JupyterLab with the kernel 0, 50 and 150 ms away (chromium)\n\n"
        f"{facts}\n"
        "300x512x512 CT phantom with whole HU values; chromium reaches JupyterLab through a "
        "local TCP proxy adding D ms of round trip; one interleaved run "
        f"(rounds x delays x approaches), {presses} key presses per approach and delay. "
        "Key -> paint: capturing `keydown` to the next animation frame after the first canvas "
        "draw or decoded `<img>`; window/level: painted updates per second during a 2 s drag; "
        "first image: the viewer cell run again, request to first painted frame; whole "
        "volume: until the browser holds every slice. See `benchmarks/bench_browser.py`.\n\n"
        + problem_text
        + bench_browser.markdown_table(results)
    )


def script_section(name: str) -> str:
    """Run one benchmark script with ``--markdown`` and return its section (or its failure)."""
    script, title = SCRIPTS[name]
    load_before = load_average()
    with tempfile.TemporaryDirectory(prefix="medinteract-bench-") as folder:
        table = Path(folder) / f"{name}.md"
        try:
            done = subprocess.run(
                [sys.executable, str(HERE / script), "--markdown", str(table)],
                cwd=HERE.parent, capture_output=True, text=True, timeout=SCRIPT_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired:
            facts = machine_facts(load_before)
            return f"## {title}\n\n{facts}\n`{script}` did not finish in {SCRIPT_TIMEOUT_S} s.\n"
        facts = machine_facts(load_before)
        if done.returncode != 0 or not table.exists():
            tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
            return (
                f"## {title}\n\n{facts}\n`{script}` failed (exit {done.returncode}):\n\n"
                f"```\n{tail}\n```\n"
            )
        body = table.read_text().strip()
    body = re.sub(r"^(#{1,4}) ", r"\1## ", body, flags=re.MULTILINE)  # nest under the title
    return f"## {title}\n\n{facts}\nFrom `benchmarks/{script}`.\n\n{body}\n"


def notebooks_section(results: list[bench_notebooks.NotebookRun], facts: str) -> str:
    """The generated markdown of the tutorial-series benchmark."""
    return (
        "## Tutorial series: wall time and peak memory per notebook\n\n"
        f"{facts}\n"
        "Each notebook in `notebooks/` run top to bottom with nbclient in a fresh kernel, "
        "skipping `NBVAL_SKIP` cells as nbval does. Peak memory: the kernel's resident-set "
        "high-water mark (`VmHWM`); processes a notebook starts itself are not included. "
        "Goals: whole series < 5 min on 2 cores, each notebook < 1.5 GB (Binder).\n\n"
        + bench_notebooks.markdown_table(results)
    )


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benchmarks and update RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", choices=("display", "browser", "notebooks", *SCRIPTS), action="append",
        help="run only this part (repeatable)",
    )
    parser.add_argument("--trials", type=int, default=bench_display.TRIALS)
    parser.add_argument("--presses", type=int, default=bench_browser.PRESSES)
    parser.add_argument("--dry-run", action="store_true", help="print, do not write RESULTS.md")
    args = parser.parse_args(argv)
    chosen = set(args.only or ("display", "browser", "notebooks", *SCRIPTS))
    sections: dict[str, str] = {}
    started = time.monotonic()

    if "display" in chosen:
        print("display benchmark (real kernel):")
        load_before = load_average()
        results = bench_display.run(trials=args.trials)
        sections["display"] = display_section(results, machine_facts(load_before), args.trials)
    if "browser" in chosen:
        print("browser benchmark (JupyterLab + chromium):")
        load_before = load_average()
        try:
            browser_results, problems = bench_browser.run(presses=args.presses)
            sections["browser"] = browser_section(
                browser_results, problems, machine_facts(load_before), args.presses
            )
        except RuntimeError as error:
            print(f"  skipped: {error}")

    if "notebooks" in chosen:
        print("notebook series (nbclient, as CI runs it):")
        load_before = load_average()
        notebook_results = bench_notebooks.run()
        sections["notebooks"] = notebooks_section(notebook_results, machine_facts(load_before))

    for name in SCRIPTS:
        if name in chosen:
            print(f"{name} benchmark ({SCRIPTS[name][0]}):")
            sections[name] = script_section(name)

    for body in sections.values():
        print("\n" + body)
    if not args.dry_run and sections:
        write_results(sections)
        print(f"wrote {RESULTS.relative_to(HERE.parent)}")
    print(f"done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
