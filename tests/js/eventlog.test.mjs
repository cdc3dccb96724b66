import { test } from "node:test";
import assert from "node:assert/strict";
import { addRows, visible } from "../../realtime_widgets/widgets/eventlog.js";

const row = (t, dir, type) => ({ t, dir, type, data: { type } });

test("newest first, consecutive deltas folded with a count", () => {
  const list = addRows([], [row(1, "in", "response.created"), row(2, "in", "response.output_audio.delta"),
    row(3, "in", "response.output_audio.delta"), row(4, "in", "response.output_audio.delta"), row(5, "in", "response.done")], 100);
  assert.deepEqual(list.map((r) => [r.type, r.count]), [["response.done", 1], ["response.output_audio.delta", 3], ["response.created", 1]]);
  assert.equal(list[1].t, 4);
});

test("non-noisy events of the same type are not folded; the list is capped", () => {
  const list = addRows([], [row(1, "in", "error"), row(2, "in", "error"), row(3, "out", "session.update")], 2);
  assert.deepEqual(list.map((r) => r.type), ["session.update", "error"]);
});

test("filter by text and direction", () => {
  const list = addRows([], [row(1, "in", "session.updated"), row(2, "out", "session.update"), row(3, "local", "session.reconnected")], 10);
  assert.deepEqual(visible(list, { text: "UPDATE", dirs: new Set(["in", "out", "local"]) }).map((r) => r.type), ["session.update", "session.updated"]);
  assert.deepEqual(visible(list, { text: "", dirs: new Set(["local"]) }).map((r) => r.type), ["session.reconnected"]);
});
