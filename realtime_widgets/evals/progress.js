// SweepProgress: a bar of the jobs finished (done green, failed red, running grey) and one
// line: done / failed / running, the ETA and the spend (evals/progress.py).

/**
 * The synced state (progress.py, `SweepProgress`).
 * @typedef {object} ProgressState
 * @property {number} total
 * @property {number} done
 * @property {number} failed
 * @property {number} running
 * @property {number} spend_usd
 * @property {number | null} estimate_usd
 * @property {number | null} eta_s
 * @property {string} last the key of the job that changed last
 */
/** @typedef {{ get: (name: string) => any, on: (event: string, fn: () => void) => void, off?: (event: string, fn: () => void) => void }} ProgressModel */

/** @param {number} s @returns {string} */
export function duration(s) {
  const whole = Math.max(0, Math.round(s));
  if (whole < 60) return `${whole} s`;
  const m = Math.floor(whole / 60);
  if (m < 60) return `${m} min ${whole % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/**
 * One line saying where the run is (progress.py's `summary`, with the ETA in h/min/s).
 * @param {ProgressState} s
 * @returns {string}
 */
export function describe(s) {
  const eta = s.eta_s == null ? "ETA n/a" : `ETA ${duration(s.eta_s)}`;
  let spend = `$${s.spend_usd.toFixed(4)} spent`;
  if (s.estimate_usd != null) spend += ` of ~$${s.estimate_usd.toFixed(4)} estimated`;
  return `${s.done}/${s.total} done, ${s.failed} failed, ${s.running} running, ${eta}, ${spend}`;
}

/**
 * The bar's segments as percentages of the total: [done, failed, running].
 * @param {ProgressState} s
 * @returns {[number, number, number]}
 */
export function shares(s) {
  if (!s.total) return [0, 0, 0];
  /** @param {number} n */
  const pct = (n) => (100 * Math.max(0, n)) / s.total;
  return [pct(s.done), pct(s.failed), pct(s.running)];
}

/** @param {ProgressModel} model @returns {ProgressState} */
function read(model) {
  return {
    total: model.get("total") || 0,
    done: model.get("done") || 0,
    failed: model.get("failed") || 0,
    running: model.get("running") || 0,
    spend_usd: model.get("spend_usd") || 0,
    estimate_usd: model.get("estimate_usd") ?? null,
    eta_s: model.get("eta_s") ?? null,
    last: model.get("last") || "",
  };
}

/** @param {{ model: ProgressModel, el: HTMLElement }} ctx */
function render({ model, el }) {
  const box = document.createElement("div");
  box.className = "rw-sweep-progress";
  box.style.cssText = "font:12px sans-serif;max-width:640px";
  const bar = document.createElement("div");
  bar.style.cssText = "display:flex;height:10px;background:#eee;border-radius:3px;overflow:hidden";
  /** @type {HTMLDivElement[]} */
  const parts = ["#27ae60", "#c0392b", "#95a5a6"].map((colour) => {
    const part = document.createElement("div");
    part.style.cssText = `background:${colour};height:100%;width:0`;
    bar.appendChild(part);
    return part;
  });
  const line = document.createElement("div");
  line.style.cssText = "margin-top:3px";
  box.append(bar, line);
  el.appendChild(box);
  function draw() {
    const s = read(model);
    shares(s).forEach((pct, i) => { parts[i].style.width = `${pct}%`; });
    line.textContent = describe(s) + (s.last ? ` (last: ${s.last})` : "");
  }
  const names = ["total", "done", "failed", "running", "spend_usd", "estimate_usd", "eta_s", "last"];
  for (const name of names) model.on(`change:${name}`, draw);
  draw();
  return () => {
    for (const name of names) model.off?.(`change:${name}`, draw);
  };
}

export default { render };
