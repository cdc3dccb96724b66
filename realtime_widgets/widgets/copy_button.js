// CopyButton: copies the synced `text` to the clipboard.
/** The synced state (copy_button.py). @typedef {{ text: string, label: string, copies: number }} CopyModel */

/** @param {import("@anywidget/types").RenderProps<CopyModel>} props */
function render({ model, el }) {
  const button = document.createElement("button");
  button.className = "rw-copy";
  button.textContent = model.get("label");
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(model.get("text"));
      model.set("copies", model.get("copies") + 1);
      model.save_changes();
      button.textContent = "Copied";
    } catch (err) {
      button.textContent = "Copy failed: select the text instead";
    }
    setTimeout(() => (button.textContent = model.get("label")), 1500);
  });
  model.on("change:label", () => (button.textContent = model.get("label")));
  el.appendChild(button);
}
export default { render };
