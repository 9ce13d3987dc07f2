/**
 * The two dashboard rollups of sql/0002 follow the consumer's writes inside its own transactions:
 * event_type_hour (statement triggers on event_type_minute) and consumer_lag_minute (a row trigger
 * on consumer_offsets). Real PostgreSQL, the consumer's migration runner.
 */
import { pathToFileURL } from "node:url";
import assert from "node:assert/strict";
import postgres from "postgres";
import { migrate } from "@activity/consumer";
import { createTestDatabase } from "../testing/services.ts";
import { dashboardDatabase, ensureReaderRole } from "./grafana_fixtures.ts";

const UPSERT = `INSERT INTO event_type_minute AS t (event_minute, event_type, event_count)
  SELECT to_timestamp(u.minute_s), u.event_type, u.n
  FROM unnest($1::int8[], $2::text[], $3::int8[]) AS u(minute_s, event_type, n)
  ORDER BY 1, 2
  ON CONFLICT (event_minute, event_type)
  DO UPDATE SET event_count = t.event_count + EXCLUDED.event_count`;

const s = (iso: string) => Date.parse(iso) / 1000;

async function hourTotals(sql: postgres.Sql): Promise<string[]> {
  const rows = await sql`SELECT event_hour, event_type, event_count FROM event_type_hour
    ORDER BY 1, 2`;
  return rows.map((row) => `${row.event_hour.toISOString()} ${row.event_type} ${row.event_count}`);
}

async function minuteTotalsByHour(sql: postgres.Sql): Promise<string[]> {
  const rows = await sql`SELECT date_trunc('hour', event_minute, 'UTC') AS event_hour, event_type,
      sum(event_count) AS event_count
    FROM event_type_minute GROUP BY 1, 2 ORDER BY 1, 2`;
  return rows.map((row) => `${row.event_hour.toISOString()} ${row.event_type} ${row.event_count}`);
}

Deno.test("hourly type totals follow inserts, upserts and updates of the minute totals", async () => {
  await using db = await dashboardDatabase("grafana_hour");
  await db.sql.unsafe(UPSERT, [
    [s("2024-05-01T10:01Z"), s("2024-05-01T10:59Z"), s("2024-05-01T11:00Z")],
    ["view", "view", "click"],
    [3, 4, 1],
  ]);
  // The consumer's next flush: one existing row (DO UPDATE) and one new row in the same statement.
  await db.sql.unsafe(UPSERT, [
    [s("2024-05-01T10:01Z"), s("2024-05-01T10:30Z")],
    ["view", "scroll"],
    [10, 2],
  ]);
  await db
    .sql`UPDATE event_type_minute SET event_count = event_count + 100 WHERE event_type = 'click'`;
  assert.deepEqual(await hourTotals(db.sql), [
    "2024-05-01T10:00:00.000Z scroll 2",
    "2024-05-01T10:00:00.000Z view 17",
    "2024-05-01T11:00:00.000Z click 101",
  ]);
  assert.deepEqual(await hourTotals(db.sql), await minuteTotalsByHour(db.sql));
  // Retention of minute rows keeps the hourly history.
  await db.sql`DELETE FROM event_type_minute WHERE event_minute < '2024-05-01T11:00Z'`;
  assert.equal((await hourTotals(db.sql)).length, 3);
});

Deno.test("hours are cut in UTC whatever the session time zone", async () => {
  await using db = await dashboardDatabase("grafana_hour_tz");
  await db.sql.begin(async (tx) => {
    await tx`SET LOCAL TIME ZONE 'Asia/Kolkata'`; // +05:30: local hours are not UTC hours
    await tx.unsafe(UPSERT, [[s("2024-05-01T10:45Z")], ["view"], [1]]);
  });
  assert.deepEqual(await hourTotals(db.sql), ["2024-05-01T10:00:00.000Z view 1"]);
});

Deno.test("concurrent flushes touching the same hour both commit with exact totals", async () => {
  await using db = await dashboardDatabase("grafana_hour_race");
  const first = postgres(db.url, { max: 1, onnotice: () => {} });
  const second = postgres(db.url, { max: 1, onnotice: () => {} });
  try {
    const firstHolds = Promise.withResolvers<void>();
    const releaseFirst = Promise.withResolvers<void>();
    const a = first.begin(async (tx) => {
      await tx.unsafe(UPSERT, [[s("2024-05-01T10:01Z"), s("2024-05-01T10:01Z") + 60], [
        "click",
        "view",
      ], [1, 2]]);
      firstHolds.resolve();
      await releaseFirst.promise;
    });
    await firstHolds.promise;
    // Waits on the hour rows the first transaction holds, then adds to them.
    const b = second.begin(async (tx) => {
      await tx.unsafe(UPSERT, [[s("2024-05-01T10:03Z"), s("2024-05-01T10:04Z")], [
        "click",
        "view",
      ], [10, 20]]);
    });
    setTimeout(() => releaseFirst.resolve(), 200);
    await Promise.all([a, b]);
  } finally {
    await first.end();
    await second.end();
  }
  assert.deepEqual(await hourTotals(db.sql), [
    "2024-05-01T10:00:00.000Z click 11",
    "2024-05-01T10:00:00.000Z view 22",
  ]);
});

Deno.test("applying 0002 to a database with minute totals back-fills the hourly totals", async () => {
  await ensureReaderRole();
  await using db = await createTestDatabase("grafana_backfill");
  const onlyFirst = await Deno.makeTempDir({ prefix: "grafana_migrations_" });
  try {
    await Deno.copyFile(
      new URL("../sql/0001_activity_schema.sql", import.meta.url),
      `${onlyFirst}/0001_activity_schema.sql`,
    );
    await migrate(db.url, { directory: pathToFileURL(`${onlyFirst}/`) });
  } finally {
    await Deno.remove(onlyFirst, { recursive: true });
  }
  await db.sql.unsafe(UPSERT, [
    [s("2024-05-01T10:01Z"), s("2024-05-01T10:02Z"), s("2024-05-01T12:00Z")],
    ["view", "view", "view"],
    [1, 2, 4],
  ]);
  const report = await migrate(db.url);
  assert.ok(report.applied.includes("0002_grafana_reader.sql"), JSON.stringify(report));
  assert.deepEqual(await hourTotals(db.sql), [
    "2024-05-01T10:00:00.000Z view 3",
    "2024-05-01T12:00:00.000Z view 4",
  ]);
  // And from then on the triggers keep them.
  await db.sql.unsafe(UPSERT, [[s("2024-05-01T12:30Z")], ["view"], [5]]);
  assert.deepEqual(await hourTotals(db.sql), await minuteTotalsByHour(db.sql));
});

Deno.test("every offsets commit records the partition's lag for the current minute", async () => {
  await using db = await dashboardDatabase("grafana_lag");
  await db
    .sql`INSERT INTO consumer_offsets (consumer_group, topic, partition, next_offset, high_watermark)
    VALUES ('g', 't', 0, 5, 12), ('g', 't', 1, 9, 4)`;
  await db.sql`UPDATE consumer_offsets SET next_offset = 10, high_watermark = 30, updated_at = now()
    WHERE partition = 0`;
  const rows = await db.sql`SELECT partition, sampled_minute, lag_messages,
      date_trunc('minute', now(), 'UTC') AS this_minute
    FROM consumer_lag_minute ORDER BY partition`;
  // The later commit in the same minute replaces the sample; a stale watermark is lag 0.
  assert.deepEqual(rows.map((row) => [row.partition, Number(row.lag_messages)]), [[0, 20], [1, 0]]);
  for (const row of rows) assert.deepEqual(row.sampled_minute, row.this_minute);
});
