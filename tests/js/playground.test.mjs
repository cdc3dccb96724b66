import { test } from "node:test";
import assert from "node:assert/strict";
import { scrollBy } from "../../realtime_widgets/widgets/playground.js";

test("the playground scrolls to the scroller's top only when its top is not in view", () => {
  // Run All left the notebook at its last cell: the playground's top is 1636 px above the view.
  assert.equal(scrollBy(-1545, 91, 647), -1636);
  assert.equal(scrollBy(900, 91, 647), 809); // below the visible area
  assert.equal(scrollBy(91, 91, 647), 0); // already at the top: no jump
  assert.equal(scrollBy(91 + 200, 91, 647), 0); // in the upper third: left alone
  assert.equal(scrollBy(91 + 300, 91, 647), 300); // lower down: brought up
});
