import { test } from "node:test";
import assert from "node:assert/strict";
import { niceTicks, domains, stepLine, groupPoints, envelopePath, formatMetric, difference } from "../../realtime_widgets/vadlab/suite_lab.js";

test("ticks are round steps covering the range", () => {
  assert.deepEqual(niceTicks(0, 1300, 6), [0, 500, 1000]);
  assert.deepEqual(niceTicks(0, 112, 5), [0, 50, 100]);
  assert.deepEqual(niceTicks(0, 5.6, 5), [0, 2, 4]);
  assert.deepEqual(niceTicks(3, 3), [3]); // an empty range: one tick
});

test("the plot's domains start at zero and hold every mark, the reference included", () => {
  const d = domains([{ x: 530, y: 0.71 }, { x: 1143, y: 0.05 }, { x: null, y: 0.2 }]);
  assert.deepEqual(d.x[0], 0);
  assert.ok(d.x[1] > 1143 && d.x[1] < 1300);
  assert.ok(d.y[1] > 0.71 && d.y[1] < 0.85);
  assert.deepEqual(domains([]).y, [0, 0.05 * 1.12]); // at least the 5 % budget is in view
});

test("the front is drawn as a staircase through its points", () => {
  assert.deepEqual(stepLine([{ x: 300, y: 1 }, { x: 500, y: 0.7 }, { x: 1300, y: 0 }]), [
    [300, 1], [500, 1], [500, 0.7], [1300, 0.7], [1300, 0],
  ]);
  assert.deepEqual(stepLine([]), []);
});

test("an envelope column reaches the loudest sample under it, mirrored for the agent", () => {
  const env = Int16Array.from([-16384, 8192, 0, 0, -100, 32767]); // 3 bins of [min, max]
  const up = envelopePath(env, 0, 2, 2, 50, 40);
  assert.equal(up, "M0.5,50V30.0M1.5,50V49.5"); // 16384/32768 of 40 px up; silence: 0.5 px
  const down = envelopePath(env, 2, 1, 1, 50, 40, -1); // the third bin only, below the middle
  assert.equal(down, "M0.5,50V90.0");
  assert.equal(envelopePath(env, 0, 0, 10, 50, 40), "");
});

test("metrics read as % for rates, ms for times; B - A is signed, missing stays missing", () => {
  assert.equal(formatMetric("false_cutoff_rate", 0.7142857), "71.4 %");
  assert.equal(formatMetric("eot_latency_ms_p50", 1340), "1340 ms");
  assert.equal(formatMetric("eot_latency_ms_p50", 810, true), "+810 ms");
  assert.equal(formatMetric("false_cutoff_rate", -0.714, true), "-71.4 %");
  assert.equal(formatMetric("n_hold", 7), "7");
  assert.equal(formatMetric("fragmentation", 1.4545), "1.45");
  assert.equal(formatMetric("talk_over_rate", null), "–");
  assert.equal(difference(530, 1340), 810);
  assert.equal(difference(null, 2), null);
});

test("points with the same values are one marker, standing for the one on the front", () => {
  /** @param {number} row @param {number} x @param {number} y @param {boolean} front */
  const pt = (row, x, y, front) => ({ row, label: `r${row}`, x, y, front, values: {} });
  const groups = groupPoints([pt(0, 530, 0.7, false), pt(1, 530, 0.7, true), pt(2, 900, 0.3, false), pt(3, 330, 1, true)]);
  assert.deepEqual(groups.map((g) => [g.shown.row, g.all.map((p) => p.row)]), [
    [2, [2]], [1, [0, 1]], [3, [3]], // off the front first; the front's markers on top
  ]);
});
