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

test("audio appends fold, a translation session's (session.input_audio_buffer.append) too", () => {
  const appends = (type) => [1, 2, 3].map((t) => row(t, "out", type));
  for (const type of ["input_audio_buffer.append", "session.input_audio_buffer.append"]) {
    assert.deepEqual(addRows([], appends(type), 100).map((r) => [r.type, r.count]), [[type, 3]]);
  }
  // (a type that merely ends alike is not an append)
  const other = addRows([], appends("my_input_audio_buffer.append"), 100);
  assert.equal(other.length, 3);
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

test("a GPT-Live session's audio appends (session.input_audio.append) fold, its commands not", () => {
  const list = addRows([], [row(1, "out", "session.input_audio.append"), row(2, "out", "session.input_audio.append"),
    row(3, "out", "session.input_audio.mute"), row(4, "out", "session.input_audio.mute")], 100);
  assert.deepEqual(list.map((r) => [r.type, r.count]), [["session.input_audio.mute", 1],
    ["session.input_audio.mute", 1], ["session.input_audio.append", 2]]);
});
