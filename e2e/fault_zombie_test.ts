/**
 * Issue 8: a real zombie. Consumer A holds counted-but-uncommitted events when
 * it is frozen (SIGSTOP) for longer than its session timeout; consumer B takes
 * its partition, counts those events and commits. When A wakes (SIGCONT) its
 * flush is refused by the offset fence and changes nothing; A then carries on
 * from the stored offsets. (e2e/consumer_fence_test.ts covers the store-level
 * fence and a flush whose offsets moved while it waited on a row lock.)
 */
import assert from "node:assert/strict";
import type postgres from "postgres";
import { createKafka, ensureTopics } from "@activity/shared/kafka";
import { createTestDatabase, testServices, uniqueName } from "../testing/services.ts";
import {
  committedMessages,
  eventMessages,
  publishRaw,
  seededEvents,
  waitUntil,
} from "../testing/pipeline_events.ts";
import { spawnConsumerProcess } from "../testing/consumer_fixture.ts";
import { assertCountsExact } from "../testing/fault_topic.ts";
import {
  faultConsumerFlags,
  freePort,
  metricSum,
  scrapeMetrics,
} from "../testing/fault_processes.ts";
import { printFigures } from "../testing/fault_figures.ts";

/** Everything a flush writes, summed: equal snapshots mean nothing was written. */
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
      (SELECT string_agg(partition || '=' || next_offset || '@' || updated_at, ',')
       FROM consumer_offsets) AS offsets`;
  return { ...row };
}

Deno.test("a consumer frozen past its session timeout (a zombie) has its flush refused when it wakes: it changes nothing, and carries on from the stored offsets", async () => {
  const started = performance.now();
  const { brokers } = await testServices();
  await using db = await createTestDatabase("fault_zombie");
  const topic = uniqueName("fault_zombie");
  const group = uniqueName("fault_zombie_group");
  const kafka = createKafka({ brokers, clientId: "fault-zombie-test" });
  await ensureTopics(kafka, [{ topic, partitions: 1 }]);
  const batches = [5_000, 3_000, 2_000].map((count, i) => seededEvents({ count, seed: 90 + i }));
  const committed = () => committedMessages(db.sql, group, topic);
  const base = {
    brokers: brokers.join(","),
    topic,
    group,
    "database-url": db.url,
    "dlq-topic": `${topic}.dlq`,
  };
  const zombiePort = freePort();
  const zombieMetric = async (name: string, labels: Record<string, string> = {}) =>
    metricSum((await scrapeMetrics(zombiePort)) ?? "", name, labels);

  await publishRaw(kafka, topic, eventMessages(batches[0]));
  // A flushes at 5 000 events, or 8 s after the first buffered one: the second batch (3 000)
  // stays in its buffer until after it was frozen and woken.
  await using zombie = spawnConsumerProcess(faultConsumerFlags({
    ...base,
    "metrics-port": zombiePort,
    "flush-events": 5_000,
    "flush-interval-ms": 8_000,
    "max-buffer-events": 100_000,
  }));
  await waitUntil("A commits the first batch", async () => await committed() >= 5_000);
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
    await using taker = spawnConsumerProcess(faultConsumerFlags(base));
    await waitUntil("B commits the second batch", async () => await committed() >= 8_000);
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
  assert.deepEqual(await snapshot(db.sql), before, "the zombie's flush changed something");

  // A rejoins and carries on from the stored offsets: the third batch only.
  await publishRaw(kafka, topic, eventMessages(batches[2]));
  await waitUntil("A commits the third batch", async () => await committed() >= 10_000, {
    timeoutMs: 30_000,
  });
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
    rows_changed_by_zombie: 0,
    events_compared: compared.events,
    rows_compared: compared.rows,
    seconds: (performance.now() - started) / 1000,
  });
});
