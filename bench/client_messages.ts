/**
 * The messages of the Kafka client comparison: N events from the producer's
 * own simulator, generated once before the clock starts, packed compactly
 * (one byte buffer, no string per value for the garbage collector to trace)
 * and replayed through the producer's publishing loop as a `Simulation`, so
 * that every client sends byte-identical messages and only the client's cost
 * is timed. The benchmark's backlog phase publishes its hour-spread
 * backlog the same way (other clock, skew and shape). Pure.
 *
 * The producer's leaf modules are imported rather than `@activity/producer`:
 * its public face loads the Kafka sink, which patches KafkaJS for the whole
 * process on import, and one of the compared clients is unpatched KafkaJS.
 */
import { createIsoFormatter } from "../producer/event_json.ts";
import { parseEventMix } from "../producer/event_mix.ts";
import {
  createSimulation,
  type SimulatedMessage,
  type Simulation,
} from "../producer/simulation.ts";

/**
 * The message shapes: the canonical event, or the old Python prototype's
 * `{"user_id","event_type","timestamp"}` (a UTC time without an offset).
 */
export const MESSAGE_SHAPES = ["canonical", "legacy"] as const;

/** A message shape. */
export type MessageShape = typeof MESSAGE_SHAPES[number];

/** The simulator's inputs that decide the messages. */
export interface MessageSpec {
  readonly count: number;
  readonly users: number;
  readonly seed: number;
  /** The Zipf exponent of user activity (default 1, the producer's). */
  readonly userSkew?: number;
  /**
   * The timestamps: the first event's time and the span the `count` events
   * spread over (Poisson arrivals). Default: a fixed start and 100 000
   * events a second, so that every process generates the same bytes.
   */
  readonly clock?: { readonly startMs: number; readonly spanMs: number };
  /** Default `canonical`. */
  readonly shape?: MessageShape;
}

/** The event mix of the comparison (the producer's default). */
export const EVENT_MIX_TEXT = "view=5,scroll=3,click=2";

/** The simulated clock: fixed, so that every process generates the same bytes. */
const CLOCK_START_MS = Date.UTC(2026, 0, 1);
/** Events per second of the simulated schedule (it spaces the timestamps only). */
const SCHEDULE_RATE = 100_000;

/** Messages generated once, ready to be replayed. */
export interface GeneratedMessages {
  readonly count: number;
  readonly types: readonly string[];
  /** The message keys (user ids, shared with the population's strings). */
  readonly keys: readonly string[];
  readonly typeIndexes: Uint8Array;
  readonly occurredAtMs: Float64Array;
  /** All values (the events' JSON text as UTF-8) back to back. */
  readonly values: Uint8Array<ArrayBuffer>;
  /** Where each value ends in `values`; value i spans [ends[i-1] or 0, ends[i]). */
  readonly ends: Float64Array<ArrayBuffer>;
  /** The simulation the messages came from (its population is part of the `Simulation` type). */
  readonly source: Simulation;
}

/** The bytes of message `i`'s value. */
export function messageValue(messages: GeneratedMessages, i: number): Uint8Array {
  return messages.values.subarray(i > 0 ? messages.ends[i - 1] : 0, messages.ends[i]);
}

/** Runs the producer's simulator for `spec.count` valid events and packs them. */
export function generateMessages(spec: MessageSpec): GeneratedMessages {
  const parsed = parseEventMix(EVENT_MIX_TEXT);
  if (!parsed.ok) throw new Error(`the built-in event mix is invalid: ${parsed.problem}`);
  const source = createSimulation({
    seed: spec.seed,
    users: spec.users,
    userSkew: spec.userSkew ?? 1,
    mix: parsed.mix,
    ratePerSecond: spec.clock ? spec.count / (spec.clock.spanMs / 1000) : SCHEDULE_RATE,
    startMs: spec.clock?.startMs ?? CLOCK_START_MS,
    speed: 1,
    invalidRatio: 0,
  });
  const text = spec.shape === "legacy"
    ? legacyText()
    : (message: SimulatedMessage) => message.value;
  const encoder = new TextEncoder();
  const keys: string[] = new Array(spec.count);
  const typeIndexes = new Uint8Array(spec.count);
  const occurredAtMs = new Float64Array(spec.count);
  const ends = new Float64Array(spec.count);
  let values = new Uint8Array(Math.max(1024, spec.count * 256));
  let used = 0;
  for (let i = 0; i < spec.count; i++) {
    const message = source.next();
    const value = text(message);
    if (typeof value !== "string") {
      throw new Error(`message ${i} is not an event's JSON text (the invalid ratio is 0)`);
    }
    // The simulator's JSON is ASCII; room for 3 bytes a character covers any text anyway.
    if (used + value.length * 3 > values.length) {
      const grown = new Uint8Array(Math.max(values.length * 2, used + value.length * 3));
      grown.set(values.subarray(0, used));
      values = grown;
    }
    used += encoder.encodeInto(value, values.subarray(used)).written;
    ends[i] = used;
    keys[i] = message.key;
    typeIndexes[i] = message.typeIndex;
    occurredAtMs[i] = message.occurredAtMs;
  }
  return {
    count: spec.count,
    types: parsed.mix.types,
    keys,
    typeIndexes,
    occurredAtMs,
    values: values.subarray(0, used),
    ends,
    source,
  };
}

/**
 * The old prototype's message for a simulated event: its user, type and time
 * as Python's `datetime.utcnow().isoformat()` writes it (microseconds, no offset).
 */
function legacyText(): (message: SimulatedMessage) => string {
  const iso = createIsoFormatter();
  // User ids and type names come from safe alphabets (see event_json.ts): nothing to escape.
  return (message) =>
    '{"user_id":"' + message.key + '","event_type":"' + message.eventType +
    '","timestamp":"' + iso(message.occurredAtMs).slice(0, -1) + '000"}';
}

/**
 * The generated messages as a `Simulation` for the producer's `publish` loop,
 * each once and in order. The loop reads key, value and type only; the
 * descriptive fields it does not read are left empty. Asking for more
 * messages than were generated is a programming error and throws.
 */
export function replaySimulation(messages: GeneratedMessages): Simulation {
  let next = 0;
  const emit = (): SimulatedMessage => {
    if (next >= messages.count) {
      throw new RangeError(`only ${messages.count} messages were generated; asked for more`);
    }
    const i = next++;
    const typeIndex = messages.typeIndexes[i];
    return {
      key: messages.keys[i],
      value: messageValue(messages, i),
      scheduledMs: NaN,
      occurredAtMs: messages.occurredAtMs[i],
      eventId: "",
      sessionId: "",
      eventType: messages.types[typeIndex],
      typeIndex,
      page: "",
      sessionStart: false,
    };
  };
  return {
    population: messages.source.population,
    next: emit,
    nextAt: emit,
    *[Symbol.iterator]() {
      while (next < messages.count) yield emit();
    },
  };
}

/** A SHA-256 of the keys and values, to prove that every client sent the same messages. */
export async function messagesDigest(messages: GeneratedMessages): Promise<string> {
  const ends = new Uint8Array(
    messages.ends.buffer,
    messages.ends.byteOffset,
    messages.ends.byteLength,
  );
  // One digest per part, then one of the three (no copy of the values).
  const parts = [new TextEncoder().encode(messages.keys.join("\n")), ends, messages.values];
  const digests = await Promise.all(parts.map((part) => crypto.subtle.digest("SHA-256", part)));
  const joined = new Uint8Array(digests.length * 32);
  digests.forEach((digest, i) => joined.set(new Uint8Array(digest), i * 32));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", joined));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
}
