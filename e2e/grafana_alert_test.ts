/**
 * The "no events counted for 5 minutes" alert's query, expanded as Grafana expands it and run as
 * the read-only role against a migrated database: no row at all on a stack that never counted an
 * event (NoData, which the rule maps to OK), and 0 (firing) once events were counted but none
 * lately.
 */
import assert from "node:assert/strict";
import { buildAlertRules } from "@activity/grafana";
import { dashboardDatabase, dashboardQueries, runAsGrafana } from "./grafana_fixtures.ts";

const NOW = new Date("2024-05-01T16:20:30Z");
const query = dashboardQueries().get("alert activity-no-events A")!;
const rule = buildAlertRules().groups[0].rules.find((rule) => rule.uid === "activity-no-events")!;

Deno.test("a stack that never counted an event leaves the no-events alert without data, which is OK", async () => {
  await using db = await dashboardDatabase("alert_fresh");
  const fresh = await runAsGrafana(db.sql, query, { now: NOW });
  assert.deepEqual(fresh.rows, []);
  assert.equal(rule.noDataState, "OK");
  // Rejections alone are not counted events either.
  await db.sql`INSERT INTO ingest_minute (processed_minute, events_rejected)
    VALUES ('2024-05-01T16:19:00Z', 4)`;
  assert.deepEqual((await runAsGrafana(db.sql, query, { now: NOW })).rows, []);
});

Deno.test("once events were counted, five quiet minutes give 0 and the alert fires", async () => {
  await using db = await dashboardDatabase("alert_quiet");
  await db.sql`INSERT INTO ingest_minute (processed_minute, events_accepted)
    VALUES ('2024-05-01T14:00:00Z', 120)`;
  assert.deepEqual((await runAsGrafana(db.sql, query, { now: NOW })).rows, [{ events_counted: 0 }]);
  const threshold = rule.data[1].model as unknown as {
    conditions: { evaluator: { type: string; params: number[] } }[];
  };
  assert.deepEqual(threshold.conditions[0].evaluator, { type: "lt", params: [1] });
  await db.sql`INSERT INTO ingest_minute (processed_minute, events_accepted)
    VALUES ('2024-05-01T16:18:00Z', 7)`;
  assert.deepEqual((await runAsGrafana(db.sql, query, { now: NOW })).rows, [{ events_counted: 7 }]);
});
