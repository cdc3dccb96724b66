import { test } from "node:test";
import assert from "node:assert/strict";
import { countdown, estimateNote, segments, turnLabel } from "../../realtime_widgets/widgets/metrics.js";

test("countdown formats m:ss and stops at zero", () => {
  assert.equal(countdown(1000, 1000 * 1000 - 125000), "2:05");
  assert.equal(countdown(1000, 2000 * 1000), "0:00");
  assert.equal(countdown(null, 0), "");
});

test("latency segments are laid end to end, scaled, skipping unknown steps", () => {
  const segs = segments({ commit: 100, to_response: null, first_delta: 300, generation: 600 }, 1000, 400);
  assert.deepEqual(segs.map((s) => [s.key, s.x, s.w]), [["commit", 0, 40], ["first_delta", 40, 120], ["generation", 160, 240]]);
});

test("a turn cut by a lost connection says so instead of a latency", () => {
  assert.equal(turnLabel({ status: "interrupted", total_to_first_delta: 320 }), "reply interrupted by a lost connection");
  assert.equal(turnLabel({ status: "completed", total_to_first_delta: 320 }), "server 320 ms to first audio");
  assert.equal(turnLabel({ status: null, total_to_first_delta: null }), "");
});

test("a turn's label splits the server's latency from the toolkit's", () => {
  assert.equal(turnLabel({ total_to_first_delta: 420 }), "server 420 ms to first audio");
  assert.equal(turnLabel({ total_to_first_delta: 420, toolkit_in: 31.5, toolkit_out: 48 }),
    "server 420 ms to first audio + toolkit mic 31.5 + playback 48 ms");
  assert.equal(turnLabel({ total_to_first_delta: null, toolkit_in: 3 }), "");
  const segs = segments({ toolkit_in: 50, commit: 100, first_delta: 300, toolkit_out: 50 }, 1000, 1000);
  assert.deepEqual(segs.map((s) => [s.key, s.x]), [["toolkit_in", 0], ["commit", 50], ["first_delta", 150], ["toolkit_out", 450]]);
});

test("the local server's usage is labelled an estimate, and only then", () => {
  const note = "Usage and cost are the local server's estimates (rule), not OpenAI's counts.";
  assert.equal(estimateNote({ estimate: true, estimate_note: note }), note);
  assert.match(estimateNote({ estimate: true }), /local server's estimates/);
  assert.equal(estimateNote({ estimate: false, estimate_note: note }), "");
  assert.equal(estimateNote({}), "");
});
