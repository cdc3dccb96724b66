// EventLog: newest first, filter by type and direction, runs of the same delta type collapsed.

/** One logged event; `data` is its JSON, shown on demand. @typedef {{ t: number, dir: string, type: string, data: unknown, count?: number }} Row */

// Deltas, and audio appends: Realtime's input_audio_buffer.append, and a translation or GPT-Live
// session's session.input_audio_buffer.append.
const NOISY = /\.delta$|(^|\.)input_audio_buffer\.append$/;

// A GPT-Live session's audio appends: folded as Realtime's are (a microphone sends 25 a second).
const LIVE_APPEND = "session.input_audio.append";
/**
 * Add rows (oldest first) to a newest-first list, folding consecutive noisy rows of one type.
 * @param {Row[]} list newest first
 * @param {Row[]} rows oldest first
 * @param {number} max
 */
export function addRows(list, rows, max) {
  for (const row of rows) {
    const top = list[0];
    const noisy = NOISY.test(row.type) || row.type === LIVE_APPEND;
    if (top && noisy && top.type === row.type && top.dir === row.dir) {
      top.count = (top.count || 1) + 1;
      top.t = row.t;
      top.data = row.data;
    } else {
      list.unshift({ ...row, count: 1 });
    }
  }
  if (list.length > max) list.length = max;
  return list;
}

/** @param {Row[]} list @param {{ text: string, dirs: Set<string> }} filter */
export function visible(list, filter) {
  const text = filter.text.trim().toLowerCase();
  return list.filter((r) => filter.dirs.has(r.dir) && (!text || r.type.toLowerCase().includes(text)));
}

/**
 * The synced state (eventlog.py); rows come as custom messages `{ op: "rows", rows }`.
 * @typedef {{ max_rows: number, height: string }} EventLogModel
 */

/** @param {import("@anywidget/types").RenderProps<EventLogModel>} props */
function render({ model, el }) {
  /** @type {Row[]} */
  let list = [];
  const filter = { text: "", dirs: new Set(["in", "out", "local"]) };
  const bar = document.createElement("div");
  const search = document.createElement("input");
  search.placeholder = "filter by type";
  search.addEventListener("input", () => { filter.text = search.value; draw(); });
  bar.appendChild(search);
  for (const dir of ["in", "out", "local"]) {
    const label = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.checked = true;
    box.addEventListener("change", () => { box.checked ? filter.dirs.add(dir) : filter.dirs.delete(dir); draw(); });
    label.append(box, ` ${dir === "in" ? "server" : dir === "out" ? "client" : "local"} `);
    bar.appendChild(label);
  }
  const body = document.createElement("div");
  const fill = model.get("height") === "100%";
  body.style.cssText = `overflow-y:auto;${fill ? "flex:1 1 0;min-height:0" : `max-height:${model.get("height")}`};font:12px monospace`;
  if (fill) el.style.cssText += ";display:flex;flex-direction:column;height:100%;min-height:0";
  el.append(bar, body);

  function draw() {
    const rows = visible(list, filter).slice(0, 300);
    body.replaceChildren(...rows.map((r) => {
      const details = document.createElement("details");
      const summary = document.createElement("summary");
      const arrow = r.dir === "in" ? "\u2190" : r.dir === "out" ? "\u2192" : "\u2022";
      summary.textContent = `${r.t.toFixed(3)}s ${arrow} ${r.type}${(r.count ?? 1) > 1 ? ` \u00d7${r.count}` : ""}`;
      const pre = document.createElement("pre");
      details.addEventListener("toggle", () => { if (details.open) pre.textContent = JSON.stringify(r.data, null, 1); });
      details.append(summary, pre);
      return details;
    }));
  }

  // Redraw at most once a frame, and not while hidden (e.g. behind another tab): a busy
  // session brings ten batches a second, and the page's main thread also plays the audio.
  let scheduled = false;
  let stale = false;
  function schedule() {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => {
      scheduled = false;
      if (!body.isConnected || body.offsetParent === null) { stale = true; return; }
      stale = false;
      draw();
    });
  }
  const seen = new IntersectionObserver((entries) => { if (stale && entries.some((e) => e.isIntersecting)) schedule(); });
  seen.observe(body);
  /** @param {{ op: string, rows: Row[] }} msg */
  const onCustom = (msg) => {
    if (msg.op === "rows") {
      list = addRows(list, msg.rows, model.get("max_rows"));
      schedule();
    }
  };
  model.on("msg:custom", onCustom);
  draw();
  return () => { seen.disconnect(); model.off("msg:custom", onCustom); };
}

export default { render };
