// ConversationBar: a message box and the manual turn buttons; each action is one message to
// the kernel, which runs the session's public coroutine for it.

/** The action a key press in the message box asks for ("send" on Enter without Shift). @param {{ key: string, shiftKey: boolean, isComposing?: boolean }} e */
export function keyAction(e) {
  return e.key === "Enter" && !e.shiftKey && !e.isComposing ? "send" : null;
}

/** The messages the bar sends (conversation.py runs the matching coroutine). @typedef {"send" | "respond" | "commit" | "cancel" | "clear"} Action */

/** [action, button text, tooltip] @type {[Action, string, string][]} */
const BUTTONS = [
  ["send", "Send", "send the message as a user item and ask for a reply"],
  ["respond", "Create response", "response.create: reply now (with turn detection off, audio not yet committed is committed first)"],
  ["commit", "Commit", "input_audio_buffer.commit: make the audio sent so far a user turn (for turn detection off)"],
  ["cancel", "Cancel", "response.cancel: stop the reply in progress"],
  ["clear", "Clear input", "input_audio_buffer.clear: drop audio not yet committed"],
];

/** The synced state (conversation.py). @typedef {{ status: string }} ConversationModel */

/** @param {import("@anywidget/types").RenderProps<ConversationModel>} props */
function render({ model, el }) {
  const bar = document.createElement("div");
  bar.className = "rw-conversation";
  // One line, also at 1366x768 with the file browser open (~540 px): the text box takes what the
  // buttons leave (down to 60 px), the buttons keep their words and never wrap; the status, when
  // there is one, goes on its own line under them.
  bar.style.cssText = "display:flex;gap:3px;align-items:center;font:12px system-ui,sans-serif;padding:0;flex-wrap:wrap";
  const input = document.createElement("input");
  input.type = "text";
  input.className = "rw-message";
  input.placeholder = "Type a message";
  input.title = "Enter sends it as a user message and asks for a reply";
  input.setAttribute("aria-label", "message");
  input.style.cssText = "flex:1 1 0;min-width:60px;padding:2px 5px;font:inherit";
  bar.appendChild(input);
  /** @type {HTMLButtonElement[]} */
  const buttons = [];
  for (const [action, text, title] of BUTTONS) {
    const b = document.createElement("button");
    b.textContent = text;
    b.title = title;
    b.dataset.action = action;
    b.className = `rw-action rw-${action}`;
    b.style.cssText = "white-space:nowrap;font:inherit;padding:1px 6px;flex:0 0 auto";
    buttons.push(b);
    bar.appendChild(b);
  }
  const status = document.createElement("span");
  status.className = "rw-conversation-status";
  status.style.cssText = "color:#c0392b;flex-basis:100%;display:none";
  bar.appendChild(status);
  el.appendChild(bar);
  // An empty status takes no line (a flex line of its own, even empty, adds the row gap).
  const showStatus = () => { status.style.display = status.textContent ? "" : "none"; };

  /** @param {Action} action */
  function act(action) {
    if (action === "send") {
      const text = input.value.trim();
      if (!text) { status.textContent = "type a message first"; showStatus(); return; }
      model.send({ type: "send", text });
      input.value = "";
    } else {
      model.send({ type: action });
    }
    status.textContent = "";
    showStatus();
  }
  /** @param {KeyboardEvent} e */
  const onKey = (e) => { const a = keyAction(e); if (a) { e.preventDefault(); act(a); } };
  /** @param {MouseEvent} e */
  const onClick = (e) => {
    const b = e.target instanceof Element ? e.target.closest("button[data-action]") : null;
    if (b instanceof HTMLButtonElement && b.dataset.action) act(/** @type {Action} */ (b.dataset.action));
  };
  const onStatus = () => { status.textContent = model.get("status"); showStatus(); };
  input.addEventListener("keydown", onKey);
  bar.addEventListener("click", onClick);
  model.on("change:status", onStatus);
  onStatus();
  return () => {
    input.removeEventListener("keydown", onKey);
    bar.removeEventListener("click", onClick);
    model.off("change:status", onStatus);
    bar.remove();
  };
}

export default { render };
