import { test } from "node:test";
import assert from "node:assert/strict";
import { applyOp, emptyTurns, fromSnapshot, shade } from "../../realtime_widgets/widgets/transcription_view.js";

test("turns are placed by previous_item_id, not by arrival", () => {
  const t = emptyTurns();
  applyOp(t, { op: "turn", id: "t1", after: null, text: "", state: "none" });
  applyOp(t, { op: "turn", id: "t3", after: "t1", text: "", state: "none" });
  applyOp(t, { op: "turn", id: "t2", after: "t1", text: "", state: "none" });
  assert.deepEqual(t.order, ["t1", "t2", "t3"]);
});

test("deltas append in O(delta), with their tokens; done replaces with the final text", () => {
  const t = emptyTurns();
  applyOp(t, { op: "turn", id: "t1", after: null, text: "", state: "none", note: "transcribing..." });
  const change = applyOp(t, { op: "delta", id: "t1", text: "good", tokens: [["good", -0.05]] });
  assert.deepEqual(change, { kind: "append", id: "t1", text: "good", tokens: [["good", -0.05]] });
  applyOp(t, { op: "delta", id: "t1", text: " morning", tokens: [[" morning", -1.5]] });
  const turn = t.turns.get("t1");
  assert.equal(turn.text, "good morning");
  assert.deepEqual(turn.tokens, [["good", -0.05], [" morning", -1.5]]);
  assert.equal(turn.note, "");
  applyOp(t, { op: "done", id: "t1", text: "Good morning.", tokens: null, state: "done", note: "" });
  assert.equal(t.turns.get("t1").text, "Good morning.");
  assert.equal(t.turns.get("t1").tokens, null);
});

test("a failed turn keeps its reason, and a delta for an unknown turn changes nothing", () => {
  const t = emptyTurns();
  applyOp(t, { op: "done", id: "t9", text: "", tokens: null, state: "failed", note: "no transcript: no recogniser" });
  assert.deepEqual(t.order, ["t9"]);
  assert.equal(t.turns.get("t9").note, "no transcript: no recogniser");
  assert.deepEqual(applyOp(t, { op: "delta", id: "nope", text: "x" }), { kind: "none" });
});

test("speaking shows until its turn is committed", () => {
  const t = emptyTurns();
  applyOp(t, { op: "speaking", id: "t1", start_ms: 100 });
  assert.equal(t.speaking, "t1");
  applyOp(t, { op: "turn", id: "t1", after: null, text: "" });
  assert.equal(t.speaking, null);
});

test("shading: sure tokens are clear, unsure ones amber, monotonic in the probability", () => {
  assert.equal(shade(0), "rgba(255, 160, 0, 0)");
  assert.equal(shade(-100), "rgba(255, 160, 0, 0.75)");
  const alpha = (lp) => Number(shade(lp).split(",")[3].replace(")", ""));
  assert.ok(alpha(-0.1) < alpha(-1) && alpha(-1) < alpha(-3));
});

test("a snapshot re-renders the same turns in order", () => {
  const t = fromSnapshot([
    { id: "a", text: "one", tokens: null, state: "done", note: "", start_ms: 0, end_ms: 900 },
    { id: "b", text: "two", tokens: [["two", -0.2]], state: "done", note: "", start_ms: 1000, end_ms: 1800 },
  ]);
  assert.deepEqual(t.order, ["a", "b"]);
  assert.equal(t.turns.get("b").tokens[0][1], -0.2);
});

test("hearing speech clears when the turn ends (speech_stopped), even before its row exists", () => {
  const t = emptyTurns();
  applyOp(t, { op: "speaking", id: "t1", start_ms: 100 });
  assert.deepEqual(applyOp(t, { op: "quiet" }), { kind: "quiet" });
  assert.equal(t.speaking, null);
  assert.deepEqual(t.order, []); // the row comes with committed
  applyOp(t, { op: "speaking", id: "t2", start_ms: 3000 });
  applyOp(t, { op: "turn", id: "t1", after: null, text: "" }); // an earlier turn's row
  assert.equal(t.speaking, "t2"); // still hearing the later turn
});

test("a turn with no words keeps the reason the kernel gives", () => {
  const t = emptyTurns();
  applyOp(t, { op: "turn", id: "t1", after: null, text: "", state: "none", note: "transcribing..." });
  applyOp(t, { op: "done", id: "t1", text: "", tokens: null, state: "done", note: "no speech found" });
  assert.equal(t.turns.get("t1").note, "no speech found");
  assert.equal(t.turns.get("t1").state, "done");
});
