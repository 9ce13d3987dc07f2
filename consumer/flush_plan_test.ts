import assert from "node:assert/strict";
import { emptyAggregate } from "./aggregate.ts";
import { planEvents, planFlush } from "./flush_plan.ts";

Deno.test("a plan lays counts out as columns and totals per minute and type in sorted order", () => {
  const aggregate = emptyAggregate();
  const m1 = Date.parse("2026-06-01T12:01:00Z");
  const m0 = Date.parse("2026-06-01T12:00:00Z");
  aggregate.counts.set(m1, new Map([["view", new Map([["a", 2], ["b", 1]])]]));
  aggregate.counts.set(
    m0,
    new Map([["view", new Map([["a", 1]])], ["click", new Map([["c", 4]])]]),
  );
  aggregate.accepted = 8;
  aggregate.rejected = 1;
  aggregate.rejectedByReason.set("not_json", 1).set("empty", 2);
  const ranges = [{ partition: 0, expected: "5", next: "14", highWatermark: "20", gaps: [] }];
  const plan = planFlush(aggregate, ranges, { group: "g", topic: "t", topicId: null });
  assert.deepEqual(plan.counts, {
    users: ["a", "b", "a", "c"],
    minutes: [m1 / 1000, m1 / 1000, m0 / 1000, m0 / 1000],
    types: ["view", "view", "view", "click"],
    counts: [2, 1, 1, 4],
  });
  assert.deepEqual(plan.typeMinutes, {
    minutes: [m0 / 1000, m0 / 1000, m1 / 1000],
    types: ["click", "view", "view"],
    counts: [4, 1, 3],
  });
  assert.deepEqual(plan.rejectedByReason, [["empty", 2], ["not_json", 1]]);
  assert.deepEqual(plan.sessions.users, [], "sessions come from the session aggregate");
  assert.deepEqual(plan.pageViews, { minutes: [], pages: [], views: [] });
  assert.equal(plan.ranges, ranges);
  assert.equal(planEvents(plan), 9);
  const total = plan.counts.counts.reduce((a, b) => a + b, 0);
  assert.equal(total, plan.typeMinutes.counts.reduce((a, b) => a + b, 0));
});
