// TranscriptView: applies small operations (item, delta, text, remove) to the conversation.
// The pure helpers below are named exports so `node --test` can test them; only render()
// touches the DOM.

/**
 * @typedef {{ id: string, role: string, type: string, text: string, note: string }} Row
 * @typedef {{ order: string[], rows: Map<string, Row> }} Conversation
 */

/** @returns {Conversation} */
export function emptyConversation() {
  return { order: [], rows: new Map() };
}

/**
 * Apply one operation; returns what changed, for the view to patch ("insert", "append", "replace", "remove").
 * @param {Conversation} conv
 * @param {any} op
 */
export function applyOp(conv, op) {
  if (op.op === "item") {
    const row = { id: op.id, role: op.role, type: op.type, text: op.text || "", note: op.note || "" };
    const existing = conv.rows.has(op.id);
    conv.rows.set(op.id, row);
    if (existing) return { kind: "replace", id: op.id };
    let index = conv.order.length;
    if (op.after === null) index = 0;
    else if (op.after !== undefined && conv.order.includes(op.after)) index = conv.order.indexOf(op.after) + 1;
    conv.order.splice(index, 0, op.id);
    return { kind: "insert", id: op.id, index };
  }
  if (op.op === "delta") {
    const row = conv.rows.get(op.id);
    if (!row) return { kind: "none" };
    row.text += op.text;
    return { kind: "append", id: op.id, text: op.text };
  }
  if (op.op === "text") {
    const row = conv.rows.get(op.id);
    if (!row) return applyOp(conv, { ...op, op: "item" });
    row.text = op.text;
    row.note = op.note || "";
    return { kind: "replace", id: op.id };
  }
  if (op.op === "remove") {
    conv.rows.delete(op.id);
    const i = conv.order.indexOf(op.id);
    if (i >= 0) conv.order.splice(i, 1);
    return { kind: "remove", id: op.id };
  }
  return { kind: "none" };
}

/** @param {Row[]} rows @returns {Conversation} */
export function fromSnapshot(rows) {
  const conv = emptyConversation();
  for (const row of rows) applyOp(conv, { op: "item", after: undefined, ...row });
  return conv;
}

const LABELS = { user: "You", assistant: "Assistant", system: "System", function_call: "Tool call", function_call_output: "Tool output" };

/** @param {{ model: any, el: HTMLElement }} ctx */
function render({ model, el }) {
  const box = document.createElement("div");
  box.className = "rw-transcript";
  box.style.cssText = `overflow-y:auto;max-height:${model.get("height")};font:13px/1.45 system-ui,sans-serif;padding:4px`;
  el.appendChild(box);
  /** @type {Map<string, {wrap: HTMLElement, text: HTMLElement, note: HTMLElement}>} */
  const nodes = new Map();
  let conv = fromSnapshot(model.get("snapshot") || []);

  function make(id) {
    const row = conv.rows.get(id);
    const wrap = document.createElement("div");
    const who = row.role in LABELS ? LABELS[row.role] : row.role;
    wrap.style.cssText = `margin:4px 0;padding:4px 8px;border-radius:6px;background:${row.role === "user" ? "#eef5ff" : row.role === "assistant" ? "#f3f3f3" : "#fff8e6"}`;
    const label = document.createElement("b");
    label.textContent = `${who}: `;
    const text = document.createElement("span");
    text.textContent = row.text;
    const note = document.createElement("i");
    note.style.color = "#888";
    note.textContent = row.note ? ` ${row.note}` : "";
    wrap.append(label, text, note);
    nodes.set(id, { wrap, text, note });
    return wrap;
  }

  function redraw() {
    box.replaceChildren(...conv.order.map(make));
  }

  function patch(change) {
    const node = nodes.get(change.id);
    if (change.kind === "insert") {
      const wrap = make(change.id);
      const next = conv.order[change.index + 1];
      const before = next ? nodes.get(next)?.wrap : null;
      box.insertBefore(wrap, before || null);
    } else if (change.kind === "append" && node) {
      node.text.appendChild(document.createTextNode(change.text)); // O(delta)
    } else if (change.kind === "replace" && node) {
      const row = conv.rows.get(change.id);
      node.text.textContent = row.text;
      node.note.textContent = row.note ? ` ${row.note}` : "";
    } else if (change.kind === "remove" && node) {
      node.wrap.remove();
      nodes.delete(change.id);
    }
    box.scrollTop = box.scrollHeight;
  }

  redraw();
  model.on("msg:custom", (op) => patch(applyOp(conv, op)));
  model.on("change:snapshot", () => {
    // A snapshot arrives at a low rate: only rebuild when the view has drifted from it.
    const snap = model.get("snapshot") || [];
    if (snap.length !== conv.order.length) {
      conv = fromSnapshot(snap);
      redraw();
    }
  });
}

export default { render };
