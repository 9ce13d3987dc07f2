import assert from "node:assert/strict";
import { decode } from "@activity/shared";
import type { OutgoingBatch } from "../producer/batch.ts";
import { parseEventMix } from "../producer/event_mix.ts";
import { publish } from "../producer/publisher.ts";
import { createSimulation } from "../producer/simulation.ts";
import {
  EVENT_MIX_TEXT,
  generateMessages,
  messagesDigest,
  messageValue,
  replaySimulation,
} from "./client_messages.ts";

const SPEC = { count: 3_000, users: 50, seed: 11 };
const text = new TextDecoder();

Deno.test("generated messages are the simulator's events, byte for byte and key for key", () => {
  const messages = generateMessages(SPEC);
  const mix = parseEventMix(EVENT_MIX_TEXT);
  assert.ok(mix.ok);
  const simulation = createSimulation({
    seed: SPEC.seed,
    users: SPEC.users,
    userSkew: 1,
    mix: mix.mix,
    ratePerSecond: 100_000,
    startMs: Date.UTC(2026, 0, 1),
    speed: 1,
    invalidRatio: 0,
  });
  for (let i = 0; i < SPEC.count; i++) {
    const expected = simulation.next();
    assert.equal(messages.keys[i], expected.key);
    assert.equal(text.decode(messageValue(messages, i)), expected.value);
    assert.equal(messages.types[messages.typeIndexes[i]], expected.eventType);
  }
});

Deno.test("every generated message is an event the consumer accepts, keyed by its user id", () => {
  const messages = generateMessages(SPEC);
  const nowMs = Date.UTC(2026, 0, 1, 1);
  for (let i = 0; i < messages.count; i++) {
    const outcome = decode(messageValue(messages, i), { nowMs });
    assert.equal(outcome.kind, "accepted", `message ${i}: ${JSON.stringify(outcome)}`);
    if (outcome.kind === "accepted") assert.equal(outcome.event.user_id, messages.keys[i]);
  }
});

Deno.test("a backlog spec spreads its events over the span in the old prototype's shape", () => {
  const startMs = Date.UTC(2026, 5, 1, 10);
  const spanMs = 3_600_000;
  const messages = generateMessages({
    ...SPEC,
    userSkew: 0.7,
    clock: { startMs, spanMs },
    shape: "legacy",
  });
  const nowMs = startMs + spanMs + 120_000;
  for (let i = 0; i < messages.count; i++) {
    const value = text.decode(messageValue(messages, i));
    assert.deepEqual(Object.keys(JSON.parse(value)), ["user_id", "event_type", "timestamp"]);
    assert.match(JSON.parse(value).timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
    const outcome = decode(messageValue(messages, i), { nowMs });
    assert.equal(outcome.kind, "accepted", `message ${i}: ${value}`);
    if (outcome.kind !== "accepted") continue;
    assert.equal(outcome.legacy, true);
    assert.equal(outcome.event.user_id, messages.keys[i]);
    assert.equal(outcome.occurredAtMs, messages.occurredAtMs[i]);
  }
  const times = Array.from(messages.occurredAtMs);
  assert.ok(times[0] >= startMs && times[0] < startMs + 10 * 60_000);
  // Poisson arrivals at count/span: the last event lies near the end of the span.
  assert.ok(Math.abs(times.at(-1)! - (startMs + spanMs)) < 10 * 60_000, `${times.at(-1)}`);
});

Deno.test("the same spec gives the same digest and another seed another one", async () => {
  const first = await messagesDigest(generateMessages(SPEC));
  assert.equal(await messagesDigest(generateMessages(SPEC)), first);
  assert.notEqual(await messagesDigest(generateMessages({ ...SPEC, seed: 12 })), first);
  assert.match(first, /^[0-9a-f]{64}$/);
});

Deno.test("the producer's publishing loop sends every replayed message once, in order", async () => {
  const messages = generateMessages(SPEC);
  const seen: { key: string; value: string }[] = [];
  const sink = {
    send(batch: OutgoingBatch): Promise<void> {
      for (let i = 0; i < batch.count; i++) {
        seen.push({ key: batch.keys[i], value: text.decode(batch.value(i)) });
      }
      return Promise.resolve();
    },
  };
  const result = await publish(replaySimulation(messages), sink, {
    count: messages.count,
    durationMs: 0,
    pacing: "max",
    clock: { startMs: 0, speed: 1 },
    batch: { maxMessages: 2000, maxBytes: 1_000_000, lingerMs: 50 },
    maxInFlight: 1,
    typeCount: messages.types.length,
  });
  assert.equal(result.stoppedBy, "count");
  assert.equal(result.stats.sent, SPEC.count);
  assert.equal(seen.length, SPEC.count);
  seen.forEach((message, i) => {
    assert.equal(message.key, messages.keys[i]);
    assert.equal(message.value, text.decode(messageValue(messages, i)));
  });
  const byType = messages.types.map((_, t) => messages.typeIndexes.filter((x) => x === t).length);
  assert.deepEqual(result.stats.sentByType, byType);
});

Deno.test("a replay refuses to invent messages beyond those generated", () => {
  const replay = replaySimulation(generateMessages({ ...SPEC, count: 1_000 }));
  for (let i = 0; i < 1_000; i++) replay.nextAt(0);
  assert.throws(() => replay.next(), /only 1000 messages were generated/);
});
