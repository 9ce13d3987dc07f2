import assert from "node:assert/strict";
import { decode, REJECT_REASONS } from "@activity/shared";
import { eventJson, eventParts } from "./event_json.ts";
import { MALFORMED_KINDS, malformedValue, TIMESTAMP_SHIFT_MS } from "./malformed.ts";
import { Random } from "./random.ts";

const AT = Date.parse("2026-06-01T12:00:00.000Z");
const PARTS = eventParts({
  event_id: "0f8fad5b-d9cb-469f-a165-70867728950e",
  user_id: "user_17",
  session_id: "s_00ff00ff00ff00ff",
  event_type: "click",
  occurred_at: new Date(AT).toISOString(),
  page: "/cart",
  properties: `{"target":"button"}`,
});

function bytes(value: string | Uint8Array): Uint8Array {
  return typeof value === "string" ? new TextEncoder().encode(value) : value;
}

Deno.test("every rejection reason the shared decoder knows has an injected kind", () => {
  assert.deepEqual([...MALFORMED_KINDS].sort(), [...REJECT_REASONS].sort());
});

Deno.test("each injected kind is rejected by the shared decode for its intended reason", () => {
  const random = new Random(5);
  // The consumer's clock may be the event's own time, or days away from it (backfills).
  for (const nowMs of [AT, AT + 20 * 86_400_000, AT - 20 * 86_400_000, AT + 60_000]) {
    for (const reason of MALFORMED_KINDS) {
      const value = malformedValue(reason, PARTS, AT, random);
      const result = decode(bytes(value), {
        nowMs,
        eventTypes: new Set(["view", "scroll", "click"]),
      });
      assert.equal(result.kind, "rejected", `${reason}: ${JSON.stringify(result)}`);
      if (result.kind === "rejected") assert.equal(result.reason, reason, result.detail);
    }
  }
});

Deno.test("the event they are built from is accepted, so each injected change alone causes its rejection", () => {
  const result = decode(bytes(eventJson(PARTS)), {
    nowMs: AT,
    eventTypes: new Set(["view", "scroll", "click"]),
  });
  assert.equal(result.kind, "accepted");
});

Deno.test("timestamps are moved far enough to fail the default future and retention limits", () => {
  assert.ok(TIMESTAMP_SHIFT_MS > 30 * 86_400_000 + 5 * 60_000);
  const future = JSON.parse(malformedValue("future_timestamp", PARTS, AT, new Random(1)) as string);
  assert.equal(Date.parse(future.occurred_at), AT + TIMESTAMP_SHIFT_MS);
});

Deno.test("garbage bytes differ from message to message but are reproducible", () => {
  const a = malformedValue("not_utf8", PARTS, AT, new Random(3));
  const b = malformedValue("not_utf8", PARTS, AT, new Random(3));
  const random = new Random(3);
  malformedValue("not_utf8", PARTS, AT, random);
  const c = malformedValue("not_utf8", PARTS, AT, random);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});
