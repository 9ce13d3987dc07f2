/**
 * A small hand-made data set for the dashboard's SQL, with known answers at 2024-05-01T16:20:30Z:
 * per-user activity (and the rollups the consumer would derive from it), ingest and rejection
 * minutes, rejected messages, storage samples, offsets and lag samples. Each row is there for a
 * boundary a wrong query would get wrong (see the comments).
 */
import type postgres from "postgres";

/** The moment the dashboard is looked at in the tests using this data. */
export const KNOWN_NOW = new Date("2024-05-01T16:20:30Z");

type Activity = [user: string, minute: string, type: string, count: number];

// Comments give why a row is there: each boundary is one a wrong query would get wrong.
const ACTIVITY: Activity[] = [
  ["user_01", "2024-05-01T16:19", "view", 5],
  ["user_01", "2024-05-01T16:19", "click", 2],
  ["user_02", "2024-05-01T16:19", "view", 3],
  ["user_03", "2024-05-01T16:18", "scroll", 4],
  ["user_02", "2024-05-01T16:18", "view", 1],
  ["user_09", "2024-05-01T16:00", "view", 1],
  ["user_10", "2024-05-01T16:00", "click", 1],
  ["user_04", "2024-05-01T15:40", "view", 10],
  ["user_05", "2024-05-01T15:20", "view", 7], // 30 s before the last hour starts
  ["user_06", "2024-05-01T12:00", "click", 6],
  ["user_07", "2024-05-01T10:20", "view", 9], // 30 s before the 6 h range starts
  ["user_01", "2024-05-01T00:00", "view", 1], // the first minute of today
  ["user_01", "2024-04-30T23:59", "view", 100], // yesterday
  ["user_02", "2024-04-21T12:00", "scroll", 50], // only in the 30-day range
  ["user_08", "2024-05-01T16:21", "view", 2], // after now (within the clock-skew tolerance)
];

/** Writes the per-user rows and the rollups the consumer would derive from them. */
export async function insertActivity(sql: postgres.Sql): Promise<void> {
  const at = (minute: string) => new Date(`${minute}:00Z`);
  const hour = (minute: string) => new Date(`${minute.slice(0, 13)}:00:00Z`);
  const day = (minute: string) => new Date(`${minute.slice(0, 10)}T00:00:00Z`);
  const sum = (key: (row: Activity) => string) => {
    const totals = new Map<string, number>();
    for (const row of ACTIVITY) totals.set(key(row), (totals.get(key(row)) ?? 0) + row[3]);
    return [...totals].map(([joined, count]) => [...joined.split("|"), count] as const);
  };
  for (const [user, minute, type, count] of ACTIVITY) {
    await sql`INSERT INTO user_event_summary (user_id, event_minute, event_type, event_hour, event_count)
      VALUES (${user}, ${at(minute)}, ${type}, ${hour(minute)}, ${count})`;
  }
  for (const [user, minute, type, count] of sum((r) => `${r[0]}|${r[1].slice(0, 13)}|${r[2]}`)) {
    await sql`INSERT INTO user_event_hourly_closed VALUES (${user}, ${
      hour(String(minute))
    }, ${type}, ${count})`;
  }
  for (const [user, minute, type, count] of sum((r) => `${r[0]}|${r[1].slice(0, 10)}|${r[2]}`)) {
    await sql`INSERT INTO user_event_daily_closed VALUES (${user}, ${
      day(String(minute))
    }, ${type}, ${count})`;
  }
  // Every bucket of this data is rolled up (materialised), as after the consumer's upkeep.
  await sql`UPDATE rollup_watermark SET hours_closed_before = 'infinity',
    days_closed_before = 'infinity'`;
  for (const [minute, type, count] of sum((r) => `${r[1]}|${r[2]}`)) {
    // Through the real trigger of 0002, which keeps event_type_hour.
    await sql`INSERT INTO event_type_minute VALUES (${at(String(minute))}, ${type}, ${count})`;
  }
  const users = new Map<string, Set<string>>();
  for (const [user, minute] of ACTIVITY) {
    users.set(minute, (users.get(minute) ?? new Set()).add(user));
  }
  for (const [minute, set] of users) {
    await sql`INSERT INTO active_users_minute VALUES (${at(minute)}, ${set.size})`;
  }
}

/** Writes ingest, rejection, storage, offsets and lag rows. */
export async function insertOperations(sql: postgres.Sql): Promise<void> {
  const ingest: Array<[string, number, number, number, number, number]> = [
    ["2024-04-01T00:00:00Z", 1000, 0, 250_000, 0, 60], // before both ranges: the baseline
    ["2024-05-01T09:00:00Z", 7, 0, 1_750, 0, 3],
    ["2024-05-01T15:00:00Z", 20, 0, 5_000, 2, 10],
    ["2024-05-01T16:15:00Z", 3, 2, 1_000, 0, 5],
    ["2024-05-01T16:18:00Z", 5, 0, 1_250, 1, 6],
    ["2024-05-01T16:19:00Z", 10, 1, 2_750, 0, 60],
  ];
  for (const [minute, accepted, rejected, bytes, late, flushes] of ingest) {
    await sql`INSERT INTO ingest_minute VALUES
      (${new Date(minute)}, ${accepted}, ${rejected}, ${bytes}, ${late}, ${flushes})`;
  }
  // Retention gaps: one found in the last 6 hours, one a week before.
  await sql`INSERT INTO consumer_offset_gaps
      (consumer_group, topic, partition, from_offset, to_offset, detected_at)
    VALUES ('activity-consumer', 'user_activity', 3, 100, 130, '2024-05-01T15:30:00Z'),
      ('activity-consumer', 'user_activity', 4, 0, 5000, '2024-04-24T12:00:00Z')`;
  await sql`INSERT INTO rejected_minute VALUES
    ('2024-05-01T16:15:00Z', 'not_json', 2),
    ('2024-05-01T16:19:00Z', 'schema_violation', 1),
    ('2024-04-30T12:00:00Z', 'too_large', 4)`;
  await sql`INSERT INTO rejected_events
      (reason, detail, topic, partition, kafka_offset, message_key, payload, payload_bytes, received_at)
    VALUES
      ('not_json', 'Unexpected token', 'user_activity', 0, 7, NULL, '\\x7b', 10, '2024-05-01T16:15:05Z'),
      ('not_json', 'Unexpected end', 'user_activity', 0, 8, NULL, '\\x7b', 11, '2024-05-01T16:15:05Z'),
      ('schema_violation', 'user_id: too long', 'user_activity', 1, 41, 'k', '\\x7b', 120,
        '2024-05-01T16:19:10Z'),
      ('too_large', '20000 bytes', 'user_activity', 2, 3, NULL, NULL, 20000, '2024-04-30T12:00:00Z')`;
  for (
    const [at, summary, minutes] of [
      ["2024-04-01T00:00:00Z", 10, 10],
      ["2024-05-01T12:00:00Z", 500, 100],
      ["2024-05-01T16:00:00Z", 1_000, 200],
      ["2024-05-01T16:10:00Z", 1_500, 300],
    ] as const
  ) {
    await sql`INSERT INTO storage_samples VALUES
      (${new Date(at)}, 'user_event_summary', ${summary}), (${new Date(
      at,
    )}, 'event_type_minute', ${minutes})`;
  }
  await sql`INSERT INTO consumer_offsets (consumer_group, topic, partition, next_offset, high_watermark)
    VALUES ('activity', 'user_activity', 0, 100, 170), ('activity', 'user_activity', 1, 50, 59),
           ('activity', 'user_activity', 2, 9, 12)`;
  const lags: Array<[number, string, number[]]> = [
    [0, "2024-05-01T16:14:00Z", [10, 20, 30, 40, 50, 60, 70]], // grows every minute
    [1, "2024-05-01T16:15:00Z", [5, 6, 7, 7, 8, 9]], // one flat step
    [2, "2024-05-01T16:18:00Z", [1, 2, 3]], // grows, but only for 2 minutes
  ];
  for (const [partition, start, values] of lags) {
    for (const [index, lag] of values.entries()) {
      await sql`INSERT INTO consumer_lag_minute VALUES ('activity', 'user_activity', ${partition},
        ${new Date(Date.parse(start) + index * 60_000)}, ${lag})`;
    }
  }
}
