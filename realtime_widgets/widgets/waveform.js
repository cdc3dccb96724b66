// Waveform: envelopes of input/output audio and turn markers on one timeline (canvas + rAF).

/** A growing min/max envelope: bins placed at absolute bin indices. */
export function makeTrack() {
  return { min: new Int16Array(4096), max: new Int16Array(4096), length: 0 };
}

/** @param {{min: Int16Array, max: Int16Array, length: number}} track @param {number} start @param {Int16Array} pairs */
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

const COLORS = { speech_started: "#27ae60", speech_stopped: "#c0392b", committed: "#8e44ad", timeout: "#e67e22",
  response_start: "#2980b9", response_done: "#2980b9", truncated: "#d35400" };

/** @param {{ model: any, el: HTMLElement }} ctx */
function render({ model, el }) {
  const tracks = { in: makeTrack(), out: makeTrack() };
  const markers = [];
  let binsPerPx = 2; // zoom
  let dirty = true;
  const wrap = document.createElement("div");
  const bar = document.createElement("div");
  bar.style.font = "12px system-ui";
  const pause = document.createElement("button");
  const info = document.createElement("span");
  bar.append(pause, info);
  const canvas = document.createElement("canvas");
  canvas.style.width = "100%";
  canvas.height = model.get("height");
  wrap.append(bar, canvas);
  el.appendChild(wrap);
  const label = () => { pause.textContent = model.get("paused") ? "\u25B6 live" : "\u23F8 pause"; };
  pause.addEventListener("click", () => { model.set("paused", !model.get("paused")); model.save_changes(); label(); });
  canvas.addEventListener("wheel", (e) => { e.preventDefault(); binsPerPx = Math.min(200, Math.max(0.25, binsPerPx * (e.deltaY > 0 ? 1.25 : 0.8))); dirty = true; });
  let end = 0;

  function draw() {
    if (dirty) {
      dirty = false;
      const width = canvas.width = canvas.clientWidth || 800;
      const h = canvas.height;
      const g = canvas.getContext("2d");
      g.clearRect(0, 0, width, h);
      const latest = Math.max(tracks.in.length, tracks.out.length);
      if (!model.get("paused")) end = latest;
      const from = Math.max(0, end - width * binsPerPx);
      const to = from + width * binsPerPx;
      const lanes = [["in", "#3498db", h * 0.25], ["out", "#7f8c8d", h * 0.75]];
      for (const [name, color, mid] of lanes) {
        const cols = columnsOf(tracks[name], from, to, width);
        g.fillStyle = color;
        for (let x = 0; x < width; x++) {
          const top = mid - (cols.max[x] / 32768) * h * 0.24;
          const bottom = mid - (cols.min[x] / 32768) * h * 0.24;
          g.fillRect(x, top, 1, Math.max(1, bottom - top));
        }
      }
      const binMs = model.get("bin_ms");
      const rowEnds = [-Infinity, -Infinity, -Infinity]; // labels stack in rows, never overlap
      for (const m of markers) {
        const x = (m.ms / binMs - from) / binsPerPx;
        if (x < 0 || x > width) continue;
        g.fillStyle = COLORS[m.kind] || "#000";
        g.fillRect(x, 0, 1, h);
        const row = rowEnds.findIndex((end) => x + 2 > end);
        if (row >= 0) {
          g.fillText(m.label, x + 2, 10 + row * 11);
          rowEnds[row] = x + 4 + g.measureText(m.label).width;
        }
      }
      info.textContent = ` ${((to - from) * binMs / 1000).toFixed(1)} s shown, ${(latest * binMs / 1000).toFixed(1)} s recorded, ${markers.length} markers`;
    }
    raf = requestAnimationFrame(draw);
  }
  let raf = requestAnimationFrame(draw);

  model.on("msg:custom", (msg, buffers) => {
    if (msg.type !== "batch") return;
    let b = 0;
    for (const item of msg.items) {
      if (item.type === "env") {
        const view = buffers[b++];
        const pairs = new Int16Array(view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength));
        putBins(tracks[item.track], item.start, pairs);
      } else if (item.type === "marker") {
        markers.push(item);
      }
    }
    dirty = true;
  });
  model.on("change:paused", () => { label(); dirty = true; });
  label();
  return () => cancelAnimationFrame(raf);
}

export default { render };
