// TranscriptView: applies small operations (item, delta, text, remove, clear) to the conversation.
// Each row has a menu (play the item's audio, delete the item), opened where it is whole in
// sight; a toolbar above the rows: New conversation, Clear transcript, download as text / JSON
// (files the kernel makes, saved as a Blob download). The pure helpers below are named exports
// so `node --test` can test them; only render() touches the DOM.

/**
 * @typedef {{ src: string | null, caption: string }} Thumb an image the user sent: a preview (or none) and what it is
 * @typedef {{ id: string, role: string, type: string, text: string, note: string, audio: boolean, images?: Thumb[] }} Row
 * @typedef {{ order: string[], rows: Map<string, Row> }} Conversation
 */
/**
 * The operations the kernel sends (transcript.py): a new item (after `after`; null: first,
 * undefined or unknown: last), a text delta, an item's whole text, a removal.
 * @typedef {{ op: "item", id: string, role: string, type: string, text?: string, note?: string, audio?: boolean, images?: Thumb[], after?: string | null }} ItemOp
 * @typedef {{ op: "delta", id: string, text: string }} DeltaOp
 * @typedef {{ op: "text", id: string, role: string, type: string, text: string, note?: string, audio?: boolean, images?: Thumb[] }} TextOp
 * @typedef {{ op: "remove", id: string }} RemoveOp
 * @typedef {{ op: "clear" }} ClearOp Clear transcript: the view empties (the server's conversation stays)
 * @typedef {ItemOp | DeltaOp | TextOp | RemoveOp | ClearOp} Op
 */
/**
 * The kernel's answers to the item menu: the item's audio (one WAV buffer), or why not; to the
 * toolbar: a file to save (transcript.txt / .json), or a notice (a new conversation failed).
 * Each carries the token of the view that asked (`view`): another view of the same transcript
 * leaves it alone (one Download saves one file).
 * @typedef {{ op: "audio", id: string, view?: string, mime?: string, error?: string } | { op: "error", id: string, view?: string, error: string }} Reply
 * @typedef {{ op: "file", view?: string, filename: string, mime: string, text: string } | { op: "notice", view?: string, error: string }} ToolbarReply
 */
/**
 * What applying an operation changed, for the view to patch.
 * @typedef {{ kind: "insert", id: string, index: number } | { kind: "append", id: string, text: string } | { kind: "replace", id: string } | { kind: "remove", id: string } | { kind: "clear" } | { kind: "none" }} Change
 */
/** The synced state (transcript.py). @typedef {{ snapshot: Row[], height: string, restartable: boolean }} TranscriptModel */

/**
 * Whether this view (its token) acts on a message: a reply addressed to another view is not
 * for it; the conversation's operations (no `view`) are for every view.
 * @param {Op | Reply | ToolbarReply} msg @param {string} token
 */
export function addressedTo(msg, token) {
  return !("view" in msg) || msg.view === undefined || msg.view === token;
}

/** @returns {Conversation} */
export function emptyConversation() {
  return { order: [], rows: new Map() };
}

/**
 * Apply one operation; returns what changed, for the view to patch ("insert", "append", "replace", "remove").
 * @param {Conversation} conv
 * @param {Op} op
 * @returns {Change}
 */
export function applyOp(conv, op) {
  if (op.op === "item") {
    const row = { id: op.id, role: op.role, type: op.type, text: op.text || "", note: op.note || "", audio: !!op.audio, images: op.images || [] };
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
    if (op.audio !== undefined) row.audio = !!op.audio;
    if (op.images !== undefined) row.images = op.images;
    return { kind: "replace", id: op.id };
  }
  if (op.op === "clear") {
    conv.rows.clear();
    conv.order.length = 0;
    return { kind: "clear" };
  }
  if (op.op === "remove") {
    conv.rows.delete(op.id);
    const i = conv.order.indexOf(op.id);
    if (i >= 0) conv.order.splice(i, 1);
    return { kind: "remove", id: op.id };
  }
  return { kind: "none" };
}

/**
 * The images of a row: a small preview each (its size and type as the tooltip), or the
 * caption alone when there is no preview.
 * @param {HTMLElement} box @param {Thumb[]} images
 */
function showThumbs(box, images) {
  box.replaceChildren();
  box.style.display = images.length ? "flex" : "none";
  box.style.cssText += ";gap:4px;flex-wrap:wrap;margin-top:2px";
  for (const image of images) {
    if (image.src) {
      const img = document.createElement("img");
      img.className = "rw-thumb";
      img.src = image.src;
      img.alt = img.title = image.caption;
      img.style.cssText = "max-height:64px;max-width:128px;border:1px solid #ddd;border-radius:3px";
      box.appendChild(img);
    } else {
      const caption = document.createElement("i");
      caption.className = "rw-thumb-caption";
      caption.style.color = "#888";
      caption.textContent = `[image: ${image.caption}]`;
      box.appendChild(caption);
    }
  }
}

/**
 * Where the item menu opens: below its button when it fits there inside what is in sight (the
 * scroll box within the window), else above the button; when neither side of the box has room
 * (a box shorter than the menu), over the box, fixed in the window (below the button, or above
 * it when the window has no room below). `top`: px from the row's top, or from the window's
 * top when fixed.
 * @param {{ top: number, bottom: number }} button the menu button's box (viewport px)
 * @param {number} rowTop the row's top (viewport px)
 * @param {number} menuHeight
 * @param {{ top: number, bottom: number }} sight what is in sight: the scroll box within the window
 * @param {number} windowHeight
 * @returns {{ mode: "below" | "above" | "fixed", top: number }}
 */
export function menuPlace(button, rowTop, menuHeight, sight, windowHeight) {
  if (sight.bottom - button.bottom >= menuHeight) return { mode: "below", top: button.bottom - rowTop };
  if (button.top - sight.top >= menuHeight) return { mode: "above", top: button.top - rowTop - menuHeight };
  const top = windowHeight - button.bottom >= menuHeight ? button.bottom : Math.max(0, button.top - menuHeight);
  return { mode: "fixed", top };
}

/** @param {Row[]} rows @returns {Conversation} */
export function fromSnapshot(rows) {
  const conv = emptyConversation();
  for (const row of rows) applyOp(conv, { op: "item", after: undefined, ...row });
  return conv;
}

/** @type {Record<string, string>} */
const LABELS = { user: "You", assistant: "Assistant", system: "System", function_call: "Tool call", function_call_output: "Tool output" };

const SVG_NS = "http://www.w3.org/2000/svg";

/** Three dots, drawn (no font glyph): the item menu's icon. @returns {SVGSVGElement} */
function dotsIcon() {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 16 16");
  svg.setAttribute("width", "14");
  svg.setAttribute("height", "14");
  svg.setAttribute("aria-hidden", "true");
  for (const cx of [3, 8, 13]) {
    const c = document.createElementNS(SVG_NS, "circle");
    c.setAttribute("cx", String(cx)); c.setAttribute("cy", "8"); c.setAttribute("r", "1.6");
    c.setAttribute("fill", "currentColor");
    svg.appendChild(c);
  }
  return svg;
}

/** @type {Record<string, string>} */
const BG = { user: "#eef5ff", assistant: "#f3f3f3" };

/**
 * The toolbar above the rows: New conversation (when the kernel has a hook for it), Clear
 * transcript, and the downloads; `save` saves a file the kernel made, `say` shows a notice.
 * `view`: this view's token, sent with the requests whose answer is for this view alone.
 * @param {import("@anywidget/types").AnyModel<TranscriptModel>} model @param {string} view
 */
function toolbar(model, view) {
  const bar = document.createElement("div");
  bar.className = "rw-transcript-tools";
  bar.setAttribute("role", "toolbar");
  bar.style.cssText = "display:flex;flex-wrap:wrap;gap:3px;align-items:center;padding:0 2px 1px 2px;border-bottom:1px solid #eee;font:11px system-ui,sans-serif;flex:0 0 auto";
  /** @param {string} cls @param {string} text @param {string} title @param {() => void} click */
  const button = (cls, text, title, click) => {
    const b = document.createElement("button");
    b.className = cls;
    b.textContent = text;
    b.title = title;
    b.style.cssText = "font:11px/13px system-ui,sans-serif;padding:0 5px;cursor:pointer";
    b.addEventListener("click", click);
    return b;
  };
  const restart = button("rw-new-conversation", "New conversation",
    "start a fresh session with the same settings and connection (this conversation ends)",
    () => { say("starting a new conversation...", false); model.send({ type: "new", view }); });
  const clear = button("rw-clear-transcript", "Clear transcript",
    "empty this view only: the server's conversation is unchanged (the model still remembers it; New conversation starts afresh)",
    () => model.send({ type: "clear" }));
  const text = button("rw-download-text", "Download .txt",
    "download the transcript shown as text: speaker and time per turn", () => model.send({ type: "download", format: "text", view }));
  const json = button("rw-download-json", "Download .json",
    "download the transcript shown as JSON: the items as the session holds them", () => model.send({ type: "download", format: "json", view }));
  const notice = document.createElement("span");
  notice.className = "rw-transcript-notice";
  notice.style.cssText = "margin-left:4px";
  bar.append(restart, clear, text, json, notice);
  /** @type {string[]} */
  const urls = [];
  /** @param {string} message @param {boolean} [error] */
  function say(message, error = true) { notice.textContent = message; notice.style.color = error ? "#c0392b" : "#555"; }
  function showRestart() { restart.style.display = model.get("restartable") ? "" : "none"; }
  showRestart();
  return {
    bar,
    say,
    showRestart,
    /** @param {string} filename @param {string} mime @param {string} body */
    save(filename, mime, body) {
      const link = document.createElement("a");
      link.download = filename;
      link.href = URL.createObjectURL(new Blob([body], { type: mime }));
      urls.push(link.href);
      document.body.appendChild(link);
      link.click();
      link.remove();
    },
    close() { for (const url of urls) URL.revokeObjectURL(url); },
  };
}

/** @param {import("@anywidget/types").RenderProps<TranscriptModel>} props */
function render({ model, el }) {
  const box = document.createElement("div");
  box.className = "rw-transcript";
  const fill = model.get("height") === "100%";
  box.style.cssText = `overflow-y:auto;${fill ? "flex:1 1 0;min-height:0" : `max-height:${model.get("height")}`};box-sizing:border-box;font:13px/1.45 system-ui,sans-serif;padding:4px`;
  if (fill) { el.style.height = "100%"; el.style.minHeight = "0"; }
  const frame = document.createElement("div");
  frame.className = "rw-transcript-frame";
  frame.style.cssText = `display:flex;flex-direction:column;${fill ? "height:100%;min-height:0" : ""}`;
  // This view's token: the kernel addresses its answers (a file, a notice, an item's audio) to it.
  const token = Math.random().toString(36).slice(2) + Date.now().toString(36);
  const tools = toolbar(model, token);
  frame.append(tools.bar, box);
  const empty = document.createElement("div");
  empty.className = "rw-transcript-empty";
  empty.style.cssText = "color:#888;padding:8px";
  empty.textContent = "No conversation yet: speak, stream a WAV file or type a message.";
  el.appendChild(frame);
  /** @type {Map<string, {wrap: HTMLElement, text: HTMLElement, note: HTMLElement, thumbs: HTMLElement, menu: HTMLElement, play: HTMLButtonElement, player: HTMLElement}>} */
  const nodes = new Map();
  /** @type {string[]} blob: URLs to revoke */
  const urls = [];
  let conv = fromSnapshot(model.get("snapshot") || []);
  /** @type {HTMLElement | null} */
  let openMenu = null;

  function closeMenu() { if (openMenu) { openMenu.style.display = "none"; openMenu = null; } }

  /** Open `menu` (of the row `wrap`, under the button `more`) where it is whole in sight.
   * @param {HTMLElement} menu @param {HTMLElement} wrap @param {HTMLElement} more */
  function showMenu(menu, wrap, more) {
    menu.style.position = "absolute";
    menu.style.visibility = "hidden";
    menu.style.display = "block";
    const b = more.getBoundingClientRect();
    const sight = box.getBoundingClientRect();
    const place = menuPlace(b, wrap.getBoundingClientRect().top, menu.offsetHeight,
      { top: Math.max(sight.top, 0), bottom: Math.min(sight.bottom, window.innerHeight) }, window.innerHeight);
    menu.dataset.place = place.mode;
    if (place.mode === "fixed") {
      menu.style.position = "fixed";
      menu.style.right = "auto";
      menu.style.left = `${Math.max(0, b.right - menu.offsetWidth)}px`;
    } else {
      menu.style.left = "auto";
      menu.style.right = "4px";
    }
    menu.style.top = `${place.top}px`;
    menu.style.visibility = "";
    openMenu = menu;
  }

  /** @param {string} id */
  function make(id) {
    const row = /** @type {Row} */ (conv.rows.get(id)); // every id in conv.order has a row
    const wrap = document.createElement("div");
    wrap.className = "rw-item";
    wrap.dataset.id = id;
    wrap.dataset.role = row.role;
    const who = row.role in LABELS ? LABELS[row.role] : row.role;
    wrap.style.cssText = `position:relative;margin:4px 0;padding:4px 30px 4px 8px;border-radius:6px;background:${BG[row.role] || "#fff8e6"}`;
    const label = document.createElement("b");
    label.textContent = `${who}: `;
    const text = document.createElement("span");
    text.className = "rw-text";
    text.textContent = row.text;
    const note = document.createElement("i");
    note.className = "rw-note";
    note.style.color = "#888";
    note.textContent = row.note ? ` ${row.note}` : "";
    const thumbs = document.createElement("div");
    thumbs.className = "rw-thumbs";
    showThumbs(thumbs, row.images || []);
    const more = document.createElement("button");
    more.className = "rw-item-menu-button";
    more.title = "item menu: play its audio, delete it";
    more.setAttribute("aria-label", "item menu");
    more.style.cssText = "position:absolute;top:3px;right:4px;border:0;background:transparent;cursor:pointer;padding:2px 4px;color:#555;line-height:0";
    more.appendChild(dotsIcon());
    const menu = document.createElement("div");
    menu.className = "rw-item-menu";
    menu.setAttribute("role", "menu");
    menu.style.cssText = "display:none;position:absolute;top:22px;right:4px;z-index:10;background:#fff;border:1px solid #ccc;border-radius:4px;box-shadow:0 2px 6px rgba(0,0,0,.15);padding:2px;white-space:nowrap";
    const play = document.createElement("button");
    play.textContent = "Play audio";
    play.className = "rw-play";
    const del = document.createElement("button");
    del.textContent = "Delete";
    del.className = "rw-delete";
    for (const b of [play, del]) { b.setAttribute("role", "menuitem"); b.style.cssText = "display:block;width:100%;text-align:left;margin:1px 0"; }
    play.disabled = !row.audio;
    play.title = row.audio ? "play this item's audio" : "this item has no audio";
    menu.append(play, del);
    const player = document.createElement("div");
    player.className = "rw-player";
    more.addEventListener("click", (e) => {
      e.stopPropagation();
      const wasOpen = openMenu === menu;
      closeMenu();
      if (!wasOpen) showMenu(menu, wrap, more);
    });
    play.addEventListener("click", () => { closeMenu(); player.textContent = "loading audio..."; model.send({ type: "audio", id, view: token }); });
    del.addEventListener("click", () => { closeMenu(); note.textContent = " (deleting...)"; model.send({ type: "delete", id, view: token }); });
    wrap.append(label, text, note, thumbs, more, menu, player);
    nodes.set(id, { wrap, text, note, thumbs, menu, play, player });
    return wrap;
  }

  function showEmpty() {
    if (conv.order.length === 0) { if (!empty.isConnected) box.appendChild(empty); }
    else empty.remove();
  }

  function redraw() {
    nodes.clear();
    box.replaceChildren(...conv.order.map(make));
    showEmpty();
  }

  /** @param {Change} change */
  function patch(change) {
    // Follow the conversation only while the view is at its end: a person who scrolled up to
    // read, or who has an item's menu open, is not pulled away by the next delta.
    const follow = !openMenu && box.scrollHeight - box.scrollTop - box.clientHeight < 24;
    const node = change.kind === "none" || change.kind === "clear" ? undefined : nodes.get(change.id);
    if (change.kind === "insert") {
      const wrap = make(change.id);
      const next = conv.order[change.index + 1];
      const before = next ? nodes.get(next)?.wrap : null;
      box.insertBefore(wrap, before || null);
    } else if (change.kind === "append" && node) {
      node.text.appendChild(document.createTextNode(change.text)); // O(delta)
    } else if (change.kind === "replace" && node) {
      const row = /** @type {Row} */ (conv.rows.get(change.id)); // "replace": the row was just set
      node.text.textContent = row.text;
      node.note.textContent = row.note ? ` ${row.note}` : "";
      showThumbs(node.thumbs, row.images || []);
      node.play.disabled = !row.audio;
      node.play.title = row.audio ? "play this item's audio" : "this item has no audio";
    } else if (change.kind === "remove" && node) {
      node.wrap.remove();
      nodes.delete(change.id);
    } else if (change.kind === "clear") {
      closeMenu();
      redraw();
    }
    showEmpty();
    if (follow) box.scrollTop = box.scrollHeight;
  }

  /** The kernel's answer to the menu: an item's audio (one WAV buffer) or an error. */
  /** @param {Reply} msg @param {(ArrayBuffer | DataView)[]} buffers */
  function onReply(msg, buffers) {
    const node = nodes.get(msg.id);
    if (!node) return;
    if (msg.op === "audio" && buffers && buffers.length) {
      const view = buffers[0];
      // a copy into a fresh ArrayBuffer: the message's buffer may be shared or offset
      const bytes = new Uint8Array(view.byteLength);
      bytes.set(view instanceof DataView ? new Uint8Array(view.buffer, view.byteOffset, view.byteLength) : new Uint8Array(view));
      const url = URL.createObjectURL(new Blob([bytes], { type: msg.mime || "audio/wav" }));
      urls.push(url);
      const audio = document.createElement("audio");
      audio.controls = true;
      audio.src = url;
      audio.className = "rw-item-audio";
      audio.style.cssText = "display:block;height:28px;width:100%;max-width:360px;margin-top:2px";
      node.player.replaceChildren(audio);
    } else {
      node.player.textContent = msg.error || "";
      node.player.style.color = "#c0392b";
      if (msg.op === "error") node.note.textContent = conv.rows.get(msg.id)?.note || "";
    }
  }

  redraw();
  /** @param {Op | Reply | ToolbarReply} msg @param {(DataView | ArrayBuffer)[]} buffers */
  const onCustom = (msg, buffers) => {
    if (!addressedTo(msg, token)) return;
    if (msg.op === "audio" || msg.op === "error") onReply(msg, buffers);
    else if (msg.op === "file") tools.save(msg.filename, msg.mime, msg.text);
    else if (msg.op === "notice") tools.say(msg.error);
    else patch(applyOp(conv, msg));
  };
  const onSnapshot = () => {
    // A snapshot arrives at a low rate: only rebuild when the view has drifted from it.
    const snap = model.get("snapshot") || [];
    if (snap.length !== conv.order.length) {
      conv = fromSnapshot(snap);
      redraw();
    }
  };
  const onDocClick = () => closeMenu();
  const onScroll = () => { if (openMenu && openMenu.style.position === "fixed") closeMenu(); };
  model.on("msg:custom", onCustom);
  model.on("change:snapshot", onSnapshot);
  model.on("change:restartable", tools.showRestart);
  document.addEventListener("click", onDocClick);
  document.addEventListener("scroll", onScroll, true); // a fixed menu would stay behind its row
  return () => {
    model.off("msg:custom", onCustom);
    model.off("change:snapshot", onSnapshot);
    model.off("change:restartable", tools.showRestart);
    document.removeEventListener("click", onDocClick);
    document.removeEventListener("scroll", onScroll, true);
    tools.close();
    for (const url of urls) URL.revokeObjectURL(url);
  };
}

export default { render };
