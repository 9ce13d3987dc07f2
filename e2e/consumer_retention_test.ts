import assert from "node:assert/strict";
import { createKafka, ensureTopics } from "@activity/shared/kafka";
import { migrate } from "../consumer/mod.ts";
import { deleteExpired, retentionTargets } from "../consumer/maintenance.ts";
import { createTestDatabase, testServices, uniqueName } from "../testing/services.ts";
import { waitUntil } from "../testing/pipeline_events.ts";
import { startTestConsumer, testConsumerConfig } from "../testing/consumer_fixture.ts";

/** Rows 40 days old and 1 hour old in the per-minute tables, the rollups and rejected_events. */
async function seedOldAndNew(sql: Awaited<ReturnType<typeof createTestDatabase>>["sql"]) {
  for (const age of ["40 days", "1 hour"]) {
    await sql.unsafe(`
      INSERT INTO user_event_summary (user_id, event_minute, event_type, event_hour, event_count)
      SELECT 'u' || i, date_trunc('minute', now() - interval '${age}'), 'click',
        date_trunc('hour', now() - interval '${age}'), 1 FROM generate_series(1, 30) AS i;
      INSERT INTO user_event_hourly (user_id, event_hour, event_type, event_count)
      SELECT 'u' || i, date_trunc('hour', now() - interval '${age}'), 'click', 1
      FROM generate_series(1, 30) AS i;
      INSERT INTO event_type_minute VALUES (date_trunc('minute', now() - interval '${age}'), 'click', 30);
      INSERT INTO rejected_events (reason, detail, topic, partition, kafka_offset, payload_bytes, received_at)
      SELECT 'not_json', 'x', 't', 0, i + ${
      age === "1 hour" ? 1000 : 0
    }, 1, now() - interval '${age}'
      FROM generate_series(1, 25) AS i;`);
  }
}

async function rowCounts(sql: Awaited<ReturnType<typeof createTestDatabase>>["sql"]) {
  const [row] = await sql`SELECT
    (SELECT count(*) FROM user_event_summary)::int AS summary,
    (SELECT count(*) FROM user_event_hourly)::int AS hourly,
    (SELECT count(*) FROM event_type_minute)::int AS type_minute,
    (SELECT count(*) FROM rejected_events)::int AS rejected`;
  return { ...row };
}

Deno.test("retention deletes per-minute rows and rejections past the window in small batches and keeps rollups", async () => {
  await using db = await createTestDatabase("consumer_retention");
  await migrate(db.url);
  await seedOldAndNew(db.sql);
  const deleted = await deleteExpired(
    db.sql,
    retentionTargets({ retentionDays: 30, rollupRetentionDays: 0 }),
    { batchSize: 7 },
  );
  assert.equal(deleted.get("user_event_summary"), 30);
  assert.equal(deleted.get("rejected_events"), 25);
  assert.deepEqual(await rowCounts(db.sql), {
    summary: 30,
    hourly: 60,
    type_minute: 1,
    rejected: 25,
  });
  await deleteExpired(db.sql, retentionTargets({ retentionDays: 30, rollupRetentionDays: 35 }));
  assert.deepEqual(await rowCounts(db.sql), {
    summary: 30,
    hourly: 30,
    type_minute: 1,
    rejected: 25,
  });
});

Deno.test("a running consumer applies retention and samples table sizes in the background", async () => {
  const { brokers } = await testServices();
  await using db = await createTestDatabase("consumer_upkeep");
  await migrate(db.url);
  await seedOldAndNew(db.sql);
  const topic = uniqueName("upkeep");
  await ensureTopics(createKafka({ brokers, clientId: "consumer-upkeep-test" }), [
    { topic, partitions: 1 },
  ]);
  const consumer = startTestConsumer(
    testConsumerConfig({
      brokers: brokers.join(","),
      topic,
      group: uniqueName("upkeep_group"),
      "database-url": db.url,
      "dlq-topic": `${topic}.dlq`,
    }),
    "consumer",
    { maintenanceIntervalMs: 200 },
  );
  try {
    await waitUntil("old rows are deleted and sizes sampled", async () => {
      const [samples] = await db.sql`SELECT count(*)::int AS n FROM storage_samples
        WHERE relation = 'user_event_summary' AND bytes > 0`;
      const counts = await rowCounts(db.sql);
      return samples.n > 0 && counts.summary === 30 && counts.rejected === 25;
    }, { timeoutMs: 20_000 });
  } finally {
    await consumer.stop();
  }
  assert.deepEqual(await rowCounts(db.sql), {
    summary: 30,
    hourly: 60,
    type_minute: 1,
    rejected: 25,
  });
});
