// Waveform: envelopes of input/output audio and turn markers on one timeline (canvas + rAF).

/** A growing min/max envelope (`length`: bins in use). @typedef {{ min: Int16Array, max: Int16Array, length: number }} Track */
/**
 * What the kernel sends (waveform.py), in `{ type: "batch", items }` messages: envelope bins of
 * a track from bin `start` (their int16 [min, max] pairs are the next buffer), or a marker.
 * @typedef {{ type: "env", track: "in" | "out", start: number }} EnvItem
 * @typedef {{ type: "marker", id: number, kind: string, ms: number, label: string }} Marker
 * @typedef {{ type: "batch", items: (EnvItem | Marker)[] }} Batch
 * A view's history, asked for with `{ type: "hello", view }` when it renders: each track's bins
 * so far as contiguous runs, and the markers.
 * @typedef {{ type: "snapshot", view: string, items: (EnvItem | Marker)[] }} Snapshot
 */
/** The synced state (waveform.py). @typedef {{ bin_ms: number, height: number, paused: boolean, show_output: boolean }} WaveformModel */

/**
 * Apply a batch or a snapshot to a view's tracks and markers. Bins sit at absolute positions and
 * never change, and a marker is added once per id, so live batches and a snapshot that overlaps
 * them can arrive in any order: a view draws live at once and fills in its history when it comes.
 * @param {Record<string, Track>} tracks @param {Marker[]} markers @param {Set<number>} seen marker ids
 * @param {(EnvItem | Marker)[]} items @param {DataView[]} buffers
 */
export function applyItems(tracks, markers, seen, items, buffers) {
  let b = 0;
  for (const item of items) {
    if (item.type === "env") {
      const view = buffers[b++];
      const pairs = new Int16Array(view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength));
      putBins(tracks[item.track], item.start, pairs);
    } else if (item.type === "marker" && !seen.has(item.id)) {
      seen.add(item.id);
      markers.push(item);
    }
  }
  if (markers.length > 1 && markers[markers.length - 1].ms < markers[markers.length - 2].ms) {
    markers.sort((x, y) => x.ms - y.ms); // a snapshot after live markers: keep them in time order
  }
}

/** A growing min/max envelope: bins placed at absolute bin indices. @returns {Track} */
export function makeTrack() {
  return { min: new Int16Array(4096), max: new Int16Array(4096), length: 0 };
}

/** @param {Track} track @param {number} start @param {Int16Array} pairs @returns {Track} */
export function putBins(track, start, pairs) {
  const n = pairs.length >> 1;
  const need = start + n;
  if (need > track.min.length) {
    let size = track.min.length;
    while (size < need) size *= 2;
    const min = new Int16Array(size); min.set(track.min);
    const max = new Int16Array(size); max.set(track.max);
    track.min = min; track.max = max;
  }
  for (let i = 0; i < n; i++) { track.min[start + i] = pairs[2 * i]; track.max[start + i] = pairs[2 * i + 1]; }
  track.length = Math.max(track.length, need);
  return track;
}

/**
 * Min/max of the bins under each of `columns` pixels covering bins [from, to).
 * @param {Track} track @param {number} from @param {number} to @param {number} columns
 * @returns {{min: Int16Array, max: Int16Array}}
 */
export function columnsOf(track, from, to, columns) {
  const min = new Int16Array(columns);
  const max = new Int16Array(columns);
  const per = (to - from) / columns;
  for (let c = 0; c < columns; c++) {
    const a = Math.floor(from + c * per);
    const b = Math.max(a + 1, Math.floor(from + (c + 1) * per));
    let lo = 0; let hi = 0;
    for (let i = Math.max(0, a); i < Math.min(b, track.length); i++) {
      if (track.min[i] < lo) lo = track.min[i];
      if (track.max[i] > hi) hi = track.max[i];
    }
    min[c] = lo; max[c] = hi;
  }
  return { min, max };
}

/**
 * Place marker labels so that no two boxes intersect: in time order, each label goes in the
 * first row where it fits right of its line (or, at the right edge, left of it); a label that
 * fits in no row is hidden (its line stays, with the label as a tooltip).
 * @param {{x: number, width: number}[]} labels x of the marker line, width of the label box (px)
 * @param {number} width the drawing's width (px) @param {number} rows
 * @param {number} [gap] px kept free between boxes and after the line
 * @returns {{left: number, row: number}[]} per label; row -1 when hidden
 */
export function layoutLabels(labels, width, rows, gap = 3) {
  const order = labels.map((_, i) => i).sort((a, b) => labels[a].x - labels[b].x);
  /** @type {[number, number][][]} occupied [left, right) per row */
  const taken = Array.from({ length: rows }, () => /** @type {[number, number][]} */ ([]));
  const out = labels.map(() => ({ left: 0, row: -1 }));
  /** @param {number} row @param {number} left @param {number} right */
  const free = (row, left, right) => taken[row].every(([l, r]) => right + gap <= l || left >= r + gap);
  for (const i of order) {
    const { x, width: w } = labels[i];
    const right = x + gap + w <= width ? x + gap : x - gap - w; // flip left at the right edge
    if (right < 0) continue;
    for (let row = 0; row < rows; row++) {
      if (free(row, right, right + w)) {
        taken[row].push([right, right + w]);
        out[i] = { left: right, row };
        break;
      }
    }
  }
  return out;
}

/** @type {Record<string, string>} */
const COLORS = { speech_started: "#27ae60", speech_stopped: "#c0392b", committed: "#8e44ad", timeout: "#e67e22",
  response_start: "#2980b9", response_done: "#2980b9", truncated: "#d35400" };

const SVG_NS = "http://www.w3.org/2000/svg";
/** A play or pause icon drawn as SVG (no font glyph). @param {"play" | "pause"} kind */
function icon(kind) {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 10 10");
  svg.setAttribute("width", "10");
  svg.setAttribute("height", "10");
  svg.setAttribute("aria-hidden", "true");
  svg.style.marginRight = "4px";
  const path = document.createElementNS(SVG_NS, "path");
  path.setAttribute("d", kind === "play" ? "M1 0 L9 5 L1 10 Z" : "M1 0 H4 V10 H1 Z M6 0 H9 V10 H6 Z");
  path.setAttribute("fill", "currentColor");
  svg.appendChild(path);
  return svg;
}

const LABEL_ROWS = 3;
const ROW_PX = 13;

/** @param {import("@anywidget/types").RenderProps<WaveformModel>} props */
function render({ model, el }) {
  /** @type {Record<string, Track>} */
  const tracks = { in: makeTrack(), out: makeTrack() };
  /** @type {Marker[]} */
  const markers = [];
  let binsPerPx = 2; // zoom
  let dirty = true;
  const wrap = document.createElement("div");
  wrap.className = "rw-waveform";
  const bar = document.createElement("div");
  bar.style.cssText = "font:12px system-ui;display:flex;align-items:center;gap:6px;margin-bottom:2px";
  const pause = document.createElement("button");
  pause.className = "rw-pause";
  pause.style.cssText = "display:inline-flex;align-items:center";
  const info = document.createElement("span");
  info.style.color = "#555";
  bar.append(pause, info);
  const stage = document.createElement("div");
  stage.style.cssText = "position:relative";
  const canvas = document.createElement("canvas");
  canvas.style.cssText = "width:100%;display:block";
  canvas.height = model.get("height");
  const overlay = document.createElement("div");
  overlay.className = "rw-marker-labels";
  overlay.style.cssText = "position:absolute;left:0;top:0;right:0;height:0;pointer-events:none;font:11px/12px system-ui,sans-serif";
  stage.append(canvas, overlay);
  wrap.append(bar, stage);
  el.appendChild(wrap);
  /** @type {Map<string, number>} label text -> box width (px), measured once in the page */
  const widths = new Map();
  const measurer = document.createElement("span");
  measurer.style.cssText = "position:absolute;visibility:hidden;white-space:nowrap;padding:0 2px;font:11px/12px system-ui,sans-serif";
  let layoutSig = "";
  /** @type {HTMLSpanElement[]} the label boxes shown, in overlay order */
  const spans = [];
  const measure = (/** @type {string} */ text) => {
    let w = widths.get(text);
    if (w === undefined) {
      overlay.appendChild(measurer);
      measurer.textContent = text;
      w = Math.ceil(measurer.getBoundingClientRect().width) + 1;
      measurer.remove();
      if (w > 1) widths.set(text, w); // 1: not laid out yet (hidden tab): measure again later
    }
    return w;
  };
  const label = () => {
    const paused = model.get("paused");
    pause.replaceChildren(icon(paused ? "play" : "pause"), document.createTextNode(paused ? "live" : "pause"));
    pause.title = paused ? "follow the live audio again" : "stop scrolling to look closer (wheel: zoom)";
  };
  const onClick = () => { model.set("paused", !model.get("paused")); model.save_changes(); label(); };
  const onWheel = (/** @type {WheelEvent} */ e) => { e.preventDefault(); binsPerPx = Math.min(200, Math.max(0.25, binsPerPx * (e.deltaY > 0 ? 1.25 : 0.8))); dirty = true; };
  pause.addEventListener("click", onClick);
  canvas.addEventListener("wheel", onWheel);
  let end = 0;
  let lastWidth = 0;

  /** @param {(Marker & { x: number })[]} visible @param {number} width */
  function drawLabels(visible, width) {
    const boxes = visible.map((m) => ({ x: m.x, width: measure(m.label) }));
    const placed = layoutLabels(boxes, width, LABEL_ROWS);
    const sig = `${width}|` + visible.map((m, i) => `${m.label}@${Math.round(m.x)}:${placed[i].row}`).join(",");
    if (sig === layoutSig) return;
    layoutSig = sig;
    // Spans are reused (only their text, place and colour change): the labels move with the
    // live waveform on every frame, and the page's main thread also carries the audio.
    let n = 0;
    visible.forEach((m, i) => {
      const p = placed[i];
      if (p.row < 0) return;
      let span = spans[n];
      if (!span) {
        span = document.createElement("span");
        span.className = "rw-marker-label";
        span.style.cssText = "position:absolute;box-sizing:border-box;padding:0 2px;white-space:nowrap;overflow:hidden;background:rgba(255,255,255,.85)";
        spans.push(span);
        overlay.appendChild(span);
      }
      n++;
      if (span.textContent !== m.label) span.textContent = m.label;
      span.dataset.kind = m.kind;
      span.style.left = `${p.left}px`;
      span.style.top = `${p.row * ROW_PX}px`;
      span.style.width = `${boxes[i].width}px`;
      span.style.color = COLORS[m.kind] || "#000";
      span.style.display = "";
    });
    for (const span of spans.slice(n)) span.remove();
    spans.length = n;
  }

  function draw() {
    const cw = canvas.clientWidth;
    if (cw && cw !== lastWidth) { lastWidth = cw; dirty = true; }
    if (dirty) {
      dirty = false;
      const width = canvas.width = cw || 800;
      const h = canvas.height;
      const g = canvas.getContext("2d");
      if (!g) return; // no 2D context (the canvas has another kind): nothing can be drawn
      g.clearRect(0, 0, width, h);
      const latest = Math.max(tracks.in.length, tracks.out.length);
      if (!model.get("paused")) end = latest;
      const from = Math.max(0, end - width * binsPerPx);
      const to = from + width * binsPerPx;
      const top = LABEL_ROWS * ROW_PX; // the label rows sit above the audio
      const both = model.get("show_output") !== false; // no assistant lane: "you" takes it all
      const lane = (h - top) / (both ? 2 : 1);
      /** @type {["in" | "out", string, number][]} */
      const lanes = [["in", "#3498db", top + lane * 0.5]];
      if (both) lanes.push(["out", "#7f8c8d", top + lane * 1.5]);
      for (const [name, color, mid] of lanes) {
        const cols = columnsOf(tracks[name], from, to, width);
        g.fillStyle = color;
        for (let x = 0; x < width; x++) {
          const hi = mid - (cols.max[x] / 32768) * lane * 0.48;
          const lo = mid - (cols.min[x] / 32768) * lane * 0.48;
          g.fillRect(x, hi, 1, Math.max(1, lo - hi));
        }
      }
      g.fillStyle = "#999";
      g.font = "10px system-ui,sans-serif";
      g.fillText("you", 2, top + 10);
      if (both) g.fillText("assistant", 2, top + lane + 10);
      const binMs = model.get("bin_ms");
      /** @type {(Marker & { x: number })[]} */
      const visible = [];
      for (const m of markers) {
        const x = (m.ms / binMs - from) / binsPerPx;
        if (x < 0 || x > width) continue;
        g.fillStyle = COLORS[m.kind] || "#000";
        g.fillRect(Math.round(x), 0, 1, h);
        visible.push({ ...m, x });
      }
      drawLabels(visible, width);
      info.textContent = `${((to - from) * binMs / 1000).toFixed(1)} s shown, ${(latest * binMs / 1000).toFixed(1)} s recorded, ${markers.length} markers`;
    }
    raf = requestAnimationFrame(draw);
  }
  let raf = requestAnimationFrame(draw);

  /** @type {Set<number>} */
  const seen = new Set();
  // This view's history: the kernel answers the hello with a snapshot addressed to it.
  const token = Math.random().toString(36).slice(2) + Date.now().toString(36);
  /** @param {Batch | Snapshot} msg @param {DataView[]} buffers */
  const onCustom = (msg, buffers) => {
    if (msg.type === "snapshot" && msg.view !== token) return;
    if (msg.type !== "batch" && msg.type !== "snapshot") return;
    applyItems(tracks, markers, seen, msg.items, buffers);
    dirty = true;
  };
  const onPaused = () => { label(); dirty = true; };
  model.on("msg:custom", onCustom);
  model.on("change:paused", onPaused);
  model.send({ type: "hello", view: token });
  label();
  return () => {
    cancelAnimationFrame(raf);
    model.off("msg:custom", onCustom);
    model.off("change:paused", onPaused);
    pause.removeEventListener("click", onClick);
    canvas.removeEventListener("wheel", onWheel);
  };
}

export default { render };
