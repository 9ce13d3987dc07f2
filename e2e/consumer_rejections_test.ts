import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { type ActivityEvent, type RejectReason } from "@activity/shared";
import { createKafka, ensureTopics, topicEndOffsets } from "@activity/shared/kafka";
import { createTestDatabase, testServices, uniqueName } from "../testing/services.ts";
import {
  committedMessages,
  countDifferences,
  eventMessages,
  expectedCounts,
  publishRaw,
  type RawMessage,
  seededEvents,
  seededRandom,
  storedCounts,
  waitUntil,
} from "../testing/pipeline_events.ts";
import { startTestConsumer, testConsumerConfig } from "../testing/consumer_fixture.ts";

const text = (value: string) => new TextEncoder().encode(value);
const json = (value: unknown) => text(JSON.stringify(value));

/** One malformed message of each kind, built around a valid event. */
function malformed(
  base: ActivityEvent,
  nowMs: number,
): { reason: RejectReason; value: Uint8Array | null }[] {
  return [
    { reason: "empty", value: null },
    { reason: "empty", value: new Uint8Array() },
    { reason: "too_large", value: json({ ...base, page: "/" + "x".repeat(20_000) }) },
    { reason: "not_utf8", value: Uint8Array.from([0x7b, 0xff, 0xfe, 0x00, 0x7d]) },
    { reason: "not_json", value: text('{"version":1,"user_id":') },
    { reason: "not_object", value: json([base]) },
    { reason: "unsupported_version", value: json({ ...base, version: 2 }) },
    { reason: "schema_violation", value: json({ ...base, user_id: "bad user; DROP TABLE x" }) },
    { reason: "schema_violation", value: json({ ...base, extra: true }) },
    { reason: "unknown_event_type", value: json({ ...base, event_type: "purchase" }) },
    {
      reason: "future_timestamp",
      value: json({ ...base, occurred_at: new Date(nowMs + 3_600_000).toISOString() }),
    },
    {
      reason: "expired_timestamp",
      value: json({ ...base, occurred_at: new Date(nowMs - 40 * 86_400_000).toISOString() }),
    },
  ];
}

Deno.test("malformed and old-shape messages among valid ones: valid counted exactly, every malformed one stored with its reason and on the dead-letter topic, the consumer still running", async () => {
  const { brokers } = await testServices();
  await using db = await createTestDatabase("consumer_reject");
  const topic = uniqueName("reject");
  const dlqTopic = `${topic}.dlq`;
  const group = uniqueName("reject_group");
  const kafka = createKafka({ brokers, clientId: "consumer-reject-test" });
  await ensureTopics(kafka, [{ topic, partitions: 3 }]);
  const nowMs = Date.now();
  const valid = seededEvents({ count: 20_000, seed: 99, users: 300 });
  // The old prototype's shape: a timestamp without offset (UTC), numeric ids allowed.
  const legacy = Array.from({ length: 600 }, (_, i) => ({
    user_id: i % 2 ? `legacy_${i % 17}` : i % 17,
    event_type: ["click", "view", "scroll"][i % 3],
    timestamp: new Date(nowMs - 60_000 - i * 1_000).toISOString().slice(0, 23),
  }));
  const legacyAsEvents = legacy.map((event) =>
    ({
      user_id: String(event.user_id),
      event_type: event.event_type,
      occurred_at: `${event.timestamp}Z`,
    }) as ActivityEvent
  );
  const bad = Array.from({ length: 25 }, (_, i) => malformed(valid[i], nowMs)).flat();

  const random = seededRandom(5);
  const messages: RawMessage[] = [
    ...eventMessages(valid),
    ...legacy.map((event) => ({ key: String(event.user_id), value: json(event) })),
    ...bad.map((entry, i) => ({ key: `bad_${i % 7}`, value: entry.value })),
  ].map((message) => ({ message, order: random() }))
    .sort((a, b) => a.order - b.order)
    .map(({ message }) => message);
  await publishRaw(kafka, topic, messages);

  const consumer = startTestConsumer(testConsumerConfig({
    brokers: brokers.join(","),
    topic,
    group,
    "database-url": db.url,
    "dlq-topic": dlqTopic,
    "flush-events": 4_000,
  }));
  try {
    await waitUntil(
      "every message is committed",
      async () => await committedMessages(db.sql, group, topic) >= messages.length,
    );

    const expected = expectedCounts([...valid, ...legacyAsEvents]);
    const stored = await storedCounts(db.sql);
    for (const table of ["summary", "hourly", "daily", "typeMinute", "activeUsers"] as const) {
      assert.deepEqual(countDifferences(expected[table], stored[table]), [], table);
    }

    const hex = (value: Uint8Array | null) =>
      value === null ? "null" : Buffer.from(value.subarray(0, 16 * 1024)).toString("hex");
    const expectedRejections = bad.map((entry) => `${entry.reason}:${hex(entry.value)}`).sort();
    const rows = await db.sql<
      { reason: string; payload: Uint8Array | null; payload_bytes: number; topic: string }[]
    >`SELECT reason, payload, payload_bytes, topic FROM rejected_events`;
    assert.deepEqual(
      rows.map((row) => `${row.reason}:${hex(row.payload)}`).sort(),
      expectedRejections,
    );
    assert.ok(rows.every((row) => row.topic === topic));
    const tooLarge = rows.filter((row) => row.reason === "too_large");
    assert.ok(
      tooLarge.every((row) => row.payload_bytes > 20_000 && row.payload!.length === 16_384),
    );

    const byReason = await db.sql<{ reason: string; n: string }[]>`
      SELECT reason, sum(events) AS n FROM rejected_minute GROUP BY reason`;
    const expectedByReason = new Map<string, number>();
    for (const entry of bad) {
      expectedByReason.set(entry.reason, (expectedByReason.get(entry.reason) ?? 0) + 1);
    }
    assert.deepEqual(new Map(byReason.map((row) => [row.reason, Number(row.n)])), expectedByReason);
    const [ingest] = await db.sql`SELECT sum(events_accepted)::int AS accepted,
      sum(events_rejected)::int AS rejected FROM ingest_minute`;
    assert.deepEqual({ ...ingest }, {
      accepted: valid.length + legacy.length,
      rejected: bad.length,
    });

    // The dead-letter topic holds every rejected message with its reason and origin.
    const dlqEnds = await topicEndOffsets(kafka, dlqTopic);
    const dlqCount = [...dlqEnds.values()].reduce((sum, n) => sum + Number(n), 0);
    assert.equal(dlqCount, bad.length);
    const letters = await readTopic(kafka, dlqTopic, dlqCount);
    assert.deepEqual(
      letters.map((letter) => `${letter.headers["reject-reason"]}:${hex(letter.value)}`).sort(),
      expectedRejections,
    );
    const stored_offsets = await db.sql<{ k: string }[]>`
      SELECT partition || ':' || kafka_offset || ':' || reason AS k FROM rejected_events`;
    assert.deepEqual(
      letters.map((l) =>
        `${l.headers["source-partition"]}:${l.headers["source-offset"]}:${
          l.headers["reject-reason"]
        }`
      ).sort(),
      stored_offsets.map((row) => row.k).sort(),
    );
    assert.ok(letters.every((letter) => letter.headers["source-topic"] === topic));

    // Still running: a valid event published now is counted.
    const late = seededEvents({ count: 1, seed: 7, users: 1 });
    await publishRaw(kafka, topic, eventMessages(late));
    await waitUntil(
      "the next event is committed",
      async () => await committedMessages(db.sql, group, topic) >= messages.length + 1,
    );
    const after = await storedCounts(db.sql);
    assert.equal(after.total, expected.total + 1);
  } finally {
    await consumer.stop();
  }
});

async function readTopic(
  kafka: ReturnType<typeof createKafka>,
  topic: string,
  count: number,
): Promise<{ value: Uint8Array | null; headers: Record<string, string> }[]> {
  const consumer = kafka.consumer({ groupId: uniqueName("dlq_reader") });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const letters: { value: Uint8Array | null; headers: Record<string, string> }[] = [];
  const done = Promise.withResolvers<void>();
  await consumer.run({
    eachMessage: ({ message }) => {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(message.headers ?? {})) {
        headers[name] = String(value);
      }
      letters.push({ value: message.value, headers });
      if (letters.length >= count) done.resolve();
      return Promise.resolve();
    },
  });
  const timer = setTimeout(() => done.reject(new Error("dead letters not read in 30 s")), 30_000);
  try {
    await done.promise;
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
  }
  return letters;
}
