// medinteract viewers: the browser front end of view, compare and view3d (an anywidget module).
//
// The kernel sends each volume's raw values once (medinteract/display/transfer.py: smallest
// lossless type, byte-shuffled, deflate); this module keeps them per widget model and draws
// every slice itself. Pixels follow the Python reference exactly (medinteract/display/
// rendering.py): float32 window arithmetic (Math.fround), round-half-even where NumPy rounds,
// the same colour tables. State lives in the model's traits; user changes are set at once
// and saved to the kernel (one message in flight, latest value wins); changes from the
// kernel redraw the view.
// Plain ES module, no build step.

const TYPED = { uint8: Uint8Array, int16: Int16Array, uint16: Uint16Array, float32: Float32Array };
const MAX_IN_FLIGHT = 4; // data requests outstanding at once
const SLAB_BYTES = 2 * 1024 * 1024; // as transfer.SLAB_BYTES (raw bytes per request at 2 B/voxel)
const MODES = ["side-by-side", "curtain", "blend", "difference"];
const MODE_TITLES = {
  "side-by-side": "<b>before</b>",
  curtain: "<b>before</b> | <b>after</b>",
  blend: "<b>blend</b> (before → after)",
  difference: "<b>difference</b> (after − before)",
};
const f32 = Math.fround;

// ------------------------------------------------------------------------------------------
// numbers as NumPy computes them
// ------------------------------------------------------------------------------------------

/** np.round / Python round: halves go to the even neighbour. */
export function roundHalfEven(x) {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** apply_window's constants: float32 scale and offset (computed in float64, then cast). */
export function windowConstants(center, width) {
  const scale = f32(255.0 / width);
  const offset = f32(0.5 - ((center - width / 2) * 255.0) / width);
  return [scale, offset];
}

/** One value through apply_window: float32 multiply-add, clamp (NaN -> 0), truncate. */
export function greyLevel(value, scale, offset) {
  const v = f32(f32(value * scale) + offset);
  return v > 0 ? (v < 255 ? v | 0 : 255) : 0;
}

/** Grey levels of a typed array (integers through a lookup table of every possible value). */
function windowValues(values, center, width, out) {
  const n = values.length;
  if (values instanceof Float32Array) {
    const [scale, offset] = windowConstants(center, width);
    for (let i = 0; i < n; i++) {
      const v = f32(f32(values[i] * scale) + offset);
      out[i] = v > 0 ? (v < 255 ? v | 0 : 255) : 0;
    }
    return out;
  }
  const { table, low } = greyTable(values, center, width);
  for (let i = 0; i < n; i++) out[i] = table[values[i] - low];
  return out;
}

/** The lookup table from every value of an integer typed array's type to its grey level. */
const greyTables = new Map(); // "type:center:width" -> {table, low}; the last few windows
function greyTable(values, center, width) {
  const type = values.constructor.name;
  const key = `${type}:${center}:${width}`;
  let found = greyTables.get(key);
  if (!found) {
    const [scale, offset] = windowConstants(center, width);
    const low = values instanceof Int16Array ? -32768 : 0;
    const table = new Uint8Array(values instanceof Uint8Array ? 256 : 65536);
    // grey levels never decrease with the value (scale > 0): 0 below the window, 255 above;
    // only the values in between (about `width` of them) need the arithmetic
    let first = Math.max(0, Math.floor(-offset / scale) - low - 2);
    let last = Math.min(table.length - 1, Math.ceil((255 - offset) / scale) - low + 2);
    if (!(first <= last) || greyLevel(first + low, scale, offset) !== 0) first = 0;
    if (!(first <= last) || greyLevel(last + low, scale, offset) !== 255) last = table.length - 1;
    for (let k = first; k <= last; k++) table[k] = greyLevel(k + low, scale, offset);
    table.fill(255, last + 1);
    found = { table, low };
    greyTables.set(key, found);
    if (greyTables.size > 4) greyTables.delete(greyTables.keys().next().value);
  }
  return found;
}

/** 32-bit RGBA pixels (as an ImageData's bytes read little-endian) of a colour table. */
function packedColours(lut) {
  let packed = packedCache.get(lut);
  if (!packed) {
    packed = new Uint32Array(256);
    const bytes = new Uint8Array(packed.buffer);
    for (let g = 0; g < 256; g++) {
      bytes.set([lut[g * 3], lut[g * 3 + 1], lut[g * 3 + 2], 255], g * 4);
    }
    packedCache.set(lut, packed);
  }
  return packed;
}
const packedCache = new WeakMap(); // colour table -> packed colours

/** Python's "{:g}" for the probe readout. */
function formatG(v) {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e-4 && a < 1e6) return String(Number(v.toPrecision(6)));
  const [m, e] = v.toExponential(5).split("e");
  const exp = Number(e);
  return `${String(Number(m))}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
}

/** zoom_region of geometry.py: the (integer) part of a rows x cols slice shown at a zoom. */
export function zoomRegion(rows, cols, zoom, centerRow, centerCol) {
  if (zoom <= 1) return [0, rows, 0, cols];
  const height = Math.max(1, Math.min(rows, roundHalfEven(rows / zoom)));
  const width = Math.max(1, Math.min(cols, roundHalfEven(cols / zoom)));
  const clip = (v, lo, hi) => Math.min(Math.max(v, lo), hi);
  const row = clip(roundHalfEven(centerRow - height / 2), 0, rows - height);
  const col = clip(roundHalfEven(centerCol - width / 2), 0, cols - width);
  return [row, row + height, col, col + width];
}

// ------------------------------------------------------------------------------------------
// values from the kernel
// ------------------------------------------------------------------------------------------

function asBytes(buffer) {
  if (buffer instanceof Uint8Array) return buffer;
  if (buffer instanceof ArrayBuffer) return new Uint8Array(buffer);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** Inflate deflate-compressed bytes that expand to exactly `length` bytes. */
async function inflate(bytes, length) {
  const stream = new DecompressionStream("deflate");
  const writer = stream.writable.getWriter();
  writer.write(bytes).catch(() => {}); // a failure surfaces in read() below
  writer.close().catch(() => {});
  const reader = stream.readable.getReader();
  const out = new Uint8Array(length);
  let offset = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (offset + value.length > length) throw new Error("more values than the header says");
    out.set(value, offset);
    offset += value.length;
  }
  if (offset !== length) throw new Error(`${offset} bytes of values, expected ${length}`);
  return out;
}

/** Interleave byte planes (all first bytes of the values, then all second bytes, ...). */
function unshuffle(bytes, size) {
  const n = bytes.length / size;
  if (size === 2) {
    const out = new Uint16Array(n); // native (little-endian) byte order, as NumPy sends
    const low = bytes.subarray(0, n);
    const high = bytes.subarray(n);
    for (let i = 0; i < n; i++) out[i] = low[i] | (high[i] << 8);
    return new Uint8Array(out.buffer);
  }
  if (size === 4) {
    const out = new Uint32Array(n);
    const [b0, b1, b2, b3] = [0, 1, 2, 3].map((b) => bytes.subarray(b * n, (b + 1) * n));
    for (let i = 0; i < n; i++) out[i] = (b0[i] | (b1[i] << 8) | (b2[i] << 16) | (b3[i] << 24)) >>> 0;
    return new Uint8Array(out.buffer);
  }
  const out = new Uint8Array(bytes.length);
  for (let b = 0; b < size; b++) {
    const plane = bytes.subarray(b * n, (b + 1) * n);
    for (let i = 0; i < n; i++) out[i * size + b] = plane[i];
  }
  return out;
}

/** A typed array from a message (header + compressed, byte-shuffled bytes). */
export async function decodeValues(header, buffer) {
  const Type = TYPED[header.dtype];
  const length = header.shape.reduce((a, b) => a * b, 1) * Type.BYTES_PER_ELEMENT;
  let bytes = asBytes(buffer);
  if (header.codec === "deflate") bytes = await inflate(bytes, length);
  const size = header.shuffle || 1;
  if (size > 1) bytes = unshuffle(bytes, size);
  return new Type(bytes.buffer, bytes.byteOffset, bytes.length / Type.BYTES_PER_ELEMENT);
}

/** One layer of values (a scan, an after image, labels) as the browser holds it. */
class Layer {
  constructor(name, description) {
    this.name = name;
    this.shape = description.shape; // [nz, ny, nx] or [nz, ny, nx, channels]
    this.labels = description.labels;
    this.version = description.version;
    this.channels = this.shape.length > 3 ? this.shape[3] : 1;
    this.sliceLength = this.shape[1] * this.shape[2] * this.channels;
    this.slices = new Array(this.shape[0]).fill(null);
    this.planes = new Map(); // "axis:index" -> typed array, for planes cut by the kernel
    this.count = 0;
    this.bytes = 0;
    this.stamp = 0; // changes whenever the values held change (drawn keys depend on it)
    this.sliceStamps = new Float64Array(this.shape[0]); // the same, per axis-0 slice
  }

  reset(version) {
    this.stamp++;
    this.sliceStamps.fill(this.stamp);
    this.version = version;
    this.slices.fill(null);
    this.planes.clear();
    this.count = 0;
    this.bytes = 0;
  }

  complete() {
    return this.count === this.shape[0];
  }

  putSlices(start, values) {
    this.stamp++;
    for (let z = start, k = 0; k * this.sliceLength < values.length; z++, k++) {
      this.sliceStamps[z] = this.stamp;
      if (this.slices[z] === null) this.count++;
      else this.bytes -= this.slices[z].byteLength;
      this.slices[z] = values.subarray(k * this.sliceLength, (k + 1) * this.sliceLength);
      this.bytes += this.slices[z].byteLength;
    }
  }

  drop(z) {
    if (this.slices[z] !== null) {
      this.bytes -= this.slices[z].byteLength;
      this.slices[z] = null;
      this.count--;
    }
  }

  /** Values of the plane at `index` along `axis`, in array order: {values, rows, cols}. */
  plane(axis, index) {
    const [nz, ny, nx] = this.shape;
    const c = this.channels;
    if (axis === 0) {
      const values = this.slices[index];
      return values ? { values, rows: ny, cols: nx } : null;
    }
    const cached = this.planes.get(`${axis}:${index}`);
    if (cached) return cached;
    if (!this.complete()) return null;
    const Type = this.slices[0].constructor;
    const mixed = this.slices.some((s) => s.constructor !== Type);
    const rowLength = (axis === 1 ? nx : ny) * c;
    const values = new (mixed ? Float32Array : Type)(nz * rowLength);
    for (let z = 0; z < nz; z++) {
      const slice = this.slices[z];
      if (axis === 1) {
        values.set(slice.subarray(index * nx * c, (index + 1) * nx * c), z * rowLength);
      } else {
        for (let y = 0; y < ny; y++) {
          for (let k = 0; k < c; k++) values[z * rowLength + y * c + k] = slice[(y * nx + index) * c + k];
        }
      }
    }
    const plane = { values, rows: nz, cols: axis === 1 ? nx : ny };
    this.planes.set(`${axis}:${index}`, plane);
    if (this.planes.size > 8) this.planes.delete(this.planes.keys().next().value);
    return plane;
  }
}

/** The values one widget model holds, what it asked the kernel for, and who to tell. */
class Store {
  constructor(model) {
    this.model = model;
    this.layers = new Map();
    this.inFlight = new Map(); // request key -> version
    this.listeners = new Set();
    this.focus = new Map(); // view -> [{layer, axis, index}]
    // The rest of the volume is asked for once a view has painted its first image: until
    // then, encoding slabs in the kernel and decoding them here would compete with it.
    this.streaming = false;
    this.lastSeed = null;
    this.onCustom = (content, buffers) => this.receive(content, buffers[0]);
    this.onState = () => this.sync();
    model.on("msg:custom", this.onCustom);
    model.on("change:_layers", this.onState);
    model.on("change:_seed", this.onState);
    this.sync();
  }

  destroy() {
    this.model.off("msg:custom", this.onCustom);
    this.model.off("change:_layers", this.onState);
    this.model.off("change:_seed", this.onState);
    this.layers.clear();
    this.listeners.clear();
    this.focus.clear();
  }

  budget() {
    return this.model.get("_budget") || 512 * 1024 * 1024;
  }

  /** Apply the kernel's layer list and data seed (both come with the state). */
  sync() {
    const described = this.model.get("_layers") || {};
    const seed = this.model.get("_seed") || [];
    if (seed !== this.lastSeed) {
      this.lastSeed = seed;
      for (const message of seed) {
        const layer = this.layerFor(message.layer, described[message.layer]);
        if (!layer) continue;
        if (message.base !== undefined && layer.version === message.base) {
          layer.version = message.version; // a patch: what we hold stays valid
          if (message.stop > message.start) layer.planes.clear();
        } else if (layer.version !== message.version) {
          layer.reset(message.version);
        }
        if (message.data) this.receive(message, message.data);
      }
    }
    for (const [name, description] of Object.entries(described)) {
      const layer = this.layerFor(name, description);
      if (layer.version !== description.version) layer.reset(description.version);
    }
    for (const name of [...this.layers.keys()]) {
      if (!(name in described)) this.layers.delete(name);
    }
    for (const [key, request] of [...this.inFlight]) {
      const layer = this.layers.get(request.layer);
      if (!layer || layer.version !== request.version) this.inFlight.delete(key);
    }
    this.changed();
  }

  layerFor(name, description) {
    let layer = this.layers.get(name);
    if (!description) return layer || null;
    const shape = description.shape.join(",");
    if (!layer || layer.shape.join(",") !== shape) {
      layer = new Layer(name, description);
      this.layers.set(name, layer);
    }
    return layer;
  }

  /** A slab or plane message from the kernel (its values are decoded off the event). */
  async receive(message, buffer) {
    if (message.type === "patch") return;
    const layer = this.layers.get(message.layer);
    const key = message.type === "plane"
      ? `${message.layer}:p${message.axis}:${message.index}`
      : `${message.layer}:${message.start}`;
    let values;
    try {
      values = await decodeValues(message, buffer);
    } catch (error) {
      console.warn("medinteract: could not decode values", error);
      this.inFlight.delete(key);
      return;
    }
    this.inFlight.delete(key);
    if (!layer || layer !== this.layers.get(message.layer) || layer.version !== message.version) {
      this.pump();
      return;
    }
    if (message.type === "plane") {
      const [rows, cols] = message.shape;
      layer.planes.set(`${message.axis}:${message.index}`, { values, rows, cols });
      layer.stamp++;
    } else {
      layer.putSlices(message.start, values);
    }
    this.changed();
  }

  changed() {
    for (const listener of this.listeners) listener();
    this.pump();
  }

  /** A view says which planes it shows: they are fetched first. */
  setFocus(view, wants) {
    this.focus.set(view, wants);
    this.pump();
  }

  /** A view has painted its first image (or needs the whole volume to paint one). */
  startStreaming() {
    if (this.streaming) return;
    this.streaming = true;
    this.pump();
  }

  request(content, key) {
    if (this.inFlight.has(key)) return false;
    this.inFlight.set(key, { layer: content.layer, version: content.version });
    this.model.send(content);
    return true;
  }

  /** Ask for missing data: shown planes first, then slabs outward from the shown slice. */
  pump() {
    if (this.layers.size === 0) return;
    const wants = [...this.focus.values()].flat();
    // 1. planes on screen that cannot be cut from what we hold
    for (const want of wants) {
      const layer = this.layers.get(want.layer);
      if (!layer || layer.plane(want.axis, want.index)) continue;
      if (want.axis === 0) {
        this.request({ type: "fetch", layer: layer.name, start: want.index, stop: want.index + 1,
          version: layer.version }, `${layer.name}:${want.index}`);
      } else {
        this.request({ type: "plane", layer: layer.name, axis: want.axis, index: want.index,
          version: layer.version }, `${layer.name}:p${want.axis}:${want.index}`);
      }
    }
    // 2. whole slabs, nearest to the focus first, within the memory budget
    if (!this.streaming) return;
    const share = this.budget() / this.layers.size;
    for (const layer of this.layers.values()) {
      const nz = layer.shape[0];
      const centre = this.centreOf(layer, wants);
      const keep = Math.max(1, Math.floor(share / (layer.sliceLength * 2)));
      const low = Math.max(0, Math.min(centre - Math.floor(keep / 2), nz - keep));
      const high = Math.min(nz, low + keep);
      if (keep < nz) {
        for (let z = 0; z < nz; z++) if (z < low || z >= high) layer.drop(z);
      }
      if (this.inFlight.size >= MAX_IN_FLIGHT || layer.complete()) continue;
      const perSlab = Math.max(1, Math.floor(SLAB_BYTES / (layer.sliceLength * 2)));
      for (let step = 0; step < nz && this.inFlight.size < MAX_IN_FLIGHT; step++) {
        for (const z of [centre + step, centre - step - 1]) {
          if (z < low || z >= high || layer.slices[z] !== null) continue;
          const start = Math.floor(z / perSlab) * perSlab;
          const stop = Math.min(start + perSlab, high);
          const first = Math.max(start, low);
          let missing = false;
          for (let k = first; k < stop; k++) missing = missing || layer.slices[k] === null;
          if (!missing) continue;
          this.request({ type: "fetch", layer: layer.name, start: first, stop,
            version: layer.version }, `${layer.name}:${first}`);
        }
      }
    }
  }

  centreOf(layer, wants) {
    const axial = wants.find((w) => w.layer === layer.name && w.axis === 0);
    return axial ? axial.index : Math.floor(layer.shape[0] / 2);
  }
}

/**
 * The stores, one per widget model. anywidget hands `initialize` and each view a proxy of its
 * own for the same model, so a store is found by what the proxies share: the model's values
 * (`model.get` returns the same objects through every proxy of one model, and never those of
 * another model). A view thus draws from the values its model already received and decoded.
 */
const stores = new Set();

function findStore(model) {
  const layers = model.get("_layers");
  for (const store of stores) {
    if (store.model === model || (layers instanceof Object && store.model.get("_layers") === layers)) {
      return store;
    }
  }
  return null;
}

function storeOf(model) {
  let store = findStore(model);
  if (!store) {
    store = new Store(model);
    stores.add(store);
  }
  return store;
}

function dropStore(model) {
  const store = findStore(model);
  if (store) {
    store.destroy();
    stores.delete(store);
  }
}

// ------------------------------------------------------------------------------------------
// pixels
// ------------------------------------------------------------------------------------------

function lutOf(model, name) {
  const luts = model.get("_luts") || {};
  const table = luts[name] || luts.gray;
  if (!table) return null;
  let bytes = lutBytes.get(table);
  if (!bytes) {
    bytes = asBytes(table);
    lutBytes.set(table, bytes);
  }
  return bytes; // the same array while the table is the same (packedColours caches by it)
}
const lutBytes = new WeakMap(); // colour table as the model holds it -> its bytes

/** Pixels of a plane in display orientation (rows flipped when the view says so). */
function orient(plane, flip, channels) {
  if (!flip) return plane.values;
  const { values, rows, cols } = plane;
  const rowLength = cols * channels;
  const out = new values.constructor(values.length);
  for (let r = 0; r < rows; r++) {
    out.set(values.subarray((rows - 1 - r) * rowLength, (rows - r) * rowLength), r * rowLength);
  }
  return out;
}

/**
 * compose(): window, colormap (or RGB channels), labels. Returns RGBA bytes, written into
 * `out` (an n * 4 Uint8ClampedArray, e.g. a reused ImageData's) when given.
 */
function composeRGBA(values, channels, n, center, width, lut, labels, labelOptions, out) {
  const rgba = out || new Uint8ClampedArray(n * 4);
  if (channels === 1) {
    // one 32-bit store per pixel: value -> grey level -> packed colour
    const pixels = new Uint32Array(rgba.buffer, rgba.byteOffset, n);
    const colours = packedColours(lut);
    if (values instanceof Float32Array) {
      const grey = windowValues(values, center, width, new Uint8Array(n));
      for (let i = 0; i < n; i++) pixels[i] = colours[grey[i]];
    } else {
      const { table, low } = greyTable(values, center, width);
      for (let i = 0; i < n; i++) pixels[i] = colours[table[values[i] - low]];
    }
  } else {
    const grey = windowValues(values, center, width, new Uint8Array(values.length));
    for (let i = 0; i < n; i++) {
      rgba[i * 4] = grey[i * channels];
      rgba[i * 4 + 1] = grey[i * channels + 1];
      rgba[i * 4 + 2] = grey[i * channels + 2];
      rgba[i * 4 + 3] = 255;
    }
  }
  if (labels) overlayLabels(rgba, labels, labelOptions);
  return rgba;
}

/** overlay_labels(): filled with opacity (float32, round half even) or 4-neighbour outlines. */
function overlayLabels(rgba, labels, { values, rows, cols, opacity, contour, lut }) {
  const n = rows * cols;
  const alpha = f32(opacity);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v === 0) continue;
    if (contour) {
      const r = (i / cols) | 0;
      const c = i - r * cols;
      const edge = (r > 0 && values[i - cols] !== v) || (r < rows - 1 && values[i + cols] !== v)
        || (c > 0 && values[i - 1] !== v) || (c < cols - 1 && values[i + 1] !== v);
      if (!edge) continue;
    }
    const k = (((v % 256) + 256) % 256) * 3;
    for (let ch = 0; ch < 3; ch++) {
      const colour = lut[k + ch];
      if (contour || opacity >= 1) {
        rgba[i * 4 + ch] = colour;
      } else if (opacity > 0) {
        const under = rgba[i * 4 + ch];
        rgba[i * 4 + ch] = roundHalfEven(f32(under + f32(alpha * f32(colour - under))));
      }
    }
  }
  void labels;
}

// ------------------------------------------------------------------------------------------
// small DOM helpers
// ------------------------------------------------------------------------------------------

function h(tag, className, parent) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (parent) parent.appendChild(node);
  return node;
}

/** A labelled range input with a readout; `onInput(value)` on every move. */
function slider(parent, className, label, onInput) {
  const box = h("label", `mi-control ${className}`, parent);
  h("span", "mi-control-label", box).textContent = label;
  const input = h("input", "mi-range", box);
  input.type = "range";
  input.setAttribute("data-lm-suppress-shortcuts", "true");
  const readout = h("output", "mi-readout", box);
  input.addEventListener("input", () => onInput(Number(input.value)));
  return {
    box, input, readout,
    set(value, min, max, step, text) {
      // only what changed is written: a drag redraws at every move, and each write costs
      // the page a style and layout pass
      if (min !== undefined) {
        setIfChanged(input, "min", String(min));
        setIfChanged(input, "max", String(max));
        setIfChanged(input, "step", String(step));
      }
      if (document.activeElement !== input || Number(input.value) !== value) {
        setIfChanged(input, "value", String(value));
      }
      setIfChanged(readout, "textContent", text !== undefined ? text : String(value));
    },
  };
}

function setIfChanged(node, property, value) {
  if (node[property] !== value) node[property] = value;
}

function select(parent, className, label, options, onChange) {
  const box = h("label", `mi-control ${className}`, parent);
  h("span", "mi-control-label", box).textContent = label;
  const input = h("select", "mi-select", box);
  input.setAttribute("data-lm-suppress-shortcuts", "true");
  const fill = (names) => {
    input.innerHTML = "";
    for (const name of names) {
      const option = h("option", "", input);
      option.value = name;
      option.textContent = name;
    }
  };
  fill(options);
  input.addEventListener("change", () => onChange(input.value));
  return { box, input, fill };
}

function checkbox(parent, className, label, onChange) {
  const box = h("label", `mi-control mi-check ${className}`, parent);
  const input = h("input", "", box);
  input.type = "checkbox";
  input.setAttribute("data-lm-suppress-shortcuts", "true");
  h("span", "", box).textContent = label;
  input.addEventListener("change", () => onChange(input.checked));
  return { box, input };
}

function buttons(parent, className, names, onClick) {
  const box = h("div", `mi-buttons ${className}`, parent);
  const list = names.map(([value, text]) => {
    const button = h("button", "mi-button", box);
    button.type = "button";
    button.textContent = text;
    button.dataset.value = String(value);
    button.setAttribute("data-lm-suppress-shortcuts", "true");
    button.addEventListener("click", () => onClick(value));
    return button;
  });
  return {
    box,
    set(value) {
      for (const b of list) b.classList.toggle("mi-mod-active", b.dataset.value === String(value));
    },
  };
}

// ------------------------------------------------------------------------------------------
// slice views: view (single, orthogonal) and compare
// ------------------------------------------------------------------------------------------

/**
 * Sends user changes to the kernel. The model changes at once (the view redraws from it);
 * save_changes() leaves flow control to ipywidgets: one message in flight, later changes
 * merged into the next (latest value wins), and the kernel's echo of an older message never
 * undoes a newer local change. A drag therefore sends a message per kernel reply, not per
 * mouse move, and a user change is never lost or overwritten.
 */
class Saver {
  constructor(model) {
    this.model = model;
  }

  set(changes) {
    this.model.set(changes);
    this.model.save_changes();
  }

  flush() {}
}

class SliceView {
  constructor(model, el) {
    this.model = model;
    this.el = el;
    this.store = storeOf(model);
    this.saver = new Saver(model);
    this.kind = model.get("_kind");
    this.drawQueued = false;
    this.draws = 0;
    this.panes = [];
    this.build();
    this.onChange = () => this.queueDraw();
    model.on("change", this.onChange);
    this.onData = () => this.queueDraw();
    this.store.listeners.add(this.onData);
    this.drawNow();
  }

  destroy() {
    this.saver.flush();
    this.model.off("change", this.onChange);
    this.store.listeners.delete(this.onData);
    this.store.focus.delete(this);
  }

  get geometry() {
    return this.model.get("_geometry");
  }

  get volume() {
    return this.geometry.volume;
  }

  // -- layout ------------------------------------------------------------------------------
  build() {
    const root = h("div", `mi-root mi-${this.kind}-root`, this.el);
    this.root = root;
    if (this.kind === "compare") {
      this.modeButtons = buttons(root, "mi-compare-mode", MODES.map((m) => [m, m]),
        (mode) => this.saver.set({ mode }));
    }
    this.paneBox = h("div", "mi-panes", root);
    const names = this.paneNames();
    for (const name of names) this.panes.push(this.makePane(name));
    if (this.volume && !(this.kind === "viewer" && this.model.get("orthogonal"))) {
      if (this.kind === "compare") {
        this.sharedSlider = slider(root, "mi-slice-slider", "slice", (v) => this.setIndex(v));
      }
      this.axisButtons = buttons(root, "mi-axis", this.geometry.axis_names.map((n, i) => [i, n]),
        (axis) => this.setAxis(axis));
    }
    if (this.kind === "compare") {
      const modeBox = h("div", "mi-mode-controls", root);
      this.curtain = slider(modeBox, "mi-curtain", "curtain", (v) => this.saver.set({ curtain: v }));
      this.alpha = slider(modeBox, "mi-blend-alpha", "after weight", (v) => this.saver.set({ alpha: v }));
      this.difference = slider(modeBox, "mi-difference-width", "± range",
        (v) => this.saver.set({ difference_width: v }));
    }
    const controls = h("div", "mi-window-controls", root);
    this.preset = select(controls, "mi-preset", "preset", [], (name) => this.setPreset(name));
    this.level = slider(controls, "mi-window-center", "level", (v) => this.setWindow(v, null));
    this.width = slider(controls, "mi-window-width", "width", (v) => this.setWindow(null, v));
    this.cmap = select(controls, "mi-cmap", "colormap", [], (cmap) => this.saver.set({ cmap }));
    this.zoom = slider(controls, "mi-zoom", "zoom", (zoom) => this.saver.set({ zoom }));
    this.labelBox = h("div", "mi-label-controls", root);
    if (this.kind === "viewer") {
      this.labelsToggle = checkbox(this.labelBox, "mi-labels-toggle", "labels",
        (v) => this.saver.set({ labels_visible: v }));
    }
    this.opacity = slider(this.labelBox, "mi-opacity", "opacity", (v) => this.saver.set({ opacity: v }));
    this.contour = checkbox(this.labelBox, "mi-contour", "outline only", (v) => this.saver.set({ contour: v }));
    this.legend = h("div", "mi-legend", this.labelBox);
    this.probe = h("div", "mi-probe", root);
    this.help = h("div", "mi-help", root);
    this.help.textContent = "wheel or ↑/↓: slice · right-drag: window/level · "
      + "ctrl+wheel: zoom · shift+drag: pan";
  }

  paneNames() {
    if (this.kind === "compare") return ["before", "after"];
    return this.model.get("orthogonal") ? ["axial", "coronal", "sagittal"] : ["slice"];
  }

  makePane(name) {
    const box = h("div", `mi-pane mi-pane-${name}`, this.paneBox);
    const title = h("div", "mi-pane-title", box);
    const frame = h("div", "mi-frame", box);
    frame.tabIndex = 0;
    frame.setAttribute("data-lm-suppress-shortcuts", "true");
    frame.setAttribute("data-jp-suppress-context-menu", "true");
    const canvas = h("canvas", `mi-image mi-image-${name}`, frame);
    const lineH = h("div", "mi-crosshair mi-crosshair-h", frame);
    const lineV = h("div", "mi-crosshair mi-crosshair-v", frame);
    const curtainLine = h("div", "mi-curtain-line", frame);
    const pane = { name, box, title, frame, canvas, lineH, lineV, curtainLine, ctx: canvas.getContext("2d"),
      drawnKey: null, region: [0, 1, 0, 1], rows: 1, cols: 1 };
    if (this.kind === "viewer" && this.volume) {
      pane.slider = slider(box, `mi-slice-slider mi-slice-slider-${name}`,
        this.model.get("orthogonal") ? name : "slice", (v) => this.setIndex(v, pane));
    }
    this.attachMouse(pane);
    frame.addEventListener("keydown", (event) => this.onKey(event, pane));
    return pane;
  }

  // -- state helpers -----------------------------------------------------------------------
  paneAxis(pane) {
    if (this.kind === "viewer" && this.model.get("orthogonal")) {
      return ["axial", "coronal", "sagittal"].indexOf(pane.name);
    }
    return this.volume ? this.model.get("axis") : 0;
  }

  paneIndex(pane) {
    if (!this.volume) return 0;
    const axis = this.paneAxis(pane);
    if (this.kind === "compare") return this.model.get("index");
    const position = this.model.get("position");
    return position && position.length === 3 ? position[axis] : this.model.get("index");
  }

  setIndex(value, pane) {
    if (!this.volume) return;
    const axis = pane ? this.paneAxis(pane) : this.model.get("axis");
    const n = this.geometry.shape[axis];
    const index = Math.min(Math.max(Math.round(value), 0), n - 1);
    if (this.kind === "compare") {
      this.saver.set({ index });
      return;
    }
    const position = [...this.model.get("position")];
    position[axis] = index;
    const changes = { position };
    if (axis === this.model.get("axis")) changes.index = index;
    this.saver.set(changes);
  }

  setAxis(axis) {
    if (this.kind === "compare") {
      const index = Math.min(this.model.get("index"), this.geometry.shape[axis] - 1);
      this.saver.set({ axis, index });
    } else {
      this.saver.set({ axis, index: this.model.get("position")[axis] });
    }
  }

  setWindow(center, width) {
    const c = center === null ? this.model.get("window_center") : center;
    const w = width === null ? this.model.get("window_width") : Math.max(width, 1e-6);
    this.saver.set({ window_center: c, window_width: w, preset: this.presetFor(c, w) });
  }

  presetFor(center, width) {
    const presets = this.model.get("_presets") || [];
    const current = this.model.get("preset");
    const ordered = [...presets.filter((p) => p[0] === current), ...presets];
    for (const [name, c, w] of ordered) {
      if (Math.abs(c - center) <= 1e-6 && Math.abs(w - width) <= 1e-6) return name;
    }
    return "custom";
  }

  setPreset(name) {
    const found = (this.model.get("_presets") || []).find((p) => p[0] === name);
    if (!found) {
      this.saver.set({ preset: "custom" });
      return;
    }
    this.saver.set({ preset: name, window_center: found[1], window_width: found[2] });
  }

  // -- keys and mouse ----------------------------------------------------------------------
  onKey(event, pane) {
    const steps = { ArrowUp: 1, ArrowRight: 1, ArrowDown: -1, ArrowLeft: -1, PageUp: 10, PageDown: -10 };
    if (event.key in steps && this.volume) {
      this.setIndex(this.paneIndex(pane) + steps[event.key], pane);
    } else if (event.key === "Home" || event.key === "End") {
      this.setIndex(event.key === "Home" ? 0 : 1e9, pane);
    } else if (event.key === "+" || event.key === "=" || event.key === "-") {
      const zoom = this.model.get("zoom") * (event.key === "-" ? 1 / 1.25 : 1.25);
      this.saver.set({ zoom: Math.min(Math.max(zoom, 1), 64) });
    } else {
      return;
    }
    event.preventDefault();
    event.stopPropagation();
  }

  /** Voxel (array index) under a mouse position on a pane, or null outside. */
  voxelAt(pane, event) {
    const rect = pane.frame.getBoundingClientRect();
    const x = event.clientX - rect.left;
    const y = event.clientY - rect.top;
    if (x < 0 || y < 0 || x >= rect.width || y >= rect.height) return null;
    const [r0, r1, c0, c1] = pane.region;
    const col = c0 + Math.floor((x / rect.width) * (c1 - c0));
    const row = r0 + Math.floor((y / rect.height) * (r1 - r0));
    const g = this.geometry;
    const axisInfo = g.axes[this.paneAxis(pane)];
    const index = [0, 0, 0];
    index[axisInfo.axis] = this.paneIndex(pane);
    index[axisInfo.row_axis] = axisInfo.flip_rows ? pane.rows - 1 - row : row;
    index[axisInfo.col_axis] = col;
    return { index: this.volume ? index : index.slice(1), row, col, x: x / rect.width };
  }

  attachMouse(pane) {
    const frame = pane.frame;
    let drag = null;
    frame.addEventListener("contextmenu", (event) => {
      event.preventDefault(); // right-drag is window/level: no menu of ours or JupyterLab's
      event.stopPropagation();
    });
    frame.addEventListener("wheel", (event) => {
      event.preventDefault();
      event.stopPropagation();
      if (event.ctrlKey || event.metaKey) {
        const zoom = this.model.get("zoom") * (event.deltaY < 0 ? 1.25 : 1 / 1.25);
        this.saver.set({ zoom: Math.min(Math.max(zoom, 1), 64) });
      } else if (this.volume && event.deltaY !== 0) {
        this.setIndex(this.paneIndex(pane) + (event.deltaY > 0 ? 1 : -1), pane);
      }
    }, { passive: false });
    frame.addEventListener("pointerdown", (event) => {
      frame.focus({ preventScroll: true });
      const voxel = this.voxelAt(pane, event);
      const mouse = this.model.get("_mouse") || [];
      let kind = "click";
      if (event.button === 2) kind = "window";
      else if (event.button === 1 || event.shiftKey) kind = "pan";
      else if (mouse.includes("stroke")) kind = "stroke";
      else if (this.kind === "compare" && this.model.get("mode") === "curtain") kind = "curtain";
      drag = { kind, x: event.clientX, y: event.clientY, moved: false, button: event.button,
        center: this.model.get("window_center"), width: this.model.get("window_width"),
        zoomCenter: [...this.model.get("zoom_center")], last: voxel ? voxel.index.join(",") : "" };
      frame.setPointerCapture(event.pointerId);
      if (kind === "stroke" && voxel) this.sendMouse("stroke", pane, voxel, event.button, "press");
      if (kind === "curtain" && voxel) this.saver.set({ curtain: Math.min(Math.max(voxel.x, 0), 1) });
      if (kind === "click" && voxel) this.moveCrosshair(pane, voxel);
      event.preventDefault();
    });
    frame.addEventListener("pointermove", (event) => {
      const voxel = this.voxelAt(pane, event);
      this.showProbe(pane, voxel);
      if (!drag) return;
      const dx = event.clientX - drag.x;
      const dy = event.clientY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 2) drag.moved = true;
      if (drag.kind === "window") {
        const k = Math.max(drag.width, 1e-3) / 256;
        this.setWindow(drag.center - dy * k, Math.max(drag.width + dx * k, 1e-3));
      } else if (drag.kind === "pan") {
        this.pan(pane, drag, dx, dy);
      } else if (drag.kind === "curtain" && voxel) {
        this.saver.set({ curtain: Math.min(Math.max(voxel.x, 0), 1) });
      } else if (drag.kind === "stroke" && voxel && voxel.index.join(",") !== drag.last) {
        drag.last = voxel.index.join(",");
        this.sendMouse("stroke", pane, voxel, drag.button, "move");
      } else if (drag.kind === "click" && voxel) {
        this.moveCrosshair(pane, voxel);
      }
    });
    const end = (event) => {
      if (!drag) return;
      const voxel = this.voxelAt(pane, event);
      if (drag.kind === "stroke") {
        this.sendMouse("stroke", pane, voxel || { index: drag.last.split(",").map(Number) },
          drag.button, "release");
      } else if (!drag.moved && voxel && (drag.kind === "click" || drag.kind === "curtain")) {
        this.sendMouse("click", pane, voxel, drag.button);
      }
      drag = null;
      this.saver.flush();
    };
    frame.addEventListener("pointerup", end);
    frame.addEventListener("pointercancel", end);
    frame.addEventListener("pointerleave", () => { this.probe.textContent = ""; });
  }

  pan(pane, drag, dx, dy) {
    const rect = pane.frame.getBoundingClientRect();
    const axisInfo = this.geometry.axes[this.paneAxis(pane)];
    const [r0, r1, c0, c1] = pane.region;
    const center = [...drag.zoomCenter];
    const rowIndex = this.volume ? axisInfo.row_axis : 0;
    const colIndex = this.volume ? axisInfo.col_axis : 1;
    const rowStep = ((dy / rect.height) * (r1 - r0)) / pane.rows;
    center[rowIndex] = drag.zoomCenter[rowIndex] + (axisInfo.flip_rows ? rowStep : -rowStep);
    center[colIndex] = drag.zoomCenter[colIndex] - ((dx / rect.width) * (c1 - c0)) / pane.cols;
    this.saver.set({ zoom_center: center.map((v) => Math.min(Math.max(v, 0), 1)) });
  }

  moveCrosshair(pane, voxel) {
    if (this.kind !== "viewer" || !this.volume || !this.model.get("orthogonal")) return;
    const position = voxel.index;
    this.saver.set({ position, index: position[this.model.get("axis")] });
  }

  sendMouse(event, pane, voxel, button, phase) {
    const wanted = this.model.get("_mouse") || [];
    if (!wanted.includes(event) || !voxel) return;
    this.saver.flush(); // the kernel sees the view state the user saw
    this.model.send({ type: "mouse", event, phase, pane: pane.name, button, index: voxel.index });
  }

  showProbe(pane, voxel) {
    if (!voxel) {
      this.probe.textContent = "";
      return;
    }
    const g = this.geometry;
    const layer = this.store.layers.get(this.kind === "compare" ? "before" : "values");
    const axisInfo = g.axes[this.paneAxis(pane)];
    const plane = layer && layer.plane(axisInfo.axis, this.paneIndex(pane));
    let shown = "…";
    if (plane) {
      const arrayRow = axisInfo.flip_rows ? pane.rows - 1 - voxel.row : voxel.row;
      const c = layer.channels;
      const at = (arrayRow * plane.cols + voxel.col) * c;
      const values = [];
      for (let k = 0; k < c; k++) values.push(formatG(plane.values[at + k]));
      shown = values.join(", ");
    }
    const idx = voxel.index;
    const spatial = this.volume ? idx : idx;
    const mm = [0, 1, 2].map((k) => g.origin[k]
      + spatial.reduce((sum, i, a) => sum + i * g.spacing[a] * g.direction[a][k], 0));
    const unit = g.unit ? ` ${g.unit}` : "";
    this.probe.textContent = `value ${shown}${unit} · voxel (${idx.join(", ")}) · `
      + `LPS (${mm.map((v) => v.toFixed(1)).join(", ")}) mm`;
    this.probe.dataset.index = idx.join(",");
    this.probe.dataset.value = shown;
  }

  // -- drawing -----------------------------------------------------------------------------
  queueDraw() {
    if (this.drawQueued) return;
    this.drawQueued = true;
    queueMicrotask(() => {
      this.drawQueued = false;
      this.drawNow();
    });
  }

  drawNow() {
    const m = this.model;
    const g = this.geometry;
    if (!g || !g.axes) return;
    this.updateControls();
    const wants = [];
    const compareMode = this.kind === "compare" ? m.get("mode") : null;
    for (const pane of this.panes) {
      const axis = this.paneAxis(pane);
      const index = this.paneIndex(pane);
      const visible = !(compareMode && compareMode !== "side-by-side" && pane.name === "after");
      pane.box.style.display = visible ? "" : "none";
      if (!visible) continue;
      for (const layer of this.layersFor(pane, compareMode)) wants.push({ layer, axis, index });
      this.drawPane(pane, axis, index, compareMode);
    }
    this.store.setFocus(this, wants);
    if (!this.store.streaming && !this.streamAsked) {
      this.streamAsked = true; // once this frame is on screen, the rest of the volume
      requestAnimationFrame(() => setTimeout(() => this.store.startStreaming(), 0));
    }
  }

  layersFor(pane, mode) {
    if (this.kind === "viewer") {
      return this.model.get("labels_visible") && this.store.layers.has("labels")
        ? ["values", "labels"] : ["values"];
    }
    const labels = this.store.layers.has("after_labels") ? ["after_labels"] : [];
    if (pane.name === "after") return ["after", ...labels];
    if (mode === "side-by-side") return ["before"];
    if (mode === "difference") return ["before", "after"];
    return ["before", "after", ...labels];
  }

  planeOf(name, axis, index) {
    const layer = this.store.layers.get(name);
    if (!layer) return null;
    const plane = layer.plane(axis, index);
    if (!plane) return null;
    const info = this.geometry.axes[axis];
    // an axial plane changes only with its own slice: slabs arriving elsewhere cause no redraw
    const stamp = axis === 0 ? layer.sliceStamps[index] : layer.stamp;
    return { values: orient(plane, info.flip_rows, layer.channels), rows: plane.rows,
      cols: plane.cols, channels: layer.channels, version: `${layer.version}.${stamp}` };
  }

  drawPane(pane, axis, index, mode) {
    const m = this.model;
    const info = this.geometry.axes[axis];
    const names = this.layersFor(pane, mode);
    const planes = names.map((n) => this.planeOf(n, axis, index));
    // layout: on-screen size, zoom region, crosshair
    const main = this.store.layers.get(names[0]);
    const rows = main ? (axis === 0 ? main.shape[1] : main.shape[0]) : 1;
    const cols = main ? (axis === 2 ? main.shape[1] : main.shape[2]) : 1;
    pane.rows = rows;
    pane.cols = cols;
    this.layoutPane(pane, info, rows, cols);
    const key = JSON.stringify([axis, index, mode, names, planes.map((p) => p && p.version),
      m.get("window_center"), m.get("window_width"), m.get("cmap"), m.get("opacity"),
      m.get("contour"), m.get("curtain"), m.get("alpha"), m.get("difference_width")]);
    if (planes.some((p) => p === null)) {
      pane.frame.classList.add("mi-loading");
      return;
    }
    pane.frame.classList.remove("mi-loading");
    if (key === pane.drawnKey) return;
    if (pane.canvas.width !== cols || pane.canvas.height !== rows) {
      pane.canvas.width = cols;
      pane.canvas.height = rows;
    }
    if (!pane.image || pane.image.width !== cols || pane.image.height !== rows) {
      pane.image = new ImageData(cols, rows); // reused while the size stays
    }
    this.composePane(pane, planes, names, mode, pane.image.data);
    pane.ctx.putImageData(pane.image, 0, 0);
    pane.drawnKey = key;
    pane.canvas.dataset.index = String(index);
    pane.canvas.dataset.axis = String(axis);
    this.draws++;
    this.el.dispatchEvent(new CustomEvent("mi-drawn", { detail: { pane: pane.name, index } }));
  }

  /** The pane's RGBA pixels, written into `out`. */
  composePane(pane, planes, names, mode, out) {
    const m = this.model;
    const n = planes[0].rows * planes[0].cols;
    const center = m.get("window_center");
    const width = m.get("window_width");
    const lut = lutOf(m, m.get("cmap"));
    const labelLut = lutOf(m, "__labels__");
    const labelsOf = (plane) => plane && { values: plane.values, rows: plane.rows, cols: plane.cols,
      opacity: m.get("opacity"), contour: m.get("contour"), lut: labelLut };
    if (this.kind === "viewer") {
      const labels = names.length > 1 ? planes[1] : null;
      return composeRGBA(planes[0].values, planes[0].channels, n, center, width, lut, labels,
        labelsOf(labels), out);
    }
    const afterLabels = names.includes("after_labels") ? planes[names.indexOf("after_labels")] : null;
    if (pane.name === "after") {
      return composeRGBA(planes[0].values, planes[0].channels, n, center, width, lut, afterLabels,
        labelsOf(afterLabels), out);
    }
    if (mode === "side-by-side") {
      return composeRGBA(planes[0].values, planes[0].channels, n, center, width, lut, null, null,
        out);
    }
    const before = planes[0].values;
    const after = planes[1].values;
    if (mode === "difference") {
      const difference = new Float32Array(before.length);
      for (let i = 0; i < before.length; i++) difference[i] = f32(after[i] - before[i]);
      return composeRGBA(difference, planes[0].channels, n, 0, m.get("difference_width"),
        lutOf(m, "RdBu_r"), null, null, out);
    }
    const rgbBefore = composeRGBA(before, planes[0].channels, n, center, width, lut, null, null,
      out);
    const rgbAfter = composeRGBA(after, planes[1].channels, n, center, width, lut, afterLabels,
      labelsOf(afterLabels));
    if (mode === "curtain") {
      const cols = planes[0].cols;
      const split = roundHalfEven(m.get("curtain") * cols);
      for (let i = 0; i < n; i++) {
        if (i % cols >= split) {
          for (let ch = 0; ch < 4; ch++) rgbBefore[i * 4 + ch] = rgbAfter[i * 4 + ch];
        }
      }
      return rgbBefore;
    }
    const weight = f32(m.get("alpha"));
    for (let i = 0; i < n * 4; i++) {
      if ((i & 3) === 3) continue;
      const b = rgbBefore[i];
      rgbBefore[i] = roundHalfEven(f32(b + f32(weight * f32(rgbAfter[i] - b))));
    }
    return rgbBefore;
  }

  layoutPane(pane, info, rows, cols) {
    const m = this.model;
    const height = info.height;
    const width = info.width;
    pane.frame.style.width = `${width}px`;
    pane.frame.style.height = `${height}px`;
    const zc = m.get("zoom_center") || [];
    const rowAxis = this.volume ? info.row_axis : 0;
    const colAxis = this.volume ? info.col_axis : 1;
    let rowFraction = zc[rowAxis] === undefined ? 0.5 : zc[rowAxis];
    if (info.flip_rows) rowFraction = 1 - rowFraction;
    const colFraction = zc[colAxis] === undefined ? 0.5 : zc[colAxis];
    const region = zoomRegion(rows, cols, m.get("zoom"), rowFraction * rows, colFraction * cols);
    pane.region = region;
    const [r0, r1, c0, c1] = region;
    const sx = width / (c1 - c0);
    const sy = height / (r1 - r0);
    const style = pane.canvas.style;
    style.width = `${cols * sx}px`;
    style.height = `${rows * sy}px`;
    style.left = `${-c0 * sx}px`;
    style.top = `${-r0 * sy}px`;
    // the crosshair of the orthogonal view (lines through the centre of the voxel)
    const showCross = this.kind === "viewer" && m.get("orthogonal") && m.get("crosshair");
    pane.lineH.style.display = showCross ? "" : "none";
    pane.lineV.style.display = showCross ? "" : "none";
    if (showCross) {
      const position = m.get("position");
      let row = position[info.row_axis];
      if (info.flip_rows) row = rows - 1 - row;
      const col = position[info.col_axis];
      pane.lineH.style.top = `${(row + 0.5 - r0) * sy}px`;
      pane.lineV.style.left = `${(col + 0.5 - c0) * sx}px`;
    }
    const curtain = this.kind === "compare" && m.get("mode") === "curtain" && pane.name === "before";
    pane.curtainLine.style.display = curtain ? "" : "none";
    if (curtain) pane.curtainLine.style.left = `${(roundHalfEven(m.get("curtain") * cols) - c0) * sx}px`;
  }

  updateControls() {
    const m = this.model;
    const g = this.geometry;
    const ranges = m.get("_ranges") || {};
    const presets = (m.get("_presets") || []).map((p) => p[0]).concat(["custom"]);
    if (this.preset.input.options.length !== presets.length) this.preset.fill(presets);
    setIfChanged(this.preset.input, "value", m.get("preset"));
    const cmaps = Object.keys(m.get("_luts") || {}).filter((n) => n !== "__labels__" && n !== "RdBu_r");
    if (this.cmap.input.options.length !== cmaps.length) this.cmap.fill(cmaps);
    setIfChanged(this.cmap.input, "value", m.get("cmap"));
    const [lmin, lmax, lstep] = ranges.level || [0, 1, 1];
    const [wmin, wmax, wstep] = ranges.width || [1, 2, 1];
    this.level.set(m.get("window_center"), lmin, lmax, lstep, formatG(m.get("window_center")));
    this.width.set(m.get("window_width"), wmin, wmax, wstep, formatG(m.get("window_width")));
    this.zoom.set(m.get("zoom"), 1, 8, 0.25, m.get("zoom").toFixed(2));
    const hasLabels = this.store.layers.has(this.kind === "compare" ? "after_labels" : "labels")
      || (m.get("_layers") || {})[this.kind === "compare" ? "after_labels" : "labels"] !== undefined;
    this.labelBox.style.display = hasLabels ? "" : "none";
    if (this.labelsToggle) this.labelsToggle.input.checked = m.get("labels_visible");
    this.opacity.set(m.get("opacity"), 0, 1, 0.05, m.get("opacity").toFixed(2));
    this.contour.input.checked = m.get("contour");
    this.updateLegend();
    const orthogonal = this.kind === "viewer" && m.get("orthogonal");
    for (const pane of this.panes) {
      const axis = this.paneAxis(pane);
      const title = this.kind === "compare"
        ? (pane.name === "after" ? "<b>after</b>" : MODE_TITLES[m.get("mode")])
        : (this.volume ? `<b>${g.axis_names[axis]}</b>` : "");
      if (pane.title.innerHTML !== title) pane.title.innerHTML = title;
      if (pane.slider) pane.slider.set(this.paneIndex(pane), 0, g.shape[axis] - 1, 1);
    }
    if (this.sharedSlider) this.sharedSlider.set(m.get("index"), 0, g.shape[m.get("axis")] - 1, 1);
    if (this.axisButtons) this.axisButtons.set(m.get("axis"));
    if (this.modeButtons) {
      const mode = m.get("mode");
      this.modeButtons.set(mode);
      this.curtain.box.style.display = mode === "curtain" ? "" : "none";
      this.alpha.box.style.display = mode === "blend" ? "" : "none";
      this.difference.box.style.display = mode === "difference" ? "" : "none";
      this.curtain.set(m.get("curtain"), 0, 1, 0.01, m.get("curtain").toFixed(2));
      this.alpha.set(m.get("alpha"), 0, 1, 0.01, m.get("alpha").toFixed(2));
      const dw = m.get("difference_width");
      if (this.differenceMax === undefined) this.differenceMax = dw;
      this.difference.set(dw, this.differenceMax / 100, this.differenceMax * 4, this.differenceMax / 100, formatG(dw));
      this.labelBox.querySelector(".mi-labels-toggle");
    }
    if (orthogonal) this.root.classList.add("mi-orthogonal-root");
  }

  updateLegend() {
    const legend = this.model.get("_legend") || [];
    const key = JSON.stringify(legend);
    if (this.legendKey === key) return;
    this.legendKey = key;
    this.legend.innerHTML = "";
    for (const [value, name, colour] of legend.slice(0, 24)) {
      const item = h("span", "mi-legend-item", this.legend);
      const swatch = h("span", "mi-legend-swatch", item);
      swatch.style.background = `rgb(${colour[0]}, ${colour[1]}, ${colour[2]})`;
      h("span", "", item).textContent = name;
      item.dataset.value = String(value);
    }
    if (legend.length > 24) h("span", "mi-legend-item", this.legend).textContent = `… ${legend.length - 24} more`;
  }
}

// ------------------------------------------------------------------------------------------
// 3-D: WebGL2 ray casting (maximum intensity or alpha compositing)
// ------------------------------------------------------------------------------------------

const VERTEX_SHADER = `#version 300 es
in vec2 corner;
out vec2 screen;
void main() { screen = corner; gl_Position = vec4(corner, 0.0, 1.0); }`;

const FRAGMENT_SHADER = `#version 300 es
precision highp float;
precision highp sampler3D;
in vec2 screen;
out vec4 colour;
uniform sampler3D volume;
uniform sampler3D labels;
uniform sampler2D palette;
uniform mat3 rotation;
uniform vec3 extent;      // physical size, normalised so the largest side is 1
uniform float zoom;
uniform float low;        // window low, as a texture value 0..1
uniform float high;
uniform int mode;         // 0 maximum intensity, 1 compositing
uniform int steps;
uniform bool showLabels;
void main() {
  vec3 origin = rotation * vec3(screen / zoom, -2.0);
  vec3 direction = rotation * vec3(0.0, 0.0, 1.0);
  vec3 half_extent = extent * 0.5;
  vec3 t0 = (-half_extent - origin) / direction;
  vec3 t1 = (half_extent - origin) / direction;
  vec3 tmin = min(t0, t1), tmax = max(t0, t1);
  float near = max(max(tmin.x, tmin.y), tmin.z);
  float far = min(min(tmax.x, tmax.y), tmax.z);
  if (far <= max(near, 0.0)) { colour = vec4(0.0, 0.0, 0.0, 1.0); return; }
  float dt = (far - near) / float(steps);
  float best = 0.0;
  vec3 bestLabel = vec3(0.0);
  vec4 sum = vec4(0.0);
  for (int i = 0; i < 2048; i++) {
    if (i >= steps) break;
    vec3 p = origin + direction * (near + (float(i) + 0.5) * dt);
    vec3 uvw = p / extent + 0.5;            // texture coordinates (x, y, z)
    float v = texture(volume, uvw).r;
    float g = clamp((v - low) / max(high - low, 1e-6), 0.0, 1.0);
    if (mode == 0) {
      best = max(best, g);
    } else {
      float a = g * g * 0.08;
      sum.rgb += (1.0 - sum.a) * a * texture(palette, vec2(g, 0.5)).rgb;
      sum.a += (1.0 - sum.a) * a;
      if (sum.a > 0.98) break;
    }
    if (showLabels) {
      float l = texture(labels, uvw).r;
      if (l > 0.0 && bestLabel == vec3(0.0)) bestLabel = texture(palette, vec2(0.0, 0.5)).rgb * 0.0 + vec3(1.0, 0.5, 0.0);
    }
  }
  vec3 rgb = mode == 0 ? texture(palette, vec2(best, 0.5)).rgb : sum.rgb;
  if (showLabels && bestLabel != vec3(0.0)) rgb = mix(rgb, bestLabel, 0.45);
  colour = vec4(rgb, 1.0);
}`;

function rotationMatrix(yaw, pitch) {
  const cy = Math.cos(yaw), sy = Math.sin(yaw), cp = Math.cos(pitch), sp = Math.sin(pitch);
  // columns: R = Ry(yaw) * Rx(pitch)
  return new Float32Array([cy, 0, -sy, sy * sp, cp, cy * sp, sy * cp, -sp, cy * cp]);
}

class VolumeView {
  constructor(model, el) {
    this.model = model;
    this.el = el;
    this.store = storeOf(model);
    this.root = h("div", "mi-root mi-volume-root", el);
    this.note = h("div", "mi-view3d-note", this.root);
    this.note.textContent = model.get("_title") || "";
    this.frame = h("div", "mi-frame mi-volume-frame", this.root);
    this.frame.tabIndex = 0;
    this.frame.setAttribute("data-lm-suppress-shortcuts", "true");
    this.frame.setAttribute("data-jp-suppress-context-menu", "true");
    this.canvas = h("canvas", "mi-volume-canvas", this.frame);
    this.status = h("div", "mi-volume-status", this.root);
    const controls = h("div", "mi-window-controls", this.root);
    this.modeButtons = buttons(controls, "mi-render-mode", [["mip", "maximum intensity"], ["composite", "volume"]],
      (mode) => this.saver.set({ render_mode: mode }));
    this.level = slider(controls, "mi-window-center", "level", (v) => this.setWindow(v, null));
    this.width = slider(controls, "mi-window-width", "width", (v) => this.setWindow(null, v));
    this.cmap = select(controls, "mi-cmap", "colormap", [], (cmap) => this.saver.set({ cmap }));
    this.help = h("div", "mi-help", this.root);
    this.help.textContent = "drag: rotate · wheel: zoom · right-drag: window/level";
    this.saver = new Saver(model);
    this.texture = null;
    this.textureVersion = null;
    this.attach();
    this.onChange = () => this.draw();
    model.on("change", this.onChange);
    this.onData = () => this.draw();
    this.store.listeners.add(this.onData);
    this.store.setFocus(this, []);
    this.store.startStreaming(); // a rendering needs the whole volume
    this.initGL();
    this.draw();
  }

  destroy() {
    this.model.off("change", this.onChange);
    this.store.listeners.delete(this.onData);
    this.store.focus.delete(this);
    if (this.gl) {
      const lose = this.gl.getExtension("WEBGL_lose_context");
      if (lose) lose.loseContext();
    }
  }

  setWindow(center, width) {
    this.saver.set({
      window_center: center === null ? this.model.get("window_center") : center,
      window_width: width === null ? this.model.get("window_width") : Math.max(width, 1e-6),
    });
  }

  initGL() {
    const gl = this.canvas.getContext("webgl2", { preserveDrawingBuffer: true });
    this.gl = gl;
    if (!gl) {
      this.status.textContent = "This browser has no WebGL2: the 3-D view cannot be drawn here.";
      this.root.classList.add("mi-no-webgl");
      return;
    }
    const compile = (type, source) => {
      const shader = gl.createShader(type);
      gl.shaderSource(shader, source);
      gl.compileShader(shader);
      if (!gl.getShaderParameter(shader, gl.COMPILE_STATUS)) throw new Error(gl.getShaderInfoLog(shader));
      return shader;
    };
    const program = gl.createProgram();
    gl.attachShader(program, compile(gl.VERTEX_SHADER, VERTEX_SHADER));
    gl.attachShader(program, compile(gl.FRAGMENT_SHADER, FRAGMENT_SHADER));
    gl.linkProgram(program);
    if (!gl.getProgramParameter(program, gl.LINK_STATUS)) throw new Error(gl.getProgramInfoLog(program));
    this.program = program;
    const buffer = gl.createBuffer();
    gl.bindBuffer(gl.ARRAY_BUFFER, buffer);
    gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([-1, -1, 1, -1, -1, 1, 1, 1]), gl.STATIC_DRAW);
    const location = gl.getAttribLocation(program, "corner");
    gl.enableVertexAttribArray(location);
    gl.vertexAttribPointer(location, 2, gl.FLOAT, false, 0, 0);
    this.paletteTexture = gl.createTexture();
    this.labelTexture = this.emptyTexture3D();
  }

  emptyTexture3D() {
    const gl = this.gl;
    const texture = gl.createTexture();
    gl.bindTexture(gl.TEXTURE_3D, texture);
    gl.texImage3D(gl.TEXTURE_3D, 0, gl.R8, 1, 1, 1, 0, gl.RED, gl.UNSIGNED_BYTE, new Uint8Array(1));
    return texture;
  }

  /** Upload a complete layer as a float texture scaled to 0..1 (returns its value range). */
  upload(layer, labels) {
    const gl = this.gl;
    const [nz, ny, nx] = layer.shape;
    const n = nz * ny * nx;
    let low = Infinity, high = -Infinity;
    for (const slice of layer.slices) {
      for (let i = 0; i < slice.length; i++) {
        const v = slice[i];
        if (v < low) low = v;
        if (v > high) high = v;
      }
    }
    const span = high > low ? high - low : 1;
    const data = labels ? new Uint8Array(n) : new Float32Array(n);
    let k = 0;
    for (const slice of layer.slices) {
      for (let i = 0; i < slice.length; i++) data[k++] = labels ? (slice[i] ? 255 : 0) : (slice[i] - low) / span;
    }
    const texture = gl.createTexture();
    gl.bindTexture(gl.TEXTURE_3D, texture);
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
    if (labels) {
      gl.texImage3D(gl.TEXTURE_3D, 0, gl.R8, nx, ny, nz, 0, gl.RED, gl.UNSIGNED_BYTE, data);
    } else {
      gl.texImage3D(gl.TEXTURE_3D, 0, gl.R16F, nx, ny, nz, 0, gl.RED, gl.FLOAT, data);
    }
    const filter = labels ? gl.NEAREST : gl.LINEAR;
    gl.texParameteri(gl.TEXTURE_3D, gl.TEXTURE_MIN_FILTER, filter);
    gl.texParameteri(gl.TEXTURE_3D, gl.TEXTURE_MAG_FILTER, filter);
    for (const wrap of [gl.TEXTURE_WRAP_S, gl.TEXTURE_WRAP_T, gl.TEXTURE_WRAP_R]) {
      gl.texParameteri(gl.TEXTURE_3D, wrap, gl.CLAMP_TO_EDGE);
    }
    return { texture, low, span };
  }

  attach() {
    let drag = null;
    this.frame.addEventListener("contextmenu", (e) => { e.preventDefault(); e.stopPropagation(); });
    this.frame.addEventListener("pointerdown", (event) => {
      drag = { x: event.clientX, y: event.clientY, button: event.button, yaw: this.model.get("yaw"),
        pitch: this.model.get("pitch"), center: this.model.get("window_center"), width: this.model.get("window_width") };
      this.frame.setPointerCapture(event.pointerId);
      event.preventDefault();
    });
    this.frame.addEventListener("pointermove", (event) => {
      if (!drag) return;
      const dx = event.clientX - drag.x;
      const dy = event.clientY - drag.y;
      if (drag.button === 2) {
        const k = Math.max(drag.width, 1e-3) / 256;
        this.setWindow(drag.center - dy * k, Math.max(drag.width + dx * k, 1e-3));
      } else {
        const pitch = Math.min(Math.max(drag.pitch + dy * 0.01, -1.55), 1.55);
        this.saver.set({ yaw: drag.yaw + dx * 0.01, pitch });
      }
    });
    const end = () => { drag = null; this.saver.flush(); };
    this.frame.addEventListener("pointerup", end);
    this.frame.addEventListener("pointercancel", end);
    this.frame.addEventListener("wheel", (event) => {
      event.preventDefault();
      event.stopPropagation();
      const zoom = this.model.get("zoom") * (event.deltaY < 0 ? 1.1 : 1 / 1.1);
      this.saver.set({ zoom: Math.min(Math.max(zoom, 0.5), 8) });
    }, { passive: false });
  }

  draw() {
    const m = this.model;
    const g = m.get("_geometry");
    const layer = this.store.layers.get("values");
    const ranges = m.get("_ranges") || {};
    const [lmin, lmax, lstep] = ranges.level || [0, 1, 1];
    const [wmin, wmax, wstep] = ranges.width || [1, 2, 1];
    this.level.set(m.get("window_center"), lmin, lmax, lstep, formatG(m.get("window_center")));
    this.width.set(m.get("window_width"), wmin, wmax, wstep, formatG(m.get("window_width")));
    const cmaps = Object.keys(m.get("_luts") || {}).filter((n) => n !== "__labels__" && n !== "RdBu_r");
    if (this.cmap.input.options.length !== cmaps.length) this.cmap.fill(cmaps);
    this.cmap.input.value = m.get("cmap");
    this.modeButtons.set(m.get("render_mode"));
    const size = m.get("display_size");
    this.frame.style.width = `${size}px`;
    this.frame.style.height = `${size}px`;
    if (this.canvas.width !== size) {
      this.canvas.width = size;
      this.canvas.height = size;
    }
    if (!this.gl || !layer || !g) return;
    if (!layer.complete()) {
      this.status.textContent = `loading ${layer.count} / ${layer.shape[0]} slices…`;
      this.frame.classList.add("mi-loading");
      return;
    }
    const gl = this.gl;
    if (this.textureVersion !== layer.version) {
      if (this.volumeTexture) gl.deleteTexture(this.volumeTexture.texture);
      this.volumeTexture = this.upload(layer, false);
      this.textureVersion = layer.version;
    }
    const labels = this.store.layers.get("labels");
    if (labels && labels.complete() && this.labelVersion !== labels.version) {
      this.labelTexture = this.upload(labels, true).texture;
      this.labelVersion = labels.version;
    }
    this.status.textContent = "";
    this.frame.classList.remove("mi-loading");
    const [nz, ny, nx] = layer.shape;
    const extentZYX = [nz * g.spacing[0], ny * g.spacing[1], nx * g.spacing[2]];
    const largest = Math.max(...extentZYX);
    // texture axes are (x, y, z) = array axes (2, 1, 0); z is drawn upward (superior up)
    const extent = [extentZYX[2] / largest, extentZYX[1] / largest, extentZYX[0] / largest];
    gl.viewport(0, 0, this.canvas.width, this.canvas.height);
    gl.useProgram(this.program);
    const lut = lutOf(m, m.get("cmap"));
    const rgba = new Uint8Array(256 * 4);
    for (let i = 0; i < 256; i++) {
      rgba.set([lut[i * 3], lut[i * 3 + 1], lut[i * 3 + 2], 255], i * 4);
    }
    gl.activeTexture(gl.TEXTURE2);
    gl.bindTexture(gl.TEXTURE_2D, this.paletteTexture);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, 256, 1, 0, gl.RGBA, gl.UNSIGNED_BYTE, rgba);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_3D, this.volumeTexture.texture);
    gl.activeTexture(gl.TEXTURE1);
    gl.bindTexture(gl.TEXTURE_3D, this.labelTexture);
    const u = (name) => gl.getUniformLocation(this.program, name);
    gl.uniform1i(u("volume"), 0);
    gl.uniform1i(u("labels"), 1);
    gl.uniform1i(u("palette"), 2);
    // view from the front (anterior), superior up: rotate the (x, y, z) texture frame
    const base = new Float32Array([1, 0, 0, 0, 0, -1, 0, 1, 0]);
    const r = rotationMatrix(m.get("yaw"), m.get("pitch"));
    const rot = new Float32Array(9);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {
      let s = 0;
      for (let k = 0; k < 3; k++) s += base[k * 3 + i] * r[j * 3 + k];
      rot[j * 3 + i] = s;
    }
    gl.uniformMatrix3fv(u("rotation"), false, rot);
    gl.uniform3fv(u("extent"), new Float32Array(extent));
    gl.uniform1f(u("zoom"), m.get("zoom") * 1.2);
    const { low, span } = this.volumeTexture;
    const wl = m.get("window_center") - m.get("window_width") / 2;
    const wh = m.get("window_center") + m.get("window_width") / 2;
    gl.uniform1f(u("low"), (wl - low) / span);
    gl.uniform1f(u("high"), (wh - low) / span);
    gl.uniform1i(u("mode"), m.get("render_mode") === "mip" ? 0 : 1);
    gl.uniform1i(u("steps"), Math.min(2048, Math.max(64, Math.ceil(Math.hypot(nz, ny, nx)))));
    gl.uniform1i(u("showLabels"), !!(labels && labels.complete()));
    gl.drawArrays(gl.TRIANGLE_STRIP, 0, 4);
    this.canvas.dataset.draws = String(Number(this.canvas.dataset.draws || 0) + 1);
  }
}

// ------------------------------------------------------------------------------------------
// anywidget entry points
// ------------------------------------------------------------------------------------------

export default {
  initialize({ model }) {
    storeOf(model); // receives the first slices at once, before any view renders
    return () => dropStore(model);
  },
  render({ model, el }) {
    el.classList.add("mi-widget");
    const View = model.get("_kind") === "volume" ? VolumeView : SliceView;
    const view = new View(model, el);
    el.__miView = view; // for tests and benchmarks: the view behind a widget's element
    return () => view.destroy();
  },
};
