import { test } from "node:test";
import assert from "node:assert/strict";
import { xOf, envelopeColumns, lanes } from "../../realtime_widgets/vadlab/view.js";
import { colorFor, rangeOf } from "../../realtime_widgets/vadlab/heatmap.js";

test("times map linearly onto the canvas", () => {
  assert.equal(xOf(0, 10000, 1000), 0);
  assert.equal(xOf(2500, 10000, 1000), 250);
  assert.equal(xOf(10000, 10000, 1000), 1000);
});

test("envelope columns keep the extremes of the bins under each pixel", () => {
  // 4 bins interleaved [min, max]: (-1,1) (-5,2) (-2,8) (0,3)
  const env = Int16Array.from([-1, 1, -5, 2, -2, 8, 0, 3]);
  const two = envelopeColumns(env, 2);
  assert.deepEqual(Array.from(two.min), [-5, -2]);
  assert.deepEqual(Array.from(two.max), [2, 8]);
  const eight = envelopeColumns(env, 8); // more pixels than bins: each bin repeats
  assert.deepEqual(Array.from(eight.max), [1, 1, 2, 2, 8, 8, 3, 3]);
});

test("lanes stack without overlapping and fit the height", () => {
  const L = lanes(240);
  const order = [L.wave, L.prob, L.truth, L.turns, L.replies];
  for (let i = 1; i < order.length; i++) assert.ok(order[i][0] >= order[i - 1][0] + order[i - 1][1]);
  assert.ok(L.replies[0] + L.replies[1] <= L.axis);
});

test("heatmap colours run green (best) to red (worst), either direction", () => {
  assert.equal(colorFor(0, 0, 4), "hsl(120, 65%, 62%)");
  assert.equal(colorFor(4, 0, 4), "hsl(0, 65%, 62%)");
  assert.equal(colorFor(4, 0, 4, false), "hsl(120, 65%, 62%)");
  assert.equal(colorFor(null, 0, 4), "#eee");
  assert.equal(colorFor(3, 3, 3), "hsl(120, 65%, 62%)"); // a flat grid is all green
});

test("the colour range ignores missing cells", () => {
  assert.deepEqual(rangeOf([[1, null], [5, 2]]), [1, 5]);
  assert.deepEqual(rangeOf([[null]]), [0, 0]);
});
