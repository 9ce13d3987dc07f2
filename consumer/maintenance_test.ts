import assert from "node:assert/strict";
import { RETENTION_GRACE_MS, retentionCutoff, retentionTargets } from "./maintenance.ts";

Deno.test("retention trims per-minute data and rejections at the retention and keeps rollups by default", () => {
  const targets = retentionTargets({ retentionDays: 30, rollupRetentionDays: 0 });
  assert.ok(targets.every((target) => target.days === 30));
  const tables = targets.map((target) => target.table);
  for (
    const table of [
      "user_event_summary",
      "event_type_minute",
      "rejected_events",
      "ingest_minute",
      "page_view_minute",
      "user_bitmap_minute",
      "sessions",
    ]
  ) {
    assert.ok(tables.includes(table), table);
  }
  for (const table of ["user_event_hourly", "user_event_daily", "session_hour", "user_numbers"]) {
    assert.ok(!tables.includes(table), table);
  }
});

Deno.test("rollups are trimmed at their own retention when one is set", () => {
  const targets = retentionTargets({ retentionDays: 7, rollupRetentionDays: 400 });
  assert.deepEqual(targets.filter((target) => target.days === 400).map((target) => target.table), [
    "user_event_hourly_closed",
    "user_event_daily_closed",
    "event_type_hour",
    "page_view_hour",
    "user_bitmap_hour",
    "user_bitmap_day",
    "session_hour",
    "session_length_hour",
    "session_length_day",
  ]);
});

Deno.test("every table of the migrations but the offsets, the topic owners, the rollup watermark and the user dictionary is trimmed", () => {
  const directory = new URL("../sql/", import.meta.url);
  const migrations = [...Deno.readDirSync(directory)].map((entry) =>
    Deno.readTextFileSync(new URL(entry.name, directory))
  );
  const created = migrations.flatMap((sql) => [
    ...[...sql.matchAll(/CREATE TABLE (?:IF NOT EXISTS )?(\w+)\b(?!%)/g)].map((match) => match[1]),
    // Tables created in a loop over grains: `FOREACH grain IN ARRAY ARRAY['minute', ...] LOOP
    // EXECUTE format('CREATE TABLE user_bitmap_%1$s ...`.
    ...[...sql.matchAll(/ARRAY\[([^\]]*)\] LOOP\s+EXECUTE format\('CREATE TABLE (\w+)%1\$s/g)]
      .flatMap(([, grains, prefix]) =>
        grains.split(",").map((g) => prefix + g.trim().slice(1, -1))
      ),
  ]);
  const dropped = migrations.flatMap((sql) =>
    [...sql.matchAll(/DROP TABLE (?:IF EXISTS )?(\w+)/g)].map((match) => match[1])
  );
  for (const sql of migrations) {
    for (const [, from, to] of sql.matchAll(/ALTER TABLE (\w+) RENAME TO (\w+)/g)) {
      dropped.push(from);
      created.push(to);
    }
  }
  const trimmed = retentionTargets({ retentionDays: 7, rollupRetentionDays: 400 })
    .map((target) => target.table);
  assert.deepEqual(
    created.filter((table) => !trimmed.includes(table) && !dropped.includes(table)).sort(),
    ["consumer_offsets", "rollup_watermark", "topic_owners", "user_numbers"],
  );
});

Deno.test("a bucket's rows are deleted an hour after its end passes the retention cutoff", () => {
  const now = Date.parse("2026-06-30T12:00:30Z");
  const [minuteTarget] = retentionTargets({ retentionDays: 30, rollupRetentionDays: 0 });
  // The minute that ended 30 days and one hour ago is the newest one deleted.
  assert.equal(retentionCutoff(minuteTarget, now).toISOString(), "2026-05-31T10:59:30.000Z");
  const hourly = retentionTargets({ retentionDays: 30, rollupRetentionDays: 400 })
    .find((target) => target.table === "user_event_hourly_closed")!;
  assert.equal(
    retentionCutoff(hourly, now).getTime(),
    now - 400 * 86_400_000 - 3_600_000 - RETENTION_GRACE_MS,
  );
  const rejected = retentionTargets({ retentionDays: 30, rollupRetentionDays: 0 })
    .find((target) => target.table === "rejected_events")!;
  assert.equal(rejected.bucketMs, 0, "processing-time rows have no bucket");
});
