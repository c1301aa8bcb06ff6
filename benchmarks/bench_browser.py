"""Key press on a slice slider -> new image in the page, measured in headless chromium.

A JupyterLab server and chromium are started with the same harness as the browser tests
(``tests/browser/labdriver.py``). A notebook builds the widgets on a 300x512x512 CT phantom and
is run with "Run All Cells". Then, for each approach, the slider handle is focused and
``ArrowRight`` pressed ``PRESSES`` times. In the page a capturing ``keydown`` listener stores
``performance.now()``; a ``MutationObserver`` on the image element's ``src`` records the delay
to the new ``src`` (a new ``blob:`` URL), and the image's ``load`` event the delay until the
browser has decoded it. Extra ``src`` changes after a press count as extra renders.

Approaches: ``medinteract.view`` and the plain ``ipywidgets.Image`` + PNG level 1 baseline (both
show an ``<img>``; stackview draws into a canvas and matplotlib replaces whole output nodes,
so this src-based measurement does not apply to them).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "tests" / "browser"))

from labdriver import (  # noqa: E402
    CHROMIUM,
    chromium,
    lab_page_on,
    open_and_run_all,
    running_lab_server,
)

PRESSES = 30
SETTLE_MS = 250  # after the first new src, wait this long for further (extra) renders

NOTEBOOK_CELLS = [
    "import numpy as np\nimport ipywidgets as widgets\nimport medinteract as mi\n"
    "scan = mi.data.phantom(shape=(300, 512, 512), spacing=(1.0, 0.7, 0.7), seed=0).scan\n"
    "volume = scan.array\nlow, high = scan.window.low, scan.window.high",
    "import io\nfrom PIL import Image as PILImage\n\n"
    "def png_level1(z):\n"
    "    grey = np.clip((volume[z] - low) * (255.0 / (high - low)), 0, 255)\n"
    "    buffer = io.BytesIO()\n"
    "    PILImage.fromarray(grey.astype(np.uint8)).save(buffer, format='PNG', compress_level=1)\n"
    "    return buffer.getvalue()\n\n"
    "png_image = widgets.Image(value=png_level1(150), format='png')\n"
    "png_image.add_class('bench-png1-image')\n"
    "png_slider = widgets.IntSlider(value=150, min=0, max=299)\n"
    "png_slider.add_class('bench-png1-slider')\n"
    "png_slider.observe(lambda c: setattr(png_image, 'value', png_level1(c['new'])), 'value')\n"
    "widgets.VBox([png_slider, png_image])",
    "viewer = mi.view(scan)\nviewer",
]


@dataclass(frozen=True)
class Target:
    """A slider handle to press and the image it should change."""

    key: str
    title: str
    handle: str  # CSS selector of the slider handle
    image_js: str  # JS expression: the <img> element, given `handle` (the handle element)


TARGETS = (
    Target(
        "medinteract",
        "medinteract.view",
        ".mi-slice-slider .noUi-handle",
        "(handle.closest('.mi-pane') || handle.closest('.mi-display') || document)"
        ".querySelector('img.mi-image')",
    ),
    Target(
        "png1",
        "ipywidgets.Image + PNG level 1",
        ".bench-png1-slider .noUi-handle",
        "document.querySelector('img.bench-png1-image')",
    ),
)

INSTALL_JS = """
([handleSelector, imageJs]) => {
  const handle = document.querySelector(handleSelector);
  const image = new Function('handle', `return ${imageJs};`)(handle);
  if (!handle || !image) { return false; }
  if (window.__bench) { window.__bench.observer.disconnect(); }
  const bench = { press: null, presses: [] };
  const onKey = () => {
    bench.press = { keydown: performance.now(), src: [], load: null };
    bench.presses.push(bench.press);
  };
  document.addEventListener('keydown', onKey, true);
  bench.observer = new MutationObserver((records) => {
    for (const record of records) {
      if (record.attributeName === 'src' && bench.press) {
        bench.press.src.push(performance.now() - bench.press.keydown);
      }
    }
  });
  bench.observer.observe(image, { attributes: true, attributeFilter: ['src'] });
  image.addEventListener('load', () => {
    if (bench.press && bench.press.load === null) {
      bench.press.load = performance.now() - bench.press.keydown;
    }
  });
  bench.removeKey = () => document.removeEventListener('keydown', onKey, true);
  window.__bench = bench;
  return true;
}
"""


@dataclass
class BrowserResult:
    """Delays of the key presses on one target."""

    target: Target
    src_ms: list[float] = field(default_factory=list)
    load_ms: list[float] = field(default_factory=list)
    srcs_per_press: list[int] = field(default_factory=list)
    missed: int = 0
    error: str | None = None


def measure_target(page, target: Target, presses: int = PRESSES) -> BrowserResult:
    """Press ArrowRight ``presses`` times on the target's slider; collect the delays."""
    result = BrowserResult(target)
    if not page.evaluate(INSTALL_JS, [target.handle, target.image_js]):
        result.error = f"not found: {target.handle}"
        return result
    page.locator(target.handle).first.focus()
    for _ in range(presses):
        page.keyboard.press("ArrowRight")
        try:
            page.wait_for_function(
                "() => window.__bench.press && window.__bench.press.src.length > 0", timeout=5000
            )
        except Exception:  # noqa: BLE001 - no new image for this press
            result.missed += 1
            continue
        page.wait_for_timeout(SETTLE_MS)
        press = page.evaluate("() => window.__bench.press")
        result.src_ms.append(press["src"][0])
        result.srcs_per_press.append(len(press["src"]))
        if press["load"] is not None:
            result.load_ms.append(press["load"])
    page.evaluate("() => { window.__bench.observer.disconnect(); window.__bench.removeKey(); }")
    return result


def run(*, presses: int = PRESSES, log=print) -> tuple[list[BrowserResult], list[str]]:
    """Start JupyterLab and chromium, run the notebook, measure every target.

    Returns the results and the problems the notebook run showed (should be none).
    """
    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} not found (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="medinteract-bench-lab-") as base:
        with running_lab_server(Path(base)) as server, chromium() as browser:
            with lab_page_on(browser, server) as lab_page:
                name = server.write_notebook("bench_browser.ipynb", NOTEBOOK_CELLS)
                run_all = open_and_run_all(lab_page, name)
                problems = run_all.problems()
                results = []
                for target in TARGETS:
                    log(f"  browser: {target.title} ...")
                    results.append(measure_target(lab_page.page, target, presses))
                lab_page.screenshot("bench_browser")
    return results, problems


def median(values: list[float]) -> float | None:
    """Median, None for no values."""
    return statistics.median(values) if values else None


def markdown_table(results: list[BrowserResult]) -> str:
    """A markdown table of the browser delays."""
    lines = [
        "| approach | presses | key -> new src p50 ms | key -> image loaded p50 ms "
        "| new srcs per press | presses without a new image |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        if result.error:
            lines.append(f"| {result.target.title} | not run: {result.error} | | | | |")
            continue
        src = median(result.src_ms)
        load = median(result.load_ms)
        per_press = statistics.mean(result.srcs_per_press) if result.srcs_per_press else None
        lines.append(
            f"| {result.target.title} | {len(result.src_ms) + result.missed} "
            f"| {'-' if src is None else f'{src:.1f}'} | {'-' if load is None else f'{load:.1f}'} "
            f"| {'-' if per_press is None else f'{per_press:.2f}'} | {result.missed} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    """Measure and print the table."""
    results, problems = run()
    for problem in problems:
        print("notebook problem:", problem)
    print(markdown_table(results))


if __name__ == "__main__":
    main()
