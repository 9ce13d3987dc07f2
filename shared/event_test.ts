import assert from "node:assert/strict";
import {
  type ActivityEvent,
  activityEventSchema,
  decode,
  type DecodeResult,
  encode,
  eventKey,
  REJECT_REASONS,
} from "./event.ts";

const NOW = Date.parse("2026-06-01T12:00:00Z");
const bytes = (text: string) => new TextEncoder().encode(text);

function validEvent(overrides: Partial<Record<keyof ActivityEvent, unknown>> = {}) {
  return {
    version: 1,
    event_id: "01890a5d-ac96-774b-bcce-b302099a8057",
    user_id: "user_42",
    session_id: "s-1",
    event_type: "click",
    occurred_at: "2026-06-01T11:59:00.250Z",
    page: "/products/7",
    ...overrides,
  };
}

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
  assert.equal(result.event.occurred_at, "2026-06-01T11:59:00.250Z");
  assert.equal(result.occurredAtMs, Date.parse("2026-06-01T11:59:00.250Z"));
  assert.equal(result.legacy, false);
});

Deno.test("encode then decode gives back the same event", () => {
  const event = {
    ...validEvent(),
    properties: { button: "buy", price: 9.5, ok: true },
  } as ActivityEvent;
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
  assert.equal(first.event.occurred_at, "2026-06-01T11:30:15.123Z");
  assert.equal(first.event.user_id, "user_7");
  assert.equal(first.event.session_id, "legacy");
  assert.match(
    first.event.event_id,
    /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
  );
  assert.equal(first.event.event_id, second.event.event_id);
  const other = decodeJson({ ...legacy, user_id: "user_8" });
  assert.notEqual(other.kind === "accepted" && other.event.event_id, first.event.event_id);
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
  assertRejected(decode(new Uint8Array(), { nowMs: NOW }), "empty", /empty/);
  assertRejected(decode(null, { nowMs: NOW }), "empty", /null/);
});

Deno.test("a value over the size limit is rejected before it is parsed", () => {
  const big = bytes(JSON.stringify(validEvent({ page: "/" + "a".repeat(20_000) })));
  assertRejected(decode(big, { nowMs: NOW }), "too_large", /at most 16384/);
  assertRejected(decode(bytes("{}"), { nowMs: NOW, maxBytes: 1 }), "too_large");
});

Deno.test("invalid UTF-8 is rejected as not_utf8", () => {
  assertRejected(decode(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), { nowMs: NOW }), "not_utf8");
  assertRejected(decode(new Uint8Array([0xc3, 0x28]), { nowMs: NOW }), "not_utf8");
});

Deno.test("text that is not JSON is rejected as not_json", () => {
  assertRejected(decode(bytes('{"user_id": "a"'), { nowMs: NOW }), "not_json");
  assertRejected(decode(bytes("hello"), { nowMs: NOW }), "not_json");
});

Deno.test("JSON that is not an object is rejected as not_object, naming what it was", () => {
  assertRejected(decodeJson([1, 2]), "not_object", /an array/);
  assertRejected(decodeJson("click"), "not_object", /a string/);
  assertRejected(decodeJson(42), "not_object", /a number/);
  assertRejected(decode(bytes("null"), { nowMs: NOW }), "not_object", /null/);
});

Deno.test("a version other than 1 is rejected as unsupported_version", () => {
  assertRejected(
    decodeJson(validEvent({ version: 2 })),
    "unsupported_version",
    /current value is 2/,
  );
  assertRejected(
    decodeJson({ ...validEvent(), version: undefined }),
    "unsupported_version",
    /missing/,
  );
});

Deno.test("schema violations name the field path", () => {
  assertRejected(decodeJson(validEvent({ event_id: "nope" })), "schema_violation", /^event_id:/);
  assertRejected(decodeJson(validEvent({ user_id: "" })), "schema_violation", /^user_id:/);
  assertRejected(
    decodeJson(validEvent({ user_id: "x".repeat(65) })),
    "schema_violation",
    /^user_id:/,
  );
  assertRejected(
    decodeJson(validEvent({ user_id: "a'; DROP TABLE x;--" })),
    "schema_violation",
    /^user_id/,
  );
  assertRejected(decodeJson(validEvent({ user_id: 42 })), "schema_violation", /^user_id:/);
  assertRejected(decodeJson(validEvent({ page: "no-slash" })), "schema_violation", /^page:/);
  assertRejected(
    decodeJson(validEvent({ occurred_at: "2026-06-01T11:59:00" })),
    "schema_violation",
    /^occurred_at:/,
  );
  assertRejected(
    decodeJson(validEvent({ occurred_at: "yesterday" })),
    "schema_violation",
    /^occurred_at:/,
  );
  assertRejected(decodeJson(validEvent({ extra: 1 } as never)), "schema_violation", /extra/);
  assertRejected(
    decodeJson(validEvent({ properties: { nested: { a: 1 } } })),
    "schema_violation",
    /^properties\.nested/,
  );
  const { session_id: _, ...missing } = validEvent();
  assertRejected(decodeJson(missing), "schema_violation", /^session_id:/);
  assertRejected(
    decodeJson({ user_id: "u", event_type: "view", timestamp: "not a date" }),
    "schema_violation",
    /^timestamp:/,
  );
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
    /30-day/,
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

Deno.test("decode never throws on random bytes", () => {
  let seed = 12345;
  const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (let i = 0; i < 2000; i++) {
    const length = Math.floor(random() * 64);
    const input = Uint8Array.from({ length }, () => Math.floor(random() * 256));
    const result = decode(input, { nowMs: NOW });
    assert.ok(result.kind === "rejected" || result.kind === "accepted");
  }
});

Deno.test("decode accepts exactly what the schema accepts and builds the same event", () => {
  // decode has a hand-written fast path for plainly valid events; the schema must stay the truth.
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const odd: Record<string, readonly unknown[]> = {
    event_id: [
      "01890a5d-ac96-774b-bcce-b302099a8057",
      "01890A5D-AC96-774B-BCCE-B302099A8057",
      "00000000-0000-0000-0000-000000000000",
      "01890a5d-ac96-974b-bcce-b302099a8057",
      "01890a5d-ac96-774b-ccce-b302099a8057",
      "01890a5dac96774bbcceb302099a8057",
      "",
      7,
      null,
    ],
    user_id: ["u", "x".repeat(64), "x".repeat(65), "a b", "é", "a@b.c:d-e_f", 42, "", null],
    session_id: ["s", "x".repeat(64), "x".repeat(65), "s\n", 1.5, true],
    event_type: ["click", "view", "scroll", "Click", "c".repeat(32), "c".repeat(33), "9a", 3],
    occurred_at: [
      "2026-06-01T11:59:00.250Z",
      "2026-06-01T11:59:00z",
      "2026-06-01T13:59+02:00",
      "2026-06-01T11:59:00.123456789-14:00",
      "2026-06-01T11:59:00+24:00",
      "2026-06-01T11:59:00",
      "2024-02-29T00:00:00Z",
      "2026-02-29T00:00:00Z",
      "2026-06-01 11:59:00Z",
      1780000000000,
    ],
    page: ["/", "/a/b?c=d#e", "/" + "p".repeat(255), "/" + "p".repeat(256), "no-slash", "/a b", ""],
    properties: [
      {},
      { a: "x".repeat(256), b: 1, c: true, d: null },
      { a: "x".repeat(257) },
      { ["k".repeat(64)]: 1 },
      { ["k".repeat(65)]: 1 },
      Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, i])),
      Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, i])),
      { nested: { a: 1 } },
      { list: [1] },
      [],
      "text",
      null,
    ],
  };
  let accepted = 0;
  for (let i = 0; i < 3000; i++) {
    const input: Record<string, unknown> = validEvent();
    for (const [field, values] of Object.entries(odd)) {
      if (random() < 0.25) input[field] = pick(values);
    }
    if (random() < 0.05) delete input[pick(Object.keys(odd))];
    if (random() < 0.05) input.extra = 1;
    const text = JSON.stringify(input);
    const parsed = activityEventSchema.safeParse(JSON.parse(text));
    const result = decode(bytes(text), {
      nowMs: NOW,
      eventTypes: new Set(["click", "view", "scroll", "c".repeat(32)]),
      futureToleranceMs: 1e15,
      maxAgeMs: 1e15,
    });
    if (parsed.success) {
      assert.equal(result.kind, "accepted", `${text} -> ${JSON.stringify(result)}`);
      if (result.kind === "accepted") assert.deepStrictEqual(result.event, parsed.data);
      accepted++;
    } else {
      assert.deepEqual(
        result.kind === "rejected" && result.reason,
        "schema_violation",
        `${text} -> ${JSON.stringify(result)}`,
      );
    }
  }
  assert.ok(accepted > 100 && accepted < 2900, `accepted ${accepted} of 3000`);
});
