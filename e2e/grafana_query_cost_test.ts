/**
 * The query-cost tooling the benchmark uses, on a small synthetic data set: the generator writes
 * consistent tables, and every dashboard query is measured with a plan that shows which table it
 * read. Speed itself is the benchmark's business (`deno task bench`), not a test's.
 */
import assert from "node:assert/strict";
import { fillSyntheticData, measureQueryCosts } from "@activity/grafana/emulation";
import { dashboardDatabase, dashboardQueries } from "./grafana_fixtures.ts";

const NOW = new Date("2024-05-01T16:20:30Z");

Deno.test("synthetic data is consistent across the counts, rollups, bitmaps, pages and sessions", async () => {
  await using db = await dashboardDatabase("grafana_synthetic");
  const report = await fillSyntheticData(db.sql, {
    users: 5000,
    days: 2,
    activeUsersPerMinute: 20,
    detailHours: 3,
    partitions: 3,
    now: NOW,
  });
  assert.ok(report.rows.user_event_summary > 3_000, JSON.stringify(report.rows));
  assert.ok(report.rows.user_bitmap_minute >= 2 * 1440, JSON.stringify(report.rows));
  assert.ok(report.rows.session_length_hour > 2 * 24, JSON.stringify(report.rows));
  assert.ok(Object.keys(report.steps).includes("user_bitmap_minute"));
  // Each query counts the rows that break one relation the consumer keeps; all must be 0.
  const broken = {
    "summary, hourly and daily totals": `SELECT count(*) FROM (
        SELECT sum(event_count) AS n FROM user_event_summary
        UNION SELECT sum(event_count) FROM user_event_hourly
        UNION SELECT sum(event_count) FROM user_event_daily) AS totals
      HAVING count(*) <> 1`,
    "per-user rows against minute totals": `SELECT count(*) FROM (
        SELECT event_minute, event_type, sum(event_count) AS n FROM user_event_summary
        GROUP BY 1, 2) AS s
      LEFT JOIN event_type_minute AS t USING (event_minute, event_type)
      WHERE t.event_count IS DISTINCT FROM s.n`,
    "per-user rows against bitmaps": `SELECT count(*) FROM (
        SELECT event_minute, count(DISTINCT user_id) AS n FROM user_event_summary GROUP BY 1)
        AS s LEFT JOIN active_users_minute AS a USING (event_minute)
      WHERE a.active_users IS DISTINCT FROM s.n`,
    "minute bitmaps against their user counts": `SELECT count(*) FROM user_bitmap_minute
      WHERE users_count <> bit_count(users)`,
    "views against page views": `SELECT count(*) FROM (
        SELECT event_minute, sum(views) AS n FROM page_view_minute GROUP BY 1) AS p
      LEFT JOIN event_type_minute AS t ON t.event_minute = p.event_minute AND t.event_type = 'view'
      WHERE t.event_count IS DISTINCT FROM p.n`,
    "page views per hour": `SELECT count(*) FROM (
        SELECT date_trunc('hour', event_minute, 'UTC') AS event_hour, page, sum(views) AS n
        FROM page_view_minute GROUP BY 1, 2) AS m
      LEFT JOIN page_view_hour AS h USING (event_hour, page) WHERE h.views IS DISTINCT FROM m.n`,
    "type totals per hour": `SELECT count(*) FROM (
        SELECT date_trunc('hour', event_minute, 'UTC') AS event_hour, event_type,
          sum(event_count) AS n FROM event_type_minute GROUP BY 1, 2) AS m
      FULL JOIN event_type_hour AS h USING (event_hour, event_type)
      WHERE h.event_count IS DISTINCT FROM m.n`,
    "accepted and rejected": `SELECT count(*) FROM (
        SELECT (SELECT sum(event_count) FROM event_type_minute) AS counted,
          (SELECT sum(events_accepted) FROM ingest_minute) AS accepted,
          (SELECT sum(events_rejected) FROM ingest_minute) AS rejected,
          (SELECT sum(events) FROM rejected_minute) AS by_reason,
          (SELECT count(*) FROM rejected_events) AS stored) AS totals
      WHERE counted <> accepted OR rejected <> by_reason OR rejected <> stored OR rejected = 0`,
    "active users against minute bitmaps": `SELECT count(*) FROM (
        SELECT event_minute, sum(bit_count(users)) AS n FROM user_bitmap_minute GROUP BY 1) AS b
      FULL JOIN active_users_minute AS a USING (event_minute)
      WHERE a.active_users IS DISTINCT FROM b.n`,
    "hour bitmaps against minutes": `SELECT count(*) FROM (
        SELECT date_trunc('hour', event_minute, 'UTC') AS event_hour, chunk, bit_or(users) AS u
        FROM user_bitmap_minute GROUP BY 1, 2) AS m
      FULL JOIN user_bitmap_hour AS h USING (event_hour, chunk) WHERE h.users IS DISTINCT FROM m.u`,
    "day bitmaps against hours": `SELECT count(*) FROM (
        SELECT date_trunc('day', event_hour, 'UTC') AS event_day, chunk, bit_or(users) AS u
        FROM user_bitmap_hour GROUP BY 1, 2) AS h
      FULL JOIN user_bitmap_day AS d USING (event_day, chunk) WHERE d.users IS DISTINCT FROM h.u`,
    "sessions per hour against lengths": `SELECT count(*) FROM (
        SELECT start_hour, sum(sessions) AS n FROM session_hour GROUP BY 1) AS s
      FULL JOIN (SELECT start_hour, sum(sessions) AS n FROM session_length_hour GROUP BY 1) AS l
        USING (start_hour) WHERE s.n IS DISTINCT FROM l.n`,
    "session lengths per day": `SELECT count(*) FROM (
        SELECT date_trunc('day', start_hour, 'UTC') AS start_day, length_s, sum(sessions) AS n
        FROM session_length_hour GROUP BY 1, 2) AS h
      FULL JOIN session_length_day AS d USING (start_day, length_s) WHERE d.sessions IS DISTINCT FROM h.n`,
    "users beyond the population": `SELECT count(*) FROM user_bitmap_day
      WHERE chunk * 4096 + length(rtrim(users::text, '0')) > 5000`,
    "rows outside the period": `SELECT count(*) FROM user_bitmap_minute
      WHERE event_minute < '2024-04-29T16:20:00Z' OR event_minute >= '${NOW.toISOString()}'`,
  };
  for (const [relation, query] of Object.entries(broken)) {
    const rows = await db.sql.unsafe(query);
    assert.equal(Number(rows[0]?.count ?? 0), 0, relation);
  }
  const [{ users }] = await db.sql`SELECT count(*)::int AS users FROM user_numbers`;
  assert.equal(users, 5000);
});

Deno.test("every dashboard and alert query is measured with its plan, for 6 hours and 30 days", async () => {
  await using db = await dashboardDatabase("grafana_cost");
  await fillSyntheticData(db.sql, {
    users: 200,
    days: 1,
    activeUsersPerMinute: 10,
    partitions: 2,
    now: NOW,
  });
  const costs = await measureQueryCosts(db.sql, { now: NOW, runs: 1 });
  const keys = [...dashboardQueries().keys()];
  for (const key of keys) {
    const measured = costs.filter((cost) => cost.key === key);
    const ownTime = key.startsWith("alert") || key === "panel 1 A" || key === "panel 3 A";
    assert.deepEqual(measured.map((cost) => cost.range), ownTime ? ["own"] : ["6h", "30d"], key);
    for (const cost of measured) {
      assert.ok(cost.medianMs >= 0 && cost.maxMs >= cost.medianMs, key);
      assert.match(cost.plan, /Execution Time/, key);
      assert.equal(cost.sql.includes("$__"), false, `${key} is fully expanded`);
    }
  }
  const plan = (key: string, range: string) =>
    costs.find((cost) => cost.key === key && cost.range === range)!.plan;
  // The per-type panels read minute totals for 6 hours and hourly totals for 30 days.
  for (const key of ["panel 4 A", "panel 5 A"]) {
    assert.match(plan(key, "6h"), /on event_type_minute/);
    assert.doesNotMatch(plan(key, "6h"), /on event_type_hour/);
    assert.match(plan(key, "30d"), /on event_type_hour/);
    assert.doesNotMatch(plan(key, "30d"), /on event_type_minute/);
  }
  // The last hour's top users is an index range scan, not a scan of every per-user row.
  assert.doesNotMatch(plan("panel 3 A", "own"), /Seq Scan on user_event_summary/);
});
