import assert from "node:assert/strict";
import { migrate } from "@activity/consumer";
import { createTestDatabase } from "../testing/services.ts";
import { checkConsistency } from "./consistency.ts";
import { meetsTarget } from "./report.ts";

const silentLog = { debug() {}, info() {}, warn() {}, error() {}, enabled: () => false };

Deno.test("consistency checks pass on agreeing tables and name each table that disagrees", async () => {
  await using db = await createTestDatabase("bench_consistency");
  await migrate(db.url, { log: silentLog });
  const { sql } = db;
  // 7 events of 2 users over two hours of one day, 1 rejection, offsets 5 + 3 = 8.
  await sql.unsafe(`
    UPDATE rollup_watermark SET hours_closed_before = 'infinity', days_closed_before = 'infinity';
    INSERT INTO user_event_summary (user_id, event_minute, event_type, event_hour, event_count)
    VALUES ('u1', '2026-06-01T10:00Z', 'view', '2026-06-01T10:00Z', 2),
           ('u1', '2026-06-01T10:01Z', 'click', '2026-06-01T10:00Z', 1),
           ('u2', '2026-06-01T10:59Z', 'view', '2026-06-01T10:00Z', 3),
           ('u2', '2026-06-01T11:00Z', 'view', '2026-06-01T11:00Z', 1);
    INSERT INTO user_event_hourly_closed (user_id, event_hour, event_type, event_count)
    VALUES ('u1', '2026-06-01T10:00Z', 'view', 2), ('u1', '2026-06-01T10:00Z', 'click', 1),
           ('u2', '2026-06-01T10:00Z', 'view', 3), ('u2', '2026-06-01T11:00Z', 'view', 1);
    INSERT INTO user_event_daily_closed (user_id, event_day, event_type, event_count)
    VALUES ('u1', '2026-06-01T00:00Z', 'view', 2), ('u1', '2026-06-01T00:00Z', 'click', 1),
           ('u2', '2026-06-01T00:00Z', 'view', 4);
    INSERT INTO event_type_minute (event_minute, event_type, event_count)
    VALUES ('2026-06-01T10:00Z', 'view', 2), ('2026-06-01T10:01Z', 'click', 1),
           ('2026-06-01T10:59Z', 'view', 3), ('2026-06-01T11:00Z', 'view', 1);
    INSERT INTO active_users_minute (event_minute, active_users)
    VALUES ('2026-06-01T10:00Z', 1), ('2026-06-01T10:01Z', 1), ('2026-06-01T10:59Z', 1),
           ('2026-06-01T11:00Z', 1);
    INSERT INTO consumer_offsets (consumer_group, topic, partition, next_offset, high_watermark)
    VALUES ('g', 't', 0, 5, 5), ('g', 't', 1, 3, 3), ('g', 'other', 0, 100, 100);
    INSERT INTO rejected_events (reason, detail, topic, partition, kafka_offset, payload_bytes)
    VALUES ('not_json', 'x', 't', 1, 2, 1);`);
  const check = () => checkConsistency(sql, { phase: "drain", topic: "t" });
  const agreeing = await check();
  assert.ok(agreeing.length >= 5);
  for (const figure of agreeing) assert.equal(meetsTarget(figure), true, figure.name);
  assert.equal(agreeing[0].value, 8);

  await sql.unsafe(`
    UPDATE user_event_hourly_closed SET event_count = 2 WHERE user_id = 'u2' AND event_type = 'view'
      AND event_hour = '2026-06-01T11:00Z';
    DELETE FROM active_users_minute WHERE event_minute = '2026-06-01T10:59Z';
    INSERT INTO event_type_minute VALUES ('2026-06-01T12:00Z', 'scroll', 1);
    INSERT INTO consumer_offsets (consumer_group, topic, partition, next_offset, high_watermark)
      VALUES ('g', 't', 2, 1, 1);
    INSERT INTO consumer_offset_gaps (consumer_group, topic, partition, from_offset, to_offset)
      VALUES ('g', 't', 2, 0, 1), ('g', 'other', 0, 0, 5);`);
  const failed = (await check()).filter((figure) => meetsTarget(figure) === false);
  assert.deepEqual(failed.map((figure) => [figure.name.split(" ")[0], figure.value]), [
    ["counted", 8],
    ["messages", 1],
    ["hourly", 1],
    ["per-type", 1],
    ["active", 1],
  ]);
});
