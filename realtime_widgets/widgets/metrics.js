// MetricsView: latency bars per turn, tokens and cost, expiry countdown, connection status.

const STEPS = [["commit", "#8e44ad"], ["to_response", "#2980b9"], ["first_delta", "#27ae60"], ["generation", "#bdc3c7"]];

/** Seconds left until expires_at (Unix seconds), formatted m:ss; "" when unknown. */
export function countdown(expiresAt, nowMs) {
  if (!expiresAt) return "";
  const left = Math.max(0, Math.round(expiresAt - nowMs / 1000));
  return `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
}

/** Bar segments (x, width, color) for one turn, scaled so `scaleMs` fills `width` pixels. */
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

/** The text beside a turn's bar: its latency, or why it has none. */
export function turnLabel(turn) {
  if (turn.status === "interrupted") return "reply interrupted by a lost connection";
  return turn.total_to_first_delta == null ? "" : `${turn.total_to_first_delta} ms to first audio`;
}

/** @param {{ model: any, el: HTMLElement }} ctx */
function render({ model, el }) {
  const box = document.createElement("div");
  box.style.font = "12px system-ui";
  el.appendChild(box);
  function draw() {
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
    for (const turn of turns) {
      const row = document.createElement("div");
      row.style.cssText = "position:relative;height:14px;margin:2px 0;background:#f7f7f7";
      for (const s of segments(turn, scale, 400)) {
        const seg = document.createElement("span");
        seg.title = `${s.key}: ${s.ms} ms`;
        seg.style.cssText = `position:absolute;left:${s.x}px;width:${s.w}px;height:14px;background:${s.color}`;
        row.appendChild(seg);
      }
      const label = document.createElement("span");
      label.style.cssText = "position:absolute;left:410px";
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
