import { test } from "node:test";
import assert from "node:assert/strict";
import { describe, duration, shares } from "../../realtime_widgets/evals/progress.js";

const STATE = {
  total: 4, done: 1, failed: 1, running: 1, spend_usd: 0.01, estimate_usd: 0.05, eta_s: 10, last: "a",
};

test("describe says what SweepProgress.summary says", () => {
  assert.equal(
    describe(STATE),
    "1/4 done, 1 failed, 1 running, ETA 10 s, $0.0100 spent of ~$0.0500 estimated",
  );
  assert.equal(
    describe({ ...STATE, eta_s: null, estimate_usd: null }),
    "1/4 done, 1 failed, 1 running, ETA n/a, $0.0100 spent",
  );
});

test("duration reads in s, min and h", () => {
  assert.equal(duration(59.4), "59 s");
  assert.equal(duration(125), "2 min 5 s");
  assert.equal(duration(3 * 3600 + 61), "3 h 1 min");
  assert.equal(duration(-3), "0 s");
});

test("shares are percentages of the total, none for an empty run", () => {
  assert.deepEqual(shares(STATE), [25, 25, 25]);
  assert.deepEqual(shares({ ...STATE, total: 0 }), [0, 0, 0]);
});
