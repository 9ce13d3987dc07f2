import assert from "node:assert/strict";
import { type ActivityEvent, encode } from "@activity/shared";
import {
  aggregateBatch,
  aggregateEvents,
  emptyAggregate,
  type SourceMessage,
} from "./aggregate.ts";

const NOW = Date.parse("2026-06-01T12:00:00Z");

function event(user: string, type: string, at: string): ActivityEvent {
  return {
    version: 1,
    event_id: "01890a5d-ac96-774b-bcce-b302099a8057",
    user_id: user,
    session_id: "s",
    event_type: type,
    occurred_at: at,
    page: "/",
  };
}

function messages(values: (Uint8Array | null)[], timestampMs = NOW): SourceMessage[] {
  return values.map((value, i) => ({
    offset: String(100 + i),
    timestamp: String(timestampMs),
    key: null,
    value,
  }));
}

Deno.test("valid events are counted per event minute, type and user", () => {
  const aggregate = aggregateBatch({
    topic: "t",
    partition: 2,
    messages: messages([
      encode(event("a", "click", "2026-06-01T11:59:59.999Z")),
      encode(event("a", "click", "2026-06-01T11:59:00.000Z")),
      encode(event("a", "view", "2026-06-01T11:59:30.000Z")),
      encode(event("b", "click", "2026-06-01T11:58:59.999Z")),
    ]),
  }, { decode: { nowMs: NOW } });
  const minute = (iso: string) => Date.parse(iso);
  assert.deepEqual(
    aggregate.counts,
    new Map([
      [
        minute("2026-06-01T11:59:00Z"),
        new Map([["click", new Map([["a", 2]])], ["view", new Map([["a", 1]])]]),
      ],
      [minute("2026-06-01T11:58:00Z"), new Map([["click", new Map([["b", 1]])]])],
    ]),
  );
  assert.equal(aggregate.accepted, 4);
  assert.equal(aggregate.rejected, 0);
  assert.equal(aggregateEvents(aggregate), 4);
});

Deno.test("a rejected message keeps its reason, detail, origin and original bytes", () => {
  const garbage = Uint8Array.from([0xff, 0xfe]);
  const aggregate = aggregateBatch(
    { topic: "t", partition: 3, messages: messages([garbage, null]) },
    { decode: { nowMs: NOW } },
  );
  assert.equal(aggregate.rejected, 2);
  assert.equal(aggregate.accepted, 0);
  assert.deepEqual(aggregate.rejections.map((r) => [r.reason, r.partition, r.offset, r.value]), [
    ["not_utf8", 3, "100", garbage],
    ["empty", 3, "101", null],
  ]);
  assert.deepEqual(aggregate.rejectedByReason, new Map([["not_utf8", 1], ["empty", 1]]));
  assert.equal(aggregate.rejectedBytes, 2);
  assert.equal(aggregate.counts.size, 0);
});

Deno.test("batches add up into one aggregate, with bytes, late and legacy events", () => {
  const into = emptyAggregate();
  const legacy = new TextEncoder().encode(
    JSON.stringify({ user_id: 7, event_type: "view", timestamp: "2026-06-01T11:50:00" }),
  );
  const late = encode(event("c", "scroll", "2026-06-01T11:40:00.000Z"));
  aggregateBatch({ topic: "t", partition: 0, messages: messages([legacy]) }, {
    decode: { nowMs: NOW },
    into,
  });
  aggregateBatch({ topic: "t", partition: 1, messages: messages([late, late]) }, {
    decode: { nowMs: NOW },
    into,
  });
  assert.equal(into.accepted, 3);
  assert.equal(into.legacy, 1);
  assert.equal(into.late, 3, "all three reached Kafka over a minute after they occurred");
  assert.equal(into.bytes, legacy.length + 2 * late.length);
  assert.equal(into.counts.get(Date.parse("2026-06-01T11:50:00Z"))?.get("view")?.get("7"), 1);
  assert.equal(into.counts.get(Date.parse("2026-06-01T11:40:00Z"))?.get("scroll")?.get("c"), 2);
  assert.equal([...into.eventsPerTenthSecond.values()].reduce((a, b) => a + b, 0), 3);
  // The old prototype's shape has no session and no page: only the canonical events are there.
  assert.deepEqual([...into.analytics.sessions.keys()], ["c"]);
  assert.equal(into.analytics.sessions.get("c")?.get("s")?.events, 2);
  assert.equal(into.analytics.pageViews.size, 0, "a legacy view is no page view");
});

Deno.test("the configured types, tolerance and retention decide what is counted", () => {
  const aggregate = aggregateBatch({
    topic: "t",
    partition: 0,
    messages: messages([
      encode(event("a", "purchase", "2026-06-01T11:59:00.000Z")),
      encode(event("a", "click", "2026-06-01T12:00:30.000Z")),
      encode(event("a", "click", "2026-05-31T11:00:00.000Z")),
    ]),
  }, {
    decode: {
      nowMs: NOW,
      eventTypes: new Set(["click"]),
      futureToleranceMs: 10_000,
      maxAgeMs: 86_400_000,
    },
  });
  assert.deepEqual(aggregate.rejections.map((r) => r.reason), [
    "unknown_event_type",
    "future_timestamp",
    "expired_timestamp",
  ]);
});
