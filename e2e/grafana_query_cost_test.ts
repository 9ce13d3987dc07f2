/**
 * The query-cost tooling the benchmark uses, on a small synthetic data set: the generator writes
 * consistent tables, and every dashboard query is measured with a plan that shows which table it
 * read. Speed itself is the benchmark's business (`deno task bench`), not a test's.
 */
import assert from "node:assert/strict";
import { fillSyntheticData, measureQueryCosts } from "@activity/grafana/emulation";
import { dashboardDatabase, dashboardQueries } from "./grafana_fixtures.ts";

const NOW = new Date("2024-05-01T16:20:30Z");

Deno.test("synthetic data is consistent across the counts, the rollups and the rejections", async () => {
  await using db = await dashboardDatabase("grafana_synthetic");
  const report = await fillSyntheticData(db.sql, {
    users: 300,
    days: 2,
    activeUsersPerMinute: 20,
    partitions: 3,
    now: NOW,
  });
  assert.ok(report.rows.user_event_summary > 10_000, JSON.stringify(report.rows));
  const [totals] = await db.sql`SELECT
      (SELECT sum(event_count) FROM user_event_summary) AS summary,
      (SELECT sum(event_count) FROM user_event_hourly) AS hourly,
      (SELECT sum(event_count) FROM user_event_daily) AS daily,
      (SELECT sum(event_count) FROM event_type_minute) AS minute,
      (SELECT sum(event_count) FROM event_type_hour) AS hour,
      (SELECT sum(events_accepted) FROM ingest_minute) AS accepted,
      (SELECT sum(events_rejected) FROM ingest_minute) AS rejected,
      (SELECT sum(events) FROM rejected_minute) AS rejected_by_reason,
      (SELECT count(*) FROM rejected_events) AS rejected_rows,
      (SELECT count(DISTINCT user_id) FROM user_event_summary) AS users,
      (SELECT min(event_minute) FROM user_event_summary) AS first,
      (SELECT max(event_minute) FROM user_event_summary) AS last`;
  for (const key of ["hourly", "daily", "minute", "hour", "accepted"]) {
    assert.equal(totals[key], totals.summary, key);
  }
  assert.equal(totals.rejected, totals.rejected_by_reason);
  assert.equal(Number(totals.rejected), Number(totals.rejected_rows));
  assert.ok(Number(totals.rejected) > 0);
  assert.ok(Number(totals.users) > 200 && Number(totals.users) <= 300);
  assert.ok(totals.first >= new Date("2024-04-29T16:20:00Z"), totals.first);
  assert.ok(totals.last < NOW);
  const [{ distinct }] = await db.sql`SELECT count(*) AS distinct FROM active_users_minute a
    WHERE active_users <> (SELECT count(DISTINCT user_id) FROM user_event_summary s
                           WHERE s.event_minute = a.event_minute)`;
  assert.equal(Number(distinct), 0);
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
