// The suite lab: a sweep's Pareto plot (false cutoffs against end-of-turn latency); a click picks
// configuration A (shift-click, or the "pick B" toggle, picks B) and the strips below show, per
// clip, the audio of both channels on one clock, the true spans under the decided turns, the
// clip's measures and a play button. Everything is SVG, so a test can count what is drawn.
// Pure helpers are named exports (tests/js/suite_lab.test.mjs); the DOM is touched in `render`.

/**
 * A configuration of the sweep (a row of `result.table`).
 * @typedef {object} Point
 * @property {number} row the row's position in the table
 * @property {string} label its settings, as `name=value` pairs
 * @property {number | null} x eot_latency_ms_p50 (ms); null where no turn end was decided
 * @property {number | null} y false_cutoff_rate (0..1); null where the suite has no hold
 * @property {boolean} front on the Pareto front (no other point has both lower)
 * @property {Record<string, number | null>} values every metric and count of the row
 */

/** A point of the baseline or the reference. @typedef {{ label: string, x: number | null, y: number | null, source?: string }} Mark */

/** A true span: [start_ms, end_ms, label, text]. @typedef {[number, number, string, string]} TrueSpan */

/**
 * A clip of the suite (static).
 * @typedef {object} SuiteClip
 * @property {string} id
 * @property {number} duration_ms
 * @property {TrueSpan[]} spans
 */

/**
 * What one configuration decided on one clip (suite_lab.py, `clip_strip`).
 * @typedef {object} Strip
 * @property {string} id the clip's id
 * @property {number} total_ms the run's length (the clip, then its tail of silence)
 * @property {[number, number]} user [first bin, bins] of the user channel's envelope in `waves`
 * @property {[number, number]} agent the same for the agent channel
 * @property {[number, number, boolean][]} turns [speech_started ms, speech_stopped ms (the decision), decided]
 * @property {number[]} commits input_audio_buffer.committed, ms
 * @property {[number, number, string][]} responses [created ms, done ms, status]
 * @property {number[]} cuts ms where the agent's playback was cut (speech started while it spoke)
 * @property {[string, string][]} measures the clip's own measures, as [name, shown value]
 */

/** A configuration's strips. @typedef {{ row: number, clips: Strip[] }} Side */

/**
 * The synced state (suite_lab.py, `SuiteLab`).
 * @typedef {object} SuiteLabModel
 * @property {string} title
 * @property {Point[]} points
 * @property {Mark[]} baseline
 * @property {Mark | null} reference
 * @property {string[]} metrics the rows of the A/B table, in order
 * @property {SuiteClip[]} clips
 * @property {number} selected the row of A, -1 for none
 * @property {number} compare the row of B, -1 for none
 * @property {{ A?: Side, B?: Side }} strips
 * @property {DataView | ArrayBuffer | null} waves int16 [min, max] per bin, every strip's channels
 * @property {number} bin_ms
 * @property {string} status
 */

export const TRUE_COLORS = /** @type {Record<string, string>} */ ({
  speech: "#27ae60", hold: "#f1c40f", eot: "#8e44ad", backchannel: "#16a085", barge_in: "#e84393",
});
export const DECIDED_COLORS = {
  turn: "#2e86de", decision: "#0b2545", commit: "#5dade2", reply: "#e67e22", cancelled: "#922b21", cut: "#000000",
};
const SIDE_COLORS = { A: "#2e86de", B: "#e67e22" };
const SVG = "http://www.w3.org/2000/svg";

/**
 * About `count` round tick values covering [lo, hi] (steps of 1, 2 or 5 times a power of ten).
 * @param {number} lo @param {number} hi @param {number} [count]
 * @returns {number[]}
 */
export function niceTicks(lo, hi, count = 5) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) || 10 * power;
  const ticks = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Math.round(v / step) * step);
  return ticks;
}

/**
 * The plot's domains: every plotted point, the baseline and the reference inside, with a margin,
 * latency from 0 and false cutoffs from 0 %.
 * @param {(Point | Mark)[]} marks
 * @returns {{ x: [number, number], y: [number, number] }}
 */
export function domains(marks) {
  const xs = marks.map((m) => m.x).filter((v) => v !== null);
  const ys = marks.map((m) => m.y).filter((v) => v !== null);
  const xHi = Math.max(100, ...xs) * 1.08;
  const yHi = Math.max(0.05, ...ys) * 1.12;
  return { x: [0, xHi], y: [0, yHi] };
}

/**
 * Points with the same values drawn as one marker (else only the last drawn could be clicked):
 * the marker stands for its point on the front if it has one, else its first row; markers on
 * the front come last, so they are drawn on top.
 * @param {Point[]} points
 * @returns {{ shown: Point, all: Point[] }[]}
 */
export function groupPoints(points) {
  /** @type {Map<string, Point[]>} */
  const groups = new Map();
  for (const p of points) {
    const key = `${p.x}|${p.y}`;
    const group = groups.get(key);
    if (group) group.push(p); else groups.set(key, [p]);
  }
  const out = [...groups.values()].map((all) => ({ shown: all.find((p) => p.front) || all[0], all }));
  return out.sort((a, b) => Number(a.shown.front) - Number(b.shown.front));
}

/**
 * The Pareto front as a staircase (matplotlib's steps-post): from each point right to the next
 * one's latency, then down to its false cutoffs. `front` sorted by latency.
 * @param {{ x: number | null, y: number | null }[]} front
 * @returns {[number, number][]}
 */
export function stepLine(front) {
  /** @type {[number, number][]} */
  const out = [];
  front.forEach((p, i) => {
    if (p.x === null || p.y === null) return;
    if (i > 0) out.push([p.x, out[out.length - 1][1]]);
    out.push([p.x, p.y]);
  });
  return out;
}

/**
 * The SVG path of a min/max envelope (int16 pairs) drawn over `width` px, centred on `mid`,
 * `half` px for full scale; `sign` -1 draws it mirrored below the middle.
 * @param {Int16Array} env @param {number} first @param {number} bins @param {number} width
 * @param {number} mid @param {number} half @param {number} [sign]
 * @returns {string}
 */
export function envelopePath(env, first, bins, width, mid, half, sign = 1) {
  if (bins <= 0 || width <= 0) return "";
  const parts = [];
  for (let x = 0; x < width; x++) {
    const a = Math.floor((x * bins) / width);
    const b = Math.max(a + 1, Math.floor(((x + 1) * bins) / width));
    let peak = 0;
    for (let i = a; i < Math.min(b, bins); i++) {
      peak = Math.max(peak, Math.abs(env[2 * (first + i)]), Math.abs(env[2 * (first + i) + 1]));
    }
    const h = Math.max(0.5, (peak / 32768) * half);
    parts.push(`M${x + 0.5},${mid}V${(mid - sign * h).toFixed(1)}`);
  }
  return parts.join("");
}

/**
 * A metric's value as a person reads it: rates in %, times in ms, counts as they are.
 * @param {string} name @param {number | null | undefined} v @param {boolean} [signed]
 * @returns {string}
 */
export function formatMetric(name, v, signed = false) {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  const sign = signed && v > 0 ? "+" : "";
  if (name.endsWith("_rate")) return `${sign}${(v * 100).toFixed(1)} %`;
  if (name.includes("_ms")) return `${sign}${v.toFixed(0)} ms`;
  return `${sign}${Number.isInteger(v) ? v : v.toFixed(2)}`;
}

/**
 * B - A, or null when either is missing.
 * @param {number | null | undefined} a @param {number | null | undefined} b
 * @returns {number | null}
 */
export function difference(a, b) {
  return a === null || a === undefined || b === null || b === undefined ? null : b - a;
}

/**
 * The bytes of a binary trait (a DataView, or an ArrayBuffer), copied out of their buffer.
 * @param {DataView | ArrayBuffer} buf
 * @returns {ArrayBufferLike}
 */
function bytesOf(buf) {
  return ArrayBuffer.isView(buf) ? buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) : buf;
}

/**
 * An SVG element with attributes.
 * @param {string} tag @param {Record<string, string | number>} attrs @param {string} [title]
 * @returns {SVGElement}
 */
function svg(tag, attrs, title) {
  const node = /** @type {SVGElement} */ (document.createElementNS(SVG, tag));
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (title) { const t = document.createElementNS(SVG, "title"); t.textContent = title; node.appendChild(t); }
  return node;
}

/**
 * An HTML element with a style and text.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag @param {string} [css] @param {string} [text]
 * @returns {HTMLElementTagNameMap[K]}
 */
function html(tag, css = "", text = "") {
  const node = document.createElement(tag);
  if (css) node.style.cssText = css;
  if (text) node.textContent = text;
  return node;
}

/** @param {import("@anywidget/types").RenderProps<SuiteLabModel>} props */
function render({ model, el }) {
  const box = html("div", "font:12px system-ui;color:#222;min-width:0");
  box.className = "rw-suite-lab";
  const title = html("div", "margin:2px 0 6px");
  const top = html("div", "display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start");
  const plotBox = html("div", "flex:1 1 420px;min-width:0;max-width:640px");
  const side = html("div", "flex:1 1 300px;min-width:0");
  const controls = html("div", "display:flex;gap:8px;align-items:center;flex-wrap:wrap;margin-bottom:4px");
  const pickB = html("label", "cursor:pointer;user-select:none");
  const pickBox = html("input");
  pickBox.type = "checkbox"; pickBox.className = "rw-pick-b";
  pickB.append(pickBox, document.createTextNode(" next click picks B (or shift-click)"));
  const clearB = html("button", "font-size:11px", "clear B");
  clearB.className = "rw-clear-b";
  controls.append(pickB, clearB);
  const chosen = html("div", "margin:4px 0");
  chosen.className = "rw-chosen";
  const status = html("div", "color:#888;min-height:16px");
  status.className = "rw-status";
  const abTable = html("div");
  side.append(controls, chosen, status, abTable);
  top.append(plotBox, side);
  const legend = html("div", "display:flex;gap:10px;flex-wrap:wrap;margin:8px 0 4px;color:#444");
  legend.className = "rw-legend";
  const strips = html("div");
  strips.className = "rw-strips";
  box.append(title, top, legend, strips);
  el.appendChild(box);

  /** What plays: the context, the source, and which clip and row (`clip|row`). */
  /** @type {{ ctx: AudioContext | null, source: AudioBufferSourceNode | null, key: string }} */
  const audio = { ctx: null, source: null, key: "" };

  const swatch = (/** @type {string} */ color, /** @type {string} */ name, /** @type {string} */ kind) => {
    const item = html("span");
    item.dataset.kind = kind;
    const sw = html("span", `display:inline-block;width:10px;height:10px;background:${color};margin-right:4px;vertical-align:-1px`);
    item.append(sw, document.createTextNode(name));
    return item;
  };
  legend.append(html("b", "", "true:"));
  for (const [label, color] of Object.entries(TRUE_COLORS)) legend.append(swatch(color, label.replace("_", "-"), "true"));
  legend.append(html("b", "margin-left:8px", "decided:"));
  legend.append(
    swatch(DECIDED_COLORS.turn, "turn (speech_started..stopped)", "decided"),
    swatch(DECIDED_COLORS.decision, "turn end decided", "decided"),
    swatch(DECIDED_COLORS.commit, "commit", "decided"),
    swatch(DECIDED_COLORS.reply, "reply", "decided"),
    swatch(DECIDED_COLORS.cancelled, "reply cancelled", "decided"),
    swatch(DECIDED_COLORS.cut, "agent cut", "decided"),
  );
  legend.append(html("b", "margin-left:8px", "audio:"), swatch("#5d6d7e", "user (up)", "audio"), swatch("#d68910", "agent (down)", "audio"));

  function drawPlot() {
    plotBox.innerHTML = "";
    const points = model.get("points");
    const baseline = model.get("baseline");
    const reference = model.get("reference");
    const selected = model.get("selected");
    const compare = model.get("compare");
    const plotted = points.filter((p) => p.x !== null && p.y !== null);
    const marks = [...plotted, ...baseline, ...(reference ? [reference] : [])];
    const width = Math.max(300, Math.min(640, plotBox.clientWidth || 520));
    const height = 300;
    const m = { l: 52, r: 14, t: 10, b: 40 };
    const d = domains(marks);
    const X = (/** @type {number} */ v) => m.l + ((v - d.x[0]) / (d.x[1] - d.x[0])) * (width - m.l - m.r);
    const Y = (/** @type {number} */ v) => height - m.b - ((v - d.y[0]) / (d.y[1] - d.y[0])) * (height - m.t - m.b);
    const plot = svg("svg", { width, height, class: "rw-pareto", style: "display:block;overflow:visible" });
    plot.appendChild(svg("rect", { x: m.l, y: m.t, width: width - m.l - m.r, height: height - m.t - m.b, fill: "#fcfcfc", stroke: "#ccc" }));
    for (const v of niceTicks(d.x[0], d.x[1], 6)) {
      plot.appendChild(svg("line", { x1: X(v), x2: X(v), y1: m.t, y2: height - m.b + 4, stroke: "#eee" }));
      const t = svg("text", { x: X(v), y: height - m.b + 15, "text-anchor": "middle", "font-size": 11, fill: "#555", class: "rw-xtick" });
      t.textContent = String(v); plot.appendChild(t);
    }
    for (const v of niceTicks(d.y[0] * 100, d.y[1] * 100, 5)) {
      plot.appendChild(svg("line", { x1: m.l - 4, x2: width - m.r, y1: Y(v / 100), y2: Y(v / 100), stroke: "#eee" }));
      const t = svg("text", { x: m.l - 6, y: Y(v / 100) + 4, "text-anchor": "end", "font-size": 11, fill: "#555", class: "rw-ytick" });
      t.textContent = `${v}`; plot.appendChild(t);
    }
    const xl = svg("text", { x: (m.l + width - m.r) / 2, y: height - 6, "text-anchor": "middle", "font-size": 12, fill: "#333" });
    xl.textContent = "end-of-turn latency p50 (ms, from the true speech end to the decision)"; plot.appendChild(xl);
    const yl = svg("text", { x: 12, y: (m.t + height - m.b) / 2, "text-anchor": "middle", "font-size": 12, fill: "#333", transform: `rotate(-90 12 ${(m.t + height - m.b) / 2})` });
    yl.textContent = "false cutoffs (% of holds)"; plot.appendChild(yl);
    // the baseline: a dashed curve through its points, in latency order
    const base = baseline.filter((b) => b.x !== null && b.y !== null).sort((a, b) => /** @type {number} */ (a.x) - /** @type {number} */ (b.x));
    if (base.length) {
      plot.appendChild(svg("polyline", { points: base.map((b) => `${X(/** @type {number} */ (b.x))},${Y(/** @type {number} */ (b.y))}`).join(" "), fill: "none", stroke: "#7f8c8d", "stroke-dasharray": "4 3" }));
      for (const b of base) {
        plot.appendChild(svg("rect", { x: X(/** @type {number} */ (b.x)) - 3, y: Y(/** @type {number} */ (b.y)) - 3, width: 6, height: 6, fill: "#fff", stroke: "#7f8c8d", class: "rw-baseline" }, `silence-only VAD baseline: ${b.label}`));
      }
    }
    // the front: a step line through the front's points
    const front = plotted.filter((p) => p.front).sort((a, b) => /** @type {number} */ (a.x) - /** @type {number} */ (b.x));
    if (front.length > 1) {
      plot.appendChild(svg("polyline", { points: stepLine(front).map(([x, y]) => `${X(x)},${Y(y)}`).join(" "), fill: "none", stroke: "#27ae60", "stroke-width": 2, opacity: 0.6, class: "rw-front-line" }));
    }
    for (const { shown: p, all } of groupPoints(plotted)) {
      const rows = all.map((q) => q.row);
      const picked = rows.includes(selected) ? "A" : rows.includes(compare) ? "B" : "";
      const same = all.length > 1 ? `\nthe same values: ${all.filter((q) => q !== p).map((q) => q.label).join("; ")}` : "";
      const dot = svg("circle", {
        cx: X(/** @type {number} */ (p.x)), cy: Y(/** @type {number} */ (p.y)), r: picked ? 7 : 5,
        fill: p.front ? "#27ae60" : "#95a5a6", stroke: picked ? (picked === "A" ? SIDE_COLORS.A : SIDE_COLORS.B) : "#fff",
        "stroke-width": picked ? 3 : 1, class: `rw-point${p.front ? " rw-front" : ""}`, "data-row": p.row, "data-rows": rows.join(" "), style: "cursor:pointer",
      }, `${p.label}\nfalse cutoffs ${formatMetric("false_cutoff_rate", p.y)}, latency ${formatMetric("eot_latency_ms_p50", p.x)}${p.front ? " (on the Pareto front)" : ""}${same}\nclick: A, shift-click: B`);
      dot.addEventListener("click", (e) => {
        const asB = /** @type {MouseEvent} */ (e).shiftKey || pickBox.checked;
        model.set(asB ? "compare" : "selected", p.row);
        if (asB) pickBox.checked = false;
        model.save_changes();
      });
      plot.appendChild(dot);
      if (picked) {
        const t = svg("text", { x: X(/** @type {number} */ (p.x)) + 9, y: Y(/** @type {number} */ (p.y)) - 7, "font-size": 12, "font-weight": 700, fill: picked === "A" ? SIDE_COLORS.A : SIDE_COLORS.B });
        t.textContent = picked; plot.appendChild(t);
      }
    }
    if (reference && reference.x !== null && reference.y !== null) {
      const rx = X(reference.x); const ry = Y(reference.y);
      plot.appendChild(svg("path", { d: `M${rx},${ry - 7}L${rx + 7},${ry}L${rx},${ry + 7}L${rx - 7},${ry}Z`, fill: "#c0392b", class: "rw-reference" }, `${reference.label}\n${reference.source || ""}`));
      // two lines, on the side of the point with room for them (~6 px a character at 11 px)
      const [first, ...rest] = reference.label.split(", ");
      const lines = [first, rest.join(", ")].filter(Boolean);
      const room = Math.max(...lines.map((l) => l.length)) * 6;
      const left = rx - 10 - room >= m.l;
      lines.forEach((line, i) => {
        const t = svg("text", { x: left ? rx - 10 : rx + 10, y: ry - 22 + 12 * i, "text-anchor": left ? "end" : "start", "font-size": 11, fill: "#c0392b", stroke: "#fff", "stroke-width": 3, "paint-order": "stroke", class: "rw-reference-label" });
        t.textContent = line; plot.appendChild(t);
      });
    }
    const key = html("div", "color:#555;margin-top:2px");
    key.innerHTML = `<span style="color:#27ae60">&#9679;</span> on the Pareto front &nbsp; <span style="color:#95a5a6">&#9679;</span> other grid points &nbsp; <span style="color:#7f8c8d">&#9633;</span> silence-only VAD baseline &nbsp; <span style="color:#c0392b">&#9670;</span> published reference`;
    const hidden = points.length - plotted.length;
    if (hidden) key.append(html("div", "", `${hidden} configuration(s) not plotted: no turn end decided or no hold in the suite`));
    plotBox.append(plot, key);
  }

  function drawSide() {
    const points = model.get("points");
    const a = points.find((p) => p.row === model.get("selected"));
    const b = points.find((p) => p.row === model.get("compare"));
    chosen.innerHTML = "";
    if (!a) chosen.append(html("div", "color:#555", "Click a point to see what that configuration did on each clip."));
    for (const [name, p] of /** @type {[string, Point | undefined][]} */ ([["A", a], ["B", b]])) {
      if (!p) continue;
      const line = html("div", `border-left:4px solid ${name === "A" ? SIDE_COLORS.A : SIDE_COLORS.B};padding-left:6px;margin:2px 0`);
      line.append(html("b", "", `${name}: `), document.createTextNode(`row ${p.row}: ${p.label}`));
      line.className = `rw-side-${name}`;
      chosen.append(line);
    }
    const text = model.get("status");
    status.textContent = text;
    status.style.color = text.startsWith("error") ? "#c0392b" : "#888";
    abTable.innerHTML = "";
    if (!a || !b) return;
    const table = html("table", "border-collapse:collapse;margin-top:4px");
    table.className = "rw-ab-table";
    const head = table.insertRow();
    for (const h of ["metric", "A", "B", "B − A"]) head.append(html("th", "text-align:left;padding:1px 8px;border-bottom:1px solid #ccc", h));
    for (const name of model.get("metrics")) {
      const va = a.values[name]; const vb = b.values[name]; const diff = difference(va, vb);
      const row = table.insertRow();
      row.dataset.metric = name;
      row.dataset.a = String(va ?? ""); row.dataset.b = String(vb ?? ""); row.dataset.diff = String(diff ?? "");
      row.append(html("td", "padding:1px 8px;color:#555", name));
      for (const [v, signed] of /** @type {[number | null | undefined, boolean][]} */ ([[va, false], [vb, false], [diff, true]])) {
        row.append(html("td", "padding:1px 8px;text-align:right;white-space:nowrap", formatMetric(name, v, signed)));
      }
    }
    abTable.append(table);
  }

  function drawStrips() {
    strips.innerHTML = "";
    const all = model.get("strips");
    const A = all.A; const B = all.B;
    if (!A) return;
    const wavesBuf = model.get("waves");
    const env = wavesBuf && wavesBuf.byteLength ? new Int16Array(bytesOf(wavesBuf)) : new Int16Array(0);
    const binMs = model.get("bin_ms");
    /** @type {Map<string, SuiteClip>} */
    const clips = new Map(model.get("clips").map((c) => [c.id, c]));
    const width = Math.max(320, (strips.clientWidth || el.clientWidth || 900) - 2);
    const gutter = 64;
    A.clips.forEach((sa, i) => {
      const sb = B ? B.clips[i] : undefined;
      const clip = clips.get(sa.id);
      const one = html("div", "margin:6px 0 10px;border-top:1px solid #eee;padding-top:4px");
      one.className = "rw-strip"; one.dataset.clip = sa.id;
      const head = html("div", "display:flex;gap:8px;align-items:baseline;flex-wrap:wrap");
      /** @type {HTMLButtonElement[]} */
      const plays = [];
      for (const [sideName, side] of /** @type {[string, Side | undefined][]} */ ([["A", A], ["B", B]])) {
        if (!side) continue;
        const play = html("button", "font-size:11px", B ? `▶ play ${sideName}` : "▶ play");
        play.className = "rw-play"; play.title = `play this clip's stereo run for ${sideName} (user left, agent right)`;
        play.dataset.clip = sa.id; play.dataset.row = String(side.row); play.dataset.side = sideName;
        play.addEventListener("click", () => {
          const key = `${sa.id}|${side.row}`;
          if (audio.source && audio.key === key) { stopAudio(); return; }
          stopAudio();
          audio.key = key;
          play.textContent = "loading...";
          model.send({ type: "play", clip: sa.id, row: side.row });
        });
        plays.push(play);
      }
      head.append(html("b", "", sa.id), html("span", "color:#888", `${((clip ? clip.duration_ms : sa.total_ms) / 1000).toFixed(1)} s`), ...plays);
      for (const [side, s] of /** @type {[string, Strip | undefined][]} */ ([["A", sa], ["B", sb]])) {
        if (!s) continue;
        const m = html("span", "color:#444");
        m.className = `rw-measures rw-measures-${side}`;
        m.textContent = `${B ? `${side}: ` : ""}${s.measures.map(([k, v]) => `${k} ${v}`).join(" · ")}`;
        head.append(m);
      }
      one.append(head);
      const lanes = B ? 2 : 1;
      const wave = 60; const lane = 16; const axis = 14;
      const height = wave + 4 + lane * (1 + lanes) + axis;
      const total = Math.max(sa.total_ms, sb ? sb.total_ms : 0, 1);
      const X = (/** @type {number} */ ms) => gutter + (ms / total) * (width - gutter);
      const drawing = svg("svg", { width, height, style: "display:block", class: "rw-strip-svg" });
      const name = (/** @type {string} */ text, /** @type {number} */ y, /** @type {string} */ color) => {
        const t = svg("text", { x: 2, y, "font-size": 11, fill: color }); t.textContent = text; drawing.appendChild(t);
      };
      // the two channels on one clock: the user up, the agent down (A's run)
      const mid = wave / 2;
      if (clip) drawing.appendChild(svg("rect", { x: X(clip.duration_ms), y: 0, width: Math.max(0, width - X(clip.duration_ms)), height: wave, fill: "#f4f6f6" }, "silence sent after the clip, so its last turn can end"));
      drawing.appendChild(svg("line", { x1: gutter, x2: width, y1: mid, y2: mid, stroke: "#ddd" }));
      drawing.appendChild(svg("path", { d: envelopePath(env, sa.user[0], sa.user[1], Math.round(X(sa.user[1] * binMs) - gutter), mid, mid - 2, 1), stroke: "#5d6d7e", transform: `translate(${gutter},0)`, class: "rw-wave-user" }));
      drawing.appendChild(svg("path", { d: envelopePath(env, sa.agent[0], sa.agent[1], Math.round(X(sa.agent[1] * binMs) - gutter), mid, mid - 2, -1), stroke: "#d68910", transform: `translate(${gutter},0)`, class: "rw-wave-agent" }));
      name("user", 14, "#5d6d7e"); name(B ? "agent (A)" : "agent", wave - 4, "#d68910");
      // the decided lanes (A, then B), the true spans under them
      let y = wave + 4;
      for (const [sideName, s] of /** @type {[string, Strip | undefined][]} */ ([["A", sa], ["B", sb]])) {
        if (!s) continue;
        name(B ? `${sideName}: decided` : "decided", y + 12, B ? (sideName === "A" ? SIDE_COLORS.A : SIDE_COLORS.B) : "#333");
        for (const [start, end, decided] of s.turns) {
          drawing.appendChild(svg("rect", { x: X(start), y: y + 2, width: Math.max(2, X(end) - X(start)), height: 5, fill: DECIDED_COLORS.turn, class: "rw-decided", "data-kind": "turn", "data-side": sideName }, `turn: speech_started at ${Math.round(start)} ms, ${decided ? `speech_stopped (turn end decided) at ${Math.round(end)} ms` : "never stopped"}`));
          if (decided) drawing.appendChild(svg("path", { d: `M${X(end) - 4},${y}L${X(end) + 4},${y}L${X(end)},${y + 7}Z`, fill: DECIDED_COLORS.decision, class: "rw-decided", "data-kind": "decision", "data-side": sideName }, `turn end decided (speech_stopped) at ${Math.round(end)} ms`));
        }
        for (const [start, end, state] of s.responses) {
          const cut = state !== "completed";
          drawing.appendChild(svg("rect", { x: X(start), y: y + 8, width: Math.max(2, X(end) - X(start)), height: 6, fill: cut ? DECIDED_COLORS.cancelled : DECIDED_COLORS.reply, class: "rw-decided", "data-kind": "response", "data-side": sideName }, `reply ${Math.round(start)}-${Math.round(end)} ms: ${state}`));
        }
        for (const c of s.commits) drawing.appendChild(svg("rect", { x: X(c) - 0.5, y: y + 7, width: 1.5, height: lane - 7, fill: DECIDED_COLORS.commit, class: "rw-decided", "data-kind": "commit", "data-side": sideName }, `committed at ${Math.round(c)} ms`));
        for (const c of s.cuts) {
          drawing.appendChild(svg("path", { d: `M${X(c) - 4},${y}L${X(c) + 4},${y + 8}M${X(c) + 4},${y}L${X(c) - 4},${y + 8}`, stroke: DECIDED_COLORS.cut, "stroke-width": 2, class: "rw-decided", "data-kind": "cut", "data-side": sideName }, `agent cut at ${Math.round(c)} ms (speech started while it spoke)`));
        }
        y += lane;
      }
      name("true", y + 12, "#333");
      for (const [start, end, label, text] of clip ? clip.spans : []) {
        drawing.appendChild(svg("rect", { x: X(start), y: y + 2, width: Math.max(2, X(end) - X(start)), height: lane - 4, fill: TRUE_COLORS[label] || "#999", class: "rw-true-span", "data-label": label }, `${label} ${Math.round(start)}-${Math.round(end)} ms${text ? `: "${text}"` : ""}`));
      }
      y += lane;
      const step = total > 20000 ? 5000 : total > 8000 ? 2000 : 1000;
      for (let ms = 0; ms <= total; ms += step) {
        drawing.appendChild(svg("line", { x1: X(ms), x2: X(ms), y1: y, y2: y + 4, stroke: "#777" }));
        const t = svg("text", { x: X(ms) + 2, y: y + 12, "font-size": 10, fill: "#555" }); t.textContent = `${ms / 1000} s`; drawing.appendChild(t);
      }
      one.append(drawing);
      strips.append(one);
    });
  }

  function stopAudio() {
    if (audio.source) { try { audio.source.stop(); } catch { /* already ended */ } }
    audio.source = null;
    for (const b of strips.querySelectorAll("button.rw-play")) b.textContent = playLabel(/** @type {HTMLElement} */ (b));
  }

  /** A play button's resting label. @param {HTMLElement} b */
  function playLabel(b) { return model.get("strips").B ? `▶ play ${b.dataset.side}` : "▶ play"; }

  model.on("msg:custom", (/** @type {{ type: string, clip?: string, row?: number, rate?: number }} */ msg, /** @type {DataView[]} */ buffers) => {
    if (msg.type !== "audio" || !buffers.length || `${msg.clip}|${msg.row}` !== audio.key) return;
    const pcm = new Int16Array(bytesOf(buffers[0]));
    const frames = pcm.length >> 1;
    box.dataset.audioFrames = String(frames);
    box.dataset.audioClip = String(msg.clip);
    box.dataset.audioRow = String(msg.row);
    const ctx = audio.ctx || (audio.ctx = new AudioContext());
    const buffer = ctx.createBuffer(2, Math.max(1, frames), msg.rate || 24000);
    for (let c = 0; c < 2; c++) {
      const channel = buffer.getChannelData(c);
      for (let i = 0; i < frames; i++) channel[i] = pcm[2 * i + c] / 32768;
    }
    const source = ctx.createBufferSource();
    source.buffer = buffer; source.connect(ctx.destination);
    source.onended = () => { if (audio.source === source) stopAudio(); };
    audio.source = source;
    source.start();
    for (const b of strips.querySelectorAll("button.rw-play")) {
      const button = /** @type {HTMLElement} */ (b);
      button.textContent = `${button.dataset.clip}|${button.dataset.row}` === audio.key ? "■ stop" : playLabel(button);
    }
  });

  function drawAll() { title.innerHTML = model.get("title"); drawPlot(); drawSide(); drawStrips(); }
  model.on("change:points", drawAll);
  model.on("change:baseline", drawPlot);
  model.on("change:reference", drawPlot);
  model.on("change:selected", () => { drawPlot(); drawSide(); });
  model.on("change:compare", () => { drawPlot(); drawSide(); });
  model.on("change:status", drawSide);
  model.on("change:strips", drawStrips);
  model.on("change:waves", drawStrips);
  clearB.addEventListener("click", () => { model.set("compare", -1); model.save_changes(); });
  let lastWidth = 0;
  const observer = new ResizeObserver(() => {
    const w = el.clientWidth;
    if (Math.abs(w - lastWidth) > 1) { lastWidth = w; drawPlot(); drawStrips(); }
  });
  observer.observe(el);
  drawAll();
  return () => { observer.disconnect(); stopAudio(); if (audio.ctx) audio.ctx.close(); };
}

export default { render };
