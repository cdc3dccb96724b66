// MetricsView: per turn, "you stopped -> first sound" as a bar of segments on one time axis
// (shared by every row) with a legend, its total and parts in words under the bar; tokens and
// cost (labelled when the local server estimated them), expiry countdown, connection status.

/** The segments of "you stopped -> first sound" (client/latency.py, `SEGMENTS`). @typedef {"vad_wait" | "mic" | "uplink" | "server" | "to_browser" | "playout"} Segment */
/**
 * One turn's "you stopped -> first sound" (client/latency.py, `stop_to_sound`): segments in ms
 * (null: not measured; absent: not part of such a turn), the total once every segment is known.
 * @typedef {object} StopToSound
 * @property {"speech_stopped" | "commit"} start what ended the turn: the server's VAD or a commit
 * @property {Partial<Record<Segment, number | null>>} segments
 * @property {number | null} total_ms
 * @property {number} known_ms the known segments' sum
 */
/**
 * One turn's steps in ms, null where a step did not happen (client/metrics.py, `breakdown_ms`),
 * how the turn ended, and "you stopped -> first sound" (null for a typed turn).
 * @typedef {object} TurnMs
 * @property {number} [n] the turn's number in the session
 * @property {number | null} commit
 * @property {number | null} to_response
 * @property {number | null} first_delta
 * @property {number | null} generation
 * @property {number | null} total_to_first_delta
 * @property {string | null} [status] "interrupted": the connection dropped during the reply
 * @property {number | null} [toolkit_in] ms the browser and kernel added before the append
 * @property {number | null} [toolkit_out] ms they added between the first delta and the sound
 * @property {StopToSound | null} [stop_to_sound]
 */
/**
 * The synced `data` (metrics.py, `MetricsView.refresh`); `{}` before the first refresh.
 * @typedef {object} MetricsData
 * @property {string} [status]
 * @property {string} [endpoint]
 * @property {number} [reconnects]
 * @property {number | null} [expires_at] Unix seconds
 * @property {TurnMs[]} [turns]
 * @property {{ input_tokens?: number, output_tokens?: number }} [usage]
 * @property {number | null} [cost] dollars
 * @property {boolean} [estimate] usage and cost estimated by the local server (metrics.py)
 * @property {string} [estimate_note] the label saying so, and by which rule
 */
/** @typedef {{ data: MetricsData }} MetricsModel */

/**
 * [segment, legend name, short name in a row's words, colour, what it covers (tooltip)], in the
 * order they happen.
 * @type {[Segment, string, string, string, string][]}
 */
export const SEGMENTS = [
  ["vad_wait", "VAD silence wait", "VAD", "#8e44ad", "the silence the server's VAD waits for before it says speech stopped (silence_duration_ms)"],
  ["mic", "mic → sent", "mic", "#f39c12", "toolkit: the end of that silence captured by the browser -> its audio sent by the kernel"],
  ["uplink", "network + VAD decision", "network", "#95a5a6", "the audio (or the commit) sent -> the server's speech_stopped (or committed) received"],
  ["server", "server → first audio", "server", "#2980b9", "speech_stopped (or committed) received -> the reply's first audio delta received"],
  ["to_browser", "kernel → page", "to page", "#16a085", "toolkit: the first audio delta received -> its samples in the page"],
  ["playout", "playout buffer", "playout", "#c0392b", "toolkit: the samples in the page -> the first one played by the speaker"],
];

/** @param {number} ms @returns {string} */
const whole = (ms) => String(Math.round(ms));

/**
 * What a negative segment reads as: the clocks' offsets disagree with it (or a stamp was
 * wrong), so its length is unknown, never printed as a negative time.
 */
export const UNKNOWN = "unknown (clocks disagree)";

/** A segment that would print negative. @param {number} ms @returns {boolean} */
const negative = (ms) => Math.round(ms) < 0;

/**
 * A turn's known segments' sum, negative ones (unknown) left out.
 * @param {StopToSound} stop @returns {number}
 */
function knownMs(stop) {
  return SEGMENTS.reduce((sum, [key]) => {
    const ms = stop.segments[key];
    return ms == null || negative(ms) ? sum : sum + ms;
  }, 0);
}

/**
 * The time axis shared by every row: a round top at or above `maxMs` (at least 100 ms), split
 * into 3 to 6 round steps.
 * @param {number} maxMs @returns {{ scale: number, ticks: number[] }}
 */
export function niceScale(maxMs) {
  const top = Math.max(100, maxMs);
  const raw = top / 4;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * pow).find((s) => s >= raw) || 10 * pow;
  const scale = Math.ceil(top / step - 1e-9) * step;
  const ticks = [];
  for (let i = 0; i * step <= scale + 1e-9; i++) ticks.push(Math.round(i * step * 100) / 100);
  return { scale, ticks };
}

/**
 * The drawn length of a turn's bar: its known segments, negative ones (a clock's uncertainty)
 * as zero.
 * @param {Partial<TurnMs>} turn @returns {number}
 */
export function barMs(turn) {
  const segs = (turn.stop_to_sound && turn.stop_to_sound.segments) || {};
  return SEGMENTS.reduce((sum, [key]) => sum + Math.max(0, segs[key] || 0), 0);
}

/**
 * Bar segments laid end to end, as percentages of `scaleMs`, skipping unknown ones.
 * @param {StopToSound | null | undefined} stop @param {number} scaleMs
 * @returns {{ key: Segment, left: number, width: number, color: string, ms: number, name: string, text: string }[]}
 */
export function segments(stop, scaleMs) {
  if (!stop) return [];
  let x = 0;
  const out = [];
  for (const [key, name, , color] of SEGMENTS) {
    const ms = stop.segments[key];
    if (ms == null) continue;
    const width = (Math.max(0, ms) / scaleMs) * 100;
    const text = `${name}: ${negative(ms) ? UNKNOWN : `${whole(ms)} ms`}`;
    out.push({ key, left: x, width, color, ms, name, text });
    x += width;
  }
  return out;
}

/**
 * The reply ended (response.done) without any audio: the turn has no first sound to wait for.
 * @param {Partial<TurnMs>} turn @returns {boolean}
 */
export function noReplyAudio(turn) {
  const stop = turn.stop_to_sound;
  return !!stop && stop.total_ms == null && stop.segments.server == null && !!turn.status && turn.status !== "in_progress";
}

/**
 * The short visible words of a turn: "you stopped → first sound N ms" (or at least N while a
 * part is not measured), or what the turn was instead.
 * @param {Partial<TurnMs>} turn @returns {string}
 */
export function turnTotal(turn) {
  if (turn.status === "interrupted") return "reply interrupted by a lost connection";
  const stop = turn.stop_to_sound;
  if (!stop) {
    if (turn.first_delta == null) return "typed turn";
    const played = turn.toolkit_out != null && !negative(turn.toolkit_out) ? ` + playback ${whole(turn.toolkit_out)} ms` : "";
    return `typed turn: reply began ${whole(turn.first_delta)} ms after response.created${played}`;
  }
  if (stop.total_ms != null && !negative(stop.total_ms)) return `you stopped → first sound ${whole(stop.total_ms)} ms`;
  if (noReplyAudio(turn)) return `you stopped → no reply audio (reply ${turn.status})`;
  return `you stopped → first sound ≥ ${whole(knownMs(stop))} ms`;
}

/**
 * The parts of a turn in words ("VAD 500 + mic 28 + ... ms"), and what is not measured.
 * @param {Partial<TurnMs>} turn @returns {string}
 */
export function turnParts(turn) {
  const stop = turn.stop_to_sound;
  if (!stop || turn.status === "interrupted") return "";
  const known = [];
  const missing = [];
  const unknown = []; // negative: measured against clocks that disagree
  const silent = noReplyAudio(turn); // nothing after the server's part was ever to be measured
  for (const [key, , short] of SEGMENTS) {
    if (!(key in stop.segments)) continue;
    const ms = stop.segments[key];
    if (ms == null && silent && key !== "vad_wait") continue;
    if (ms == null) missing.push(key === "vad_wait" ? "VAD wait (semantic VAD does not report it)" : short);
    else if (negative(ms)) unknown.push(short);
    else known.push(`${short} ${whole(ms)}`);
  }
  const words = [known.length ? `${known.join(" + ")} ms` : ""];
  if (unknown.length) words.push(`${UNKNOWN}: ${unknown.join(", ")}`);
  if (missing.length) words.push(`not measured: ${missing.join(", ")}`);
  return words.filter(Boolean).join("; ");
}

/**
 * A turn's whole label: its total and its parts.
 * @param {Partial<TurnMs>} turn @returns {string}
 */
export function turnLabel(turn) {
  const parts = turnParts(turn);
  return parts ? `${turnTotal(turn)} (${parts})` : turnTotal(turn);
}

/**
 * The line under the figures when they are the local server's estimates; "" otherwise.
 * @param {MetricsData} d @returns {string}
 */
export function estimateNote(d) {
  if (!d.estimate) return "";
  return d.estimate_note || "Usage and cost are the local server's estimates, not OpenAI's counts.";
}

/**
 * Seconds left until expires_at (Unix seconds), formatted m:ss; "" when unknown.
 * @param {number | null | undefined} expiresAt @param {number} nowMs
 * @returns {string}
 */
export function countdown(expiresAt, nowMs) {
  if (!expiresAt) return "";
  const left = Math.max(0, Math.round(expiresAt - nowMs / 1000));
  return `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
}

const NAME_PX = 48; // the "turn N" column, and the axis' unit beside it

/**
 * @param {string} tag @param {string} className @param {string} css @param {string} [text]
 * @returns {HTMLElement}
 */
function el(tag, className, css, text) {
  const node = document.createElement(tag);
  node.className = className;
  node.style.cssText = css;
  if (text != null) node.textContent = text;
  return node;
}

/**
 * The legend: one swatch and short name per segment (the names a row's words use), on one line
 * in smaller type: the tab is short, so the legend, the axis and a turn must fit in it. The full
 * name and what the segment covers are the tooltip.
 * @returns {HTMLElement}
 */
function legend() {
  const box = el("div", "rw-latency-legend", "display:flex;flex-wrap:wrap;gap:0 9px;margin:1px 0 2px 0;font-size:11px;line-height:13px");
  for (const [, name, short, color, what] of SEGMENTS) {
    const item = el("span", "rw-legend-item", "display:inline-flex;align-items:center;gap:3px;white-space:nowrap");
    item.title = `${name}: ${what}`;
    item.appendChild(el("span", "rw-legend-swatch", `display:inline-block;width:9px;height:9px;background:${color}`));
    item.appendChild(el("span", "rw-legend-name", "", short));
    box.appendChild(item);
  }
  return box;
}

/**
 * An axis label: ms, or seconds once the axis reaches 10 s.
 * @param {number} ms @param {number} scale @returns {string}
 */
export function tickLabel(ms, scale) {
  return scale >= 10000 ? String(Math.round(ms / 10) / 100) : String(ms);
}

/** The time axis: ticks and their labels, kept inside the track. @param {number[]} ticks @param {number} scale @returns {HTMLElement} */
function axis(ticks, scale) {
  const row = el("div", "rw-latency-axis", `display:grid;grid-template-columns:${NAME_PX}px minmax(0,1fr);align-items:end`);
  row.appendChild(el("span", "rw-axis-unit", "color:#666", scale >= 10000 ? "s" : "ms"));
  const track = el("div", "rw-axis-track", "position:relative;height:16px;border-bottom:1px solid #999");
  ticks.forEach((ms, i) => {
    const at = (ms / scale) * 100;
    track.appendChild(el("span", "rw-axis-tick", `position:absolute;left:${at}%;bottom:0;width:1px;height:4px;background:#999`));
    const shift = i === 0 ? "0" : i === ticks.length - 1 ? "-100%" : "-50%";
    const label = el("span", "rw-axis-label", `position:absolute;left:${at}%;bottom:4px;transform:translateX(${shift});white-space:nowrap;color:#555;line-height:12px`, tickLabel(ms, scale));
    label.dataset.ms = String(ms);
    track.appendChild(label);
  });
  row.appendChild(track);
  return row;
}

/**
 * One turn: its name, its bar on the shared scale (when any turn has one), its words under the
 * bar (wrapping, never cut).
 * @param {Partial<TurnMs>} turn @param {number[]} ticks @param {number} scale @param {boolean} bars
 * @returns {HTMLElement}
 */
function turnRow(turn, ticks, scale, bars) {
  const row = el("div", "rw-turn", `display:grid;grid-template-columns:${NAME_PX}px minmax(0,1fr);row-gap:1px;margin:4px 0`);
  row.appendChild(el("span", "rw-turn-name", "color:#555;line-height:12px", turn.n != null ? `turn ${turn.n}` : ""));
  const bar = el("div", "rw-turn-bar", "position:relative;height:12px;background:#f3f3f3;overflow:hidden");
  for (const ms of ticks.slice(1, -1)) {
    bar.appendChild(el("span", "rw-turn-grid", `position:absolute;left:${(ms / scale) * 100}%;top:0;width:1px;height:12px;background:#ddd`));
  }
  for (const s of segments(turn.stop_to_sound, scale)) {
    const seg = el("span", "rw-seg", `position:absolute;left:${s.left}%;width:${s.width}%;height:12px;background:${s.color}`);
    seg.dataset.key = s.key;
    seg.title = s.text;
    bar.appendChild(seg);
  }
  if (bars) row.appendChild(bar);
  const label = el("div", "rw-turn-label", "grid-column:2;white-space:normal;overflow-wrap:anywhere;line-height:15px");
  label.appendChild(el("span", "rw-turn-total", "font-weight:600", turnTotal(turn)));
  const parts = turnParts(turn);
  if (parts) label.appendChild(el("span", "rw-turn-parts", "color:#555", ` (${parts})`));
  label.title = turnLabel(turn);
  row.appendChild(label);
  return row;
}

/** @param {import("@anywidget/types").RenderProps<MetricsModel>} props */
function render({ model, el: root }) {
  const box = el("div", "rw-metrics", "font:12px system-ui;box-sizing:border-box;padding:2px 6px 2px 2px;overflow-wrap:anywhere");
  root.appendChild(box);
  const head = el("div", "rw-metrics-head", "");
  /** The status line (redrawn each second for the expiry countdown). */
  function status() {
    /** @type {MetricsData} */
    const d = model.get("data") || {};
    const usage = d.usage || {};
    const cost = d.cost == null ? "n/a" : `$${d.cost.toFixed(4)}${d.estimate ? " (local estimate)" : ""}`;
    const left = countdown(d.expires_at, Date.now());
    head.textContent = `${d.status || ""} ${d.endpoint || ""}${d.reconnects ? `, ${d.reconnects} reconnects` : ""}${left ? `, expires in ${left}` : ""} | tokens in ${usage.input_tokens || 0} out ${usage.output_tokens || 0} | ${cost}`;
  }
  function draw() {
    /** @type {MetricsData} */
    const d = model.get("data") || {};
    status();
    box.replaceChildren(head);
    const note = estimateNote(d);
    if (note) box.appendChild(el("div", "rw-usage-note", "color:#8a6d3b;margin:2px 0", note));
    const turns = d.turns || [];
    if (!turns.length) return;
    const chart = el("div", "rw-latency", "margin-top:6px");
    // The title, legend and axis stay in sight while the rows scroll under them (the tab is short).
    const key = el("div", "rw-latency-key", "position:sticky;top:0;z-index:1;background:#fff;padding-bottom:1px");
    const spoken = turns.some((t) => t.stop_to_sound);
    key.appendChild(el("div", "rw-latency-title", "font-weight:600", spoken ? "Per turn: you stopped → first sound" : "Per turn"));
    const { scale, ticks } = niceScale(Math.max(0, ...turns.map(barMs)));
    if (spoken) { // typed turns only: no bars, so no legend or axis to read them by
      key.appendChild(legend());
      key.appendChild(axis(ticks, scale));
    }
    chart.appendChild(key);
    for (const turn of turns) chart.appendChild(turnRow(turn, ticks, scale, spoken));
    box.appendChild(chart);
  }
  model.on("change:data", draw);
  const timer = setInterval(status, 1000); // the expiry countdown
  draw();
  return () => clearInterval(timer);
}

export default { render };
