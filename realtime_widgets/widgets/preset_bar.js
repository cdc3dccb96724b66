// PresetBar: built-in presets, a preset file to save / load, and a share string to copy / paste.
// The kernel validates everything (realtime_widgets.protocol.presets); this file only collects
// the user's choice and hands files and strings back and forth.

/** What the paste box's Load button sends: its text, trimmed. The kernel judges it, and says
 * what is wrong: an empty box, or text that is not a share string (rw1....) nor preset JSON.
 * @param {string} text */
export function pasted(text) {
  return text.trim();
}

/** @param {string} tag @param {Record<string, string>} attrs @param {string} [text] */
function make(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text) node.textContent = text;
  return node;
}

/**
 * The synced state (preset_bar.py).
 * @typedef {object} PresetModel
 * @property {{ name: string, description: string }[]} presets the built-in presets
 * @property {string} share the current configuration's share string
 * @property {string} status what the last action did, or why it was refused
 * @property {string} error_field the field the last refusal names ("" when none)
 * @property {string} name the preset's name (a loaded one's): what a save or a share carries
 */
/** The kernel's messages: a preset file to download, a share string to copy. @typedef {{ type: "file", filename: string, text: string } | { type: "share", text: string }} KernelMsg */

/** @param {import("@anywidget/types").RenderProps<PresetModel>} props */
function render({ model, el }) {
  const root = make("div", { class: "rw-presets" });
  root.style.cssText =
    "display:flex;flex-direction:column;gap:4px;font:12px sans-serif;padding:4px 0;max-width:100%;box-sizing:border-box;";
  const row1 = make("div");
  const row2 = make("div");
  // Two lines in the narrowest settings column (~370 px: 1366x768 with Lab's file browser open):
  // the list and the share box shrink first, the buttons keep their one-line labels. Wraps
  // instead of spilling into the neighbour column when narrower still.
  for (const row of [row1, row2]) row.style.cssText = "display:flex;flex-wrap:wrap;gap:4px;align-items:center;";
  const compact = "flex:0 0 auto;white-space:nowrap;padding:1px 6px;font:inherit;";

  const select = /** @type {HTMLSelectElement} */ (make("select", { "aria-label": "preset" }));
  select.style.cssText = "flex:1 1 7em;min-width:6em;font:inherit;";
  const apply = make("button", { class: "rw-apply", title: "apply this preset over the current settings" }, "Apply");
  const save = make("button", { class: "rw-save", title: "download the current settings as a .json preset" }, "Save .json");
  const open = make("button", { class: "rw-open", title: "load a .json preset file" }, "Load .json");
  const file = /** @type {HTMLInputElement} */ (make("input", { type: "file", accept: ".json,application/json" }));
  file.style.display = "none";
  for (const b of [apply, save, open]) b.style.cssText = compact;
  row1.append(make("span", {}, "preset"), select, apply, save, open, file);

  const share = /** @type {HTMLInputElement} */ (make("input", {
    class: "rw-share", "aria-label": "share string",
    placeholder: "paste a share string (rw1....) or preset JSON",
  }));
  share.style.cssText = "flex:1 1 9em;min-width:9em;font-family:monospace;box-sizing:border-box;";
  const copy = make("button", { class: "rw-copy-share", title: "copy the current settings as a share string" }, "Copy share string");
  const load = make("button", { class: "rw-load-share", title: "load the pasted share string" }, "Load");
  for (const b of [copy, load]) b.style.cssText = compact;
  row2.append(share, copy, load);
  const status = make("div", { class: "rw-status" });
  status.style.cssText = "min-height:1.2em;color:#555;";
  root.append(row1, row2, status);
  el.appendChild(root);

  const fill = () => {
    select.replaceChildren(
      ...model.get("presets").map((p) => {
        const option = make("option", { value: p.name, title: p.description }, p.name);
        return option;
      }),
    );
  };
  const showStatus = () => {
    const field = model.get("error_field");
    status.textContent = model.get("status");
    status.style.color = field ? "#c0392b" : "#555";
  };
  const showShare = () => {
    if (document.activeElement !== share) share.value = model.get("share");
    share.title = `share string of '${model.get("name")}'`;
  };
  // The preset shown: the name of the one loaded, when it is a built-in.
  const showName = () => {
    const name = model.get("name");
    if (model.get("presets").some((p) => p.name === name)) select.value = name;
  };
  fill();
  showStatus();
  showShare();
  showName();
  model.on("change:name", () => { showShare(); showName(); });
  model.on("change:presets", fill);
  model.on("change:status", showStatus);
  model.on("change:error_field", showStatus);
  model.on("change:share", showShare);

  apply.addEventListener("click", () => model.send({ type: "apply", name: select.value }));
  save.addEventListener("click", () => model.send({ type: "save" }));
  open.addEventListener("click", () => file.click());
  file.addEventListener("change", async () => {
    const chosen = file.files && file.files[0];
    if (chosen) model.send({ type: "load", text: await chosen.text() });
    file.value = "";
  });
  load.addEventListener("click", () => model.send({ type: "load", text: pasted(share.value) }));
  copy.addEventListener("click", () => model.send({ type: "share" }));

  model.on("msg:custom", async (/** @type {KernelMsg} */ msg) => {
    if (msg.type === "file") {
      const blob = new Blob([msg.text], { type: "application/json" });
      const link = /** @type {HTMLAnchorElement} */ (make("a", { download: msg.filename }));
      link.href = URL.createObjectURL(blob);
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 1000);
    } else if (msg.type === "share") {
      share.value = msg.text;
      try {
        await navigator.clipboard.writeText(msg.text);
        copy.textContent = "Copied";
      } catch (err) {
        share.select(); // no clipboard permission: leave it selected for Ctrl+C
        copy.textContent = "Select + Ctrl+C";
      }
      setTimeout(() => (copy.textContent = "Copy share string"), 1500);
    }
  });
}

export default { render };
