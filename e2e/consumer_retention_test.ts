import assert from "node:assert/strict";
import { DAY_MS, encode, MINUTE_MS } from "@activity/shared";
import type postgres from "postgres";
import { migrate } from "../consumer/mod.ts";
import { deleteExpired, retentionTargets } from "../consumer/maintenance.ts";
import { closeRollups } from "../consumer/closed_rollups.ts";
import {
  acceptedEvents,
  assertCountsExact,
  createConsumerScene,
  createTestDatabase,
  eventMessages,
  printFigures,
  publishRaw,
  seededEvents,
  waitUntil,
} from "../testing/mod.ts";

/** Rows 40 days old and 1 hour old in the per-minute tables, the rollups and rejected_events. */
async function seedOldAndNew(sql: postgres.Sql) {
  // Seeded with their rollups: every bucket is rolled up (materialised) already.
  await sql`UPDATE rollup_watermark SET hours_closed_before = 'infinity',
    days_closed_before = 'infinity'`;
  for (const age of ["40 days", "1 hour"]) {
    await sql.unsafe(`
      INSERT INTO user_event_summary (user_id, event_minute, event_type, event_hour, event_count)
      SELECT 'u' || i, date_trunc('minute', now() - interval '${age}'), 'click',
        date_trunc('hour', now() - interval '${age}'), 1 FROM generate_series(1, 30) AS i;
      INSERT INTO user_event_hourly_closed (user_id, event_hour, event_type, event_count)
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

async function rowCounts(sql: postgres.Sql) {
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
    { nowMs: Date.now(), batchSize: 7 },
  );
  assert.equal(deleted.get("user_event_summary"), 30);
  assert.equal(deleted.get("rejected_events"), 25);
  assert.deepEqual(await rowCounts(db.sql), {
    summary: 30,
    hourly: 60,
    type_minute: 1,
    rejected: 25,
  });
  await deleteExpired(db.sql, retentionTargets({ retentionDays: 30, rollupRetentionDays: 35 }), {
    nowMs: Date.now(),
  });
  assert.deepEqual(await rowCounts(db.sql), {
    summary: 30,
    hourly: 30,
    type_minute: 1,
    rejected: 25,
  });
});

Deno.test("a running consumer applies retention and samples table sizes in the background", async () => {
  await using scene = await createConsumerScene({ name: "consumer_upkeep", partitions: 1 });
  const { db } = scene;
  await migrate(db.url);
  await seedOldAndNew(db.sql);
  const consumer = scene.start({}, { run: { maintenanceIntervalMs: 200 } });
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

/** A canonical event of `user` at `ms`, as a raw message. */
function eventAt(user: string, ms: number) {
  return {
    key: user,
    value: encode({
      version: 1,
      event_id: crypto.randomUUID(),
      user_id: user,
      session_id: "s_retention",
      event_type: "click",
      occurred_at: new Date(ms).toISOString(),
      page: "/",
    }),
  };
}

Deno.test("retention and late events follow one rule: a minute is gone once its end is past the cutoff, and never comes back partial", async () => {
  await using scene = await createConsumerScene({ name: "retention_rule", partitions: 1 });
  const { db, kafka, topic } = scene;
  await migrate(db.url);
  const cutoff = Date.now() - DAY_MS; // --retention-days 1
  const minuteStart = (ms: number) => ms - (ms % MINUTE_MS);
  // A minute ending 10 s before the cutoff is gone; one ending 40 s after it is kept.
  const goneMinute = minuteStart(cutoff - 10_000 - MINUTE_MS + 1);
  const keptMinute = minuteStart(cutoff + 40_000 - 1);
  assert.ok(goneMinute + MINUTE_MS <= cutoff && keptMinute + MINUTE_MS > cutoff + 30_000);
  await db
    .sql`INSERT INTO user_event_summary (user_id, event_minute, event_type, event_hour, event_count)
    VALUES ('seeded', ${new Date(goneMinute - 3 * 3_600_000)}, 'click',
      date_trunc('hour', ${new Date(goneMinute - 3 * 3_600_000)}::timestamptz, 'UTC'), 1)`;
  const consumer = scene.start({ "retention-days": 1 }, {
    run: { maintenanceIntervalMs: 3_600_000 },
  });
  try {
    await publishRaw(kafka, topic, [
      eventAt("late", goneMinute + MINUTE_MS - 1), // the last millisecond of a gone minute
      eventAt("late", keptMinute), // the first millisecond of a kept minute
      eventAt("now", Date.now()),
    ]);
    await waitUntil("all three are committed", async () => {
      const [row] = await db.sql`SELECT coalesce(sum(events_accepted + events_rejected), 0)::int
        AS n FROM ingest_minute`;
      return row.n === 3;
    }, { timeoutMs: 30_000 });
    const [rejected] = await db.sql`SELECT reason, detail FROM rejected_events`;
    assert.equal(rejected.reason, "expired_timestamp");
    assert.match(rejected.detail, /retention/);
    // Retention run by a consumer whose clock is 30 minutes ahead (skew within the grace), after
    // rolling up the closed hours as its upkeep does (per-minute rows are kept until then):
    const skewMs = 30 * MINUTE_MS;
    await closeRollups(db.sql, Date.now() + skewMs);
    const deleted = await deleteExpired(
      db.sql,
      retentionTargets({ retentionDays: 1, rollupRetentionDays: 0 }),
      { nowMs: Date.now() + skewMs },
    );
    assert.equal(deleted.get("user_event_summary"), 1, "only the seeded minute, long gone");
    // A late event into the kept minute still adds to the minute's whole count.
    await publishRaw(kafka, topic, [eventAt("late", keptMinute + 1)]);
    await waitUntil("the fourth is committed", async () => {
      const [row] = await db.sql`SELECT coalesce(sum(event_count), 0)::int AS n
        FROM user_event_summary WHERE event_minute = ${new Date(keptMinute)}`;
      return row.n === 2;
    }, { timeoutMs: 30_000 });
    const minutes = await db.sql`SELECT event_minute FROM user_event_summary
      WHERE event_minute + interval '1 minute' <= ${new Date(cutoff)}`;
    assert.deepEqual(minutes.length, 0, "no minute that ended before the cutoff exists");
    printFigures("retention_rule", {
      gone_minute_end_before_cutoff_s: (cutoff - goneMinute - MINUTE_MS) / 1000,
      kept_minute_end_after_cutoff_s: Math.round((keptMinute + MINUTE_MS - cutoff) / 1000),
      retention_skew_tolerated_min: skewMs / MINUTE_MS,
    });
  } finally {
    await consumer.stop();
  }
});

Deno.test("hourly and daily rollups are written once per event: by the upkeep when their bucket closes, or by the flush of a later event", async () => {
  await using scene = await createConsumerScene({ name: "closed_rollups", partitions: 2 });
  const { db, kafka, topic } = scene;
  // Events over the last 40 hours: most of their hours close at the upkeep's first run.
  const first = seededEvents({ count: 3_000, seed: 71 });
  await publishRaw(kafka, topic, eventMessages(first));
  const consumer = scene.start({}, { run: { maintenanceIntervalMs: 50 } });
  try {
    await waitUntil("the first events are counted and their closed hours rolled up", async () => {
      if (await acceptedEvents(db.sql) < 3_000) return false;
      const [row] = await db.sql`SELECT hours_closed_before > '-infinity' AS closed
        FROM rollup_watermark`;
      return row.closed;
    }, { timeoutMs: 30_000 });
    // Late events into hours closed already, while the upkeep keeps running every 50 ms.
    const late = seededEvents({ count: 3_000, seed: 72, spanMs: 30 * 3_600_000 });
    await publishRaw(kafka, topic, eventMessages(late));
    await waitUntil("the late events are counted", async () => {
      const [row] = await db
        .sql`SELECT coalesce(sum(events_accepted), 0)::int AS n FROM ingest_minute`;
      return row.n === 6_000;
    }, { timeoutMs: 30_000 });
    await assertCountsExact(db.sql, [...first, ...late]);
    const [split] = await db.sql`SELECT
      (SELECT coalesce(sum(event_count), 0) FROM user_event_hourly_closed)::int AS closed,
      (SELECT coalesce(sum(event_count), 0) FROM user_event_hourly)::int AS all_hours`;
    assert.ok(split.closed > 0 && split.closed < 6_000, `closed ${split.closed} of 6000`);
    assert.equal(split.all_hours, 6_000);
    printFigures("closed_rollups", {
      events: split.all_hours,
      events_in_closed_hours: split.closed,
    });
  } finally {
    await consumer.stop();
  }
});

Deno.test("closing the day of the upgrade gives its row the sum of its hours, an event flushed ahead of the watermark once", async () => {
  await using db = await createTestDatabase("closed_rollups_upgrade");
  await migrate(db.url);
  const day = Math.floor(Date.now() / DAY_MS) * DAY_MS - 3 * DAY_MS;
  const at = (hours: number, minutes = 0) =>
    new Date(day + hours * 3_600_000 + minutes * MINUTE_MS);
  // As sql/0007 leaves a database upgraded at 11:20 of that day: flushes before it kept the
  // hourly and daily rows whole, and the watermark is the next hour.
  await db.sql`UPDATE rollup_watermark SET hours_closed_before = ${at(12)},
    days_closed_before = ${at(12)}`;
  // The event at 12:02 came within the future tolerance before the upgrade: flushes then gave it
  // to its hour's row and its day's row already.
  await db.sql`INSERT INTO user_event_summary
    (user_id, event_minute, event_type, event_hour, event_count) VALUES
    ('u1', ${at(3, 10)}, 'click', ${at(3)}, 4),
    ('u1', ${at(11, 15)}, 'click', ${at(11)}, 1),
    ('u1', ${at(12, 2)}, 'click', ${at(12)}, 1),
    ('u1', ${at(14, 5)}, 'click', ${at(14)}, 3),
    ('u2', ${at(20, 30)}, 'click', ${at(20)}, 2)`;
  await db.sql`INSERT INTO user_event_hourly_closed (user_id, event_hour, event_type, event_count)
    VALUES ('u1', ${at(3)}, 'click', 4), ('u1', ${at(11)}, 'click', 1),
      ('u1', ${at(12)}, 'click', 1)`;
  await db.sql`INSERT INTO user_event_daily_closed (user_id, event_day, event_type, event_count)
    VALUES ('u1', ${at(0)}, 'click', 6)`;
  const closed = await closeRollups(db.sql, Date.now());
  assert.deepEqual([closed.hourRows, closed.dayRows], [3, 2]);
  const daily = await db.sql`SELECT user_id, event_count::int AS n FROM user_event_daily
    WHERE event_day = ${at(0)} ORDER BY user_id`;
  assert.deepEqual(daily.map((row) => [row.user_id, row.n]), [["u1", 9], ["u2", 2]]);
  const [hours] = await db.sql`SELECT sum(event_count)::int AS n FROM user_event_hourly
    WHERE event_hour >= ${at(0)} AND event_hour < ${at(24)}`;
  assert.equal(hours.n, 11, "the day's rows add up to its hours");
});
