import { test } from "node:test";
import assert from "node:assert/strict";
import { makeTrack, putBins, columnsOf } from "../../realtime_widgets/widgets/waveform.js";

test("bins land at their absolute index and the track grows", () => {
  const t = makeTrack();
  putBins(t, 5000, Int16Array.from([-3, 4, -7, 9]));
  assert.equal(t.length, 5002);
  assert.equal(t.min[5001], -7);
  assert.equal(t.max[5001], 9);
  assert.equal(t.max[10], 0);
});

test("pixel columns take the min and max of the bins under them", () => {
  const t = makeTrack();
  putBins(t, 0, Int16Array.from([-1, 1, -5, 2, -2, 8, 0, 0]));
  const cols = columnsOf(t, 0, 4, 2);
  assert.deepEqual(Array.from(cols.min), [-5, -2]);
  assert.deepEqual(Array.from(cols.max), [2, 8]);
  const zoomed = columnsOf(t, 0, 2, 4); // more pixels than bins: each bin repeats
  assert.deepEqual(Array.from(zoomed.max), [1, 1, 2, 2]);
});
