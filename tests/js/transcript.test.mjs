import { test } from "node:test";
import assert from "node:assert/strict";
import { addressedTo, applyOp, emptyConversation, fromSnapshot, menuPlace } from "../../realtime_widgets/widgets/transcript.js";

test("items are placed after their previous item, not by arrival", () => {
  const c = emptyConversation();
  applyOp(c, { op: "item", id: "u1", role: "user", type: "message", text: "", after: null });
  applyOp(c, { op: "item", id: "a1", role: "assistant", type: "message", text: "", after: "u1" });
  applyOp(c, { op: "item", id: "x", role: "user", type: "message", text: "typed", after: "u1" });
  applyOp(c, { op: "item", id: "s", role: "system", type: "message", text: "sys", after: null });
  assert.deepEqual(c.order, ["s", "u1", "x", "a1"]);
});

test("deltas append in O(delta) and a late user transcript lands on its own turn", () => {
  const c = emptyConversation();
  applyOp(c, { op: "item", id: "u1", role: "user", type: "message", text: "", after: null, note: "(awaiting transcript)" });
  applyOp(c, { op: "item", id: "a1", role: "assistant", type: "message", text: "", after: "u1" });
  const change = applyOp(c, { op: "delta", id: "a1", text: "Hel" });
  assert.deepEqual(change, { kind: "append", id: "a1", text: "Hel" });
  applyOp(c, { op: "delta", id: "a1", text: "lo" });
  applyOp(c, { op: "text", id: "u1", text: "good morning", note: "" });
  assert.equal(c.rows.get("a1").text, "Hello");
  assert.equal(c.rows.get("u1").text, "good morning");
  assert.equal(c.rows.get("u1").note, "");
  assert.deepEqual(c.order, ["u1", "a1"]);
});

test("a delta for an unknown item changes nothing; remove drops the row", () => {
  const c = emptyConversation();
  assert.deepEqual(applyOp(c, { op: "delta", id: "nope", text: "x" }), { kind: "none" });
  applyOp(c, { op: "item", id: "a", role: "user", type: "message", text: "a" });
  applyOp(c, { op: "remove", id: "a" });
  assert.deepEqual(c.order, []);
  assert.equal(c.rows.size, 0);
});

test("a snapshot rebuilds the same conversation", () => {
  const rows = [
    { id: "u1", role: "user", type: "message", text: "hi", note: "" },
    { id: "a1", role: "assistant", type: "message", text: "hello", note: "(truncated at 2.3 s)" },
  ];
  const c = fromSnapshot(rows);
  assert.deepEqual(c.order, ["u1", "a1"]);
  assert.equal(c.rows.get("a1").note, "(truncated at 2.3 s)");
});

test("an item's images travel with it and are replaced by a later text op", () => {
  const c = emptyConversation();
  const thumb = { src: "data:image/png;base64,AAAA", caption: "40x30 image/png, 0.1 kB" };
  applyOp(c, { op: "item", id: "u1", role: "user", type: "message", text: "look", after: null, images: [thumb] });
  assert.deepEqual(c.rows.get("u1").images, [thumb]);
  applyOp(c, { op: "text", id: "u1", role: "user", type: "message", text: "look" });
  assert.deepEqual(c.rows.get("u1").images, [thumb]); // an op without images keeps them
  applyOp(c, { op: "text", id: "u1", role: "user", type: "message", text: "look", images: [] });
  assert.deepEqual(c.rows.get("u1").images, []);
});

test("clear empties the view's conversation; later items start it again", () => {
  const c = emptyConversation();
  applyOp(c, { op: "item", id: "u1", role: "user", type: "message", text: "hi", after: null });
  applyOp(c, { op: "item", id: "a1", role: "assistant", type: "message", text: "hello", after: "u1" });
  assert.deepEqual(applyOp(c, { op: "clear" }), { kind: "clear" });
  assert.deepEqual(c.order, []);
  assert.equal(c.rows.size, 0);
  applyOp(c, { op: "item", id: "u2", role: "user", type: "message", text: "again", after: "a1" });
  assert.deepEqual(c.order, ["u2"]);
});

test("the item menu opens below its button, above it on the last row, fixed in a short box", () => {
  const sight = { top: 100, bottom: 400 };
  // room below: below the button, from the row's top
  assert.deepEqual(menuPlace({ top: 150, bottom: 170 }, 147, 50, sight, 768), { mode: "below", top: 23 });
  // the last row at the box's bottom edge (the defect: "Delete" was cut off): above
  assert.deepEqual(menuPlace({ top: 370, bottom: 390 }, 367, 50, sight, 768), { mode: "above", top: -47 });
  // a box shorter than the menu: over the box, fixed in the window, below when the window has room
  const short = { top: 100, bottom: 140 };
  assert.deepEqual(menuPlace({ top: 105, bottom: 125 }, 102, 50, short, 768), { mode: "fixed", top: 125 });
  assert.deepEqual(menuPlace({ top: 740, bottom: 760 }, 737, 50, { top: 730, bottom: 768 }, 768), { mode: "fixed", top: 690 });
});

test("a reply to a request is for the view that asked; the conversation's ops are for every view", () => {
  assert.equal(addressedTo({ op: "file", view: "a", filename: "t.txt", mime: "text/plain", text: "" }, "a"), true);
  assert.equal(addressedTo({ op: "file", view: "a", filename: "t.txt", mime: "text/plain", text: "" }, "b"), false);
  assert.equal(addressedTo({ op: "notice", view: "a", error: "failed" }, "b"), false);
  assert.equal(addressedTo({ op: "audio", id: "x", view: "b" }, "b"), true);
  assert.equal(addressedTo({ op: "delta", id: "x", text: "hi" }, "b"), true);
  assert.equal(addressedTo({ op: "clear" }, "b"), true);
});
