import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { readCanonicalBytes } from "./event_bytes.ts";
import { type ActivityEvent, activityEventSchema, utcIsoMs } from "./event_schema.ts";

const encoder = new TextEncoder();
const SAFE = "ABCXYZabcxyz0189_.:@-";
const PAGE = Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i))
  .join("");
const PLAIN_PAGE = PAGE.replace(/["\\]/g, "");

function seeded(seed: number): () => number {
  return () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
}

function pick(random: () => number, alphabet: string, length: number): string {
  return Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)]).join("");
}

/** A varied event as our producers write it: `JSON.stringify` in the schema's field order. */
function producerEvent(random: () => number): Record<string, unknown> {
  const hex = () => pick(random, "0123456789abcdefABCDEF", 1);
  const run = (n: number) => Array.from({ length: n }, hex).join("");
  const ms = -62_167_219_200_000 + Math.floor(random() * 315_537_897_600_000);
  const event: Record<string, unknown> = {
    version: 1,
    event_id: `${run(8)}-${run(4)}-${pick(random, "12345678", 1)}${run(3)}-` +
      `${pick(random, "89abAB", 1)}${run(3)}-${run(12)}`,
    user_id: pick(random, SAFE, 1 + Math.floor(random() * 64)),
    session_id: pick(random, SAFE, 1 + Math.floor(random() * 64)),
    event_type: pick(random, "abcxyz", 1) + pick(random, "az09_", Math.floor(random() * 32)),
    occurred_at: new Date(ms).toISOString(),
    // Now and then a quote or backslash, which JSON escapes.
    page: "/" + pick(random, random() < 0.1 ? PAGE : PLAIN_PAGE, Math.floor(random() * 256)),
  };
  if (random() < 0.5) {
    const properties: Record<string, unknown> = {};
    const values = [
      () => pick(random, PLAIN_PAGE + " {}[],:", Math.floor(random() * 40)),
      () => pick(random, PAGE, 3),
      () => Math.floor(random() * 1e6) / (random() < 0.5 ? 1 : 7),
      () => random() < 0.5,
      () => null,
      () => -0,
      () => 1e21,
    ];
    for (let i = Math.floor(random() * 18); i > 0; i--) {
      properties[pick(random, "abcdefgh_", 1 + Math.floor(random() * 8))] = values
        [Math.floor(random() * values.length)]();
    }
    event.properties = properties;
  }
  return event;
}

/** What the general path makes of `text`: the schema's event and its time, or undefined. */
function general(text: string): { event: ActivityEvent; occurredAtMs: number } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = activityEventSchema.safeParse(value);
  if (!parsed.success) return undefined;
  return { event: parsed.data, occurredAtMs: utcIsoMs(parsed.data.occurred_at) };
}

function variants(text: string, random: () => number): string[] {
  const out: string[] = [];
  const alphabet = ' "\\{}[],:0Zz/-.\u00e9\u0000\n';
  for (let n = 0; n < 40; n++) {
    const i = Math.floor(random() * (text.length + 1));
    const c = alphabet[Math.floor(random() * alphabet.length)];
    out.push(text.slice(0, i) + c + text.slice(i + 1)); // replaced
    out.push(text.slice(0, i) + c + text.slice(i)); // inserted
    out.push(text.slice(0, i) + text.slice(i + 1)); // removed
  }
  return out;
}

Deno.test("every event our producers write is read from its bytes exactly as the general path reads it", () => {
  const random = seeded(3);
  let read = 0;
  for (let n = 0; n < 3000; n++) {
    const text = JSON.stringify(producerEvent(random));
    const expected = general(text);
    const bytes = encoder.encode(text);
    for (const message of [bytes, Buffer.from(bytes)]) {
      const fast = readCanonicalBytes(message);
      if (expected === undefined) {
        assert.equal(fast, undefined, `accepted what the schema refuses: ${text}`);
        continue;
      }
      // A page or property with a quote or backslash is escaped: left to the general path.
      if (fast === undefined) {
        assert.match(text, /\\/, `left a plain event to the general path: ${text}`);
        continue;
      }
      assert.deepEqual(fast, expected, text);
      assert.deepEqual(Object.keys(fast.event), Object.keys(expected.event), "key order");
      read++;
    }
  }
  assert.ok(read > 3000, `most events are read from their bytes (${read} of 6000)`);
});

Deno.test("whatever the reader accepts of changed bytes, the general path reads the same", () => {
  const random = seeded(17);
  let accepted = 0;
  for (let n = 0; n < 400; n++) {
    const base = JSON.stringify(producerEvent(random));
    for (const text of variants(base, random)) {
      const fast = readCanonicalBytes(Buffer.from(encoder.encode(text)));
      if (fast === undefined) continue;
      accepted++;
      assert.deepEqual(fast, general(text), `the reader accepted ${JSON.stringify(text)}`);
    }
  }
  assert.ok(accepted > 1000, `changes that stay valid are still read (${accepted})`);
});

Deno.test("no single-character change of an event makes the reader disagree with the general path", () => {
  const alphabet = '0123456789abcfgABCFGTZ-:._/@ "\\{}[],\u00e9\u0000';
  const bases = [
    ["2024-02-29T23:59:59.999Z", "/checkout", ""],
    ["2023-12-31T09:09:09.000Z", "/p/1", ',"properties":{"referrer":"x","n":1}'],
  ].map(([time, page, properties]) =>
    `{"version":1,"event_id":"0b6a5d3c-1f2e-4a5b-8c7d-6e5f4a3b2c1d","user_id":"u_9",` +
    `"session_id":"s:1","event_type":"add_to_cart","occurred_at":"${time}","page":"${page}"` +
    `${properties}}`
  );
  for (const base of bases) {
    assert.ok(readCanonicalBytes(encoder.encode(base)), base);
    for (let i = 0; i < base.length; i++) {
      for (const c of alphabet) {
        const text = base.slice(0, i) + c + base.slice(i + 1);
        const fast = readCanonicalBytes(encoder.encode(text));
        if (fast !== undefined) assert.deepEqual(fast, general(text), text);
      }
    }
  }
});

Deno.test("anything but the compact producer layout is left to the general path", () => {
  const event = {
    version: 1,
    event_id: "0b6a5d3c-1f2e-4a5b-8c7d-6e5f4a3b2c1d",
    user_id: "user_1",
    session_id: "s_1",
    event_type: "click",
    occurred_at: "2026-06-01T12:00:00.250Z",
    page: "/cart",
  };
  const compact = JSON.stringify(event);
  assert.ok(readCanonicalBytes(encoder.encode(compact)), "the compact layout is read");
  const { user_id, ...rest } = event;
  for (
    const text of [
      JSON.stringify(event, null, 1), // whitespace
      JSON.stringify({ user_id, ...rest }), // another order
      JSON.stringify({ ...event, extra: 1 }), // a field the schema does not know
      JSON.stringify({ ...event, version: 2 }),
      compact.replace('"version":1', '"version":1.0'),
      compact.replace("user_1", "us\\u0065r_1"), // an escape
      compact.replace("/cart", "/caf\u00e9"), // beyond ASCII
      compact.replace("2026-06-01T12:00:00.250Z", "2026-06-01T12:00:00Z"), // another time form
      compact.replace("}", ',"properties":{"a":{"b":1}}}'), // a nested property
      compact + " ",
    ]
  ) {
    assert.equal(readCanonicalBytes(encoder.encode(text)), undefined, text);
  }
});
