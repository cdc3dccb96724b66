// MetricsView: latency bars per turn, tokens and cost (labelled when the local server
// estimated them), expiry countdown, connection status.

/**
 * One turn's steps in ms, null where a step did not happen (client/metrics.py, `breakdown_ms`),
 * and how the turn ended.
 * @typedef {object} TurnMs
 * @property {number | null} commit
 * @property {number | null} to_response
 * @property {number | null} first_delta
 * @property {number | null} generation
 * @property {number | null} total_to_first_delta
 * @property {string | null} [status] "interrupted": the connection dropped during the reply
 * @property {number | null} [toolkit_in] ms the browser and kernel added before the append
 * @property {number | null} [toolkit_out] ms they added between the first delta and the sound
 */
/** The steps drawn as bar segments. @typedef {"toolkit_in" | "commit" | "to_response" | "first_delta" | "toolkit_out" | "generation"} Step */
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
 * [step, colour]; toolkit_in / toolkit_out: what the browser and kernel add (LatencyProbe),
 * around the server's.
 * @type {[Step, string][]}
 */
const STEPS = [["toolkit_in", "#e67e22"], ["commit", "#8e44ad"], ["to_response", "#2980b9"], ["first_delta", "#27ae60"], ["toolkit_out", "#d35400"], ["generation", "#bdc3c7"]];

/**
 * The label of one turn: the server's part and, when measured, the toolkit's; or why it has
 * no latency (a reply cut by a lost connection).
 * @param {Partial<TurnMs>} turn @returns {string}
 */
export function turnLabel(turn) {
  if (turn.status === "interrupted") return "reply interrupted by a lost connection";
  if (turn.total_to_first_delta == null) return "";
  const server = `server ${turn.total_to_first_delta} ms to first audio`;
  const parts = [];
  if (turn.toolkit_in != null) parts.push(`mic ${turn.toolkit_in}`);
  if (turn.toolkit_out != null) parts.push(`playback ${turn.toolkit_out}`);
  return parts.length ? `${server} + toolkit ${parts.join(" + ")} ms` : server;
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

/**
 * Bar segments (x, width, color) for one turn, scaled so `scaleMs` fills `width` pixels.
 * @param {Partial<TurnMs>} turn @param {number} scaleMs @param {number} width
 * @returns {{ key: Step, x: number, w: number, color: string, ms: number }[]}
 */
export function segments(turn, scaleMs, width) {
  let x = 0;
  const out = [];
  for (const [key, color] of STEPS) {
    const ms = turn[key];
    if (ms == null) continue;
    const w = Math.max(1, (ms / scaleMs) * width);
    out.push({ key, x, w, color, ms });
    x += w;
  }
  return out;
}

/** @param {import("@anywidget/types").RenderProps<MetricsModel>} props */
function render({ model, el }) {
  const box = document.createElement("div");
  box.className = "rw-metrics";
  box.style.font = "12px system-ui";
  el.appendChild(box);
  function draw() {
    /** @type {MetricsData} */
    const d = model.get("data") || {};
    const usage = d.usage || {};
    const cost = d.cost == null ? "n/a" : `$${d.cost.toFixed(4)}${d.estimate ? " (local estimate)" : ""}`;
    const left = countdown(d.expires_at, Date.now());
    box.replaceChildren();
    const head = document.createElement("div");
    head.textContent = `${d.status || ""} ${d.endpoint || ""}${d.reconnects ? `, ${d.reconnects} reconnects` : ""}${left ? `, expires in ${left}` : ""} | tokens in ${usage.input_tokens || 0} out ${usage.output_tokens || 0} | ${cost}`;
    box.appendChild(head);
    const note = estimateNote(d);
    if (note) {
      const line = document.createElement("div");
      line.className = "rw-usage-note";
      line.style.cssText = "color:#8a6d3b;margin:2px 0";
      line.textContent = note;
      box.appendChild(line);
    }
    const turns = d.turns || [];
    const scale = Math.max(1000, ...turns.map((t) => STEPS.reduce((sum, [key]) => sum + (t[key] || 0), 0)));
    // The bars take what the box leaves beside their label (it may sit in a narrow column).
    // The label beside the bar needs ~330 px ("server N ms to first audio + toolkit ..."):
    // the bar takes the rest, and a label that still does not fit ends in "..." (full in its title).
    const barWidth = Math.max(100, Math.min(400, (box.clientWidth || 560) - 340));
    for (const turn of turns) {
      const row = document.createElement("div");
      row.style.cssText = "position:relative;height:14px;margin:2px 0;background:#f7f7f7";
      for (const s of segments(turn, scale, barWidth)) {
        const seg = document.createElement("span");
        seg.title = `${s.key}: ${s.ms} ms`;
        seg.style.cssText = `position:absolute;left:${s.x}px;width:${s.w}px;height:14px;background:${s.color}`;
        row.appendChild(seg);
      }
      const label = document.createElement("span");
      label.style.cssText = `position:absolute;left:${barWidth + 8}px;right:0;white-space:nowrap;overflow:hidden;text-overflow:ellipsis`;
      label.className = "rw-turn-label";
      label.textContent = turnLabel(turn);
      label.title = label.textContent;
      row.appendChild(label);
      box.appendChild(row);
    }
  }
  model.on("change:data", draw);
  const timer = setInterval(draw, 1000); // the expiry countdown
  draw();
  return () => clearInterval(timer);
}

export default { render };
