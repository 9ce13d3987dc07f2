import assert from "node:assert/strict";
import { type ActivityEvent, encode } from "@activity/shared";
import { createIsoFormatter, eventJson, eventJsonWith, type EventParts } from "./event_json.ts";

const PARTS: EventParts = {
  eventId: "0f8fad5b-d9cb-469f-a165-70867728950e",
  userId: "user_17",
  sessionId: "s_00ff00ff00ff00ff",
  eventType: "scroll",
  occurredAt: "2026-06-01T11:59:00.250Z",
  page: "/products/3",
  properties: `,"properties":{"depth":50}`,
};

function asEvent(parts: EventParts, properties?: ActivityEvent["properties"]): ActivityEvent {
  return {
    version: 1,
    event_id: parts.eventId,
    user_id: parts.userId,
    session_id: parts.sessionId,
    event_type: parts.eventType,
    occurred_at: parts.occurredAt,
    page: parts.page,
    ...(properties ? { properties } : {}),
  };
}

Deno.test("the event JSON is byte for byte what the shared encode writes", () => {
  const text = new TextEncoder().encode(eventJson(PARTS));
  assert.deepEqual(text, encode(asEvent(PARTS, { depth: 50 })));
  const bare = { ...PARTS, properties: "" };
  assert.deepEqual(new TextEncoder().encode(eventJson(bare)), encode(asEvent(bare)));
});

Deno.test("version and event_id can be replaced by raw JSON values", () => {
  const parsed = JSON.parse(eventJsonWith(PARTS, { version: "2", eventId: "12345" }));
  assert.equal(parsed.version, 2);
  assert.equal(parsed.event_id, 12345);
  assert.equal(parsed.user_id, "user_17");
  assert.deepEqual(JSON.parse(eventJsonWith(PARTS, {})), JSON.parse(eventJson(PARTS)));
});

Deno.test("the ISO formatter equals toISOString, across minutes, hours, days and years", () => {
  const iso = createIsoFormatter();
  const starts = [
    Date.parse("2026-06-01T11:59:58.990Z"),
    Date.parse("2026-12-31T23:59:59.000Z"),
    Date.parse("1999-02-28T23:59:30.000Z"),
    0,
  ];
  for (const start of starts) {
    for (let ms = start; ms < start + 130_000; ms += 7) {
      assert.equal(iso(ms), new Date(ms).toISOString());
    }
  }
  // Going back in time (events of another user, or a new run) still formats correctly.
  for (const ms of [starts[0], starts[2], starts[0] + 61_000, starts[0] - 1]) {
    assert.equal(iso(ms), new Date(ms).toISOString());
  }
});
