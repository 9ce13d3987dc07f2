/**
 * Micro-benchmark of the producer's JSON writer: `deno bench producer/event_json_bench.ts`.
 * Each iteration writes 1 000 events; divide the time by 1 000 for one.
 */
import { encode } from "@activity/shared";
import { createIsoFormatter, eventJson, eventParts, PART } from "./event_json.ts";

const START = Date.parse("2026-06-01T12:00:00Z");
const iso = createIsoFormatter();
const EVENTS = Array.from({ length: 1000 }, (_, i) =>
  eventParts({
    event_id: crypto.randomUUID(),
    user_id: `user_${(i * 7919) % 5000}`,
    session_id: `s_${i.toString(16).padStart(16, "0")}`,
    event_type: ["click", "view", "scroll"][i % 3],
    occurred_at: iso(START + i * 37),
    page: `/products/${i % 40}`,
    properties: i % 3 === 0 ? `{"depth":${(i % 4) * 25}}` : "",
  }));
const OBJECTS = EVENTS.map((parts) => JSON.parse(eventJson(parts)));
const encoder = new TextEncoder();
const buffer = new Uint8Array(1 << 20);
let sink = 0;

Deno.bench("eventJson + encodeInto, one parts array refilled (as the simulation does)", () => {
  const parts = eventParts({});
  let at = 0;
  for (const event of EVENTS) {
    for (const i of Object.values(PART)) parts[i] = event[i];
    at += encoder.encodeInto(eventJson(parts), buffer.subarray(at)).written;
  }
  sink += at;
});

Deno.bench("the shared encode (JSON.stringify) of the same 1 000 events", () => {
  for (const event of OBJECTS) sink += encode(event).length;
});
