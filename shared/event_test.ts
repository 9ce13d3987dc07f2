import assert from "node:assert/strict";
import {
  type ActivityEvent,
  activityEventSchema,
  canonicalEvent,
  decode,
  type DecodeResult,
  encode,
  EVENT_FIELDS,
  eventKey,
  isRequired,
  LEGACY_FIELDS,
  REJECT_REASONS,
} from "./event.ts";
import { COMPLETE_EVENT } from "../testing/event_samples.ts";

const NOW = Date.parse("2026-06-01T12:00:00Z");
const bytes = (text: string) => new TextEncoder().encode(text);

function validEvent(overrides: Partial<Record<keyof ActivityEvent, unknown>> = {}) {
  const { properties: _, ...event } = COMPLETE_EVENT;
  return { ...event, ...overrides };
}

const LEGACY = { user_id: "user_7", event_type: "view", timestamp: "2026-06-01T11:30:15.123456" };

const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

function decodeJson(value: unknown): DecodeResult {
  return decode(bytes(JSON.stringify(value)), { nowMs: NOW });
}

function assertRejected(result: DecodeResult, reason: string, detail?: RegExp) {
  assert.equal(result.kind, "rejected", JSON.stringify(result));
  if (result.kind !== "rejected") return;
  assert.equal(result.reason, reason, result.detail);
  if (detail) assert.match(result.detail, detail);
}

Deno.test("a valid event decodes to itself with occurred_at in UTC", () => {
  const result = decodeJson(validEvent({ occurred_at: "2026-06-01T13:59:00.250+02:00" }));
  assert.equal(result.kind, "accepted");
  if (result.kind !== "accepted") return;
  assert.equal(canonicalEvent(result).occurred_at, "2026-06-01T11:59:00.250Z");
  assert.equal(result.occurredAtMs, Date.parse("2026-06-01T11:59:00.250Z"));
  assert.equal(result.legacy, false);
});

Deno.test("encode then decode gives back the same event", () => {
  const event: ActivityEvent = COMPLETE_EVENT;
  const result = decode(encode(event), { nowMs: NOW });
  assert.equal(result.kind, "accepted");
  if (result.kind === "accepted") assert.deepEqual(result.event, event);
  assert.equal(eventKey(event), "user_42");
});

Deno.test("the old prototype's shape is accepted as UTC with a stable derived id", () => {
  const legacy = { user_id: "user_7", event_type: "view", timestamp: "2026-06-01T11:30:15.123456" };
  const first = decodeJson(legacy);
  const second = decodeJson(legacy);
  assert.equal(first.kind, "accepted");
  if (first.kind !== "accepted" || second.kind !== "accepted") return;
  assert.equal(first.legacy, true);
  const [event, again] = [canonicalEvent(first), canonicalEvent(second)];
  assert.equal(event.occurred_at, "2026-06-01T11:30:15.123Z");
  assert.equal(first.event.user_id, "user_7");
  assert.equal(event.session_id, "legacy");
  assert.match(
    event.event_id,
    /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
  );
  assert.equal(event.event_id, again.event_id);
  const other = decodeJson({ ...legacy, user_id: "user_8" });
  assert.notEqual(other.kind === "accepted" && canonicalEvent(other).event_id, event.event_id);
});

Deno.test("the old prototype's numeric user ids become strings", () => {
  const result = decodeJson({
    user_id: 17,
    event_type: "scroll",
    timestamp: "2026-06-01T11:30:15",
  });
  assert.equal(result.kind === "accepted" && result.event.user_id, "17");
});

Deno.test("an empty or null value is rejected as empty", () => {
  assertRejected(
    decode(new Uint8Array(), { nowMs: NOW }),
    "empty",
    /^expected a JSON event, got a value that is empty$/,
  );
  assertRejected(decode(null, { nowMs: NOW }), "empty", /null \(a tombstone\)$/);
});

Deno.test("a value over the size limit is rejected before it is parsed", () => {
  const big = bytes(JSON.stringify(validEvent({ page: "/" + "a".repeat(20_000) })));
  assertRejected(
    decode(big, { nowMs: NOW }),
    "too_large",
    /^expected at most 16384 bytes, got 20\d{3} bytes$/,
  );
  assertRejected(decode(bytes("{}"), { nowMs: NOW, maxBytes: 1 }), "too_large");
});

Deno.test("invalid UTF-8 is rejected as not_utf8", () => {
  assertRejected(
    decode(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), { nowMs: NOW }),
    "not_utf8",
    /^expected UTF-8 text/,
  );
  assertRejected(decode(new Uint8Array([0xc3, 0x28]), { nowMs: NOW }), "not_utf8");
});

Deno.test("text that is not JSON is rejected as not_json, quoting the text (bounded)", () => {
  assertRejected(
    decode(bytes('{"user_id": "a"'), { nowMs: NOW }),
    "not_json",
    /^expected JSON text \(.+\), got "\{\\"user_id\\": \\"a\\""$/,
  );
  const long = decode(bytes("x".repeat(5000)), { nowMs: NOW });
  assertRejected(long, "not_json", /got "x{79}…$/);
});

Deno.test("JSON that is not an object is rejected as not_object, naming and quoting what it was", () => {
  assertRejected(
    decodeJson([1, 2]),
    "not_object",
    /^expected a JSON object, got an array \[1,2\]$/,
  );
  assertRejected(decodeJson("click"), "not_object", /got a string "click"$/);
  assertRejected(decodeJson(42), "not_object", /got a number 42$/);
  assertRejected(decode(bytes("null"), { nowMs: NOW }), "not_object", /got null$/);
});

Deno.test("a version other than 1 is rejected as unsupported_version", () => {
  assertRejected(
    decodeJson(validEvent({ version: 2 })),
    "unsupported_version",
    /^version: expected 1, got 2$/,
  );
  assertRejected(
    decodeJson({ ...validEvent(), version: undefined }),
    "unsupported_version",
    /^version: missing; expected 1 \(or the old prototype's shape/,
  );
});

Deno.test("a schema violation in any field names the field, says what it allows and quotes the value", () => {
  const shapes = [
    { fields: EVENT_FIELDS, valid: validEvent() as Record<string, unknown> },
    { fields: LEGACY_FIELDS, valid: LEGACY as Record<string, unknown> },
  ];
  for (const { fields, valid } of shapes) {
    for (const spec of fields) {
      if (spec.name === "version") continue; // its own reason, above
      const wrong = { ...valid, [spec.name]: [1, "two"] };
      assertRejected(
        decodeJson(wrong),
        "schema_violation",
        new RegExp(`^${spec.name}: expected ${escaped(spec.allowed)}, got \\[1,"two"\\]$`),
      );
      if (!isRequired(spec)) continue;
      const { [spec.name]: _, ...missing } = valid;
      const result = decodeJson(missing);
      if (result.kind === "rejected" && result.reason !== "schema_violation") continue;
      assertRejected(
        result,
        "schema_violation",
        new RegExp(`^${spec.name}: missing; expected ${escaped(spec.allowed)}$`),
      );
    }
  }
});

Deno.test("schema violation details quote the value, bounded, and name keys and entries", () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [validEvent({ event_id: "nope" }), /^event_id: expected a UUID .*, got "nope"$/],
    [validEvent({ user_id: "" }), /^user_id: expected 1-64 characters from .*, got ""$/],
    [validEvent({ user_id: "x".repeat(5000) }), /^user_id: expected .*, got "x{79}…$/],
    [validEvent({ user_id: "a'; DROP TABLE x;--" }), /got "a'; DROP TABLE x;--"$/],
    [validEvent({ user_id: 42 }), /^user_id: expected .*, got 42$/],
    [validEvent({ page: "no-slash" }), /^page: expected a path .*, got "no-slash"$/],
    [
      validEvent({ occurred_at: "2026-06-01T11:59:00" }),
      /^occurred_at: expected an ISO 8601 date-time with an offset .*, got "2026-06-01T11:59:00"$/,
    ],
    [validEvent({ occurred_at: "yesterday" }), /^occurred_at: .*, got "yesterday"$/],
    [
      validEvent({ extra: 1 } as never),
      /^extra: expected no such field \(the fields are version, event_id, .*\), got 1$/,
    ],
    [
      validEvent({ properties: { nested: { a: 1 } } }),
      /^properties\.nested: expected a string of at most 256 characters, .*, got \{"a":1\}$/,
    ],
    [
      validEvent({ properties: { ["k".repeat(65)]: 1 } }),
      /^properties: expected keys of at most 64 characters, got "k{65}"$/,
    ],
    [
      validEvent({ properties: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [i, i])) }),
      /^properties: expected an object of at most 16 properties, got \{"0":0,/,
    ],
    [
      { user_id: "u", event_type: "view", timestamp: "yesterday" },
      /^timestamp: expected an ISO 8601 date-time .* or epoch seconds\/milliseconds .*, got "yesterday"$/,
    ],
  ];
  for (const [input, detail] of cases) {
    const result = decodeJson(input);
    assertRejected(result, "schema_violation", detail);
    if (result.kind === "rejected") assert.ok(result.detail.length <= 400, result.detail);
  }
});

Deno.test("an event type outside the configured set is rejected as unknown_event_type", () => {
  assertRejected(
    decodeJson(validEvent({ event_type: "purchase" })),
    "unknown_event_type",
    /click, view, scroll.*"purchase"/,
  );
  const custom = decode(bytes(JSON.stringify(validEvent({ event_type: "purchase" }))), {
    nowMs: NOW,
    eventTypes: new Set(["purchase"]),
  });
  assert.equal(custom.kind, "accepted");
});

Deno.test("a timestamp beyond the future tolerance is rejected as future_timestamp", () => {
  assertRejected(
    decodeJson(validEvent({ occurred_at: "2026-06-01T12:06:00Z" })),
    "future_timestamp",
    /^occurred_at: expected at most 300 s after the consumer's clock \(2026-06-01T12:00:00.000Z\), got 2026-06-01T12:06:00.000Z$/,
  );
  assertRejected(
    decodeJson(validEvent({ occurred_at: "2999-01-01T00:00:00Z" })),
    "future_timestamp",
  );
  assert.equal(decodeJson(validEvent({ occurred_at: "2026-06-01T12:04:59Z" })).kind, "accepted");
});

Deno.test("a timestamp older than the retention window is rejected as expired_timestamp", () => {
  assertRejected(
    decodeJson(validEvent({ occurred_at: "2026-05-01T11:59:59Z" })),
    "expired_timestamp",
    /^occurred_at: expected within the 30-day retention window \(from 2026-05-02T12:00:00.000Z\), got 2026-05-01T11:59:59.000Z$/,
  );
  assertRejected(
    decodeJson(validEvent({ occurred_at: "1969-12-31T23:59:59Z" })),
    "expired_timestamp",
  );
  assert.equal(decodeJson(validEvent({ occurred_at: "2026-05-02T12:00:01Z" })).kind, "accepted");
});

Deno.test("every reject reason is reachable from a real example", () => {
  const examples: Uint8Array[] = [
    new Uint8Array(),
    new Uint8Array(20_000).fill(0x20),
    new Uint8Array([0xff]),
    bytes("{"),
    bytes("[]"),
    bytes(JSON.stringify(validEvent({ version: 9 }))),
    bytes(JSON.stringify(validEvent({ page: "" }))),
    bytes(JSON.stringify(validEvent({ event_type: "hover" }))),
    bytes(JSON.stringify(validEvent({ occurred_at: "2030-01-01T00:00:00Z" }))),
    bytes(JSON.stringify(validEvent({ occurred_at: "2020-01-01T00:00:00Z" }))),
  ];
  const seen = new Set(examples.map((example) => {
    const result = decode(example, { nowMs: NOW });
    return result.kind === "rejected" ? result.reason : "accepted";
  }));
  assert.deepEqual([...seen].sort(), [...REJECT_REASONS].sort());
});

/** What is wrong first with `bytes`, judged without the decoder, up to where the schema decides. */
function firstProblem(bytes: Uint8Array): string | undefined {
  if (bytes.length === 0) return "empty";
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return "not_utf8";
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return "not_json";
  }
  const isObject = typeof value === "object" && value !== null && !Array.isArray(value);
  return isObject ? undefined : "not_object";
}

Deno.test("random bytes and randomly damaged events are rejected for what is wrong first, never by the decoder failing, and what passes is a valid event", () => {
  let seed = 12345;
  const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const below = (n: number) => Math.floor(random() * n);
  const valid = encode(COMPLETE_EVENT);
  const damaged = (): Uint8Array => {
    const bytes = [...valid];
    const at = below(bytes.length);
    const kind = below(5);
    if (kind === 0) bytes[at] = below(256);
    else if (kind === 1) bytes.splice(at, 1);
    else if (kind === 2) bytes.splice(at, 0, below(256));
    else if (kind === 3) bytes.length = at;
    else return Uint8Array.from(bytes.slice(at, at + 1 + below(4)));
    return Uint8Array.from(bytes);
  };
  const outcomes = new Set<string>();
  for (let i = 0; i < 4000; i++) {
    const input = i % 2 === 0
      ? Uint8Array.from({ length: below(64) }, () => below(256))
      : damaged();
    const result = decode(input, { nowMs: NOW });
    const shown = `${JSON.stringify([...input])} -> ${JSON.stringify(result)}`;
    const expected = firstProblem(input);
    if (result.kind === "rejected") {
      outcomes.add(result.reason);
      assert.ok(REJECT_REASONS.includes(result.reason), shown);
      assert.doesNotMatch(result.detail, /unexpected decoder failure/, shown);
      if (expected) assert.equal(result.reason, expected, shown);
      else assert.ok(!["empty", "not_utf8", "not_json", "not_object"].includes(result.reason));
    } else {
      outcomes.add("accepted");
      assert.equal(expected, undefined, shown);
      const event = canonicalEvent(result);
      assert.ok(activityEventSchema.safeParse(event).success, shown);
      const again = decode(encode(event), { nowMs: NOW });
      assert.deepEqual(again.kind === "accepted" && again.event, event, shown);
    }
  }
  // The damage reached every stage: bytes, text, JSON, shape, the schema, and past it.
  for (const outcome of ["accepted", "not_utf8", "not_json", "not_object", "schema_violation"]) {
    assert.ok(outcomes.has(outcome), `no input ended as ${outcome}: ${[...outcomes]}`);
  }
});
