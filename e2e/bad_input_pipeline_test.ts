/**
 * Bad input read by the consumer CLI, published raw to the topic (bypassing
 * our producer): first every kind in `testing/bad_input_catalogue.ts`, twice,
 * each alone between valid events; then a flood of malformed messages of every
 * reject reason and old-prototype messages shuffled among valid events, many
 * in each flush. Each bad input is either counted (the few surprising but
 * valid ones) or stored in `rejected_events` with the expected reason and its
 * original bytes (bounded), and put on the dead-letter topic with its reason
 * and origin in headers; the consumer never stops, and the valid events around
 * them are counted exactly.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { ActivityEvent } from "@activity/shared";
import { toKafkaBuffer } from "@activity/shared/kafka";
import { MAX_STORED_PAYLOAD_BYTES } from "../consumer/flush_statement.ts";
import {
  type BadInput,
  badInputCatalogue,
  malformedAround,
} from "../testing/bad_input_catalogue.ts";
import {
  assertCountsExact,
  type CountedEvent,
  eventMessages,
  httpGet,
  logLines,
  printFigures,
  publishRaw,
  type RawMessage,
  readTopicBack,
  scrapeMetrics,
  seededEvents,
  seededRandom,
  startConsumerRun,
  topicMessageCount,
} from "../testing/mod.ts";

const hex = (bytes: Uint8Array | null) =>
  bytes === null ? "null" : Buffer.from(bytes).toString("hex");
const encoder = new TextEncoder();

/** Times each catalogued input is published, each time between `VALID_BETWEEN` valid events. */
const ROUNDS = 2;
const VALID_BETWEEN = 150;
/** Copies of each malformed kind in the flood. */
const FLOOD_COPIES = 25;
const FLOOD_LEGACY = 600;
/** The consumer cuts dead-letter values above this (the broker refuses messages over ~1 MB). */
const MAX_DEAD_LETTER_BYTES = 900 * 1024;

interface Published {
  readonly input: BadInput;
  readonly key: string;
  readonly partition: number;
  readonly offset: number;
}

/** The old prototype's shape: a timestamp without offset (UTC), numeric user ids allowed. */
function legacyMessages(nowMs: number): { messages: RawMessage[]; counted: CountedEvent[] } {
  const legacy = Array.from({ length: FLOOD_LEGACY }, (_, i) => ({
    user_id: i % 2 ? `legacy_${i % 17}` : i % 17,
    event_type: ["click", "view", "scroll"][i % 3],
    timestamp: new Date(nowMs - 60_000 - i * 1_000).toISOString().slice(0, 23),
  }));
  return {
    messages: legacy.map((event) => ({
      key: String(event.user_id),
      value: encoder.encode(JSON.stringify(event)),
    })),
    counted: legacy.map((event) => ({
      user_id: String(event.user_id),
      event_type: event.event_type,
      occurred_at: `${event.timestamp}Z`,
    })),
  };
}

/** Publishes each catalogued input alone between valid events, `ROUNDS` times. */
async function publishCatalogue(
  run: Awaited<ReturnType<typeof startConsumerRun>>,
  catalogue: readonly BadInput[],
  valid: readonly ActivityEvent[],
): Promise<Published[]> {
  const published: Published[] = [];
  const producer = run.kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    let next = 0;
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, input] of catalogue.entries()) {
        await producer.send({
          topic: run.topic,
          acks: -1,
          messages: eventMessages(valid.slice(next, next + VALID_BETWEEN)).map((message) => ({
            key: message.key,
            value: toKafkaBuffer(message.value!),
          })),
        });
        next += VALID_BETWEEN;
        // Alone in its request: the 1 MB value must not share a batch with others.
        const key = `bad_input_${round}_${i}`;
        const [meta] = await producer.send({
          topic: run.topic,
          acks: -1,
          messages: [{ key, value: input.value === null ? null : toKafkaBuffer(input.value) }],
        });
        published.push({ input, key, partition: meta.partition, offset: Number(meta.baseOffset) });
      }
    }
  } finally {
    await producer.disconnect();
  }
  return published;
}

Deno.test("every kind of bad input, alone between valid events or in a shuffled flood with old-prototype messages, is counted or stored with its reason and original bytes, and dead-lettered; the consumer never stops and the valid events are counted exactly", async () => {
  const started = performance.now();
  await using run = await startConsumerRun({ name: "bad_input", partitions: 3 });
  const { brokers, kafka, db, topic, dlqTopic, consumer, metricsPort } = run;
  const nowMs = Date.now();
  const catalogue = badInputCatalogue(nowMs);
  const atIso = new Date(nowMs - 60_000).toISOString();
  const valid = seededEvents({ count: ROUNDS * catalogue.length * VALID_BETWEEN, seed: 36 });
  const published = await publishCatalogue(run, catalogue, valid);

  // The flood: shuffled, published 2 000 to a request, each bad one under a key of its own.
  const floodValid = seededEvents({ count: 20_000, seed: 99, users: 300 });
  const legacy = legacyMessages(nowMs);
  const floodBad = floodValid.slice(0, FLOOD_COPIES).flatMap((base) =>
    malformedAround(base, nowMs)
  );
  const floodKey = (i: number) => `flood_bad_${i}`;
  const random = seededRandom(5);
  const flood: RawMessage[] = [
    ...eventMessages(floodValid),
    ...legacy.messages,
    ...floodBad.map((input, i) => ({ key: floodKey(i), value: input.value })),
  ].map((message) => ({ message, order: random() }))
    .sort((a, b) => a.order - b.order)
    .map(({ message }) => message);
  await publishRaw(kafka, topic, flood);

  const total = await topicMessageCount(kafka, topic);
  assert.equal(total, valid.length + published.length + flood.length);
  await run.reach(total);
  assert.equal(run.exited(), false, "the consumer stopped");
  const where = new Map(
    (await readTopicBack(brokers, topic)).map((message) => [hex(message.key), message]),
  );
  for (const [i, input] of floodBad.entries()) {
    const { partition, offset } = where.get(hex(encoder.encode(floodKey(i))))!;
    published.push({ input, key: floodKey(i), partition, offset });
  }

  // Rejected ones: one row each, with the expected reason and the original bytes (bounded).
  const rejected = published.filter((entry) => entry.input.expected !== "accepted");
  const rows = await db.sql<{
    partition: number;
    kafka_offset: string;
    reason: string;
    payload: Uint8Array | null;
    payload_bytes: number;
    message_key: Uint8Array | null;
    topic: string;
  }[]>`SELECT partition, kafka_offset, reason, payload, payload_bytes, message_key, topic
    FROM rejected_events`;
  const rowAt = new Map(rows.map((row) => [`${row.partition}:${row.kafka_offset}`, row]));
  assert.equal(rows.length, rejected.length, "rejected_events holds the bad inputs and no other");
  for (const entry of rejected) {
    const what = `${entry.input.name} (key ${entry.key})`;
    const row = rowAt.get(`${entry.partition}:${entry.offset}`);
    assert.ok(row, `${what}: not in rejected_events`);
    assert.equal(row.reason, entry.input.expected, what);
    assert.equal(row.topic, topic, what);
    assert.equal(row.payload_bytes, entry.input.value?.length ?? 0, what);
    assert.equal(
      hex(row.payload),
      hex(entry.input.value?.subarray(0, MAX_STORED_PAYLOAD_BYTES) ?? null),
      `${what}: payload not stored verbatim`,
    );
    assert.equal(hex(row.message_key), hex(encoder.encode(entry.key)), what);
  }

  // Accepted ones are counted where they belong, and so is every valid event around them.
  const accepted = published.filter((entry) => entry.input.expected === "accepted");
  const acceptedEvents: CountedEvent[] = accepted.map((entry) => ({
    user_id: entry.input.counts!.user_id,
    event_type: entry.input.counts!.event_type,
    occurred_at: atIso,
  }));
  const counted = [...valid, ...acceptedEvents, ...floodValid, ...legacy.counted];
  const compared = await assertCountsExact(db.sql, counted);
  const [ingest] = await db.sql`SELECT sum(events_rejected)::int AS n FROM ingest_minute`;
  assert.equal(ingest.n, rejected.length, "ingest_minute: rejected");

  // The dead-letter topic: each rejected message once, original bytes, reason and origin.
  const letters = await readTopicBack(brokers, dlqTopic);
  assert.equal(letters.length, rejected.length, "dead letters");
  const letterAt = new Map(letters.map((letter) => [
    `${letter.headers["source-partition"]}:${letter.headers["source-offset"]}`,
    letter,
  ]));
  for (const entry of rejected) {
    const what = `dead letter of ${entry.input.name} (${entry.key})`;
    const letter = letterAt.get(`${entry.partition}:${entry.offset}`);
    assert.ok(letter, `${what}: missing`);
    const original = entry.input.value;
    const cut = original !== null && original.length > MAX_DEAD_LETTER_BYTES;
    assert.equal(letter.headers["reject-reason"], entry.input.expected, what);
    assert.equal(letter.headers["source-topic"], topic, what);
    assert.equal(letter.headers["original-bytes"], String(original?.length ?? 0), what);
    assert.equal(letter.headers["truncated"], cut ? "true" : undefined, what);
    assert.equal(
      hex(letter.value),
      hex(cut ? original.subarray(0, MAX_DEAD_LETTER_BYTES) : original),
      `${what}: value is not the original bytes`,
    );
    assert.equal(hex(letter.key), hex(encoder.encode(entry.key)), what);
  }
  const reasons = await db.sql<{ reason: string; n: string }[]>`
    SELECT reason, sum(events) AS n FROM rejected_minute GROUP BY reason`;
  const expectedReasons = new Map<string, number>();
  for (const entry of rejected) {
    const reason = entry.input.expected;
    expectedReasons.set(reason, (expectedReasons.get(reason) ?? 0) + 1);
  }
  assert.deepEqual(new Map(reasons.map((row) => [row.reason, Number(row.n)])), expectedReasons);

  // Still running and still counting.
  assert.equal((await httpGet(metricsPort, "/healthz"))?.status, 200);
  // With the task's (narrow) permissions, both KafkaJS fetch speedups did the decoding.
  const metrics = await scrapeMetrics(metricsPort) ?? "";
  for (const speedup of ["record_batch", "batch"]) {
    const gauge = `activity_consumer_kafkajs_speedup_active{speedup="${speedup}"} 1`;
    assert.ok(metrics.split("\n").includes(gauge), gauge);
  }
  const after = seededEvents({ count: 10, seed: 37 });
  await publishRaw(kafka, topic, eventMessages(after));
  await run.reach(total + after.length);
  consumer.kill("SIGTERM");
  const { code, stderr } = await consumer.finished;
  assert.equal(code, 0, stderr.slice(-2_000));
  const leftOut = logLines(stderr).filter((line) => /speedups left out/.test(String(line.msg)));
  assert.deepEqual(leftOut, []);
  await assertCountsExact(db.sql, [...counted, ...after]);

  printFigures("bad_input", {
    kinds: catalogue.length,
    inputs_tried: ROUNDS * catalogue.length,
    flood_malformed: floodBad.length,
    flood_legacy: legacy.counted.length,
    rejected_with_expected_reason: rejected.length,
    counted_as_valid: accepted.length,
    reasons: expectedReasons.size,
    dead_letters_checked: letters.length,
    valid_events_around: valid.length + floodValid.length,
    events_compared: compared.events,
    consumer_exits: 0,
    seconds: (performance.now() - started) / 1000,
  });
});
