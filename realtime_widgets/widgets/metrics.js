// MetricsView: latency bars per turn, tokens and cost, expiry countdown, connection status.

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
 */
/** The steps drawn as bar segments. @typedef {"commit" | "to_response" | "first_delta" | "generation"} Step */
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
 * @property {boolean} [estimate] costs estimated by the local server
 */
/** @typedef {{ data: MetricsData }} MetricsModel */

/** [step, colour] @type {[Step, string][]} */
const STEPS = [["commit", "#8e44ad"], ["to_response", "#2980b9"], ["first_delta", "#27ae60"], ["generation", "#bdc3c7"]];

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

/**
 * The text beside a turn's bar: its latency, or why it has none.
 * @param {Partial<TurnMs>} turn @returns {string}
 */
export function turnLabel(turn) {
  if (turn.status === "interrupted") return "reply interrupted by a lost connection";
  return turn.total_to_first_delta == null ? "" : `${turn.total_to_first_delta} ms to first audio`;
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
    const turns = d.turns || [];
    const scale = Math.max(1000, ...turns.map((t) => (t.commit || 0) + (t.to_response || 0) + (t.first_delta || 0) + (t.generation || 0)));
    // The bars take what the box leaves beside their label (it may sit in a narrow column).
    const barWidth = Math.max(120, Math.min(400, (box.clientWidth || 560) - 170));
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
      label.style.cssText = `position:absolute;left:${barWidth + 8}px;white-space:nowrap`;
      label.textContent = turnLabel(turn);
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
