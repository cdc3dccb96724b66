import { test } from "node:test";
import assert from "node:assert/strict";
import { decision, describe } from "../../realtime_widgets/widgets/mcp_approvals.js";

test("a request is named server.tool(arguments), long arguments cut", () => {
  const r = { id: "mcpr_1", server_label: "docs", name: "search", arguments: '{"q": "x"}', sent: false };
  assert.equal(describe(r), 'docs.search({"q": "x"})');
  const long = describe({ ...r, arguments: "a".repeat(500) }, 20);
  assert.equal(long, `docs.search(${"a".repeat(19)}\u2026)`);
});

test("the button's message carries the decision and a reason only when one was typed", () => {
  assert.deepEqual(decision("mcpr_1", true, "  "), { decide: "mcpr_1", approve: true });
  assert.deepEqual(decision("mcpr_1", false, " not now "), { decide: "mcpr_1", approve: false, reason: "not now" });
});
