"""Slider change -> new image message, through a real kernel, for several ways to show a slice.

For each scenario (image size) one kernel is started and the data made once; then each
approach builds its widget in that kernel and its slice slider is moved, like a browser moves
it, ``TRIALS`` times (after ``WARMUP`` unrecorded changes), one slice further each time.

Approaches (slice viewer):

``medinteract.view``
    The package's viewer. It draws in the browser from values it sent once (see
    ``bench_browser.py``), so a slice change sends no image: the figure here is what the
    kernel spends on the state the browser syncs back (``{"index": N}`` to the viewer's
    comm), with no image message at all.
``matplotlib interact``
    The usual tutorial: ``ipywidgets.interact`` re-plotting ``plt.imshow`` + ``plt.show()``
    into its ``Output`` on every change (inline backend, PNG).
``stackview.slice``
    stackview's slice viewer (an ipycanvas canvas fed by ``putImageData``).
``ipywidgets.Image + PNG 1``
    Baseline: an ``IntSlider`` observer that windows the slice to 8 bits and sets
    ``ipywidgets.Image.value`` to a Pillow PNG at compression level 1.
``bare IntSlider``
    A slider nothing listens to: the cost of the message round trip itself.

Compare (before/after, slice change): ``medinteract.compare`` against ``stackview.curtain`` and
``stackview.side_by_side``.

Run through ``benchmarks/run_all.py`` (``make bench``); ``python benchmarks/bench_display.py``
prints the tables alone.
"""

from __future__ import annotations

import statistics
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from kernel import BenchKernel, Change, KernelError  # noqa: E402

WARMUP = 3
TRIALS = 40


@dataclass(frozen=True)
class Scenario:
    """Data made once in the kernel: defines ``scan``, ``volume``, ``before``, ``after``."""

    key: str
    title: str
    setup: str


@dataclass(frozen=True)
class Approach:
    """Code that builds ``bench_widget`` and names its slice slider ``bench_slider``."""

    key: str
    title: str
    setup: str
    compare: bool = False
    sends_image: bool = True
    trait: str = "value"  # the trait of bench_slider a browser change sets


@dataclass
class Result:
    """All changes measured for one approach in one scenario (or why it could not run)."""

    scenario: Scenario
    approach: Approach
    changes: list[Change] = field(default_factory=list)
    cpu_ms_per_change: float | None = None
    error: str | None = None

    def first_image_ms(self) -> list[float]:
        """Times to the first image message, of the changes that produced one."""
        return [c.first_image_ms for c in self.changes if c.first_image_ms is not None]

    def summary(self) -> dict[str, object]:
        """p50/p90 latency, idle time, renders and payload per change."""
        latencies = self.first_image_ms()
        return {
            "p50_ms": percentile(latencies, 50),
            "p90_ms": percentile(latencies, 90),
            "last_p50_ms": percentile(
                [c.last_image_ms for c in self.changes if c.last_image_ms is not None], 50
            ),
            "idle_p50_ms": percentile([c.idle_ms for c in self.changes], 50),
            "renders": (
                float(statistics.mean(c.renders for c in self.changes)) if self.changes else None
            ),
            "payload_kb": (
                statistics.median(c.payload_bytes for c in self.changes) / 1024
                if self.changes
                else None
            ),
            "cpu_ms": self.cpu_ms_per_change,
            "encoding": "/".join(sorted({c.encoding for c in self.changes})) or "-",
            "no_image": sum(c.first_image_ms is None for c in self.changes),
        }


def percentile(values: list[float], q: float) -> float | None:
    """The ``q``-th percentile (linear interpolation), None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# -- kernel code -------------------------------------------------------------------------------

COMMON = """
import numpy as np
import ipywidgets as widgets
from IPython.display import display


def find_slice_slider(root, n_slices):
    '''The slice slider of a widget tree: class mi-slice-slider, else an IntSlider over n.'''
    seen, stack, candidates = set(), [root], []
    while stack:
        node = stack.pop(0)
        if id(node) in seen:
            continue
        seen.add(id(node))
        classes = getattr(node, '_dom_classes', ())
        if 'mi-slice-slider' in classes:
            return node
        if isinstance(node, widgets.IntSlider) and node.max == n_slices - 1:
            candidates.append(node)
        for name in ('children', 'slice_slider', 'view'):
            child = getattr(node, name, None)
            if isinstance(child, (list, tuple)):
                stack.extend(child)
            elif isinstance(child, widgets.Widget):
                stack.append(child)
    if not candidates:
        raise LookupError('no slice slider found')
    return candidates[0]
"""

PHANTOM_VOLUME = """
import medinteract as mi
from scipy import ndimage

_phantom = mi.data.phantom(shape={shape}, spacing={spacing}, seed=0{options})
scan = _phantom.scan
volume = scan.array
before = scan
after = scan.with_array(ndimage.uniform_filter(volume, size=(1, 3, 3)))
low, high = scan.window.low, scan.window.high
n_slices = volume.shape[0]
"""

SCENARIOS = (
    Scenario(
        "ct512",
        "512x512 slice of a 300-slice CT phantom (float32 HU, lung window)",
        PHANTOM_VOLUME.format(shape=(300, 512, 512), spacing=(1.0, 0.7, 0.7), options=""),
    ),
    Scenario(
        "dx2048",
        "2048x2048 radiograph-sized slice (8-frame stack of 2048x2048 float32)",
        PHANTOM_VOLUME.format(
            shape=(8, 2048, 2048), spacing=(2.5, 0.175, 0.175), options=", nodule_radius_mm=3.0"
        ),
    ),
)

SLICE_APPROACHES = (
    Approach(
        "medinteract",
        "medinteract.view",
        """
        bench_widget = mi.view(scan)
        bench_slider = bench_widget  # the slice slider lives in the browser
        """,
        sends_image=False,
        trait="index",
    ),
    Approach(
        "matplotlib",
        "matplotlib interact (Output re-plot)",
        """
        %matplotlib inline
        import matplotlib.pyplot as plt

        def show_slice(z):
            plt.figure(figsize=(6, 6))
            plt.imshow(volume[z], cmap='gray', vmin=low, vmax=high)
            plt.axis('off')
            plt.show()

        bench_widget = widgets.interactive(
            show_slice, z=widgets.IntSlider(value=n_slices // 2, min=0, max=n_slices - 1))
        bench_slider = bench_widget.children[0]
        """,
    ),
    Approach(
        "stackview",
        "stackview.slice",
        """
        import stackview
        bench_widget = stackview.slice(volume, display_min=low, display_max=high,
                                       continuous_update=True)
        bench_slider = find_slice_slider(bench_widget, n_slices)
        """,
    ),
    Approach(
        "png1",
        "ipywidgets.Image + PNG level 1",
        """
        import io
        from PIL import Image as PILImage

        def png_level1(z):
            grey = np.clip((volume[z] - low) * (255.0 / (high - low)), 0, 255)
            buffer = io.BytesIO()
            PILImage.fromarray(grey.astype(np.uint8)).save(buffer, format='PNG',
                                                           compress_level=1)
            return buffer.getvalue()

        _image = widgets.Image(value=png_level1(n_slices // 2), format='png')
        bench_slider = widgets.IntSlider(value=n_slices // 2, min=0, max=n_slices - 1)
        bench_slider.observe(lambda change: setattr(_image, 'value', png_level1(change['new'])),
                             names='value')
        bench_widget = widgets.VBox([bench_slider, _image])
        """,
    ),
    Approach(
        "bare-slider",
        "bare IntSlider, no image (protocol round trip)",
        """
        bench_slider = widgets.IntSlider(value=n_slices // 2, min=0, max=n_slices - 1)
        bench_widget = bench_slider
        """,
        sends_image=False,
    ),
)

COMPARE_APPROACHES = (
    Approach(
        "medinteract-compare",
        "medinteract.compare",
        """
        bench_widget = mi.compare(before, after)
        bench_slider = bench_widget  # the slice slider lives in the browser
        """,
        compare=True,
        sends_image=False,
        trait="index",
    ),
    Approach(
        "stackview-curtain",
        "stackview.curtain",
        """
        import stackview
        bench_widget = stackview.curtain(before.array, after.array, display_min=low,
                                         display_max=high, curtain_display_min=low,
                                         curtain_display_max=high, continuous_update=True)
        bench_slider = find_slice_slider(bench_widget, n_slices)
        """,
        compare=True,
    ),
    Approach(
        "stackview-side-by-side",
        "stackview.side_by_side",
        """
        import stackview
        bench_widget = stackview.side_by_side(before.array, after.array, display_min=low,
                                              display_max=high, continuous_update=True)
        bench_slider = find_slice_slider(bench_widget, n_slices)
        """,
        compare=True,
    ),
)


# -- measuring ---------------------------------------------------------------------------------


def slice_values(start: int, n_slices: int, count: int) -> list[int]:
    """``count`` slice indices, each one further than the last, wrapping inside the stack."""
    return [(start + 1 + i) % n_slices for i in range(count)]


def measure_approach(
    kernel: BenchKernel, scenario: Scenario, approach: Approach, *, trials: int, warmup: int
) -> Result:
    """Build one approach's widget in ``kernel`` and time ``trials`` slice changes."""
    result = Result(scenario, approach)
    try:
        kernel.execute(textwrap.dedent(approach.setup) + "\ndisplay(bench_widget)\n")
    except KernelError as error:
        result.error = str(error).splitlines()[0]
        return result
    comm_id = kernel.evaluate("bench_slider.model_id").strip("'")
    start = int(kernel.evaluate(f"bench_slider.{approach.trait}"))
    n_slices = int(kernel.evaluate("n_slices"))
    kernel.drain_iopub()
    values = slice_values(start, n_slices, warmup + trials)
    for value in values[:warmup]:
        kernel.change_widget(comm_id, {approach.trait: value})
    cpu_before = kernel.cpu_seconds()
    for value in values[warmup:]:
        result.changes.append(kernel.change_widget(comm_id, {approach.trait: value}))
    result.cpu_ms_per_change = (kernel.cpu_seconds() - cpu_before) * 1000 / trials
    kernel.execute(
        "bench_widget.close()\ntry:\n    plt.close('all')\nexcept NameError:\n    pass\n"
    )
    kernel.drain_iopub()
    return result


def run_scenario(
    scenario: Scenario,
    approaches: tuple[Approach, ...],
    *,
    trials: int = TRIALS,
    warmup: int = WARMUP,
    log=print,
) -> list[Result]:
    """Start a kernel, make the scenario's data, measure each approach in turn."""
    results: list[Result] = []
    with BenchKernel() as kernel:
        kernel.execute(COMMON + scenario.setup)
        for approach in approaches:
            log(f"  {scenario.key}: {approach.title} ...")
            result = measure_approach(kernel, scenario, approach, trials=trials, warmup=warmup)
            if result.error:
                log(f"    skipped: {result.error}")
            else:
                summary = result.summary()
                log(
                    f"    p50 {fmt(summary['p50_ms'])} ms, CPU {fmt(summary['cpu_ms'])} ms, "
                    f"renders {fmt(summary['renders'])}"
                )
            results.append(result)
    return results


def run(*, trials: int = TRIALS, warmup: int = WARMUP, log=print) -> list[Result]:
    """Every scenario: slice approaches, and compare approaches on the CT volume."""
    results: list[Result] = []
    for scenario in SCENARIOS:
        approaches: tuple[Approach, ...] = SLICE_APPROACHES
        if scenario.key == "ct512":
            approaches = SLICE_APPROACHES + COMPARE_APPROACHES
        results += run_scenario(scenario, approaches, trials=trials, warmup=warmup, log=log)
    return results


# -- reporting ---------------------------------------------------------------------------------


def fmt(value: object, digits: int = 1) -> str:
    """A number for a table cell; '-' for None."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def markdown_table(results: list[Result], *, compare: bool) -> str:
    """A markdown table of the results of slice (or compare) approaches."""
    header = (
        "| scenario | approach | p50 ms | p90 ms | last image p50 ms | kernel idle p50 ms "
        "| kernel CPU ms / change | image msgs / change | payload KiB / change | encoding |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|\n"
    )
    rows = []
    for result in results:
        if result.approach.compare != compare:
            continue
        if result.error:
            rows.append(
                f"| {result.scenario.key} | {result.approach.title} | not run: "
                f"{result.error} | | | | | | | |"
            )
            continue
        s = result.summary()
        missing = s["no_image"] and result.approach.sends_image
        note = f" ({s['no_image']} changes sent no image)" if missing else ""
        rows.append(
            f"| {result.scenario.key} | {result.approach.title}{note} | {fmt(s['p50_ms'])} "
            f"| {fmt(s['p90_ms'])} | {fmt(s['last_p50_ms'])} | {fmt(s['idle_p50_ms'])} "
            f"| {fmt(s['cpu_ms'])} | {fmt(s['renders'], 2)} "
            f"| {fmt(s['payload_kb'])} | {s['encoding']} |"
        )
    return header + "\n".join(rows) + "\n"


def main() -> None:
    """Measure everything and print the tables."""
    results = run()
    print(markdown_table(results, compare=False))
    print(markdown_table(results, compare=True))


if __name__ == "__main__":
    main()
