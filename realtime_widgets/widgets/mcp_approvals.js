// McpApprovals: pending MCP tool calls, each with Approve / Deny (the kernel sends the answer).
// Pure helpers are named exports for `node --test`; only render() touches the DOM.

/**
 * @typedef {{ id: string, server_label: string, name: string, arguments: string, sent: boolean }} Request
 */

/**
 * One line naming the call: `server.tool({"q": ...})`, long arguments cut with an ellipsis.
 * @param {Request} request
 * @param {number} [limit]
 */
export function describe(request, limit = 160) {
  const args = request.arguments || "";
  const shown = args.length > limit ? `${args.slice(0, limit - 1)}\u2026` : args;
  return `${request.server_label || "mcp"}.${request.name || "tool"}(${shown})`;
}

/**
 * The message a button sends to the kernel.
 * @param {string} id @param {boolean} approve @param {string} [reason]
 */
export function decision(id, approve, reason) {
  const text = (reason || "").trim();
  return text ? { decide: id, approve, reason: text } : { decide: id, approve };
}

/** @param {{ model: any, el: HTMLElement }} ctx */
function render({ model, el }) {
  const box = document.createElement("div");
  box.className = "rw-mcp-approvals";
  box.style.cssText = "font:13px/1.45 system-ui,sans-serif;padding:4px";
  el.appendChild(box);

  function paint() {
    /** @type {Request[]} */
    const pending = model.get("pending") || [];
    box.replaceChildren();
    if (pending.length === 0) {
      const none = document.createElement("div");
      none.style.color = "#777";
      none.textContent = "No MCP tool call is waiting for approval.";
      box.appendChild(none);
      return;
    }
    for (const request of pending) {
      const row = document.createElement("div");
      row.className = "rw-mcp-request";
      row.style.cssText = "display:flex;gap:8px;align-items:center;margin:4px 0;padding:4px 8px;border-radius:6px;background:#fff8e6";
      const call = document.createElement("code");
      call.style.cssText = "flex:1 1 auto;overflow-wrap:anywhere";
      call.textContent = describe(request);
      const reason = document.createElement("input");
      reason.type = "text";
      reason.placeholder = "reason (optional)";
      reason.style.width = "140px";
      const approve = document.createElement("button");
      approve.textContent = "Approve";
      const deny = document.createElement("button");
      deny.textContent = "Deny";
      for (const button of [approve, deny]) button.disabled = request.sent;
      approve.addEventListener("click", () => model.send(decision(request.id, true, reason.value)));
      deny.addEventListener("click", () => model.send(decision(request.id, false, reason.value)));
      row.append(call, reason, approve, deny);
      if (request.sent) {
        const note = document.createElement("span");
        note.style.color = "#777";
        note.textContent = "sent";
        row.appendChild(note);
      }
      box.appendChild(row);
    }
  }

  paint();
  model.on("change:pending", paint);
}

export default { render };
