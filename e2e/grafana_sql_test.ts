/**
 * Every panel's and alert's SQL, expanded exactly as Grafana expands it, run as the SELECT-only
 * reader against a real PostgreSQL holding a small hand-made data set with known answers
 * (`grafana_known_data.ts`). The moment the dashboard is looked at is fixed (NOW), so every
 * expected value is written out.
 */
import assert from "node:assert/strict";
import {
  dashboardDatabase,
  dashboardQueries,
  epoch,
  READER_ROLE,
  type Row,
  runAllAsGrafana,
  runAsGrafana,
} from "./grafana_fixtures.ts";
import { insertActivity, insertOperations, KNOWN_NOW } from "./grafana_known_data.ts";

const NOW = KNOWN_NOW;
const LAST_6H = { from: "now-6h", to: "now" };
const LAST_30D = { from: "now-30d", to: "now" };

/** Epoch seconds of a "time" value: a timestamp, or epoch seconds from $__timeGroupAlias. */
function seconds(time: unknown): number {
  return time instanceof Date ? time.getTime() / 1000 : Number(time);
}

function series(rows: Row[], value: string): Array<[number, unknown, number]> {
  return rows.map((row) => [seconds(row.time), row.metric, row[value] as number]);
}

Deno.test("every panel and alert query returns the known answer for the last 6 hours", async () => {
  await using db = await dashboardDatabase("grafana_sql");
  await insertActivity(db.sql);
  await insertOperations(db.sql);
  const results = await runAllAsGrafana(db.sql, { now: NOW, range: LAST_6H });
  const rows = (key: string) => results.get(key)!.rows;
  assert.equal(results.size, 26, [...results.keys()].join(", "));

  // 1. Today so far (00:00 UTC to now): includes midnight, excludes yesterday and the future.
  assert.deepEqual(rows("panel 1 A"), [{ events: 50 }]);
  // 3. The last hour's top 5, ties by user id; user_05's minute is 30 s too early.
  assert.deepEqual(rows("panel 3 A"), [
    { user_id: "user_04", events: 10 },
    { user_id: "user_01", events: 7 },
    { user_id: "user_02", events: 4 },
    { user_id: "user_03", events: 4 },
    { user_id: "user_09", events: 1 },
  ]);
  // 4. Events per minute by type, from minute totals (interval 1m).
  assert.deepEqual(series(rows("panel 4 A"), "events_per_minute"), [
    [epoch("2024-05-01T12:00Z"), "click", 6],
    [epoch("2024-05-01T15:20Z"), "view", 7],
    [epoch("2024-05-01T15:40Z"), "view", 10],
    [epoch("2024-05-01T16:00Z"), "click", 1],
    [epoch("2024-05-01T16:00Z"), "view", 1],
    [epoch("2024-05-01T16:18Z"), "scroll", 4],
    [epoch("2024-05-01T16:18Z"), "view", 1],
    [epoch("2024-05-01T16:19Z"), "click", 2],
    [epoch("2024-05-01T16:19Z"), "view", 8],
  ]);
  // 5. Per-type split of the range.
  assert.deepEqual(rows("panel 5 A"), [
    { event_type: "view", events: 27 },
    { event_type: "click", events: 9 },
    { event_type: "scroll", events: 4 },
  ]);
  // 6. Distinct users per minute.
  assert.deepEqual(rows("panel 6 A").map((row) => [seconds(row.time), row.active_users]), [
    [epoch("2024-05-01T12:00Z"), 1],
    [epoch("2024-05-01T15:20Z"), 1],
    [epoch("2024-05-01T15:40Z"), 1],
    [epoch("2024-05-01T16:00Z"), 2],
    [epoch("2024-05-01T16:18Z"), 2],
    [epoch("2024-05-01T16:19Z"), 2],
  ]);
  // 7. Ingest throughput per minute and bytes per second.
  assert.deepEqual({ ...rows("panel 7 A")[1], time: seconds(rows("panel 7 A")[1].time) }, {
    time: epoch("2024-05-01T16:15Z"),
    accepted_per_minute: 3,
    rejected_per_minute: 2,
    late_per_minute: 0,
    bytes_per_second: 1_000 / 60,
  });
  assert.deepEqual(rows("panel 7 A").map((row) => seconds(row.time)), [
    epoch("2024-05-01T15:00Z"),
    epoch("2024-05-01T16:15Z"),
    epoch("2024-05-01T16:18Z"),
    epoch("2024-05-01T16:19Z"),
  ]);
  // 8. Cumulative events: 1 007 counted before the range, then each bucket's accepted events
  // (2-minute buckets: the panel asks for 200 points).
  assert.deepEqual(rows("panel 8 A").map((row) => [seconds(row.time), row.events_counted]), [
    [epoch("2024-05-01T15:00Z"), 1027],
    [epoch("2024-05-01T16:14Z"), 1030],
    [epoch("2024-05-01T16:18Z"), 1045],
  ]);
  // 8 B. Table sizes at each sample (one sample per one-minute bucket).
  assert.deepEqual(
    rows("panel 8 B").map((row) => [(row.time as Date).toISOString(), row.metric, row.bytes]),
    [
      ["2024-05-01T12:00:00.000Z", "event_type_minute", 100],
      ["2024-05-01T12:00:00.000Z", "user_event_summary", 500],
      ["2024-05-01T16:00:00.000Z", "event_type_minute", 200],
      ["2024-05-01T16:00:00.000Z", "user_event_summary", 1000],
      ["2024-05-01T16:10:00.000Z", "event_type_minute", 300],
      ["2024-05-01T16:10:00.000Z", "user_event_summary", 1500],
    ],
  );
  // 9. Lag per partition at each minute sample.
  const lag = rows("panel 9 A").map((
    row,
  ) => [(row.time as Date).toISOString(), row.metric, row.lag]);
  assert.equal(lag.length, 16);
  assert.deepEqual(lag.slice(0, 2), [
    ["2024-05-01T16:14:00.000Z", "activity user_activity/0", 10],
    ["2024-05-01T16:15:00.000Z", "activity user_activity/0", 20],
  ]);
  assert.deepEqual(lag.at(-1), ["2024-05-01T16:20:00.000Z", "activity user_activity/2", 3]);
  // 10. Rejections per minute by reason (yesterday's is out of range).
  assert.deepEqual(series(rows("panel 10 A"), "rejected_per_minute"), [
    [epoch("2024-05-01T16:15Z"), "not_json", 2],
    [epoch("2024-05-01T16:19Z"), "schema_violation", 1],
  ]);
  // 11. Newest rejections first, with their detail.
  // 22. Messages lost to retention gaps found in the range; the week-old gap is outside it.
  assert.deepEqual(rows("panel 22 A"), [{ lost: 30 }]);
  assert.deepEqual(rows("panel 11 A").map((row) => [row.reason, row.detail, row.kafka_offset]), [
    ["schema_violation", "user_id: too long", 41],
    ["not_json", "Unexpected end", 8],
    ["not_json", "Unexpected token", 7],
  ]);
  // Alerts over their own windows: 15 events in 5 minutes; 3 of 21 rejected in 10 minutes;
  // partition 0 grew 20 → 70 at every step of the last 6 samples, the others did not.
  assert.deepEqual(rows("alert activity-no-events A"), [{ events_counted: 15 }]);
  assert.deepEqual(rows("alert activity-rejected-share A"), [{ rejected_share: 3 / 21 }]);
  assert.deepEqual(
    rows("alert activity-lag-growing A").sort((a, b) => Number(a.partition) - Number(b.partition)),
    [
      { consumer_group: "activity", topic: "user_activity", partition: 0, lag_growth: 50 },
      { consumer_group: "activity", topic: "user_activity", partition: 1, lag_growth: 0 },
      { consumer_group: "activity", topic: "user_activity", partition: 2, lag_growth: 0 },
    ],
  );
  // Time series come back ordered by a column named exactly "time".
  for (const [key, query] of dashboardQueries()) {
    if (query.format !== "time_series") continue;
    const { columns, rows: points } = results.get(key)!;
    assert.equal(columns[0], "time", key);
    const times = points.map((row) => seconds(row.time));
    assert.deepEqual(times, [...times].sort((a, b) => a - b), `${key} is ordered`);
  }
});

Deno.test("over 30 days the per-type panels read hourly totals and buckets widen", async () => {
  await using db = await dashboardDatabase("grafana_sql_30d");
  await insertActivity(db.sql);
  await insertOperations(db.sql);
  const results = await runAllAsGrafana(db.sql, { now: NOW, range: LAST_30D });
  const rows = (key: string) => results.get(key)!.rows;
  // Interval 30m (30 days / 1 000 points): one hourly row per bucket, shown as events per minute.
  assert.deepEqual(series(rows("panel 4 A"), "events_per_minute"), [
    [epoch("2024-04-21T12:00Z"), "scroll", 50 / 60],
    [epoch("2024-04-30T23:00Z"), "view", 100 / 60],
    [epoch("2024-05-01T00:00Z"), "view", 1 / 60],
    [epoch("2024-05-01T10:00Z"), "view", 9 / 60],
    [epoch("2024-05-01T12:00Z"), "click", 6 / 60],
    [epoch("2024-05-01T15:00Z"), "view", 17 / 60],
    [epoch("2024-05-01T16:00Z"), "click", 3 / 60],
    [epoch("2024-05-01T16:00Z"), "scroll", 4 / 60],
    [epoch("2024-05-01T16:00Z"), "view", 12 / 60],
  ]);
  // Whole hours: the 16:00 hour includes the minute after now.
  assert.deepEqual(rows("panel 5 A"), [
    { event_type: "view", events: 139 },
    { event_type: "scroll", events: 54 },
    { event_type: "click", events: 9 },
  ]);
  // 3-hour buckets (200 points over 30 days); 1 000 events were counted before the range.
  assert.deepEqual(rows("panel 8 A").map((row) => [seconds(row.time), row.events_counted]), [
    [epoch("2024-05-01T09:00Z"), 1007],
    [epoch("2024-05-01T15:00Z"), 1045],
  ]);
  // The last sample of each 3-hour bucket: 16:10 stands for 16:00 too.
  assert.deepEqual(
    rows("panel 8 B").map((row) => [(row.time as Date).toISOString(), row.metric]),
    [
      ["2024-05-01T12:00:00.000Z", "event_type_minute"],
      ["2024-05-01T12:00:00.000Z", "user_event_summary"],
      ["2024-05-01T16:10:00.000Z", "event_type_minute"],
      ["2024-05-01T16:10:00.000Z", "user_event_summary"],
    ],
  );
  // Panels with their own time (today, last hour) and the alerts do not depend on the range.
  assert.deepEqual(rows("panel 1 A"), [{ events: 50 }]);
  assert.equal(rows("panel 3 A")[0].user_id, "user_04");
});

Deno.test("freshness counts seconds since the newest past minute and the last commit", async () => {
  await using db = await dashboardDatabase("grafana_fresh");
  const now = Date.now();
  const newest = Math.floor(now / 60_000) * 60_000 - 120_000;
  await db.sql`INSERT INTO event_type_minute VALUES
    (${new Date(newest)}, 'view', 1), (${new Date(newest - 600_000)}, 'view', 1),
    (${new Date(newest + 240_000)}, 'click', 1)`; // a future minute cannot hide a stall
  await db.sql`INSERT INTO consumer_offsets VALUES
    ('activity', 'user_activity', 0, 5, 5, ${new Date(now - 30_000)})`;
  const queries = dashboardQueries();
  const age = await runAsGrafana(db.sql, queries.get("panel 2 A")!, { now: new Date() });
  const commit = await runAsGrafana(db.sql, queries.get("panel 2 B")!, { now: new Date() });
  const expected = (Date.now() - newest) / 1000;
  assert.ok(Math.abs((age.rows[0].newest_event_age as number) - expected) < 5, JSON.stringify(age));
  assert.ok(Math.abs((commit.rows[0].last_commit_age as number) - 30) < 5, JSON.stringify(commit));
});

Deno.test("Grafana's role can read the dashboard tables but neither write nor read raw payloads", async () => {
  await using db = await dashboardDatabase("grafana_role");
  const asReader = (text: string) =>
    db.sql.begin(async (tx) => {
      await tx.unsafe(`SET LOCAL ROLE ${READER_ROLE}`);
      return await tx.unsafe(text);
    });
  await asReader("SELECT count(*) FROM event_type_hour");
  await asReader("SELECT id, reason, detail, payload_bytes FROM rejected_events");
  await assert.rejects(asReader("SELECT payload FROM rejected_events"), /permission denied/);
  await assert.rejects(asReader("SELECT message_key FROM rejected_events"), /permission denied/);
  await assert.rejects(
    asReader("INSERT INTO event_type_minute VALUES (now(), 'view', 1)"),
    /permission denied/,
  );
  await assert.rejects(asReader("DELETE FROM ingest_minute"), /permission denied/);
  await assert.rejects(asReader("CREATE TABLE grafana_scratch (x int)"), /permission denied/);
  // Only the dashboard tables: not the migrations' bookkeeping, nor a table added later.
  await assert.rejects(asReader("SELECT * FROM schema_migrations"), /permission denied/);
  await db.sql`CREATE TABLE added_later (secret text)`;
  await assert.rejects(asReader("SELECT * FROM added_later"), /permission denied/);
});
