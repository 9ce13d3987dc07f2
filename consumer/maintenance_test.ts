import assert from "node:assert/strict";
import { retentionTargets } from "./maintenance.ts";

Deno.test("retention trims per-minute data and rejections at the retention and keeps rollups by default", () => {
  const targets = retentionTargets({ retentionDays: 30, rollupRetentionDays: 0 });
  assert.ok(targets.every((target) => target.days === 30));
  const tables = targets.map((target) => target.table);
  for (
    const table of ["user_event_summary", "event_type_minute", "rejected_events", "ingest_minute"]
  ) {
    assert.ok(tables.includes(table), table);
  }
  assert.ok(!tables.includes("user_event_hourly") && !tables.includes("user_event_daily"));
});

Deno.test("rollups are trimmed at their own retention when one is set", () => {
  const targets = retentionTargets({ retentionDays: 7, rollupRetentionDays: 400 });
  assert.deepEqual(targets.filter((target) => target.days === 400).map((target) => target.table), [
    "user_event_hourly",
    "user_event_daily",
    "event_type_hour",
  ]);
});
