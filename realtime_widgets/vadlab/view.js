// VAD lab view: the clip's envelope, Silero's probability and the threshold, the labelled turns,
// and what turn detection did with the current settings. Pure helpers are named exports.

/**
 * What turn detection did (analysis.py, `LabResult.to_json`); `{}` before the first run.
 * @typedef {object} LabResult
 * @property {{ start_ms: number, end_ms: number | null, stopped_ms: number | null, audio_start_ms: number }[]} [turns]
 * @property {number[]} [commits]
 * @property {[number, number][]} [timeouts] [audio_start_ms, audio_end_ms] of each idle timeout
 * @property {{ start_ms: number, end_ms: number, status: string, trigger: string }[]} [responses]
 * @property {Record<string, number | null> | null} [measures]
 */

/**
 * The synced state (view.py, `VadView`). Bytes traits arrive as DataViews.
 * @typedef {object} VadModel
 * @property {string} name
 * @property {number} bin_ms
 * @property {number} clip_ms
 * @property {DataView | ArrayBuffer | null} envelope int16 [min, max] per bin, interleaved
 * @property {DataView | ArrayBuffer | null} probability uint8 per bin (probability * 255)
 * @property {number} threshold negative for semantic_vad (no threshold)
 * @property {[number, number, string][]} truth labelled turns: [start_ms, end_ms, text]
 * @property {LabResult} result
 * @property {number} height
 */

/** [y, height] of a lane, in CSS px. @typedef {[number, number]} Lane */
/** The lanes that hold bars. @typedef {"truth" | "turns" | "replies"} BarLane */
/** A hover target and its tooltip. @typedef {{ x0: number, x1: number, y0: number, y1: number, info: string }} Hit */

/**
 * Pixel x of a time, for a view of `totalMs` over `width` px.
 * @param {number} ms @param {number} totalMs @param {number} width
 * @returns {number}
 */
export function xOf(ms, totalMs, width) {
  return (ms / totalMs) * width;
}

/**
 * Columns of an int16 [min, max] envelope (interleaved) for `width` pixels.
 * @param {Int16Array} env @param {number} width
 */
export function envelopeColumns(env, width) {
  const bins = env.length >> 1;
  const min = new Float32Array(width);
  const max = new Float32Array(width);
  for (let x = 0; x < width; x++) {
    const a = Math.floor((x * bins) / width);
    const b = Math.max(a + 1, Math.floor(((x + 1) * bins) / width));
    let lo = 0; let hi = 0;
    for (let i = a; i < Math.min(b, bins); i++) { lo = Math.min(lo, env[2 * i]); hi = Math.max(hi, env[2 * i + 1]); }
    min[x] = lo; max[x] = hi;
  }
  return { min, max };
}

/**
 * Lanes of the drawing, top to bottom: each [y, height]; `axis` is the axis' y.
 * @param {number} height
 * @returns {{ wave: Lane, prob: Lane, truth: Lane, turns: Lane, replies: Lane, axis: number }}
 */
export function lanes(height) {
  const wave = Math.round(height * 0.4);
  const prob = Math.round(height * 0.22);
  const row = Math.round((height - wave - prob - 16) / 3);
  return {
    wave: [0, wave], prob: [wave, prob],
    truth: [wave + prob + 4, row], turns: [wave + prob + 4 + row, row], replies: [wave + prob + 4 + 2 * row, row],
    axis: height - 12,
  };
}

const COLORS = { truth: "#27ae60", turn: "#2e86de", commit: "#1b4f72", timeout: "#8e44ad", reply: "#e67e22", cancelled: "#c0392b" };

/**
 * The bytes of a binary trait (a DataView, or an ArrayBuffer), copied out of their buffer.
 * @param {DataView | ArrayBuffer} buf
 * @returns {ArrayBufferLike}
 */
function bytesOf(buf) {
  return ArrayBuffer.isView(buf) ? buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) : buf;
}

/** @param {import("@anywidget/types").RenderProps<VadModel>} props */
function render({ model, el }) {
  const box = document.createElement("div");
  box.style.cssText = "font:12px system-ui;position:relative";
  const canvas = document.createElement("canvas");
  // border-box: the border inside the 100%, or the lab is 2 px wider than its cell and scrolls
  canvas.style.cssText = "width:100%;box-sizing:border-box;display:block;border:1px solid #ddd";
  const legend = document.createElement("div");
  legend.style.cssText = "display:flex;gap:12px;flex-wrap:wrap;margin-top:4px;color:#444";
  for (const [name, color] of [["labelled turn", COLORS.truth], ["detected speech", COLORS.turn], ["commit", COLORS.commit], ["idle timeout", COLORS.timeout], ["would-be reply", COLORS.reply], ["reply cut by speech", COLORS.cancelled]]) {
    const item = document.createElement("span");
    item.innerHTML = `<span style="display:inline-block;width:10px;height:10px;background:${color};margin-right:4px"></span>${name}`;
    legend.appendChild(item);
  }
  const tip = document.createElement("div");
  tip.style.cssText = "position:absolute;pointer-events:none;background:#fffbe6;border:1px solid #ccc;padding:2px 4px;display:none";
  box.append(canvas, legend, tip);
  el.appendChild(box);
  /** @type {Hit[]} */
  let hits = [];

  function draw() {
    const width = Math.max(300, (el.clientWidth || 902) - 2); // inside the canvas border
    const height = model.get("height");
    const dpr = window.devicePixelRatio || 1;
    canvas.width = width * dpr; canvas.height = height * dpr;
    canvas.style.height = `${height}px`;
    const g = canvas.getContext("2d");
    if (!g) return; // no 2D context (the canvas already has another kind): nothing to draw with
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, width, height);
    /** @type {LabResult} */
    const result = model.get("result") || {};
    const clipMs = model.get("clip_ms");
    const ends = [clipMs];
    for (const r of result.responses || []) ends.push(r.end_ms);
    for (const to of result.timeouts || []) ends.push(to[1]);
    const total = Math.max(...ends) + 200;
    const X = (/** @type {number} */ ms) => xOf(ms, total, width);
    const L = lanes(height);
    hits = [];
    // waveform
    const envBuf = model.get("envelope");
    if (envBuf && envBuf.byteLength) {
      const env = new Int16Array(bytesOf(envBuf));
      const clipW = Math.round(X(clipMs));
      const cols = envelopeColumns(env, clipW);
      const [wy, wh] = L.wave; const mid = wy + wh / 2;
      g.fillStyle = "#7f8c8d";
      for (let x = 0; x < clipW; x++) {
        const top = mid - (cols.max[x] / 32768) * wh * 0.5;
        const bottom = mid - (cols.min[x] / 32768) * wh * 0.5;
        g.fillRect(x, top, 1, Math.max(1, bottom - top));
      }
      g.fillStyle = "#f4f6f6"; g.fillRect(clipW, wy, width - clipW, wh);
      g.fillStyle = "#999"; g.fillText("(silence after the clip)", clipW + 4, wy + 12);
    }
    // probability and threshold
    const probBuf = model.get("probability");
    const [py, ph] = L.prob;
    g.strokeStyle = "#eee"; g.strokeRect(0, py, width, ph);
    if (probBuf && probBuf.byteLength) {
      const p = new Uint8Array(bytesOf(probBuf));
      const binMs = model.get("bin_ms");
      g.strokeStyle = "#16a085"; g.beginPath();
      for (let i = 0; i < p.length; i++) {
        const x = X(i * binMs); const y = py + ph - (p[i] / 255) * ph;
        if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
      }
      g.stroke();
    }
    const th = model.get("threshold");
    if (th >= 0) {
      g.strokeStyle = "#c0392b"; g.setLineDash([4, 3]); g.beginPath();
      g.moveTo(0, py + ph - th * ph); g.lineTo(width, py + ph - th * ph); g.stroke(); g.setLineDash([]);
      g.fillStyle = "#c0392b"; g.fillText(`threshold ${th.toFixed(2)}`, 4, py + ph - th * ph - 2);
    } else { g.fillStyle = "#888"; g.fillText("speech probability (semantic_vad: threshold fixed at 0.5)", 4, py + 11); }
    /**
     * A bar from a to b ms in a lane, labelled inside when the label fits, with a tooltip.
     * @param {BarLane} lane @param {number} a @param {number} b @param {string} color
     * @param {string} label @param {string} info
     */
    const bar = (lane, a, b, color, label, info) => {
      const [y, h] = L[lane];
      const x0 = X(a); const x1 = Math.max(x0 + 2, X(b));
      g.fillStyle = color; g.fillRect(x0, y + 2, x1 - x0, h - 4);
      if (label && x1 - x0 > g.measureText(label).width + 4) { g.fillStyle = "#fff"; g.fillText(label, x0 + 3, y + h / 2 + 4); }
      hits.push({ x0, x1, y0: y, y1: y + h, info });
    };
    for (const [a, b, text] of model.get("truth")) bar("truth", a, b, COLORS.truth, text, `labelled: ${Math.round(a)}-${Math.round(b)} ms "${text}"`);
    for (const tr of result.turns || []) {
      const end = tr.end_ms == null ? clipMs : tr.end_ms;
      bar("turns", tr.start_ms, end, COLORS.turn, "speech", `speech ${tr.start_ms}-${tr.end_ms ?? "…"} ms; stopped (committed) at ${tr.stopped_ms ?? "—"} ms`);
      if (tr.stopped_ms != null) { // the silence waited for, then the commit
        const [y, h] = L.turns;
        g.fillStyle = "rgba(46,134,222,0.25)"; g.fillRect(X(end), y + 2, X(tr.stopped_ms) - X(end), h - 4);
      }
    }
    g.fillStyle = COLORS.commit;
    for (const c of result.commits || []) { g.fillRect(X(c) - 1, L.truth[0], 2, L.replies[0] + L.replies[1] - L.truth[0]); }
    for (const [a, b] of result.timeouts || []) {
      g.fillStyle = COLORS.timeout; g.fillRect(X(b) - 1, 0, 2, height - 12);
      g.fillText("idle timeout", X(b) + 3, L.prob[0] + 10);
      hits.push({ x0: X(b) - 3, x1: X(b) + 3, y0: 0, y1: height, info: `idle timeout: ${a}-${b} ms committed, a response follows` });
    }
    for (const r of result.responses || []) {
      const cut = r.status === "cancelled";
      bar("replies", r.start_ms, r.end_ms, cut ? COLORS.cancelled : COLORS.reply, cut ? "cut" : "reply",
        `would-be reply (${r.trigger}) ${r.start_ms}-${r.end_ms} ms: ${cut ? "cancelled when speech started" : "completed"}`);
    }
    // axis
    g.fillStyle = "#555";
    const step = total > 20000 ? 5000 : total > 8000 ? 2000 : 1000;
    for (let ms = 0; ms <= total; ms += step) { g.fillRect(X(ms), L.axis, 1, 4); g.fillText(`${ms / 1000}s`, X(ms) + 2, height - 1); }
    /** @type {[BarLane, string][]} */
    const laneNames = [["truth", "labels"], ["turns", "turns"], ["replies", "replies"]];
    for (const [lane, name] of laneNames) { g.fillStyle = "#aaa"; g.fillText(name, width - 44, L[lane][0] + L[lane][1] / 2 + 4); }
  }
  canvas.addEventListener("mousemove", (e) => {
    const r = canvas.getBoundingClientRect();
    const x = e.clientX - r.left; const y = e.clientY - r.top;
    const hit = hits.find((h) => x >= h.x0 && x <= h.x1 && y >= h.y0 && y <= h.y1);
    tip.style.display = hit ? "block" : "none";
    if (hit) { tip.textContent = hit.info; tip.style.left = `${Math.min(x + 8, r.width - 260)}px`; tip.style.top = `${y + 12}px`; }
  });
  canvas.addEventListener("mouseleave", () => { tip.style.display = "none"; });
  for (const name of ["result", "envelope", "probability", "threshold", "truth", "height", "clip_ms"]) model.on(`change:${name}`, draw);
  const observer = new ResizeObserver(() => draw());
  observer.observe(el);
  draw();
  return () => observer.disconnect();
}

export default { render };
