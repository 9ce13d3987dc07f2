/**
 * Bad input: large malformed messages arriving close together. Each
 * is under the broker's message size (so producers can publish it), and the
 * consumer must reject, store and dead-letter each one and go on, whatever
 * else lands in the same flush.
 */
import assert from "node:assert/strict";
import { toKafkaBuffer } from "@activity/shared/kafka";
import {
  assertCountsExact,
  createConsumerScene,
  eventMessages,
  printFigures,
  publishRaw,
  readTopicBack,
  seededEvents,
} from "../testing/mod.ts";

const LARGE = [700_000, 650_000];

Deno.test("two large malformed messages in one flush are both stored and dead-lettered, and the consumer carries on", async () => {
  await using scene = await createConsumerScene({ name: "bad_input_large", partitions: 1 });
  const { kafka, topic, db } = scene;
  const valid = seededEvents({ count: 2_000, seed: 12 });
  const large = LARGE.map((size) =>
    new TextEncoder().encode(JSON.stringify({ garbage: "x".repeat(size - 14) }))
  );
  await publishRaw(kafka, topic, eventMessages(valid.slice(0, 1_000)));
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    // One message per request: each is a legal message on its own.
    for (const value of large) {
      await producer.send({
        topic,
        acks: -1,
        messages: [{ key: "big", value: toKafkaBuffer(value) }],
      });
    }
  } finally {
    await producer.disconnect();
  }
  await publishRaw(kafka, topic, eventMessages(valid.slice(1_000)));
  const total = valid.length + large.length;

  // Started after publishing, with a flush size above the backlog: one flush holds both.
  await using consumer = scene.spawn({
    "flush-events": 20_000,
    "flush-interval-ms": 500,
    "max-buffer-events": 50_000,
  });
  await scene.reach(total, { timeoutMs: 30_000, explain: consumer });
  consumer.kill("SIGTERM");
  assert.equal((await consumer.finished).code, 0);

  const rows = await db.sql<{ reason: string; payload_bytes: number }[]>`
    SELECT reason, payload_bytes FROM rejected_events ORDER BY kafka_offset`;
  assert.deepEqual(
    rows.map((row) => ({ ...row })),
    large.map((value) => ({ reason: "too_large", payload_bytes: value.length })),
  );
  const letters = await readTopicBack(scene.brokers, scene.dlqTopic);
  assert.deepEqual(letters.map((letter) => letter.value?.length), large.map((v) => v.length));
  const compared = await assertCountsExact(db.sql, valid);
  printFigures("bad_input_large", {
    large_messages: large.length,
    large_bytes: LARGE.join("/"),
    dead_letters: letters.length,
    events_compared: compared.events,
  });
});
