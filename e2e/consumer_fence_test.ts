/**
 * The offset fence: a flush commits only if the stored offsets of its
 * partitions are still where its batch began, and only for the group that
 * owns the topic. Refused at the store, in a running consumer whose flush
 * waited on a row lock while another member moved the offsets, and in a real
 * zombie: a consumer CLI frozen (SIGSTOP) past its session timeout while
 * holding counted but uncommitted events, whose partition another member took
 * and committed. A refused flush writes nothing; the consumer carries on from
 * the stored offsets. And flushes with crossing keys never deadlock.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { aggregateBatch, planFlush } from "../consumer/mod.ts";
import { claimTopic } from "../consumer/topic_owner.ts";
import type { PartitionRange } from "../consumer/offset_fence.ts";
import { withStore } from "../testing/consumer_store.ts";
import {
  assertCountsExact,
  createConsumerScene,
  eventMessages,
  freePort,
  metricSum,
  printFigures,
  publishRaw,
  scrapeMetrics,
  seededEvents,
  waitUntil,
} from "../testing/mod.ts";

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

/** Everything a flush writes, summed, and the stored offsets: equal snapshots, nothing written. */
async function snapshot(sql: postgres.Sql) {
  const [row] = await sql`
    SELECT (SELECT coalesce(sum(event_count), 0) FROM user_event_summary)::int AS summary,
      (SELECT coalesce(sum(event_count), 0) FROM user_event_hourly)::int AS hourly,
      (SELECT coalesce(sum(event_count), 0) FROM user_event_daily)::int AS daily,
      (SELECT coalesce(sum(event_count), 0) FROM event_type_minute)::int AS type_minute,
      (SELECT coalesce(sum(active_users), 0) FROM active_users_minute)::int AS active_users,
      (SELECT coalesce(sum(events_accepted), 0) FROM ingest_minute)::int AS ingest,
      (SELECT coalesce(sum(flushes), 0) FROM ingest_minute)::int AS flushes,
      (SELECT count(*) FROM rejected_events)::int AS rejected,
      (SELECT string_agg(partition || '=' || next_offset, ',' ORDER BY partition)
       FROM consumer_offsets) AS offsets,
      (SELECT string_agg(updated_at::text, ',' ORDER BY partition)
       FROM consumer_offsets) AS offsets_updated`;
  return { ...row };
}

/** The totals a flush of `planFor` moves. */
async function totals(sql: postgres.Sql) {
  const { summary, daily, ingest, offsets } = await snapshot(sql);
  return { summary, daily, ingest, offsets };
}

Deno.test("a flush whose stored offsets moved on (a zombie's) is refused and changes nothing", async () => {
  await withStore("consumer_fence_store", async (store, db) => {
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
    assert.deepEqual(await totals(db.sql), {
      summary: 500,
      daily: 500,
      ingest: 500,
      offsets: "0=500,1=10",
    });

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
    assert.deepEqual(await totals(db.sql), {
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
  });
});

Deno.test("a running consumer whose flush waited on a row lock while another member moved the offsets writes nothing of it and carries on from the stored offsets", async () => {
  await using scene = await createConsumerScene({ name: "consumer_fence_live", partitions: 1 });
  const { db, group } = scene;
  const batches = [5_000, 3_000, 2_000].map((count, i) => seededEvents({ count, seed: i + 1 }));
  await publishRaw(scene.kafka, scene.topic, eventMessages(batches[0]));
  const consumer = scene.start({ "flush-events": 100_000, "flush-interval-ms": 200 });
  const other = postgres(db.url, { max: 1, onnotice: () => {} });
  let summary;
  try {
    await scene.reach(5_000);
    // Another member takes the partition: it holds the offset row while the consumer's next
    // flush waits on it, then commits progress past that flush (as if it had counted it).
    const reserved = await other.reserve();
    try {
      await reserved`BEGIN`;
      await reserved`SELECT 1 FROM consumer_offsets WHERE consumer_group = ${group} FOR UPDATE`;
      await publishRaw(scene.kafka, scene.topic, eventMessages(batches[1]));
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
    await publishRaw(scene.kafka, scene.topic, eventMessages(batches[2]));
    await scene.reach(10_000);
  } finally {
    await other.end();
    summary = await consumer.stop();
  }
  assert.ok(summary.fenceMisses >= 1, `fence misses: ${summary.fenceMisses}`);
  // The fenced batch was "someone else's": only the first and third are counted here, once.
  await assertCountsExact(db.sql, [...batches[0], ...batches[2]]);
  assert.equal(await scene.committed(), 10_000);
});

Deno.test("a consumer frozen past its session timeout (a zombie) has its flush refused when it wakes: it changes nothing, and carries on from the stored offsets", async () => {
  const started = performance.now();
  await using scene = await createConsumerScene({ name: "fault_zombie", partitions: 1 });
  const { db, kafka, topic } = scene;
  const batches = [5_000, 3_000, 2_000].map((count, i) => seededEvents({ count, seed: 90 + i }));
  const committed = scene.committed;
  const zombiePort = freePort();
  const zombieMetric = async (name: string, labels: Record<string, string> = {}) =>
    metricSum((await scrapeMetrics(zombiePort)) ?? "", name, labels);

  await publishRaw(kafka, topic, eventMessages(batches[0]));
  // A flushes at 5 000 events, or 8 s after the first buffered one: the second batch (3 000)
  // stays in its buffer until after it was frozen and woken.
  await using zombie = scene.spawn({
    "metrics-port": zombiePort,
    "flush-events": 5_000,
    "flush-interval-ms": 8_000,
    "max-buffer-events": 100_000,
  });
  await scene.reach(5_000, { explain: zombie });
  await publishRaw(kafka, topic, eventMessages(batches[1]));
  await waitUntil(
    "A holds the second batch",
    async () => await zombieMetric("activity_consumer_buffered_events") >= 3_000,
  );
  zombie.kill("SIGSTOP");
  const frozenAt = performance.now();
  assert.equal(await committed(), 5_000, "A had not committed the second batch");

  // B joins; once A's session has expired B owns the partition, counts the second batch, leaves.
  {
    await using taker = scene.spawn();
    await scene.reach(8_000, { explain: taker });
    taker.kill("SIGTERM");
    const { code, stderr } = await taker.finished;
    assert.equal(code, 0, stderr.slice(-2_000));
  }
  const before = await snapshot(db.sql);
  assert.equal(before.summary, 8_000);

  zombie.kill("SIGCONT");
  const frozenMs = Math.round(performance.now() - frozenAt);
  await waitUntil(
    "A's flush is refused by the fence",
    async () => await zombieMetric("activity_consumer_flushes_total", { outcome: "fenced" }) >= 1,
    { timeoutMs: 30_000 },
  );
  const fenced = await zombieMetric("activity_consumer_flushes_total", { outcome: "fenced" });
  const woken = await snapshot(db.sql);
  assert.deepEqual(woken, before, "the zombie's flush changed something");
  const changed = Object.keys(before).filter((key) => woken[key] !== before[key]);

  // A rejoins and carries on from the stored offsets: the third batch only.
  await publishRaw(kafka, topic, eventMessages(batches[2]));
  await scene.reach(10_000, { timeoutMs: 30_000, explain: zombie });
  zombie.kill("SIGTERM");
  const { code, stderr } = await zombie.finished;
  assert.equal(code, 0, stderr.slice(-2_000));
  assert.match(stderr, /flush refused: the stored offsets moved on/);

  const compared = await assertCountsExact(db.sql, batches.flat());
  assert.equal(await committed(), 10_000);
  printFigures("fault_zombie", {
    zombie_buffered_events: batches[1].length,
    frozen_ms: frozenMs,
    zombie_flushes_refused: fenced,
    totals_changed_by_zombie: changed.length,
    events_compared: compared.events,
    rows_compared: compared.rows,
    seconds: (performance.now() - started) / 1000,
  });
});

Deno.test("two flushes with crossing keys, committed at the same moment again and again, never deadlock", async () => {
  await withStore("consumer_lock_order", async (store, db) => {
    await claimTopic(store.sql, { topic: "t", group: "g", takeOverFrom: "" });
    // The same 2 000 users in opposite orders, one flush per partition (two consumers that
    // share users, as producers that do not key by user make them).
    const users = seededEvents({ count: 2_000, seed: 5, users: 2_000 });
    const forward = users.map((event, i) => ({ ...event, user_id: `user_${i}` }));
    const backward = [...forward].reverse();
    let deadlocks = 0;
    const rounds = 15;
    for (let round = 0; round < rounds; round++) {
      // Both flushes start from the offsets the previous round committed.
      const outcomes = await Promise.allSettled(
        [forward, backward].map((events, partition) =>
          store.commitFlush(
            planFor(events, [{
              partition,
              expected: round === 0 ? null : String(round * 10),
              next: String((round + 1) * 10),
              highWatermark: "999",
            }]),
            NO_DEAD_LETTERS,
          )
        ),
      );
      for (const outcome of outcomes) {
        if (outcome.status === "rejected") {
          if ((outcome.reason as { code?: string }).code === "40P01") deadlocks++;
          else throw outcome.reason;
        } else assert.equal(outcome.value.kind, "committed");
      }
    }
    assert.equal(deadlocks, 0);
    assert.equal((await snapshot(db.sql)).summary, 2 * rounds * 2_000);
    printFigures("lock_order", { rounds, keys_per_flush: forward.length, deadlocks });
  });
});
