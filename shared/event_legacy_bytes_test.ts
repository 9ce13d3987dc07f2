import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { legacyEventOf, legacyEventSchema, type LegacyRead } from "./event_legacy.ts";
import { readLegacyBytes } from "./event_legacy_bytes.ts";

const encoder = new TextEncoder();
const SAFE = "ABCXYZabcxyz0189_.:@-";

function seeded(seed: number): () => number {
  return () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
}

function pick(random: () => number, alphabet: string, length: number): string {
  return Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)]).join("");
}

/** A varied old-prototype message as Python's json.dumps writes it, compact or not. */
function prototypeMessage(random: () => number): string {
  const ms = -62_167_219_200_000 + Math.floor(random() * 315_537_897_600_000);
  const iso = new Date(ms).toISOString();
  const fraction = Math.floor(random() * 10); // 0: none, else that many digits
  const timestamp = iso.slice(0, 10) + (random() < 0.5 ? "T" : " ") + iso.slice(11, 19) +
    (fraction === 0
      ? ""
      : "." + (iso.slice(20, 23) + pick(random, "0123456789", 6)).slice(0, fraction));
  const user = random() < 0.2
    ? String(Math.floor(random() * 10 ** (1 + Math.floor(random() * 15))))
    : JSON.stringify(pick(random, SAFE, 1 + Math.floor(random() * 64)));
  const type = pick(random, "abcxyz", 1) + pick(random, "az09_", Math.floor(random() * 32));
  const [comma, colon] = random() < 0.5 ? [", ", ": "] : [",", ":"];
  return `{"user_id"${colon}${user}${comma}"event_type"${colon}"${type}"${comma}` +
    `"timestamp"${colon}"${timestamp}"}`;
}

/** What the general path makes of `text` in the old prototype's shape, or undefined. */
function general(text: string): LegacyRead | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  if ("version" in value || "event_id" in value || !("timestamp" in value)) return undefined;
  const parsed = legacyEventSchema.safeParse(value);
  return parsed.success ? legacyEventOf(parsed.data) : undefined;
}

/** The reader either leaves `text` to the general path or reads exactly what that path reads. */
function assertAgrees(text: string): LegacyRead | undefined {
  const read = readLegacyBytes(encoder.encode(text));
  if (read !== undefined) assert.deepEqual(read, general(text), text);
  return read;
}

Deno.test("every old-prototype message Python writes is read from its bytes exactly as the general path reads it", () => {
  const random = seeded(11);
  for (let i = 0; i < 6000; i++) {
    const text = prototypeMessage(random);
    const read = readLegacyBytes(Buffer.from(text));
    assert.notEqual(read, undefined, text);
    assert.deepEqual(read, general(text), text);
  }
});

Deno.test("no single-character change of an old-prototype message makes the reader disagree with the general path", () => {
  const random = seeded(12);
  const replacements = ' "0159:.-T_azZ,{}\\\u00e9';
  let taken = 0;
  for (
    const text of [prototypeMessage(random), prototypeMessage(random), prototypeMessage(random)]
  ) {
    for (let at = 0; at < text.length; at++) {
      for (const character of replacements) {
        const changed = [
          text.slice(0, at) + character + text.slice(at + 1),
          text.slice(0, at) + character + text.slice(at),
          text.slice(0, at) + text.slice(at + 1),
        ];
        for (const candidate of changed) if (assertAgrees(candidate)) taken++;
      }
    }
  }
  assert.ok(taken > 1000, `only ${taken} changed messages were read at all`);
});

Deno.test("dates, times and numbers at their limits are read as the general path reads them", () => {
  const edges = [
    "2024-02-29T23:59:59.999999", // a leap day
    "2023-02-29T10:00:00", // not one
    "1900-02-29 10:00:00",
    "2000-02-29 10:00:00",
    "2026-04-31T10:00:00",
    "2026-06-01T24:00:00",
    "2026-06-01T23:60:00",
    "2026-06-01T23:59:60",
    "2026-06-01T10:00",
    "2026-06-01T10:00:00.",
    "2026-06-01T10:00:00.1234567890",
    "2026-06-01T10:00:00Z",
    "2026-06-01T10:00:00+02:00",
    "0000-01-01T00:00:00",
    "9999-12-31T23:59:59.999",
    "2026-6-01T10:00:00",
  ];
  for (const timestamp of edges) {
    assertAgrees(`{"user_id": "u", "event_type": "view", "timestamp": "${timestamp}"}`);
  }
  for (const user of ["0", "00", "01", "-1", "1.0", "1e3", "999999999999999", "9999999999999999"]) {
    assertAgrees(`{"user_id": ${user}, "event_type": "view", "timestamp": "2026-06-01T10:00:00"}`);
  }
  assert.notEqual(
    readLegacyBytes(encoder.encode(
      '{"user_id": 999999999999999, "event_type": "view", "timestamp": "2026-06-01T10:00:00"}',
    )),
    undefined,
  );
});

Deno.test("anything but the prototype's layout is left to the general path", () => {
  for (
    const text of [
      '{"event_type": "view", "user_id": "u", "timestamp": "2026-06-01T10:00:00"}',
      '{"user_id":  "u", "event_type": "view", "timestamp": "2026-06-01T10:00:00"}',
      '{"user_id": "u", "event_type": "view", "timestamp": "2026-06-01T10:00:00", "x": 1}',
      '{"user_id": "u", "event_type": "view", "timestamp": 1780308000}',
      '{"user_id": "u\\u0041", "event_type": "view", "timestamp": "2026-06-01T10:00:00"}',
      '{"user_id": "u", "event_type": "view", "timestamp": "2026-06-01T10:00:00"} ',
      ' {"user_id": "u", "event_type": "view", "timestamp": "2026-06-01T10:00:00"}',
    ]
  ) {
    assert.equal(readLegacyBytes(encoder.encode(text)), undefined, text);
  }
});
