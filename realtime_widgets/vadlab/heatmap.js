// Sweep heatmap: a measure over two settings; the best cells are green, clicking one applies it.

/** A cell's value: null where the sweep did not measure it. @typedef {number | null | undefined} Cell */

/**
 * The synced state (realtime_widgets/vadlab/view.py, `Heatmap`).
 * @typedef {object} HeatmapModel
 * @property {string} title
 * @property {string} x_name
 * @property {string} y_name
 * @property {(string | number)[]} x_values labels of the columns
 * @property {(string | number)[]} y_values labels of the rows
 * @property {Cell[][]} values rows (y) of columns (x)
 * @property {boolean} lower_is_better
 */

/**
 * Whether a cell holds a measured value (not missing, not NaN).
 * @param {Cell} v
 * @returns {v is number}
 */
function measured(v) {
  return v !== null && v !== undefined && !Number.isNaN(v);
}

/**
 * Colour for value v in [lo, hi] (lower is better unless told): green -> yellow -> red.
 * @param {Cell} v @param {number} lo @param {number} hi @param {boolean} [lowerIsBetter]
 * @returns {string}
 */
export function colorFor(v, lo, hi, lowerIsBetter = true) {
  if (!measured(v)) return "#eee";
  let t = hi > lo ? (v - lo) / (hi - lo) : 0;
  if (!lowerIsBetter) t = 1 - t;
  const hue = Math.round(120 * (1 - t)); // 120 green .. 0 red
  return `hsl(${hue}, 65%, 62%)`;
}

/**
 * Finite values of a grid, for the colour scale.
 * @param {Cell[][]} values
 * @returns {[number, number]}
 */
export function rangeOf(values) {
  const flat = values.flat().filter(measured);
  return flat.length ? [Math.min(...flat), Math.max(...flat)] : [0, 0];
}

/** @param {import("@anywidget/types").RenderProps<HeatmapModel>} props */
function render({ model, el }) {
  const box = document.createElement("div");
  box.style.cssText = "font:12px system-ui;overflow:auto";
  el.appendChild(box);
  function draw() {
    box.innerHTML = "";
    const values = model.get("values");
    if (!values.length) return;
    const xs = model.get("x_values"); const ys = model.get("y_values");
    const [lo, hi] = rangeOf(values);
    const title = document.createElement("div");
    title.style.cssText = "font-weight:600;margin:4px 0";
    title.textContent = model.get("title");
    const table = document.createElement("table");
    table.style.cssText = "border-collapse:collapse";
    const head = table.insertRow();
    const corner = head.insertCell();
    corner.textContent = `${model.get("y_name")} \\ ${model.get("x_name")}`;
    corner.style.cssText = "padding:2px 6px;color:#555";
    for (const x of xs) { const c = head.insertCell(); c.textContent = String(x); c.style.cssText = "padding:2px 6px;text-align:center;color:#555"; }
    ys.forEach((y, j) => {
      const row = table.insertRow();
      const label = row.insertCell(); label.textContent = String(y); label.style.cssText = "padding:2px 6px;color:#555";
      xs.forEach((_, i) => {
        const v = values[j][i];
        const cell = row.insertCell();
        cell.textContent = v === null || v === undefined ? "–" : Number.isInteger(v) ? String(v) : v.toFixed(0);
        cell.style.cssText = `padding:4px 8px;text-align:center;cursor:pointer;border:1px solid #fff;background:${colorFor(v, lo, hi, model.get("lower_is_better"))}`;
        cell.title = `${model.get("x_name")}=${xs[i]}, ${model.get("y_name")}=${y}: ${v}`;
        cell.addEventListener("click", () => model.send({ type: "pick", x: i, y: j }));
      });
    });
    box.append(title, table);
  }
  for (const name of ["values", "x_values", "y_values", "title", "lower_is_better"]) model.on(`change:${name}`, draw);
  draw();
}

export default { render };
