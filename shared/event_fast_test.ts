import assert from "node:assert/strict";
import { activityEventSchema, decode, EVENT_FIELDS, type EventFieldName } from "./event.ts";
import { readCanonical } from "./event_fast.ts";
import { COMPLETE_EVENT } from "../testing/event_samples.ts";

const NOW = Date.parse("2026-06-01T12:00:00Z");
const bytes = (text: string) => new TextEncoder().encode(text);

const FULL = COMPLETE_EVENT;

/** Valid and invalid values of every field; the generated inputs below mix them. */
const ODD: Record<EventFieldName, readonly unknown[]> = {
  version: [1, 2, "1", 1.0, null],
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
    "2026-02-30T00:00:00.000Z",
    "2026-06-01 11:59:00Z",
    "0000-01-01T00:00:00.000Z",
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

Deno.test("the schema is made of the field list, in its order", () => {
  const names = EVENT_FIELDS.map((spec) => spec.name);
  assert.deepEqual(Object.keys(activityEventSchema.shape), names);
  assert.deepEqual(Object.keys(FULL), names, "the complete sample holds every field");
  assert.deepEqual(Object.keys(ODD).sort(), [...names].sort(), "every field has test values");
});

Deno.test("the fast path reads an event with every field of the schema as the schema does", () => {
  // A field the fast path cannot read would leave every such event to the slow schema.
  const fast = readCanonical(JSON.parse(JSON.stringify(FULL)));
  assert.ok(fast !== undefined, "the fast path gave up on a plainly valid event");
  assert.deepStrictEqual(fast, activityEventSchema.parse(FULL));
  for (const spec of EVENT_FIELDS) {
    assert.notEqual(spec.read(FULL[spec.name]), undefined, `${spec.name} is not read`);
  }
});

Deno.test("the fast path gives up on unknown fields, leaving the rejection to the schema", () => {
  assert.equal(readCanonical({ ...FULL, referrer: "/" }), undefined);
  const result = decode(bytes(JSON.stringify({ ...FULL, referrer: "/" })), { nowMs: NOW });
  assert.equal(result.kind === "rejected" && result.reason, "schema_violation");
});

Deno.test("the fast path changes nothing in a record it gives up on", () => {
  const record = { ...FULL, occurred_at: "2026-06-01T13:59:00+02:00", page: "bad" };
  const copy = structuredClone(record);
  assert.equal(readCanonical(record), undefined);
  assert.deepEqual(record, copy);
});

Deno.test("decode accepts exactly what the schema accepts and builds the same event", () => {
  // decode takes a fast path for plainly valid events; the schema must stay the truth.
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  let accepted = 0;
  for (let i = 0; i < 4000; i++) {
    const input: Record<string, unknown> = { ...FULL };
    if (random() < 0.3) delete input.properties;
    for (const [field, values] of Object.entries(ODD)) {
      if (random() < 0.2) input[field] = pick(values);
    }
    if (random() < 0.05) delete input[pick(Object.keys(ODD))];
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
      if (result.kind !== "accepted") continue;
      assert.deepStrictEqual(result.event, parsed.data);
      assert.equal(result.occurredAtMs, Date.parse(parsed.data.occurred_at), text);
      accepted++;
    } else {
      assert.deepEqual(
        result.kind === "rejected" && result.reason,
        input.version === 1 ? "schema_violation" : "unsupported_version",
        `${text} -> ${JSON.stringify(result)}`,
      );
    }
  }
  assert.ok(accepted > 100 && accepted < 3900, `accepted ${accepted} of 4000`);
});
