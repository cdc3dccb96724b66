import { test } from "node:test";
import assert from "node:assert/strict";
import { pasted } from "../../realtime_widgets/widgets/preset_bar.js";

test("the paste box sends what was pasted, trimmed: the kernel says what is wrong with it", () => {
  assert.equal(pasted(' {"format": 1} '), '{"format": 1}');
  assert.equal(pasted("rw1.abc"), "rw1.abc");
  // Junk is not turned into an empty box here (the kernel answers "not a share string").
  assert.equal(pasted("  not a preset "), "not a preset");
  assert.equal(pasted("  "), "");
});
