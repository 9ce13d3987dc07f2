import assert from "node:assert/strict";
import { canonicalEvent, decode } from "./event.ts";
import {
  EPOCH_LIMIT,
  EPOCH_MILLISECONDS_FROM,
  legacyEventOf,
  legacyEventSchema,
  legacyTimestampMs,
  readLegacyFast,
} from "./event_legacy.ts";

const NOW = Date.parse("2026-06-01T12:00:00Z");
const AT = "2026-06-01T11:30:15.000Z";

function decodeLegacy(timestamp: unknown) {
  const text = JSON.stringify({ user_id: "user_7", event_type: "view", timestamp });
  return decode(new TextEncoder().encode(text), { nowMs: NOW });
}

/** Python's ways of writing 2026-06-01 11:30:15(.123456) UTC, and the instant each means. */
const FORMS: [string, unknown, string][] = [
  ["isoformat()", "2026-06-01T11:30:15", AT],
  ["isoformat() with microseconds", "2026-06-01T11:30:15.123456", "2026-06-01T11:30:15.123Z"],
  ["isoformat() of an aware UTC time", "2026-06-01T11:30:15+00:00", AT],
  [
    "isoformat() with another offset",
    "2026-06-01T13:30:15.123456+02:00",
    "2026-06-01T11:30:15.123Z",
  ],
  ["an ISO time with Z", "2026-06-01T11:30:15Z", AT],
  ["isoformat(timespec='minutes')", "2026-06-01T11:30", "2026-06-01T11:30:00.000Z"],
  ["str()", "2026-06-01 11:30:15", AT],
  ["str() with microseconds", "2026-06-01 11:30:15.123456", "2026-06-01T11:30:15.123Z"],
  ["str() of an aware UTC time", "2026-06-01 11:30:15+00:00", AT],
  ["str() with another offset", "2026-06-01 06:30:15.500000-05:00", "2026-06-01T11:30:15.500Z"],
  ["epoch seconds, int(time.time())", 1780313415, AT],
  ["epoch seconds, time.time()", 1780313415.123456, "2026-06-01T11:30:15.123Z"],
  ["epoch seconds with 3 decimals", 1780313415.123, "2026-06-01T11:30:15.123Z"],
  ["epoch milliseconds, int(time.time() * 1000)", 1780313415123, "2026-06-01T11:30:15.123Z"],
  ["epoch milliseconds, time.time() * 1000", 1780313415123.456, "2026-06-01T11:30:15.123Z"],
];

Deno.test("every way Python writes the old prototype's timestamp is counted at its instant (UTC if no offset)", () => {
  for (const [form, timestamp, expected] of FORMS) {
    const result = decodeLegacy(timestamp);
    assert.equal(result.kind, "accepted", `${form}: ${JSON.stringify(result)}`);
    if (result.kind !== "accepted") continue;
    assert.equal(canonicalEvent(result).occurred_at, expected, form);
    assert.equal(result.occurredAtMs, Date.parse(expected), form);
    assert.equal(result.legacy, true);
  }
});

Deno.test("epoch values below 1e11 are seconds and from 1e11 milliseconds, unambiguous from 1973 to 5138", () => {
  assert.equal(EPOCH_MILLISECONDS_FROM, 1e11);
  // The rule's range: 1e11 ms is 1973-03-03, 1e11 s is 5138-11-16.
  assert.equal(new Date(1e11).toISOString(), "1973-03-03T09:46:40.000Z");
  assert.equal(new Date(1e11 * 1000).toISOString(), "5138-11-16T09:46:40.000Z");
  assert.equal(legacyTimestampMs(1e11 - 1), (1e11 - 1) * 1000, "just below: seconds");
  assert.equal(legacyTimestampMs(1e11), 1e11, "from 1e11: milliseconds");
  assert.equal(legacyTimestampMs(EPOCH_LIMIT - 1), EPOCH_LIMIT - 1);
  // Any instant in the range reads back the same from its seconds and from its milliseconds.
  for (const iso of ["1973-03-03T09:46:40Z", "2001-09-09T01:46:40Z", "2026-06-01T11:30:15Z"]) {
    const ms = Date.parse(iso);
    assert.equal(legacyTimestampMs(ms / 1000), ms, `${iso} in seconds`);
    assert.equal(legacyTimestampMs(ms), ms, `${iso} in milliseconds`);
  }
  assert.equal(legacyTimestampMs(0), 0);
});

Deno.test("timestamps that are none of the accepted forms are refused, with what is accepted", () => {
  const refused: unknown[] = [
    "yesterday",
    "1780313415", // a number as text
    "2026-06-01T11:30:15+0000",
    "2026-06-01  11:30:15",
    "2026-06-01_11:30:15",
    "2026-02-30 00:00:00",
    "2026-06-01 24:00:00",
    "",
    -1,
    EPOCH_LIMIT, // microseconds since 1970 are past it
    1780313415123456,
    true,
    null,
    { seconds: 1780313415 },
  ];
  for (const timestamp of refused) {
    assert.equal(legacyTimestampMs(timestamp), undefined, JSON.stringify(timestamp));
    const result = decodeLegacy(timestamp);
    assert.equal(result.kind, "rejected", JSON.stringify(timestamp));
    if (result.kind !== "rejected") continue;
    assert.equal(result.reason, "schema_violation");
    assert.match(
      result.detail,
      /^timestamp: expected an ISO 8601 date-time .* or epoch seconds\/milliseconds .*, got /,
    );
    assert.ok(result.detail.endsWith(`got ${JSON.stringify(timestamp)}`), result.detail);
  }
});

Deno.test("an old-prototype time outside the window is rejected naming its timestamp field", () => {
  const future = decodeLegacy(1780313415 + 86_400);
  assert.equal(future.kind === "rejected" && future.reason, "future_timestamp");
  assert.match(future.kind === "rejected" ? future.detail : "", /^timestamp: expected at most/);
  const old = decodeLegacy("2020-01-01 00:00:00");
  assert.equal(old.kind === "rejected" && old.reason, "expired_timestamp");
});

Deno.test("the derived event id is stable per message and differs between timestamps", () => {
  const ids = FORMS.map(([, timestamp]) => {
    const result = decodeLegacy(timestamp);
    return result.kind === "accepted" ? canonicalEvent(result).event_id : "";
  });
  assert.deepEqual(
    ids,
    FORMS.map(([, timestamp]) => {
      const again = decodeLegacy(timestamp);
      return again.kind === "accepted" ? canonicalEvent(again).event_id : "";
    }),
  );
  assert.equal(new Set(ids).size, ids.length);
  for (const id of ids) {
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  }
});

Deno.test("the old prototype's fast path takes exactly what its schema takes, and builds the same event", () => {
  const users = ["u_1", "user@example.com", "", "has space", 42, 0, -1, 1.5, 2 ** 60, null];
  const types = ["click", "Click", "", 7];
  const times = [
    "2026-06-01T10:00:00",
    "2026-06-01 10:00:00.123456",
    "2026-06-01T10:00:00+02:00",
    "2026-06-01T10:00:00Z",
    1780308000,
    1780308000.5,
    1780308000000,
    1e15,
    -5,
    "yesterday",
    "2026-13-01T10:00:00",
    null,
  ];
  let taken = 0;
  for (const user_id of users) {
    for (const event_type of types) {
      for (const timestamp of times) {
        for (const extra of [{}, { page: "/" }]) {
          const record = { user_id, event_type, timestamp, ...extra };
          const fast = readLegacyFast({ ...record });
          const schema = legacyEventSchema.safeParse(record);
          assert.equal(fast !== undefined, schema.success, JSON.stringify(record));
          if (fast === undefined || !schema.success) continue;
          taken++;
          assert.deepEqual(fast, legacyEventOf(schema.data));
        }
      }
    }
  }
  assert.equal(taken, 4 * 1 * 7, "4 valid users, 1 valid type, 7 valid times, no extra key");
  const partial = readLegacyFast({ user_id: "u", event_type: "click" });
  assert.equal(partial, undefined, "a missing field is the schema's to judge");
});
