/**
 * Micro-benchmarks of the consumer's decoder: `deno bench shared/event_bench.ts`.
 * Each iteration decodes 1 000 messages; divide the time by 1 000 for one.
 */
import { Buffer } from "node:buffer";
import { decode, encode } from "./event.ts";

const NOW = Date.parse("2026-06-01T12:00:00Z");
const TYPES = ["click", "view", "scroll"];
const encoder = new TextEncoder();

function canonical(i: number): Uint8Array {
  const user = (i * 7919) % 5000;
  return encode({
    version: 1,
    event_id: crypto.randomUUID(),
    user_id: `user_${user}`,
    session_id: `s_${user.toString(16).padStart(16, "0")}`,
    event_type: TYPES[i % 3],
    occurred_at: new Date(NOW - 60_000 + i * 37).toISOString(),
    page: `/products/${i % 40}`,
    ...(i % 3 === 0 ? { properties: { depth: (i % 4) * 25 } } : {}),
  });
}

function legacy(i: number): Uint8Array {
  const at = new Date(NOW - 60_000 + i * 37).toISOString().slice(0, -1);
  return encoder.encode(
    JSON.stringify({ user_id: `user_${i % 5000}`, event_type: TYPES[i % 3], timestamp: at }),
  );
}

const CANONICAL = Array.from({ length: 1000 }, (_, i) => canonical(i));
const LEGACY = Array.from({ length: 1000 }, (_, i) => legacy(i));
let sink = 0;

Deno.bench("decode: 1 000 canonical events as our producer writes them", () => {
  for (const bytes of CANONICAL) sink += decode(bytes, { nowMs: NOW }).kind.length;
});

const CANONICAL_BUFFERS = CANONICAL.map((bytes) => Buffer.from(bytes));

Deno.bench(
  "decode: the same 1 000 canonical events in Buffers, as Kafka clients hand them over",
  () => {
    for (const bytes of CANONICAL_BUFFERS) sink += decode(bytes, { nowMs: NOW }).kind.length;
  },
);

Deno.bench("decode: 1 000 old-prototype events (isoformat without offset)", () => {
  for (const bytes of LEGACY) sink += decode(bytes, { nowMs: NOW }).kind.length;
});

Deno.bench("JSON.parse alone of the same 1 000 canonical events (the floor)", () => {
  const text = new TextDecoder();
  for (const bytes of CANONICAL) sink += Object.keys(JSON.parse(text.decode(bytes))).length;
});
