// Waveform: envelopes of input/output audio and turn markers on one session clock (canvas + rAF).

/** A growing min/max envelope (`length`: bins in use). @typedef {{ min: Int16Array, max: Int16Array, length: number }} Track */
/**
 * What the kernel sends (waveform.py), in `{ type: "batch", items, now_ms }` messages: envelope
 * bins of a track from bin `start` of the session clock (their int16 [min, max] pairs are the
 * next buffer), a marker at `ms` on the clock (`short`: the label where the whole one does not
 * fit), or a span of a cut reply's audio that was received but never heard (sent again, same
 * id, as it grows), or a cut: the track's bins from bin `from` on are gone (the user's audio
 * after a kernel stall was moved back to end at the clock; its bins follow, where they now are).
 * `now_ms`: the session clock when the batch left.
 * @typedef {{ type: "env", track: "in" | "out", start: number }} EnvItem
 * @typedef {{ type: "cut", track: "in" | "out", from: number }} CutItem
 * @typedef {{ type: "marker", id: number, kind: string, ms: number, label: string, short?: string }} Marker
 * @typedef {{ type: "span", id: number, kind: "dropped", item: string, from_ms: number, to_ms: number }} Span
 * @typedef {{ type: "batch", items: (EnvItem | CutItem | Marker | Span)[], now_ms?: number }} Batch
 * A view's history, asked for with `{ type: "hello", view }` when it renders: each track's bins
 * so far as contiguous runs, and the markers and spans.
 * @typedef {{ type: "snapshot", view: string, items: (EnvItem | CutItem | Marker | Span)[], now_ms?: number }} Snapshot
 * The conversation's stereo WAV (one buffer), asked for with `{ type: "wav", view }`.
 * @typedef {{ type: "wav", view: string }} Wav
 */
/** The synced state (waveform.py). @typedef {{ bin_ms: number, height: number, paused: boolean, show_output: boolean, output_label: string }} WaveformModel */

/**
 * Apply a batch or a snapshot to a view's tracks and markers. Bins sit at absolute positions and
 * change only after a cut (in a live batch, before the bins that replace them), and a marker is added once per id, so live batches and a snapshot that overlaps
 * them can arrive in any order: a view draws live at once and fills in its history when it comes.
 * A span replaces the one of its id (it only grows).
 * @param {Record<string, Track>} tracks @param {Marker[]} markers @param {Set<number>} seen marker ids
 * @param {(EnvItem | CutItem | Marker | Span)[]} items @param {DataView[]} buffers
 * @param {Map<number, Span>} [spans] the dropped spans by id
 */
export function applyItems(tracks, markers, seen, items, buffers, spans = new Map()) {
  let b = 0;
  for (const item of items) {
    if (item.type === "env") {
      const view = buffers[b++];
      const pairs = new Int16Array(view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength));
      putBins(tracks[item.track], item.start, pairs);
    } else if (item.type === "cut") {
      const track = tracks[item.track];
      const from = Math.max(0, item.from);
      if (from < track.length) {
        track.min.fill(0, from, track.length); track.max.fill(0, from, track.length);
        track.length = from;
      }
    } else if (item.type === "span") {
      const had = spans.get(item.id);
      if (!had || had.to_ms <= item.to_ms) spans.set(item.id, item);
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
 * Place marker labels so that no two boxes intersect: by `priority` (higher first: the labels a
 * person reads the conversation by, such as a cut, keep their place when the view is crowded),
 * then in time order, each label goes in the
 * first row where it fits right of its line (or, at the right edge, left of it); where the whole
 * label fits in no row its `short` form is tried; a label that fits in no row is hidden (its
 * line stays, with the label as a tooltip). Boxes stay within [minLeft, width].
 * @param {{x: number, width: number, short?: number, priority?: number}[]} labels x of the marker
 *   line, width of the label box and of its short form (px), its priority (default 0)
 * @param {number} width the drawing's width (px) @param {number} rows
 * @param {number} [gap] px kept free between boxes and after the line
 * @param {number} [minLeft] no box starts left of this (the lanes' name gutter)
 * @returns {{left: number, row: number, short: boolean}[]} per label; row -1 when hidden
 */
export function layoutLabels(labels, width, rows, gap = 3, minLeft = 0) {
  const order = labels
    .map((_, i) => i)
    .sort((a, b) => (labels[b].priority ?? 0) - (labels[a].priority ?? 0) || labels[a].x - labels[b].x);
  /** @type {[number, number][][]} occupied [left, right) per row */
  const taken = Array.from({ length: rows }, () => /** @type {[number, number][]} */ ([]));
  const out = labels.map(() => ({ left: 0, row: -1, short: false }));
  /** @param {number} row @param {number} left @param {number} right */
  const free = (row, left, right) => taken[row].every(([l, r]) => right + gap <= l || left >= r + gap);
  for (const i of order) {
    const { x, width: whole, short } = labels[i];
    const forms = short !== undefined && short < whole ? [whole, short] : [whole];
    placing: for (const w of forms) {
      const left = x + gap + w <= width ? x + gap : x - gap - w; // flip left at the right edge
      if (left < minLeft) continue;
      for (let row = 0; row < rows; row++) {
        if (free(row, left, left + w)) {
          taken[row].push([left, left + w]);
          out[i] = { left, row, short: w !== whole };
          break placing;
        }
      }
    }
  }
  return out;
}

/**
 * Which of `columns` pixel columns covering bins [from, to) lie in a dropped span (received,
 * never heard): 1 where the column's middle is inside one.
 * @param {{from_ms: number, to_ms: number}[]} spans @param {number} binMs
 * @param {number} from @param {number} to @param {number} columns @returns {Uint8Array}
 */
export function droppedColumns(spans, binMs, from, to, columns) {
  const out = new Uint8Array(columns);
  const per = (to - from) / columns;
  for (const s of spans) {
    const a = Math.max(0, Math.ceil((s.from_ms / binMs - from) / per - 0.5));
    const b = Math.min(columns, Math.ceil((s.to_ms / binMs - from) / per - 0.5));
    for (let c = a; c < b; c++) out[c] = 1;
  }
  return out;
}

/** @type {Record<string, string>} */
const COLORS = { speech_started: "#27ae60", speech_stopped: "#c0392b", committed: "#8e44ad", timeout: "#e67e22",
  response_start: "#2980b9", response_done: "#2980b9", truncated: "#d35400", typed: "#16a085" };
const IN_COLOR = "#3498db";
const OUT_COLOR = "#7f8c8d"; // the reply as heard
const DROPPED_COLOR = "#d5dadc"; // the reply received past the cut, never heard (on a hatch)

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
/** Labels placed first when the view is crowded: where a reply was cut, a typed turn, speech. @type {Record<string, number>} */
const LABEL_PRIORITY = { truncated: 2, typed: 2, speech_started: 1 };
const ROW_PX = 13;
const GUTTER = 62; // the lanes' names, left of the audio (never over it)
const LABEL_FONT = "11px/12px system-ui,sans-serif";

/**
 * What a view drew, for tests and tools (`element.rwLayout`): canvas pixels, session-clock ms.
 * @typedef {{ binMs: number, from: number, binsPerPx: number, gutter: number, width: number, height: number,
 *   nowMs: number, lanes: Record<"in" | "out", { top: number, bottom: number }>,
 *   markers: { id: number, kind: string, ms: number, x: number, label: string, shown: string }[],
 *   dropped: { from_ms: number, to_ms: number, x0: number, x1: number }[],
 *   inEndMs: number, outEndMs: number, xOf: (ms: number) => number }} Layout
 */

/** @param {import("@anywidget/types").RenderProps<WaveformModel>} props */
function render({ model, el }) {
  /** @type {Record<string, Track>} */
  const tracks = { in: makeTrack(), out: makeTrack() };
  /** @type {Marker[]} */
  const markers = [];
  /** @type {Map<number, Span>} */
  const spans = new Map();
  let binsPerPx = 2; // zoom
  let dirty = true;
  let nowMs = 0; // the session clock when the last message left the kernel (for tools and tests)
  const wrap = document.createElement("div");
  wrap.className = "rw-waveform";
  const bar = document.createElement("div");
  bar.style.cssText = "font:12px system-ui;display:flex;align-items:center;gap:6px;margin-bottom:2px";
  const pause = document.createElement("button");
  pause.className = "rw-pause";
  pause.style.cssText = "display:inline-flex;align-items:center";
  const download = document.createElement("button");
  download.className = "rw-wav";
  download.textContent = "\u2913 WAV";
  download.title = "Download the conversation audio: a stereo WAV, you left, the assistant right, on the session clock (the reply cut where it was cut, silence in the gaps)";
  const info = document.createElement("span");
  info.className = "rw-waveform-info";
  info.style.color = "#555";
  bar.append(pause, download, info);
  const stage = document.createElement("div");
  stage.style.cssText = "position:relative";
  const canvas = document.createElement("canvas");
  canvas.style.cssText = "width:100%;display:block";
  canvas.height = model.get("height");
  const overlay = document.createElement("div");
  overlay.className = "rw-marker-labels";
  overlay.style.cssText = `position:absolute;left:0;top:0;right:0;height:0;pointer-events:none;font:${LABEL_FONT}`;
  stage.append(canvas, overlay);
  wrap.append(bar, stage);
  el.appendChild(wrap);
  /** @type {Map<string, number>} label text -> box width (px), measured once in the page */
  const widths = new Map();
  const measurer = document.createElement("span");
  measurer.style.cssText = `position:absolute;visibility:hidden;white-space:nowrap;padding:0 2px;font:${LABEL_FONT}`;
  let layoutSig = "";
  /** @type {HTMLSpanElement[]} the label boxes shown, in overlay order */
  const spansShown = [];
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
  // This view's token: the kernel addresses its snapshot and its WAV to it.
  const token = Math.random().toString(36).slice(2) + Date.now().toString(36);
  const onDownload = () => { model.send({ type: "wav", view: token }); };
  pause.addEventListener("click", onClick);
  download.addEventListener("click", onDownload);
  canvas.addEventListener("wheel", onWheel);
  let end = 0;
  let lastWidth = 0;

  /** @param {(Marker & { x: number })[]} visible @param {number} width @returns {string[]} what each label shows */
  function drawLabels(visible, width) {
    const boxes = visible.map((m) => ({
      x: m.x, width: measure(m.label), short: m.short ? measure(m.short) : undefined,
      priority: LABEL_PRIORITY[m.kind] ?? 0,
    }));
    const placed = layoutLabels(boxes, width, LABEL_ROWS, 3, GUTTER);
    const shown = visible.map((m, i) => (placed[i].row < 0 ? "" : placed[i].short && m.short ? m.short : m.label));
    const sig = `${width}|` + visible.map((m, i) => `${shown[i]}@${Math.round(m.x)}:${placed[i].row}`).join(",");
    if (sig === layoutSig) return shown;
    layoutSig = sig;
    // Spans are reused (only their text, place and colour change): the labels move with the
    // live waveform on every frame, and the page's main thread also carries the audio.
    let n = 0;
    visible.forEach((m, i) => {
      const p = placed[i];
      if (p.row < 0) return;
      let span = spansShown[n];
      if (!span) {
        span = document.createElement("span");
        span.className = "rw-marker-label";
        span.style.cssText = "position:absolute;box-sizing:border-box;padding:0 2px;white-space:nowrap;overflow:hidden;background:rgba(255,255,255,.85)";
        spansShown.push(span);
        overlay.appendChild(span);
      }
      n++;
      if (span.textContent !== shown[i]) span.textContent = shown[i];
      span.title = m.label;
      span.dataset.kind = m.kind;
      span.style.left = `${p.left}px`;
      span.style.top = `${p.row * ROW_PX}px`;
      span.style.width = `${p.short && m.short ? measure(m.short) : boxes[i].width}px`;
      span.style.color = COLORS[m.kind] || "#000";
      span.style.display = "";
    });
    for (const span of spansShown.slice(n)) span.remove();
    spansShown.length = n;
    return shown;
  }

  /** The hatch under a cut reply's dropped audio. @param {CanvasRenderingContext2D} g */
  function hatch(g, /** @type {number} */ x0, /** @type {number} */ x1, /** @type {number} */ y0, /** @type {number} */ y1) {
    g.save();
    g.beginPath();
    g.rect(x0, y0, x1 - x0, y1 - y0);
    g.clip();
    g.strokeStyle = "#e3e7e8";
    g.lineWidth = 1;
    g.beginPath();
    for (let x = x0 - (y1 - y0); x < x1; x += 6) { g.moveTo(x, y1); g.lineTo(x + (y1 - y0), y0); }
    g.stroke();
    g.restore();
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
      const binMs = model.get("bin_ms");
      const plot = Math.max(1, width - GUTTER);
      const latest = Math.max(tracks.in.length, tracks.out.length);
      if (!model.get("paused")) end = latest; // the later lane's end: queued reply audio included
      const from = Math.max(0, end - plot * binsPerPx);
      const to = from + plot * binsPerPx;
      const xOf = (/** @type {number} */ ms) => GUTTER + (ms / binMs - from) / binsPerPx;
      const top = LABEL_ROWS * ROW_PX; // the label rows sit above the audio
      const both = model.get("show_output") !== false; // no assistant lane: "you" takes it all
      const lane = (h - top) / (both ? 2 : 1);
      const dropped = [...spans.values()];
      const gone = droppedColumns(dropped, binMs, from, to, plot);
      /** @type {["in" | "out", number][]} */
      const lanes = [["in", top]];
      if (both) lanes.push(["out", top + lane]);
      for (const [name, y0] of lanes) {
        const mid = y0 + lane / 2;
        const cols = columnsOf(tracks[name], from, to, plot);
        if (name === "out") {
          for (const s of dropped) {
            const x0 = Math.max(GUTTER, xOf(s.from_ms)); const x1 = Math.min(width, xOf(s.to_ms));
            if (x1 > x0) hatch(g, x0, x1, y0 + 1, y0 + lane - 1);
          }
        }
        for (let c = 0; c < plot; c++) {
          const hi = mid - (cols.max[c] / 32768) * lane * 0.48;
          const lo = mid - (cols.min[c] / 32768) * lane * 0.48;
          g.fillStyle = name === "in" ? IN_COLOR : gone[c] ? DROPPED_COLOR : OUT_COLOR;
          g.fillRect(GUTTER + c, hi, 1, Math.max(1, lo - hi));
        }
      }
      // the lanes' names in the gutter, and its edge
      g.fillStyle = "#f4f6f7";
      g.fillRect(0, top, GUTTER - 2, h - top);
      g.fillStyle = "#555";
      g.font = "11px system-ui,sans-serif";
      g.textBaseline = "middle";
      g.fillText("you", 6, top + lane / 2);
      if (both) {
        g.fillText(model.get("output_label") || "assistant", 6, top + lane * 1.5, GUTTER - 10);
        g.fillStyle = "#ddd";
        g.fillRect(GUTTER - 2, top + lane, width - GUTTER + 2, 1);
      }
      /** @type {(Marker & { x: number })[]} */
      const visible = [];
      for (const m of markers) {
        const x = xOf(m.ms);
        if (x < GUTTER || x > width) continue;
        g.fillStyle = COLORS[m.kind] || "#000";
        g.fillRect(Math.round(x), 0, 1, h);
        if (m.kind === "typed") { // a typed turn: a bar on the user's lane
          g.fillRect(Math.round(x), top + lane * 0.2, 6, lane * 0.6);
        }
        visible.push({ ...m, x });
      }
      const shown = drawLabels(visible, width);
      /** @type {Layout} */
      const layout = {
        binMs, from, binsPerPx, gutter: GUTTER, width, height: h, nowMs,
        lanes: { in: { top, bottom: top + lane }, out: { top: top + lane, bottom: h } },
        markers: visible.map((m, i) => ({ id: m.id, kind: m.kind, ms: m.ms, x: m.x, label: m.label, shown: shown[i] })),
        dropped: dropped.map((s) => ({ from_ms: s.from_ms, to_ms: s.to_ms, x0: xOf(s.from_ms), x1: xOf(s.to_ms) })),
        inEndMs: tracks.in.length * binMs, outEndMs: tracks.out.length * binMs, xOf,
      };
      /** @type {any} */ (wrap).rwLayout = layout;
      info.textContent = `${((to - from) * binMs / 1000).toFixed(1)} s shown, ${(latest * binMs / 1000).toFixed(1)} s recorded, ${markers.length} markers`;
    }
    raf = requestAnimationFrame(draw);
  }
  let raf = requestAnimationFrame(draw);

  /** @type {Set<number>} */
  const seen = new Set();
  /** The WAV the kernel made: saved through the browser (a Blob download). @param {DataView} view */
  const save = (view) => {
    const bytes = new Uint8Array(view.byteLength);
    bytes.set(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
    const blob = new Blob([bytes], { type: "audio/wav" });
    const url = URL.createObjectURL(blob);
    const a = document.createElement("a");
    a.href = url;
    a.download = "conversation.wav";
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  };
  /** @param {Batch | Snapshot | Wav} msg @param {DataView[]} buffers */
  const onCustom = (msg, buffers) => {
    if (msg.type === "wav") {
      if (msg.view === token && buffers.length) save(buffers[0]);
      return;
    }
    if (msg.type === "snapshot" && msg.view !== token) return;
    if (msg.type !== "batch" && msg.type !== "snapshot") return;
    applyItems(tracks, markers, seen, msg.items, buffers, spans);
    if (typeof msg.now_ms === "number") nowMs = Math.max(nowMs, msg.now_ms);
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
    download.removeEventListener("click", onDownload);
    canvas.removeEventListener("wheel", onWheel);
  };
}

export default { render };
