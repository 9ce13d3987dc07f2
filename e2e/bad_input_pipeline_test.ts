/**
 * Issue 8: every kind of bad input in `testing/bad_input_catalogue.ts`,
 * published raw to the topic (bypassing our producer) twice, each between
 * valid events, read by the consumer CLI. Each is either counted (the few
 * surprising but valid ones) or stored in `rejected_events` with the expected
 * reason and its original bytes (bounded), and put on the dead-letter topic
 * with its reason and origin in headers; the consumer never stops, and the
 * valid events around them are counted exactly.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { toKafkaBuffer } from "@activity/shared/kafka";
import { MAX_STORED_PAYLOAD_BYTES } from "../consumer/flush_statement.ts";
import {
  committedMessages,
  eventMessages,
  publishRaw,
  seededEvents,
  waitUntil,
} from "../testing/pipeline_events.ts";
import { startConsumerRun } from "../testing/consumer_run.ts";
import { type BadInput, badInputCatalogue } from "../testing/bad_input_catalogue.ts";
import {
  assertCountsExact,
  type CountedEvent,
  readTopicBack,
  topicMessageCount,
} from "../testing/fault_topic.ts";
import { httpGet } from "../testing/fault_processes.ts";
import { printFigures } from "../testing/fault_figures.ts";

const ROUNDS = 2;
const VALID_BETWEEN = 150;
/** The consumer cuts dead-letter values above this (the broker refuses messages over ~1 MB). */
const MAX_DEAD_LETTER_BYTES = 900 * 1024;

const hex = (bytes: Uint8Array | null) =>
  bytes === null ? "null" : Buffer.from(bytes).toString("hex");

interface Published {
  readonly input: BadInput;
  readonly key: string;
  readonly partition: number;
  readonly offset: number;
}

Deno.test("every kind of bad input, published raw between valid events, is counted or stored with its reason and original bytes, and dead-lettered; the consumer never stops and the valid events are counted exactly", async () => {
  const started = performance.now();
  await using run = await startConsumerRun({ name: "bad_input", partitions: 3 });
  const { brokers, kafka, db, topic, dlqTopic, group, consumer, metricsPort } = run;
  const nowMs = Date.now();
  const catalogue = badInputCatalogue(nowMs);
  const atIso = new Date(nowMs - 60_000).toISOString();
  const valid = seededEvents({ count: ROUNDS * catalogue.length * VALID_BETWEEN, seed: 36 });

  const published: Published[] = [];
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    let next = 0;
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, input] of catalogue.entries()) {
        await producer.send({
          topic,
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
          topic,
          acks: -1,
          messages: [{
            key,
            value: input.value === null ? null : toKafkaBuffer(input.value),
          }],
        });
        published.push({ input, key, partition: meta.partition, offset: Number(meta.baseOffset) });
      }
    }
  } finally {
    await producer.disconnect();
  }
  const total = await topicMessageCount(kafka, topic);
  assert.equal(total, valid.length + published.length);
  await run.reach(total);
  assert.equal(run.exited(), false, "the consumer stopped");

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
    const what = `${entry.input.name} (round key ${entry.key})`;
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
    assert.equal(hex(row.message_key), hex(new TextEncoder().encode(entry.key)), what);
  }

  // Accepted ones are counted where they belong, and so is every valid event around them.
  const accepted = published.filter((entry) => entry.input.expected === "accepted");
  const acceptedEvents: CountedEvent[] = accepted.map((entry) => ({
    user_id: entry.input.counts!.user_id,
    event_type: entry.input.counts!.event_type,
    occurred_at: atIso,
  }));
  const compared = await assertCountsExact(db.sql, [...valid, ...acceptedEvents]);

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
    assert.equal(hex(letter.key), hex(new TextEncoder().encode(entry.key)), what);
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
  const after = seededEvents({ count: 10, seed: 37 });
  await publishRaw(kafka, topic, eventMessages(after));
  await waitUntil("events after the bad input are committed", async () => {
    return await committedMessages(db.sql, group, topic) >= total + after.length;
  });
  consumer.kill("SIGTERM");
  const { code, stderr } = await consumer.finished;
  assert.equal(code, 0, stderr.slice(-2_000));
  await assertCountsExact(db.sql, [...valid, ...acceptedEvents, ...after]);

  printFigures("bad_input", {
    kinds: catalogue.length,
    inputs_tried: published.length,
    rejected_with_expected_reason: rejected.length,
    counted_as_valid: accepted.length,
    reasons: expectedReasons.size,
    dead_letters_checked: letters.length,
    valid_events_around: valid.length,
    events_compared: compared.events,
    consumer_exits: 0,
    seconds: (performance.now() - started) / 1000,
  });
});
