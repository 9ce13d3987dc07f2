import assert from "node:assert/strict";
import postgres from "postgres";
import { createKafka, ensureTopics } from "@activity/shared/kafka";
import { aggregateBatch, migrate, planFlush } from "../consumer/mod.ts";
import { openStore } from "../consumer/store.ts";
import { claimTopic } from "../consumer/topic_owner.ts";
import { printFigures } from "../testing/fault_figures.ts";
import type { PartitionRange } from "../consumer/offset_fence.ts";
import { createTestDatabase, testServices, uniqueName } from "../testing/services.ts";
import {
  committedMessages,
  countDifferences,
  eventMessages,
  expectedCounts,
  publishRaw,
  seededEvents,
  storedCounts,
  waitUntil,
} from "../testing/pipeline_events.ts";
import { startTestConsumer, testConsumerConfig } from "../testing/consumer_fixture.ts";

const NO_DEAD_LETTERS = { deadLetters: [] };

/** A flush plan for `events` covering `ranges`, built by the consumer's own pure code. */
function planFor(
  events: ReturnType<typeof seededEvents>,
  ranges: Omit<PartitionRange, "gaps">[],
) {
  const messages = eventMessages(events).map((message, i) => ({
    offset: String(i),
    timestamp: String(Date.now()),
    key: null,
    value: message.value,
  }));
  const aggregate = aggregateBatch({ topic: "t", partition: 0, messages }, {
    decode: { nowMs: Date.now() },
  });
  return planFlush(aggregate, ranges.map((range) => ({ ...range, gaps: [] })), {
    group: "g",
    topic: "t",
    topicId: null,
  });
}

async function snapshot(sql: postgres.Sql) {
  const rows = await sql`
    SELECT (SELECT coalesce(sum(event_count), 0) FROM user_event_summary)::int AS summary,
      (SELECT coalesce(sum(event_count), 0) FROM user_event_daily)::int AS daily,
      (SELECT coalesce(sum(events_accepted), 0) FROM ingest_minute)::int AS ingest,
      (SELECT string_agg(partition || '=' || next_offset, ',' ORDER BY partition)
       FROM consumer_offsets) AS offsets`;
  return { ...rows[0] };
}

Deno.test("a flush whose stored offsets moved on (a zombie's) is refused and changes nothing", async () => {
  await using db = await createTestDatabase("consumer_fence_store");
  await migrate(db.url);
  const store = openStore(db.url);
  try {
    await claimTopic(store.sql, { topic: "t", group: "g", takeOverFrom: "" });
    const events = seededEvents({ count: 500, seed: 3 });
    const first = await store.commitFlush(
      planFor(events, [
        { partition: 0, expected: null, next: "500", highWatermark: "900" },
        { partition: 1, expected: null, next: "10", highWatermark: "10" },
      ]),
      NO_DEAD_LETTERS,
    );
    assert.equal(first.kind, "committed");
    const before = await snapshot(db.sql);
    assert.deepEqual(before, { summary: 500, daily: 500, ingest: 500, offsets: "0=500,1=10" });

    // A zombie that still believes partition 0 is new, or that it starts at 100, and a flush
    // whose partition 1 is right but partition 0 is not: all refused, all-or-nothing.
    for (
      const ranges of [
        [{ partition: 0, expected: null, next: "400", highWatermark: "900" }],
        [{ partition: 0, expected: "100", next: "700", highWatermark: "900" }],
        [
          { partition: 0, expected: "400", next: "700", highWatermark: "900" },
          { partition: 1, expected: "10", next: "20", highWatermark: "20" },
        ],
      ]
    ) {
      const outcome = await store.commitFlush(planFor(events, ranges), NO_DEAD_LETTERS);
      assert.deepEqual(outcome, { kind: "fenced", partitions: [0] });
      assert.deepEqual(await snapshot(db.sql), before);
    }

    const next = await store.commitFlush(
      planFor(events.slice(0, 100), [
        { partition: 0, expected: "500", next: "600", highWatermark: "900" },
      ]),
      NO_DEAD_LETTERS,
    );
    assert.equal(next.kind, "committed");
    assert.deepEqual(await snapshot(db.sql), {
      summary: 600,
      daily: 600,
      ingest: 600,
      offsets: "0=600,1=10",
    });

    // Handed over to another group: a flush of the old group is refused, whatever its offsets.
    await claimTopic(store.sql, { topic: "t", group: "g2", takeOverFrom: "g" });
    const late = await store.commitFlush(
      planFor(events.slice(0, 10), [
        { partition: 2, expected: null, next: "10", highWatermark: "10" },
      ]),
      NO_DEAD_LETTERS,
    );
    assert.deepEqual(late, { kind: "not_owner", owner: "g2" });
    assert.equal((await snapshot(db.sql)).summary, 600);
  } finally {
    await store.close();
  }
});

Deno.test("a running consumer whose flush is fenced writes nothing of it and carries on from the stored offsets", async () => {
  const { brokers } = await testServices();
  await using db = await createTestDatabase("consumer_fence_live");
  const topic = uniqueName("fence");
  const group = uniqueName("fence_group");
  const kafka = createKafka({ brokers, clientId: "consumer-fence-test" });
  await ensureTopics(kafka, [{ topic, partitions: 1 }]);
  const batches = [
    seededEvents({ count: 5_000, seed: 1 }),
    seededEvents({ count: 3_000, seed: 2 }),
    seededEvents({ count: 2_000, seed: 3 }),
  ];
  await publishRaw(kafka, topic, eventMessages(batches[0]));
  const consumer = startTestConsumer(testConsumerConfig({
    brokers: brokers.join(","),
    topic,
    group,
    "database-url": db.url,
    "dlq-topic": `${topic}.dlq`,
    "flush-events": 100_000,
    "flush-interval-ms": 200,
  }));
  const other = postgres(db.url, { max: 1, onnotice: () => {} });
  try {
    await waitUntil(
      "the first batch is committed",
      async () => await committedMessages(db.sql, group, topic) >= 5_000,
    );
    // Another member takes the partition: it holds the offset row while the consumer's next
    // flush waits on it, then commits progress past that flush (as if it had counted it).
    const reserved = await other.reserve();
    try {
      await reserved`BEGIN`;
      await reserved`SELECT 1 FROM consumer_offsets WHERE consumer_group = ${group} FOR UPDATE`;
      await publishRaw(kafka, topic, eventMessages(batches[1]));
      await waitUntil("the consumer's flush waits for the row", async () => {
        const [row] = await db.sql`SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE application_name = 'activity-consumer' AND wait_event_type = 'Lock'`;
        return row.n > 0;
      });
      await reserved`UPDATE consumer_offsets SET next_offset = 8000 WHERE consumer_group = ${group}`;
      await reserved`COMMIT`;
    } finally {
      reserved.release();
    }
    await publishRaw(kafka, topic, eventMessages(batches[2]));
    await waitUntil(
      "the third batch is committed",
      async () => await committedMessages(db.sql, group, topic) >= 10_000,
    );
  } finally {
    await other.end();
    const summary = await consumer.stop();
    assert.ok(summary.fenceMisses >= 1, `fence misses: ${summary.fenceMisses}`);
  }
  // The fenced batch was "someone else's": only the first and third are counted here, once.
  const expected = expectedCounts([...batches[0], ...batches[2]]);
  const stored = await storedCounts(db.sql);
  for (const table of ["summary", "hourly", "daily", "typeMinute", "activeUsers"] as const) {
    assert.deepEqual(countDifferences(expected[table], stored[table]), [], table);
  }
  assert.equal(await committedMessages(db.sql, group, topic), 10_000);
});

Deno.test("two flushes with crossing keys, committed at the same moment again and again, never deadlock", async () => {
  await using db = await createTestDatabase("consumer_lock_order");
  await migrate(db.url);
  const store = openStore(db.url);
  try {
    await claimTopic(store.sql, { topic: "t", group: "g", takeOverFrom: "" });
    // The same 2 000 users in opposite orders, one flush per partition (two consumers that
    // share users, as producers that do not key by user make them).
    const users = seededEvents({ count: 2_000, seed: 5, users: 2_000 });
    const forward = users.map((event, i) => ({ ...event, user_id: `user_${i}` }));
    const backward = [...forward].reverse();
    let deadlocks = 0;
    const rounds = 15;
    for (let round = 0; round < rounds; round++) {
      const [a, b] = await Promise.allSettled([
        store.commitFlush(
          planFor(forward, [
            {
              partition: 0,
              expected: round === 0 ? null : String(round * 10),
              next: String((round + 1) * 10),
              highWatermark: "999",
            },
          ]),
          NO_DEAD_LETTERS,
        ),
        store.commitFlush(
          planFor(backward, [
            {
              partition: 1,
              expected: round === 0 ? null : String(round * 10),
              next: String((round + 1) * 10),
              highWatermark: "999",
            },
          ]),
          NO_DEAD_LETTERS,
        ),
      ]);
      for (const outcome of [a, b]) {
        if (outcome.status === "rejected") {
          if ((outcome.reason as { code?: string }).code === "40P01") deadlocks++;
          else throw outcome.reason;
        } else assert.equal(outcome.value.kind, "committed");
      }
    }
    assert.equal(deadlocks, 0);
    assert.equal((await snapshot(db.sql)).summary, 2 * rounds * 2_000);
    printFigures("lock_order", { rounds, keys_per_flush: 2_000, deadlocks });
  } finally {
    await store.close();
  }
});
