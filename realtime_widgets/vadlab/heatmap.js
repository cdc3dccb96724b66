// Sweep heatmap: a measure over two settings; the best cells are green, clicking one applies it.

/**
 * Colour for value v in [lo, hi] (lower is better unless told): green -> yellow -> red.
 * @param {number | null | undefined} v @param {number} lo @param {number} hi @param {boolean} [lowerIsBetter]
 */
export function colorFor(v, lo, hi, lowerIsBetter = true) {
  if (v === null || v === undefined || Number.isNaN(v)) return "#eee";
  let t = hi > lo ? (v - lo) / (hi - lo) : 0;
  if (!lowerIsBetter) t = 1 - t;
  const hue = Math.round(120 * (1 - t)); // 120 green .. 0 red
  return `hsl(${hue}, 65%, 62%)`;
}

/** Finite values of a grid, for the colour scale. @param {(number | null)[][]} values @returns {[number, number]} */
export function rangeOf(values) {
  const flat = /** @type {number[]} */ (values.flat().filter((v) => v !== null && v !== undefined && !Number.isNaN(v)));
  return flat.length ? [Math.min(...flat), Math.max(...flat)] : [0, 0];
}

/** @param {{ model: any, el: HTMLElement }} ctx */
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
    for (const x of xs) { const c = head.insertCell(); c.textContent = x; c.style.cssText = "padding:2px 6px;text-align:center;color:#555"; }
    ys.forEach((/** @type {number | string} */ y, /** @type {number} */ j) => {
      const row = table.insertRow();
      const label = row.insertCell(); label.textContent = String(y); label.style.cssText = "padding:2px 6px;color:#555";
      xs.forEach((/** @type {unknown} */ _, /** @type {number} */ i) => {
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
