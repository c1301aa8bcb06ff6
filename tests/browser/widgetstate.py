"""What the page shows vs what the kernel holds, for every widget control on the page.

:func:`page_controls` asks the notebook's widget manager in chromium for every widget view
attached to the page and reads what each *shows* from its DOM (a slider's readout, a
dropdown's or list's selected option, a checkbox's tick, our own slider's exact value);
:func:`kernel_controls` asks the notebook's kernel for the values of the same widgets (by
model id); :func:`mismatches` compares them. Used by the drift tests and by the generic
"after Run All every control shows the kernel's value" test.
"""

from __future__ import annotations

import json
import math
from typing import Any

from labdriver import LabPage, kernel_output

# Every widget view attached to the page, by model id: the view name and what its DOM shows.
# The manager is found on a widget renderer of the notebook (its ``_manager`` promise).
PAGE_CONTROLS_JS = """
async () => {
  const panel = window.jupyterapp.shell.currentWidget;
  let managerPromise = null;
  const visit = (widget) => {
    if (managerPromise) { return; }
    if (widget._manager && widget._manager.promise) {
      managerPromise = widget._manager.promise;
      return;
    }
    for (const child of widget.children()) { visit(child); }
  };
  visit(panel.content);
  if (!managerPromise) { return {}; }
  const manager = await managerPromise;
  const shown = {};
  const controls = new Set(['IntSliderView', 'FloatSliderView', 'FloatLogSliderView',
    'IntRangeSliderView', 'FloatRangeSliderView', 'SelectionSliderView', 'DropdownView',
    'SelectView', 'RadioButtonsView', 'ToggleButtonsView', 'CheckboxView', 'AnyView']);
  const text = (node) => node ? node.textContent.replace(/\\u2212/g, '-').trim() : null;
  for (const [id, modelPromise] of Object.entries(manager._models)) {
    let model;
    try { model = await modelPromise; } catch (e) { continue; }
    const viewName = model.get('_view_name');
    if (!controls.has(viewName)) { continue; }
    for (const viewPromise of Object.values(model.views || {})) {
      let view;
      try { view = await viewPromise; } catch (e) { continue; }
      const el = view.el || (view.luminoWidget && view.luminoWidget.node);
      if (!el || !el.isConnected) { continue; }
      const entry = { view: viewName };
      const exact = el.querySelector('[data-mi-value]');
      const select = el.querySelector('select');
      const checkbox = el.querySelector('input[type=checkbox]');
      const readout = el.querySelector('.widget-readout');
      if (exact) {
        entry.value = JSON.parse(exact.getAttribute('data-mi-value'));
        const box = el.querySelector('.mi-slider-readout');
        entry.text = box ? box.value.replace(/\u2212/g, '-') : null;
      } else if (viewName === 'AnyView') {
        continue;  // another anywidget (a viewer): not a control of ours
      } else if (viewName === 'ToggleButtonsView') {
        const buttons = [...el.querySelectorAll('button')];
        entry.index = buttons.findIndex((b) => b.classList.contains('mod-active'));
      } else if (select) {
        entry.index = select.selectedIndex;
        entry.text = select.selectedIndex >= 0 ? text(select.options[select.selectedIndex]) : null;
      } else if (checkbox && viewName === 'CheckboxView') {
        entry.checked = checkbox.checked;
      } else if (readout) {
        entry.text = text(readout);
      } else {
        continue;
      }
      (shown[id] = shown[id] || []).push(entry);
    }
  }
  return shown;
}
"""

# Prints {model_id: state} for the widgets in the kernel (JSON), the same fields as above.
KERNEL_CONTROLS_CODE = r"""
def _mi_kernel_controls(ids):
    import json as _json
    from ipywidgets import Widget as _Widget
    out = {}
    for _id in ids:
        _w = _Widget.widgets.get(_id)
        if _w is None:
            out[_id] = None
            continue
        _state = {"class": type(_w).__name__}
        for _name in ("value", "index", "label", "readout_format", "min", "max", "base"):
            if _w.has_trait(_name):
                _v = getattr(_w, _name)
                _state[_name] = list(_v) if isinstance(_v, tuple) else _v
        out[_id] = _state
    print("\n@@mi " + _json.dumps(out, default=repr))
_mi_kernel_controls(IDS)
"""

def kernel_value(lab_page: LabPage, expression: str) -> Any:
    """The value of a Python expression in the notebook's kernel, through JSON."""
    out = kernel_output(lab_page, "import json as _mi_json; "
                                  f"print('\\n@@mi ' + _mi_json.dumps({expression}))")
    return json.loads(_marked(out))


def page_controls(lab_page: LabPage) -> dict[str, list[dict[str, Any]]]:
    """Every control view on the page, by model id: what each view shows."""
    return lab_page.page.evaluate(PAGE_CONTROLS_JS)


def kernel_controls(lab_page: LabPage, ids: list[str]) -> dict[str, dict[str, Any] | None]:
    """The kernel-side state of the widgets ``ids`` (None for a widget the kernel lacks)."""
    code = KERNEL_CONTROLS_CODE.replace("IDS", repr(list(ids)))
    return json.loads(_marked(kernel_output(lab_page, code)))


def _marked(out: str) -> str:
    """The JSON after the marker (other output of the kernel, e.g. a warning, is ignored)."""
    marked = [line[5:] for line in out.splitlines() if line.startswith("@@mi ")]
    if len(marked) != 1:
        raise RuntimeError(f"no marked answer in the kernel's output: {out!r}")
    return marked[0]


def settle(lab_page: LabPage, ms: int = 1500) -> None:
    """Wait until the kernel is idle, then a little longer (echoes arrive after idle)."""
    lab_page.page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status"
        " === 'idle'", timeout=120_000)
    lab_page.page.wait_for_timeout(ms)
    lab_page.page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status"
        " === 'idle'", timeout=120_000)


def _readout_number(text: str) -> float:
    return float(text.replace("\u2212", "-").replace(",", ""))


def _digits(readout_format: str) -> int | None:
    """Significant digits of a ``.Ng`` readout format (None: unknown)."""
    if readout_format.startswith(".") and readout_format.endswith("g"):
        try:
            return int(readout_format[1:-1])
        except ValueError:
            return None
    return None


def _same_number(shown: float, value: float, readout_format: str | None) -> bool:
    if shown == value:
        return True
    digits = _digits(readout_format or "") or 6
    if value == 0:
        return abs(shown) < 10 ** -digits
    scale = 10 ** (math.floor(math.log10(abs(value))) - digits + 1)
    return abs(shown - value) <= 0.5 * scale * 1.001


def mismatch(shown: dict[str, Any], kernel: dict[str, Any]) -> str | None:
    """Why a view does not show the kernel's value (None when it does)."""
    cls = kernel["class"]
    if "value" in shown and "text" in shown and cls not in ("Dropdown", "Select"):
        # our own slider: the exact value it holds, and its readout
        if shown["value"] != kernel.get("value"):
            return f"holds {shown['value']!r}, kernel {kernel.get('value')!r}"
        return None
    if "index" in shown:
        if shown["index"] != kernel.get("index"):
            return (f"shows option {shown['index']} ({shown.get('text')!r}), kernel "
                    f"{kernel.get('index')} ({kernel.get('label')!r})")
        return None
    if "checked" in shown:
        if shown["checked"] != kernel.get("value"):
            return f"shows {shown['checked']}, kernel {kernel.get('value')}"
        return None
    text = shown.get("text")
    value = kernel.get("value")
    if text is None:
        return None
    if isinstance(value, list):  # a range slider: "a – b"
        parts = [p for p in text.replace("\u2013", "|").split("|") if p.strip()]
        numbers = [_readout_number(p) for p in parts]
        if len(numbers) != 2 or not all(_same_number(n, v, kernel.get("readout_format"))
                                        for n, v in zip(numbers, value)):
            return f"shows {text!r}, kernel {value!r}"
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            number = _readout_number(text)
        except ValueError:
            return f"shows {text!r}, kernel {value!r}"
        if not _same_number(number, float(value), kernel.get("readout_format")):
            return f"shows {text!r}, kernel {value!r}"
    return None


def mismatches(lab_page: LabPage) -> list[str]:
    """One line per control view whose display differs from its widget's kernel-side value."""
    shown = page_controls(lab_page)
    kernel = kernel_controls(lab_page, sorted(shown))
    problems = []
    for model_id, views in sorted(shown.items()):
        state = kernel.get(model_id)
        if state is None:
            problems.append(f"{model_id}: shown on the page, unknown to the kernel")
            continue
        for number, view in enumerate(views):
            why = mismatch(view, state)
            if why:
                problems.append(f"{state['class']} {model_id} view {number}: {why}")
    return problems
