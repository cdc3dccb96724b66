// KeyField: the key goes to the kernel once, in a message, and never into the model's state.
/**
 * The synced state (key_field.py): never the key itself, only whether the kernel holds one.
 * @typedef {{ placeholder: string, has_key: boolean }} KeyModel
 */

/** @param {import("@anywidget/types").RenderProps<KeyModel>} props */
function render({ model, el }) {
  const input = document.createElement("input");
  input.type = "password";
  input.autocomplete = "off";
  input.placeholder = model.get("placeholder");
  const use = document.createElement("button");
  use.textContent = "Use key";
  const forget = document.createElement("button");
  forget.textContent = "Forget";
  const state = document.createElement("span");
  const show = () => (state.textContent = model.get("has_key") ? " key set" : " no key");
  use.addEventListener("click", () => {
    model.send({ type: "key", value: input.value });
    input.value = ""; // never kept in the page either
  });
  forget.addEventListener("click", () => model.send({ type: "key", value: "" }));
  model.on("change:has_key", show);
  show();
  el.append(input, use, forget, state);
}
export default { render };
