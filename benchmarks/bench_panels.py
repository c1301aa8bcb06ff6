"""Panel slider -> new image, through a real kernel: medinteract panels vs the usual ways.

One 512x512 CT slice (the phantom), two ops:

- ``gaussian`` (cheap, a few ms): the ``sigma`` slider steps through 1.0, 1.5, ... 3.0;
- ``median`` with size 7 (heavy): the ``size`` slider goes 5 -> 7; only the changes *to 7* are
  timed (the change back to 5 is made and waited for, untimed).

Three approaches, built in the same kernel and measured in the same run:

- ``medinteract.panels.panel`` (its parameter slider; latest value wins, a fast preview for
  heavy ops, then the full result);
- ``ipywidgets.interactive`` re-plotting with matplotlib ``imshow`` into its ``Output`` (the
  usual tutorial approach);
- ``stackview.interact`` (the op as a function with typed parameters).

All three run the very same computation (:class:`medinteract.pipeline.Step` of the op on the
scan, with its spacing). A change is sent as the comm ``update`` a browser sends for a moved
slider (:mod:`kernel`, the benchmark harness); reported are the time to the first image
message (for medinteract's heavy op: the preview), to the last image message (the full
result), the number of image messages per change and the kernel's CPU time per change (the
figure to compare on a busy machine).

Usage::

    .venv/bin/python benchmarks/bench_panels.py                      # prints Markdown
    .venv/bin/python benchmarks/bench_panels.py --markdown benchmarks/PANELS.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import kernel as harness  # noqa: E402
from kernel import BenchKernel, Change  # noqa: E402

#: Heavy ops send their full result after the kernel went idle (a background thread); wait
#: this long after idle for it (the harness default, 0.15 s, is for synchronous renders).
HEAVY_SETTLE_S = 1.5

SETUP = """
import numpy as np
import ipywidgets as widgets
import matplotlib.pyplot as plt
import stackview
from IPython.display import display

import medinteract as mi
from medinteract.pipeline import Step

scan = mi.data.phantom(shape=(512, 512), seed=0).scan
window = scan.window


def run_op(op, image, **params):
    return Step(op, params).call(image, image, scan.spacing)


def find_slider(root, name, named=False):
    # the slider described by `name`, or the first slider inside a box described by it
    # (stackview wraps an undescribed slider in a `SliderWithButtons` carrying the name)
    stack = [(root, named)]
    while stack:
        widget, inside = stack.pop(0)
        described = str(getattr(widget, "description", "")).split(" ")[:1] == [name]
        if isinstance(widget, (widgets.IntSlider, widgets.FloatSlider)) and (inside or described):
            return widget
        stack.extend((child, inside or described) for child in getattr(widget, "children", ()))
    raise LookupError(name)


def gaussian_filter(image, sigma: float = 1.0):
    return run_op("gaussian", image, sigma=sigma)


def median_filter(image, size: int = 5):
    return run_op("median", image, size=size)


def replot(op):
    def show(**params):
        fig, ax = plt.subplots(figsize=(5, 5))
        ax.imshow(run_op(op, scan, **params), cmap="gray", vmin=window.low, vmax=window.high)
        ax.axis("off")
        plt.show()
    return show
"""


@dataclass(frozen=True)
class Op:
    """One op and the slider values to send."""

    name: str
    param: str
    start: float
    timed: tuple[float, ...]  # values whose changes are timed
    reset: float | None  # value set (untimed) before each timed change; None: no reset
    heavy: bool
    sv_function: str
    slider: str  # ipywidgets slider class for the re-plot approach


GAUSSIAN = Op("gaussian", "sigma", 1.0, (1.5, 2.0, 2.5, 3.0, 1.0), None, False,
              "gaussian_filter", "widgets.FloatSlider(value=1.0, min=0.0, max=5.0, step=0.5)")
MEDIAN = Op("median", "size", 5, (7,), 5, True, "median_filter",
            "widgets.IntSlider(value=5, min=1, max=15, step=2)")

APPROACHES = {
    "medinteract panel": """
bench_widget = mi.panels.panel(scan, "{op}", {param}={start!r})
bench_slider = bench_widget.controls["{param}"]
""",
    "matplotlib re-plot (interactive + Output)": """
bench_widget = widgets.interactive(replot("{op}"), {param}={slider})
bench_slider = find_slider(bench_widget, "{param}")
""",
    "stackview.interact": """
bench_widget = stackview.interact({sv_function}, scan.array, display_min=window.low,
                                  display_max=window.high)
bench_slider = find_slider(bench_widget, "{param}")
bench_slider.value = {start!r}
""",
}


@dataclass
class Result:
    """The timed changes of one approach on one op."""

    approach: str
    op: str
    changes: list[Change] = field(default_factory=list)
    cpu_ms_per_change: float = 0.0


def _change(kernel: BenchKernel, comm_id: str, value: float, heavy: bool) -> Change:
    settle = HEAVY_SETTLE_S if heavy else harness.STRAGGLER_WINDOW_S  # see HEAVY_SETTLE_S
    return kernel.change_widget(comm_id, {"value": value}, settle_s=settle)


def measure(kernel: BenchKernel, approach: str, op: Op, *, trials: int, warmup: int) -> Result:
    """Build one approach's widget for ``op`` and time ``trials`` slider changes."""
    setup = APPROACHES[approach].format(op=op.name, param=op.param, start=op.start,
                                        slider=op.slider, sv_function=op.sv_function)
    kernel.execute(textwrap.dedent(setup) + "\ndisplay(bench_widget)\n")
    comm_id = kernel.evaluate("bench_slider.model_id").strip("'")
    kernel.drain_iopub()
    result = Result(approach, op.name)
    values = [op.timed[i % len(op.timed)] for i in range(warmup + trials)]
    cpu = 0.0
    for number, value in enumerate(values):
        if op.reset is not None:
            _change(kernel, comm_id, op.reset, op.heavy)
        cpu_before = kernel.cpu_seconds()
        change = _change(kernel, comm_id, value, op.heavy)
        if number >= warmup:
            cpu += kernel.cpu_seconds() - cpu_before
            result.changes.append(change)
    result.cpu_ms_per_change = cpu * 1000 / trials
    kernel.execute("bench_widget.close()\ndel bench_widget, bench_slider")
    kernel.drain_iopub()
    return result


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def machine() -> str:
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return (f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({model}), "
            f"Python {platform.python_version()}; load average at start {load}")


def markdown(results: list[Result], *, trials: dict[str, int], header: str) -> str:
    lines = [
        "# Panel latency: slider -> image, 512x512 CT slice",
        "",
        header,
        "",
        "Measured with `benchmarks/bench_panels.py` through a real kernel (`benchmarks/kernel.py`:"
        " the comm `update` a browser sends for a moved slider; times until the image message "
        "leaves the kernel, not browser paint). *first image* is the first message carrying "
        "pixels (for a medinteract heavy op: the preview), *full result* the last one; "
        "*CPU ms* is the kernel process's CPU time per change (robust to other load on the "
        "machine). All approaches run the same op call.",
        "",
        "| op | approach | first image p50 ms | p90 ms | full result p50 ms | p90 ms "
        "| kernel idle p50 ms | kernel CPU ms / change | image msgs / change "
        "| payload KiB / change | encoding |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        first = [c.first_image_ms for c in r.changes if c.first_image_ms is not None]
        last = [c.last_image_ms for c in r.changes if c.last_image_ms is not None]
        idle = [c.idle_ms for c in r.changes]
        renders = statistics.mean(c.renders for c in r.changes)
        payload = statistics.mean(c.payload_bytes for c in r.changes) / 1024
        missing = len(r.changes) - len(first)
        note = f" ({missing} changes without image)" if missing else ""
        encoding = "+".join(sorted({c.encoding for c in r.changes}))
        cells = [f"{_pct(first, 0.5):.1f}", f"{_pct(first, 0.9):.1f}",
                 f"{_pct(last, 0.5):.1f}", f"{_pct(last, 0.9):.1f}"] if first else ["-"] * 4
        lines.append(f"| {r.op} | {r.approach}{note} | " + " | ".join(cells)
                     + f" | {_pct(idle, 0.5):.1f} | {r.cpu_ms_per_change:.1f} | {renders:.2f} "
                     f"| {payload:.0f} | {encoding} |")
    lines += ["", f"Trials per row: gaussian {trials['gaussian']}, median {trials['median']} "
              "(after warm-up changes)."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20, help="timed changes, cheap op")
    parser.add_argument("--heavy-trials", type=int, default=10, help="timed changes, median")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--markdown", type=Path, help="write the results here")
    args = parser.parse_args(argv)
    started = dt.datetime.now(dt.UTC)
    header = f"Run {started:%Y-%m-%d %H:%M} UTC on {machine()}."
    results = []
    with BenchKernel() as kernel:
        kernel.execute(SETUP)
        kernel.drain_iopub()
        info = kernel.evaluate("(mi.panels.BACKGROUND_MS, mi.panels.PREVIEW_MS)")
        for op, trials in ((GAUSSIAN, args.trials), (MEDIAN, args.heavy_trials)):
            for approach in APPROACHES:
                print(f"{op.name}: {approach} ...", file=sys.stderr, flush=True)
                results.append(measure(kernel, approach, op, trials=trials,
                                       warmup=args.warmup))
    header += (f" medinteract runs an op in the background when its last run took longer "
               f"than {info.strip('()').split(',')[0]} ms and shows a preview first above "
               f"{info.strip('()').split(',')[1].strip()} ms.")
    text = markdown(results, trials={"gaussian": args.trials, "median": args.heavy_trials},
                    header=header)
    print(text)
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
