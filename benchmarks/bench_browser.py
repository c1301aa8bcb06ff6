"""Viewers in JupyterLab in headless chromium, with the kernel 0, 50 and 150 ms away.

A JupyterLab server and chromium are started with the browser tests' harness
(``tests/browser/labdriver.py``); chromium reaches the server through a local TCP proxy that
holds every chunk D/2 ms in each direction (one FIFO per direction keeps order; WebSockets
pass through unchanged), as a Binder or remote JupyterHub kernel is D ms away.

Each approach gets its own notebook, kernel and page on a 300x512x512 CT phantom with whole
HU values (as CT read from DICOM: int16 on the wire): the new ``medinteract.view`` (the
browser front end), today's PNG path (``medinteract.view`` as of commit :data:`PNG_COMMIT`,
one PNG per change from the kernel, extracted with ``git archive`` into a temporary folder),
``stackview.slice`` and ipyniivue (WebGL, the volume as a NIfTI file). Then, in one
interleaved run (rounds x delays x approaches):

- **key -> paint**: the approach's slice control is focused and the arrow key pressed; a
  capturing ``keydown`` listener stores ``performance.now()``, hooks on every canvas draw
  (``putImageData``/``drawImage``, WebGL ``drawArrays``/``drawElements``) and on ``<img>``
  ``src`` changes (after decoding) record the next animation frame after the first draw:
  the slice is on screen;
- **window/level**: a 2 s right-drag on the image (or a drag of the level slider where that
  is the control), real mouse moves 2 px apart sent back to back; painted updates per second
  (animation frames in which the approach drew: at most the frame rate, 60/s);
- **first image** and **whole volume**: the viewer cell is run again, from the request to
  the first painted frame in its output, and (medinteract) until the browser holds every
  slice; ipyniivue draws only once it has the whole file. Every re-run starts once the
  previous viewer holds its whole volume (also the first one, after "Run All"), and once
  the machine has settled: every approach is measured with the others' pages, kernels and
  the server idle (:func:`settle`: below 0.3 busy cores over half a second, at most 30 s,
  the busy cores left and, when it did not settle, the busiest processes are reported);
- **JS heap** (after a forced garbage collection) and **kernel RSS** once everything loaded.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psutil

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "tests" / "browser"))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_batch, whatever the caller

from bench_batch import busy_seconds  # noqa: E402 - one definition of "busy"
from labdriver import (  # noqa: E402
    CHROMIUM,
    chromium,
    kernel_output,
    lab_page_on,
    open_and_run_all,
    running_lab_server,
)

PRESSES = 30  # per approach and delay, over all rounds
ROUNDS = 2
DELAYS_MS = (0, 50, 150)
SHAPE = (300, 512, 512)
SPACING = (1.0, 0.7, 0.7)
DRAG_S = 2.0
#: The last commit whose viewers sent one PNG per change from the kernel.
PNG_COMMIT = "2760c4b"

# Instrumentation installed in every page before any script runs.
INIT_JS = """
(() => {
  window.__bench = { press: null, draws: 0, frames: 0, lastPaint: 0 };
  let frameAsked = false;
  const painted = () => {
    const b = window.__bench;
    b.draws++;
    if (frameAsked) { return; }  // this frame paints it too: count frames, not draw calls
    frameAsked = true;
    requestAnimationFrame(() => {
      frameAsked = false;
      const now = performance.now();
      b.frames++;
      b.lastPaint = now;
      if (b.press && b.press.paint === null) { b.press.paint = now; }
      if (b.run && b.run.first === null && (!b.run.shown || b.run.shown())) {
        b.run.first = now;
      }
    });
  };
  const wrap = (proto, name) => {
    if (!proto || !proto[name]) { return; }
    const original = proto[name];
    proto[name] = function (...args) { painted(); return original.apply(this, args); };
  };
  wrap(window.CanvasRenderingContext2D && CanvasRenderingContext2D.prototype, 'putImageData');
  wrap(window.CanvasRenderingContext2D && CanvasRenderingContext2D.prototype, 'drawImage');
  for (const gl of [window.WebGLRenderingContext, window.WebGL2RenderingContext]) {
    wrap(gl && gl.prototype, 'drawArrays');
    wrap(gl && gl.prototype, 'drawElements');
  }
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.attributeName === 'src' && r.target.tagName === 'IMG') {
        r.target.decode().then(painted, painted);
      }
    }
  }).observe(document, { attributes: true, subtree: true, attributeFilter: ['src'] });
  document.addEventListener('keydown', () => {
    window.__bench.press = { t: performance.now(), paint: null };
  }, true);
})();
"""


@dataclass(frozen=True)
class Approach:
    """A viewer to measure: its notebook cells and where its controls are."""

    key: str
    title: str
    setup: str  # code run before the viewer cell
    viewer: str  # the viewer cell (run again to time the first image)
    focus: str  # CSS selector of the element that takes the arrow key
    key_name: str
    drag: str | None  # CSS selector dragged for window/level (None: no window control)
    drag_button: str = "right"
    holds_volume_js: str | None = None  # JS: true once the browser holds the whole volume
    # JS: true once the viewer is in the output (its first image is the first paint after
    # that; a viewer may draw an empty canvas of an older output before)
    shown_js: str = "() => true"


LOAD = ("import numpy as np\nvolume = np.load({path!r}).astype(np.float32)\n")
APPROACHES = (
    Approach(
        "medinteract", "medinteract.view (browser front end)",
        "import medinteract as mi\n" + LOAD
        + f"scan = mi.Scan(volume, spacing={SPACING}, modality='CT', window=(-600, 1500))",
        "viewer = mi.view(scan)\nviewer",
        ".mi-viewer .mi-frame", "ArrowUp", ".mi-viewer .mi-frame",
        holds_volume_js="() => { const v = document.querySelector('.mi-viewer');"
        " if (!v || !v.__miView) return false;"
        " const l = v.__miView.store.layers.get('values'); return !!l && l.complete(); }",
    ),
    Approach(
        "png", f"medinteract.view as of {PNG_COMMIT} (a PNG per change)",
        "import sys\nsys.path.insert(0, {old!r})\nimport medinteract as mi\n" + LOAD
        + f"scan = mi.Scan(volume, spacing={SPACING}, modality='CT', window=(-600, 1500))",
        "viewer = mi.view(scan)\nviewer",
        ".mi-viewer .mi-slice-slider .noUi-handle", "ArrowRight",
        ".mi-viewer .mi-window-center .noUi-handle", drag_button="left",
    ),
    Approach(
        "stackview", "stackview.slice",
        "import stackview\n" + LOAD,
        "stackview.slice(volume, continuous_update=True)",
        ".jp-OutputArea-output .widget-slider .noUi-handle", "ArrowRight", None,
    ),
    Approach(
        "ipyniivue", "ipyniivue (WebGL, NIfTI file)",
        "from ipyniivue import NiiVue\n",
        "nv = NiiVue()\nnv.load_volumes([{{'path': {nifti!r}}}])\nnv",
        ".jp-OutputArea-output canvas", "ArrowRight", ".jp-OutputArea-output canvas",
        shown_js="() => !!document.querySelector('.jp-OutputArea-output canvas')",
    ),
)


@dataclass
class Measure:
    """What one approach did at one delay."""

    key_ms: list[float] = field(default_factory=list)
    missed: int = 0
    wl_per_s: list[float] = field(default_factory=list)
    first_ms: list[float] = field(default_factory=list)
    whole_ms: list[float] = field(default_factory=list)
    busy_before: list[float] = field(default_factory=list)  # cores busy when it started


@dataclass
class Result:
    approach: Approach
    by_delay: dict[int, Measure]
    heap_mb: float | None = None
    kernel_mb: float | None = None
    error: str | None = None


# ---------------------------------------------------------------------------------------------
# the delaying proxy
# ---------------------------------------------------------------------------------------------


class DelayProxy:
    """TCP proxy on 127.0.0.1 holding each chunk ``delay_ms / 2`` in each direction."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.delay_ms = 0.0
        self.loop = asyncio.new_event_loop()
        self.port = 0
        ready = threading.Event()
        threading.Thread(target=self._serve, args=(ready,), daemon=True).start()
        ready.wait(10)

    def _serve(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)

        async def start() -> None:
            server = await asyncio.start_server(self._client, "127.0.0.1", 0)
            self.port = server.sockets[0].getsockname()[1]
            ready.set()

        self.loop.run_until_complete(start())
        self.loop.run_forever()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer),
                             return_exceptions=True)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        queue: asyncio.Queue = asyncio.Queue()

        async def send() -> None:
            while True:
                due, data = await queue.get()
                if data is None:
                    break
                wait = due - self.loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                sink.write(data)
                await sink.drain()

        sender = asyncio.create_task(send())
        try:
            while data := await source.read(1 << 16):
                queue.put_nowait((self.loop.time() + self.delay_ms / 2000, data))
        finally:
            queue.put_nowait((0.0, None))
            await sender
            sink.close()


# ---------------------------------------------------------------------------------------------
# measuring
# ---------------------------------------------------------------------------------------------


def busiest_processes(sample_s: float = 0.5, n: int = 3) -> list[str]:
    """The ``n`` processes that used the most CPU over ``sample_s`` seconds, with cores."""
    processes = list(psutil.process_iter(["name", "cmdline"]))
    before = {}
    for process in processes:
        try:
            before[process.pid] = sum(process.cpu_times()[:2])
        except psutil.Error:
            pass
    time.sleep(sample_s)
    used = []
    for process in processes:
        try:
            cores = (sum(process.cpu_times()[:2]) - before[process.pid]) / sample_s
        except (psutil.Error, KeyError):
            continue
        command = " ".join(process.info["cmdline"] or [process.info["name"] or "?"])
        used.append((cores, f"{cores:.2f} cores: {command[:120]}"))
    return [text for _, text in sorted(used, reverse=True)[:n]]


def settle(limit: float = 0.3, max_wait_s: float = 30.0, sample_s: float = 0.5,
           log=print) -> float:
    """Wait until the whole machine uses fewer than ``limit`` cores over ``sample_s`` seconds
    (at most ``max_wait_s``); return the busy cores last measured. When it does not settle,
    log the busiest processes: a measurement then competes with them."""
    deadline = time.monotonic() + max_wait_s
    while True:
        start, wall = busy_seconds(), time.monotonic()
        time.sleep(sample_s)
        busy = (busy_seconds() - start) / (time.monotonic() - wall)
        if busy < limit:
            return busy
        if time.monotonic() >= deadline:
            log(f"    not settled after {max_wait_s:.0f} s ({busy:.2f} busy cores): "
                + "; ".join(busiest_processes()))
            return busy


def scroll_to(target: Any) -> None:
    """Bring ``target`` into view (Playwright's own scrolling waits for the element to stop
    changing, which a WebGL canvas that keeps resizing itself, as ipyniivue's, never does)."""
    target.evaluate("(element) => element.scrollIntoView({block: 'center'})")


def press_keys(page: Any, approach: Approach, n: int, measure: Measure) -> None:
    target = page.locator(approach.focus).first
    target.wait_for(state="attached", timeout=300_000)  # ipyniivue: once its file arrived
    scroll_to(target)
    target.focus()
    for _ in range(n):
        page.keyboard.press(approach.key_name)
        try:
            page.wait_for_function("() => window.__bench.press && window.__bench.press.paint",
                                   timeout=5000)
        except Exception:  # noqa: BLE001 - no paint after this press
            measure.missed += 1
            continue
        press = page.evaluate("() => window.__bench.press")
        measure.key_ms.append(press["paint"] - press["t"])
        page.wait_for_timeout(120)  # let trailing renders of this press pass


def drag_window(page: Any, approach: Approach, measure: Measure) -> None:
    """Drag for :data:`DRAG_S` seconds, back and forth; count the frames that painted.

    The moves are real input events (CDP ``Input.dispatchMouseEvent``), dispatched by
    Playwright's driver one after the other (``steps``), 2 px apart: a Python loop of single
    moves pays a driver round trip per move and sent only about 45 moves/s to an empty page
    on the 2-core machine, fewer than the 60 frames/s a mouse drag brings.
    """
    if approach.drag is None:
        return
    target = page.locator(approach.drag).first
    scroll_to(target)
    box = target.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    tilt = 10 if approach.drag_button == "right" else 0  # right-drag: width and level
    page.mouse.move(x, y)
    page.mouse.down(button=approach.drag_button)
    frames = page.evaluate("() => window.__bench.frames")
    started = time.monotonic()
    page.mouse.move(x + 40, y + tilt, steps=20)
    while time.monotonic() - started < DRAG_S:
        page.mouse.move(x - 40, y - tilt, steps=40)
        page.mouse.move(x + 40, y + tilt, steps=40)
    elapsed = time.monotonic() - started
    page.mouse.up(button=approach.drag_button)
    page.wait_for_timeout(300)
    measure.wl_per_s.append((page.evaluate("() => window.__bench.frames") - frames) / elapsed)


def rerun_viewer_cell(page: Any, approach: Approach, cell: int, measure: Measure) -> None:
    """Run the viewer cell again; time the first painted frame and the whole volume."""
    page.evaluate(
        "([cell, shown]) => { const nb = window.jupyterapp.shell.currentWidget.content;"
        " nb.activeCellIndex = cell;"
        " window.__bench.run = { t: performance.now(), first: null, shown: (0, eval)(shown) };"
        " window.jupyterapp.commands.execute('notebook:run-cell'); }", [cell, approach.shown_js])
    try:
        page.wait_for_function("() => window.__bench.run.first", timeout=120_000)
    except Exception:  # noqa: BLE001
        return
    run = page.evaluate("() => window.__bench.run")
    measure.first_ms.append(run["first"] - run["t"])
    if approach.holds_volume_js:
        page.wait_for_function(approach.holds_volume_js, timeout=300_000, polling=20)
        measure.whole_ms.append(page.evaluate("() => performance.now()") - run["t"])


def js_heap_mb(page: Any) -> float:
    client = page.context.new_cdp_session(page)
    client.send("HeapProfiler.collectGarbage")
    usage = client.send("Runtime.getHeapUsage")
    return usage["usedSize"] / 2**20


def kernel_rss_mb(lab_page: Any) -> float:
    pid = int(kernel_output(lab_page, "import os; print(os.getpid())"))
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def prepare_data(folder: Path) -> dict[str, str]:
    """The phantom as .npy (whole HU, int16) and .nii.gz; today's PNG package from git."""
    import medinteract as mi

    scan = mi.data.phantom(shape=SHAPE, spacing=SPACING, seed=0).scan
    volume = np.round(scan.array).astype(np.int16)
    np.save(folder / "ct.npy", volume)
    mi.io.write_nifti(scan.with_array(volume.astype(np.float32)), folder / "ct.nii.gz")
    old = folder / "png_path"
    old.mkdir()
    archive = subprocess.run(["git", "-C", str(REPO_ROOT), "archive", PNG_COMMIT, "medinteract"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
    return {"path": str(folder / "ct.npy"), "nifti": str(folder / "ct.nii.gz"), "old": str(old)}


def run(*, presses: int = PRESSES, rounds: int = ROUNDS, delays: tuple[int, ...] = DELAYS_MS,
        only: tuple[str, ...] = (), log=print) -> tuple[list[Result], list[str]]:
    """Start JupyterLab, the proxy and chromium; measure every approach, interleaved."""
    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} not found (apt-get install chromium)")
    approaches = [a for a in APPROACHES if not only or a.key in only]
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="medinteract-bench-lab-") as base:
        data = prepare_data(Path(base))
        with running_lab_server(Path(base) / "lab") as server, chromium() as browser:
            proxy = DelayProxy(int(server.url.rsplit(":", 1)[1]))
            proxied = type(server)(f"http://127.0.0.1:{proxy.port}", server.token,
                                   server.root_dir, server.log_path, server.process)
            pages: dict[str, Any] = {}
            results = {a.key: Result(a, {d: Measure() for d in delays}) for a in approaches}
            contexts = []
            try:
                for approach in approaches:
                    log(f"  browser: opening {approach.title} ...")
                    context = lab_page_on(browser, proxied)
                    lab_page = context.__enter__()
                    contexts.append(context)
                    lab_page.page.add_init_script(INIT_JS)
                    cells = [approach.setup.format(**data), approach.viewer.format(**data)]
                    name = server.write_notebook(f"bench_{approach.key}.ipynb", cells)
                    run_all = open_and_run_all(lab_page, name)
                    problems += [f"{approach.key}: {p}" for p in run_all.problems()]
                    if approach.holds_volume_js:  # every re-run starts from a settled page
                        lab_page.page.wait_for_function(approach.holds_volume_js,
                                                        timeout=300_000, polling=200)
                    pages[approach.key] = lab_page
                for round_ in range(rounds):
                    for delay in delays:
                        proxy.delay_ms = delay
                        for approach in approaches:
                            log(f"  browser: round {round_ + 1}, D = {delay} ms, {approach.key}")
                            page = pages[approach.key].page
                            measure = results[approach.key].by_delay[delay]
                            try:
                                measure.busy_before.append(settle(log=log))
                                rerun_viewer_cell(page, approach, 1, measure)
                                page.wait_for_timeout(500)
                                press_keys(page, approach, presses // rounds, measure)
                                drag_window(page, approach, measure)
                            except Exception as error:  # noqa: BLE001 - report, go on
                                results[approach.key].error = str(error).splitlines()[0][:200]
                proxy.delay_ms = 0
                for approach in approaches:
                    lab_page = pages[approach.key]
                    results[approach.key].heap_mb = js_heap_mb(lab_page.page)
                    results[approach.key].kernel_mb = kernel_rss_mb(lab_page)
                    lab_page.screenshot(f"bench_browser_{approach.key}", whole_notebook=False)
            finally:
                for context in reversed(contexts):
                    context.__exit__(None, None, None)
    return list(results.values()), problems


# ---------------------------------------------------------------------------------------------
# reporting
# ---------------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    return float(np.percentile(values, q))


def fmt(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def markdown_table(results: list[Result]) -> str:
    """The figures as markdown tables (key -> paint by delay, then load, window and memory)."""
    delays = sorted(next(iter(results)).by_delay) if results else []
    head = " | ".join(f"D = {d} ms p50 / p90" for d in delays)
    lines = [f"| approach | {head} | presses without paint |",
             "|---|" + "---:|" * len(delays) + "---:|"]
    for r in results:
        cells = [f"{fmt(percentile(m.key_ms, 50), 1)} / {fmt(percentile(m.key_ms, 90), 1)}"
                 for m in r.by_delay.values()]
        missed = sum(m.missed for m in r.by_delay.values())
        lines.append(f"| {r.approach.title} | " + " | ".join(cells) + f" | {missed} |")
    lines += ["", "| approach | " + " | ".join(
        f"first image D = {d} ms" for d in delays) + " | whole volume D = 0 / "
        f"{delays[-1] if delays else ''} ms | window/level updates/s (D = 0) | JS heap MB "
        "| kernel RSS MB |",
        "|---|" + "---:|" * len(delays) + "---:|---:|---:|---:|"]
    for r in results:
        first = [fmt(statistics.median(m.first_ms) if m.first_ms else None) for m in
                 r.by_delay.values()]
        whole = [m.whole_ms for m in r.by_delay.values()]
        whole_text = (f"{fmt(statistics.median(whole[0]) if whole[0] else None)} / "
                      f"{fmt(statistics.median(whole[-1]) if whole[-1] else None)}")
        wl = r.by_delay[delays[0]].wl_per_s if delays else []
        lines.append(f"| {r.approach.title} | " + " | ".join(f"{v} ms" if v != "-" else v
                                                               for v in first)
                     + f" | {whole_text} | {fmt(statistics.median(wl) if wl else None, 1)} "
                     f"| {fmt(r.heap_mb)} | {fmt(r.kernel_mb)} |")
    busy = [b for r in results for m in r.by_delay.values() for b in m.busy_before]
    if busy:
        lines += ["", f"Busy cores on the machine just before each re-run (after settling): "
                      f"median {statistics.median(busy):.2f}, max {max(busy):.2f}."]
    errors = [f"- {r.approach.key}: {r.error}" for r in results if r.error]
    return "\n".join(lines + ([""] + errors if errors else [])) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=PRESSES)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--only", action="append", default=[])
    args = parser.parse_args(argv)
    results, problems = run(presses=args.presses, rounds=args.rounds, only=tuple(args.only))
    for problem in problems:
        print("notebook problem:", problem)
    print(markdown_table(results))


if __name__ == "__main__":
    main()
