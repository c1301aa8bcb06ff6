// medinteract's slider: the browser side of medinteract.params.widgets.Slider (an anywidget
// module; plain ES module, no build step).
//
// Two rules make the page always show what the kernel holds:
// 1. A value set by the kernel is shown exactly as it is (the handle at its exact place, the
//    readout its number); nothing is snapped, rounded or sent back.
// 2. A value is sent to the kernel only when the user moves the slider (drag, click on the
//    track, keys on a handle, typing in the readout, the "none" box); a user's move lands on
//    the step grid (min + k * step, or its exponent for a log slider).
// Keys pressed on the slider never reach JupyterLab's or Notebook 7's shortcuts.

const MINUS = "\u2212";

function h(tag, className, parent) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (parent) parent.appendChild(node);
  return node;
}

/** Decimals needed to write `step` (0.05 -> 2), for values on the step grid. */
function decimalsOf(step) {
  if (!(step > 0) || !Number.isFinite(step)) return 6;
  const text = step.toExponential();
  const [mantissa, exponent] = text.split("e");
  const fraction = (mantissa.split(".")[1] || "").length;
  return Math.max(0, fraction - Number(exponent));
}

/** A number as the readout writes it: exact for whole numbers, 6 significant digits else. */
export function formatValue(value, integer) {
  if (value === null || value === undefined) return "none";
  if (integer || Number.isInteger(value)) return String(value).replace("-", MINUS);
  const short = Number.parseFloat(value.toPrecision(6));
  return String(short).replace("-", MINUS);
}

/** The number typed into a readout (accepts U+2212 and spaces), or NaN. */
export function parseValue(text) {
  const cleaned = String(text).replace(/\u2212/g, "-").replace(/\s+/g, "");
  if (cleaned === "") return Number.NaN;
  return Number(cleaned);
}

/** Geometry of a slider: value <-> position on the track, and the step grid of user moves. */
export class Scale {
  constructor({ min, max, step, log, integer }) {
    this.min = min;
    this.max = max;
    this.step = step > 0 ? step : 0;
    this.log = Boolean(log);
    this.integer = Boolean(integer);
  }

  /** Position in [0, 1] of a value (exact, no snapping). */
  position(value) {
    const [a, b, v] = this.log
      ? [Math.log10(this.min), Math.log10(this.max), Math.log10(value)]
      : [this.min, this.max, value];
    if (!(b > a)) return 0;
    return Math.min(1, Math.max(0, (v - a) / (b - a)));
  }

  /** The grid coordinate of a value: (value - min) / step (in exponents for log). */
  grid(value) {
    if (!this.step) return 0;
    return this.log
      ? (Math.log10(value) - Math.log10(this.min)) / this.step
      : (value - this.min) / this.step;
  }

  /** The value at grid coordinate k, cleaned of float noise and inside the bounds. */
  at(k) {
    let value;
    if (this.log) {
      value = 10 ** (Math.log10(this.min) + k * this.step);
      value = Number.parseFloat(value.toPrecision(12));
    } else {
      value = this.min + k * this.step;
      value = Number(value.toFixed(Math.min(20, decimalsOf(this.step) + decimalsOf(this.min))));
    }
    if (this.integer) value = Math.round(value);
    return Math.min(this.max, Math.max(this.min, value));
  }

  /** The grid value nearest to a position on the track (a drag or a click). */
  fromPosition(fraction) {
    const f = Math.min(1, Math.max(0, fraction));
    let value;
    if (this.log) {
      const a = Math.log10(this.min), b = Math.log10(this.max);
      value = 10 ** (a + f * (b - a));
    } else {
      value = this.min + f * (this.max - this.min);
    }
    if (!this.step) return this.integer ? Math.round(value) : value;
    if (f >= 1) return this.max;
    if (f <= 0) return this.min;
    return this.at(Math.round(this.grid(value)));
  }

  /** `count` grid steps up (positive) or down from `value`: the next grid values. */
  stepFrom(value, count) {
    if (!this.step) return value;
    const k = this.grid(value);
    const next = count > 0 ? Math.floor(k + 1e-9) + count : Math.ceil(k - 1e-9) + count;
    return this.at(next);
  }
}

const KEY_STEPS = { ArrowRight: 1, ArrowUp: 1, ArrowLeft: -1, ArrowDown: -1, PageUp: 10, PageDown: -10 };

class SliderView {
  constructor(model, el) {
    this.model = model;
    this.el = el;
    el.classList.add("mi-slider");
    el.setAttribute("data-lm-suppress-shortcuts", "true");
    // keys typed or pressed anywhere on the slider are ours, never a notebook shortcut
    el.addEventListener("keydown", (event) => event.stopPropagation());
    el.addEventListener("keypress", (event) => event.stopPropagation());
    el.addEventListener("keyup", (event) => event.stopPropagation());
    this.label = h("label", "mi-slider-label", el);
    this.track = h("div", "mi-slider-track", el);
    this.fill = h("div", "mi-slider-fill", this.track);
    this.handles = [0, 1].map((i) => {
      const handle = h("div", `mi-slider-handle mi-slider-handle-${i}`, this.track);
      handle.tabIndex = 0;
      handle.setAttribute("role", "slider");
      handle.addEventListener("keydown", (event) => this.onKey(event, i));
      return handle;
    });
    this.readouts = [0, 1].map((i) => {
      const input = h("input", `mi-slider-readout mi-slider-readout-${i}`, el);
      input.type = "text";
      input.spellcheck = false;
      input.setAttribute("data-lm-suppress-shortcuts", "true");
      input.addEventListener("keydown", (event) => this.onReadoutKey(event, i));
      input.addEventListener("input", () => { input.dataset.edited = "1"; });
      input.addEventListener("change", () => this.commitReadout(i));
      input.addEventListener("blur", () => this.revertReadout(i));
      return input;
    });
    const noneBox = h("label", "mi-slider-none", el);
    this.none = h("input", "", noneBox);
    this.none.type = "checkbox";
    this.none.setAttribute("data-lm-suppress-shortcuts", "true");
    h("span", "", noneBox).textContent = "none";
    this.noneBox = noneBox;
    this.none.addEventListener("change", () => this.onNone());
    this.track.addEventListener("pointerdown", (event) => this.onPointerDown(event));
    this.render = this.render.bind(this);
    for (const name of ["value", "min", "max", "step", "log", "integer", "optional", "pair",
                        "start", "description", "tooltip", "disabled"]) {
      model.on(`change:${name}`, this.render);
    }
    this.render();
  }

  get scale() {
    const m = this.model;
    return new Scale({ min: m.get("min"), max: m.get("max"), step: m.get("step"),
                       log: m.get("log"), integer: m.get("integer") });
  }

  /** The values the handles stand for: the held value, or while it is None the last value
   *  held (else `start`): where "none" leaves the handles, and what unticking it gives. */
  handleValues() {
    const value = this.model.get("value");
    const resting = this.last !== undefined ? this.last : this.model.get("start");
    const shown = value === null || value === undefined ? resting : value;
    if (this.model.get("pair")) return Array.isArray(shown) ? shown : [this.model.get("min"), this.model.get("max")];
    return [shown === null || shown === undefined ? this.model.get("min") : shown];
  }

  // -- drawing (from the model, exactly) ------------------------------------------------------
  render() {
    const m = this.model;
    const pair = Boolean(m.get("pair"));
    const value = m.get("value");
    const isNone = value === null || value === undefined;
    if (!isNone) this.last = value;
    const scale = this.scale;
    const values = this.handleValues();
    this.label.textContent = m.get("description") || "";
    this.el.title = m.get("tooltip") || "";
    this.track.setAttribute("data-mi-value", JSON.stringify(value === undefined ? null : value));
    const disabled = Boolean(m.get("disabled"));
    this.el.classList.toggle("mi-slider-disabled", disabled);
    this.el.classList.toggle("mi-slider-is-none", isNone);
    this.noneBox.style.display = m.get("optional") ? "" : "none";
    this.none.checked = isNone;
    this.none.disabled = disabled;
    const positions = values.map((v) => scale.position(v));
    this.handles.forEach((handle, i) => {
      const used = i < values.length;
      handle.style.display = used ? "" : "none";
      if (!used) return;
      handle.style.left = `${positions[i] * 100}%`;
      handle.setAttribute("aria-valuenow", String(values[i]));
      handle.setAttribute("aria-valuemin", String(m.get("min")));
      handle.setAttribute("aria-valuemax", String(m.get("max")));
      handle.tabIndex = disabled || isNone ? -1 : 0;
    });
    const [from, to] = pair ? positions : [0, positions[0]];
    this.fill.style.left = `${from * 100}%`;
    this.fill.style.width = `${Math.max(0, to - from) * 100}%`;
    this.readouts.forEach((input, i) => {
      const used = i < values.length;
      input.style.display = used ? "" : "none";
      if (!used) return;
      input.disabled = disabled || isNone;
      if (document.activeElement === input && input.dataset.edited) return; // being typed in
      input.value = isNone ? "none" : formatValue(values[i], m.get("integer"));
      input.title = isNone ? "" : String(values[i]);
      input.classList.remove("mi-slider-invalid");
    });
  }

  // -- sending (user moves only) --------------------------------------------------------------
  send(value) {
    const current = this.model.get("value");
    if (JSON.stringify(current) === JSON.stringify(value)) return;
    this.model.set("value", value);
    this.model.save_changes();
  }

  /** The new value when handle `i` goes to `v` (a pair keeps low <= high). */
  moved(i, v) {
    if (!this.model.get("pair")) return v;
    const values = this.handleValues().slice();
    values[i] = i === 0 ? Math.min(v, values[1]) : Math.max(v, values[0]);
    return values;
  }

  usable() {
    const value = this.model.get("value");
    return !this.model.get("disabled") && value !== null && value !== undefined;
  }

  onKey(event, i) {
    if (!this.usable()) return;
    const scale = this.scale;
    const current = this.handleValues()[i];
    let next;
    if (event.key in KEY_STEPS) {
      next = scale.stepFrom(current, KEY_STEPS[event.key]);
    } else if (event.key === "Home") {
      next = scale.min;
    } else if (event.key === "End") {
      next = scale.max;
    } else {
      return;
    }
    event.preventDefault();
    this.send(this.moved(i, next));
  }

  onPointerDown(event) {
    if (!this.usable() || event.button !== 0) return;
    const rect = this.track.getBoundingClientRect();
    const fraction = (x) => (rect.width > 0 ? (x - rect.left) / rect.width : 0);
    const scale = this.scale;
    let i = 0;
    if (this.model.get("pair")) {
      const positions = this.handleValues().map((v) => scale.position(v));
      const f = fraction(event.clientX);
      i = Math.abs(f - positions[0]) <= Math.abs(f - positions[1]) ? 0 : 1;
      if (positions[0] === positions[1]) i = f < positions[0] ? 0 : 1;
    }
    const handle = this.handles[i];
    handle.focus();
    event.preventDefault();
    const move = (e) => this.send(this.moved(i, scale.fromPosition(fraction(e.clientX))));
    const up = (e) => {
      this.track.releasePointerCapture(e.pointerId);
      this.track.removeEventListener("pointermove", move);
      this.track.removeEventListener("pointerup", up);
      this.track.removeEventListener("pointercancel", up);
    };
    this.track.setPointerCapture(event.pointerId);
    this.track.addEventListener("pointermove", move);
    this.track.addEventListener("pointerup", up);
    this.track.addEventListener("pointercancel", up);
    move(event);
  }

  onReadoutKey(event, i) {
    const input = this.readouts[i];
    if (event.key === "Enter") {
      event.preventDefault();
      this.commitReadout(i);
    } else if (event.key === "Escape") {
      event.preventDefault();
      delete input.dataset.edited;
      this.render();
      input.blur();
    }
  }

  commitReadout(i) {
    const input = this.readouts[i];
    if (!input.dataset.edited || !this.usable()) return;
    const m = this.model;
    let typed = parseValue(input.value);
    if (m.get("integer")) typed = Math.round(typed);
    const ok = Number.isFinite(typed) && typed >= m.get("min") && typed <= m.get("max");
    if (!ok) {
      input.classList.add("mi-slider-invalid");
      input.title = `allowed: ${formatValue(m.get("min"))} to ${formatValue(m.get("max"))}`;
      return;
    }
    delete input.dataset.edited;
    input.classList.remove("mi-slider-invalid");
    this.send(this.moved(i, typed));
    this.render();
  }

  revertReadout(i) {
    delete this.readouts[i].dataset.edited;
    this.render();
  }

  onNone() {
    if (this.model.get("disabled")) return;
    if (this.none.checked) {
      this.send(null);
    } else {
      const values = this.handleValues();
      this.send(this.model.get("pair") ? values : values[0]);
    }
  }

  destroy() {
    for (const name of ["value", "min", "max", "step", "log", "integer", "optional", "pair",
                        "start", "description", "tooltip", "disabled"]) {
      this.model.off(`change:${name}`, this.render);
    }
  }
}

export default {
  render({ model, el }) {
    const view = new SliderView(model, el);
    return () => view.destroy();
  },
};
