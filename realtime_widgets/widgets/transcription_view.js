// TranscriptionView: the turns of a transcription session, streaming, words shaded by logprob.
// Pure helpers are named exports so `node --test` can test them; only render() touches the DOM.

/**
 * @typedef {[string, number]} Token  a token and its natural-log probability
 * @typedef {{ id: string, text: string, tokens: Token[] | null, state: string, note: string,
 *             start_ms: number | null, end_ms: number | null }} Turn
 * @typedef {{ order: string[], turns: Map<string, Turn>, speaking: string | null }} Turns
 */

/** @returns {Turns} */
export function emptyTurns() {
  return { order: [], turns: new Map(), speaking: null };
}

/**
 * The background of a token: clear when the recogniser is sure, amber as it gets unsure.
 * @param {number} logprob natural log of the token's probability
 * @returns {string} a CSS colour
 */
export function shade(logprob) {
  const p = Math.min(1, Math.max(0, Math.exp(logprob)));
  const alpha = Math.round((1 - p) * 0.75 * 100) / 100;
  return `rgba(255, 160, 0, ${alpha})`;
}

/**
 * Apply one operation; returns what changed, for the view to patch.
 * @param {Turns} turns
 * @param {any} op
 * @returns {{ kind: string, id?: string, index?: number, text?: string, tokens?: Token[] | null }}
 */
export function applyOp(turns, op) {
  if (op.op === "speaking") {
    turns.speaking = op.id;
    return { kind: "speaking", id: op.id };
  }
  if (op.op === "quiet") { // the turn ended (speech_stopped) or its audio was cleared
    turns.speaking = null;
    return { kind: "quiet" };
  }
  if (op.op === "turn") {
    if (turns.speaking === op.id) turns.speaking = null;
    const turn = {
      id: op.id, text: op.text || "", tokens: op.tokens || null, state: op.state || "none",
      note: op.note || "", start_ms: op.start_ms ?? null, end_ms: op.end_ms ?? null,
    };
    const existing = turns.turns.has(op.id);
    turns.turns.set(op.id, turn);
    if (existing) return { kind: "replace", id: op.id };
    let index = turns.order.length;
    if (op.after === null) index = 0;
    else if (op.after !== undefined && turns.order.includes(op.after)) index = turns.order.indexOf(op.after) + 1;
    turns.order.splice(index, 0, op.id);
    return { kind: "insert", id: op.id, index };
  }
  if (op.op === "delta") {
    const turn = turns.turns.get(op.id);
    if (!turn) return { kind: "none" };
    turn.text += op.text;
    turn.state = "partial";
    turn.note = "";
    if (op.tokens) (turn.tokens ||= []).push(...op.tokens); // in place: O(delta), not a copy per delta
    return { kind: "append", id: op.id, text: op.text, tokens: op.tokens || null };
  }
  if (op.op === "done") {
    const turn = turns.turns.get(op.id);
    if (!turn) return applyOp(turns, { ...op, op: "turn" });
    Object.assign(turn, { text: op.text || "", tokens: op.tokens || null, state: op.state, note: op.note || "" });
    return { kind: "replace", id: op.id };
  }
  return { kind: "none" };
}

/** @param {Turn[]} rows @returns {Turns} */
export function fromSnapshot(rows) {
  const turns = emptyTurns();
  for (const row of rows) applyOp(turns, { op: "turn", after: undefined, ...row });
  return turns;
}

/** @param {number | null} ms */
function clock(ms) {
  if (ms === null || ms === undefined) return "";
  return `${(ms / 1000).toFixed(1)} s`;
}

/** @param {{ model: any, el: HTMLElement }} ctx */
function render({ model, el }) {
  const box = document.createElement("div");
  box.className = "rw-transcription";
  box.style.cssText = `overflow-y:auto;max-height:${model.get("height")};min-height:80px;font:14px/1.5 system-ui,sans-serif;padding:6px;border:1px solid #ddd;border-radius:6px;background:#fff`;
  const listening = document.createElement("div");
  listening.className = "rw-listening";
  listening.style.cssText = "color:#666;font-style:italic;display:none";
  listening.textContent = "hearing speech...";
  const list = document.createElement("div");
  box.append(list, listening);
  el.appendChild(box);
  /** @type {Map<string, {wrap: HTMLElement, text: HTMLElement, note: HTMLElement}>} */
  const nodes = new Map();
  let turns = fromSnapshot(model.get("snapshot") || []);

  /** @param {HTMLElement} target @param {string} text @param {Token[] | null} tokens */
  function fill(target, text, tokens) {
    if (!tokens) {
      target.append(document.createTextNode(text));
      return;
    }
    for (const [token, logprob] of tokens) {
      const span = document.createElement("span");
      span.className = "rw-token";
      span.textContent = token;
      span.style.background = shade(logprob);
      span.title = `p = ${Math.exp(logprob).toFixed(2)}`;
      target.append(span);
    }
  }

  /** @param {string} id */
  function make(id) {
    const turn = turns.turns.get(id);
    const wrap = document.createElement("div");
    wrap.className = "rw-turn";
    wrap.style.cssText = "margin:4px 0;padding:4px 8px;border-radius:6px;background:#eef5ff";
    const when = document.createElement("span");
    when.style.cssText = "color:#777;font-size:12px;margin-right:8px";
    when.textContent = turn && turn.start_ms !== null ? clock(turn.start_ms) : "";
    const text = document.createElement("span");
    text.className = "rw-turn-text";
    const note = document.createElement("span");
    note.className = "rw-turn-note";
    note.style.cssText = "color:#8a5a00;font-size:12px;margin-left:6px";
    wrap.append(when, text, note);
    nodes.set(id, { wrap, text, note });
    paint(id);
    return wrap;
  }

  /** @param {string} id */
  function paint(id) {
    const turn = turns.turns.get(id);
    const node = nodes.get(id);
    if (!turn || !node) return;
    node.text.replaceChildren();
    fill(node.text, turn.text, turn.tokens);
    node.note.textContent = turn.note ? `(${turn.note})` : "";
  }

  function rebuild() {
    list.replaceChildren();
    nodes.clear();
    for (const id of turns.order) list.appendChild(make(id));
  }

  function showListening() {
    listening.style.display = turns.speaking ? "block" : "none";
  }

  rebuild();
  model.on("msg:custom", (/** @type {any} */ op) => {
    const change = applyOp(turns, op);
    const id = change.id;
    if (id === undefined) {
      showListening();
      return;
    }
    if (change.kind === "insert") {
      const node = make(id);
      const next = turns.order[(change.index ?? turns.order.length) + 1];
      const before = next ? nodes.get(next) : undefined;
      list.insertBefore(node, before ? before.wrap : null);
    } else if (change.kind === "append") {
      const node = nodes.get(id);
      if (node) {
        fill(node.text, change.text ?? "", change.tokens ?? null);
        node.note.textContent = "";
      }
    } else if (change.kind === "replace") {
      paint(id);
    }
    showListening();
    box.scrollTop = box.scrollHeight;
  });
  model.on("change:snapshot", () => {
    if (turns.order.length === 0) {
      turns = fromSnapshot(model.get("snapshot") || []);
      rebuild();
    }
  });
  return () => nodes.clear();
}

export default { render };
