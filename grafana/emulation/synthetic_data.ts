/**
 * Fills a migrated database with synthetic activity for query-cost measurements: every table the
 * dashboard reads, at the density the consumer would write for `users` users over `days` days.
 * Generated inside PostgreSQL (INSERT ... SELECT), one day per statement, deterministic per seed.
 *
 * The model: the day is cut into 15-minute slots; in each slot a number of users, following a
 * daily curve (peak 15:00 UTC, trough 03:00 at a third of the peak), is active; an active user
 * emits in 60 % of the slot's minutes: views (90 % of those minutes, 1-4), scrolls (50 %, 1-6),
 * clicks (30 %, 1-3). About 0.2 % of messages are rejected. Storage is sampled every minute for
 * the consumer's ten tables, lag every minute for each partition.
 */
import type postgres from "postgres";

/** What to generate. */
export interface SyntheticDataOptions {
  /** Distinct users (default 10 000). */
  readonly users?: number;
  /** Days of history up to `now` (default 30). */
  readonly days?: number;
  /** The end of the data (default: now). */
  readonly now?: Date;
  /** Average users active in a minute (default 300). */
  readonly activeUsersPerMinute?: number;
  /** Kafka partitions of the topic (default 6, as in compose). */
  readonly partitions?: number;
  /** Seed in [-1, 1] for PostgreSQL's random() (default 0.42). */
  readonly seed?: number;
  /** Told after each generated day. */
  readonly onProgress?: (day: number, days: number) => void;
}

/** What was generated. */
export interface SyntheticDataReport {
  /** Rows per table after generation. */
  readonly rows: Record<string, number>;
  /** Wall time of the generation, in ms. */
  readonly elapsedMs: number;
}

const REASONS = ["schema_violation", "not_json", "unknown_event_type", "future_timestamp"];

const TABLES = [
  "user_event_summary",
  "user_event_hourly",
  "user_event_daily",
  "event_type_minute",
  "event_type_hour",
  "active_users_minute",
  "ingest_minute",
  "rejected_minute",
  "rejected_events",
  "storage_samples",
  "consumer_offsets",
  "consumer_lag_minute",
];

/** The per-day generation: `$1` day start, `$2` day end (exclusive), `$3` users, `$4` users per slot. */
const DAY_SQL = `
WITH slots AS (
  SELECT slot,
    greatest(1, round($4::float8 * (1 + 0.5 * sin(2 * pi() *
      (extract(epoch FROM slot) / 3600 - 9) / 24))))::int AS active
  FROM generate_series($1::timestamptz, $2::timestamptz - interval '15 minutes',
    interval '15 minutes') AS slot
), slot_users AS (
  SELECT DISTINCT slot, floor(random() * $3::int)::int AS user_number
  FROM slots, generate_series(1, active)
), user_minutes AS (
  SELECT user_number, slot + step * interval '1 minute' AS event_minute
  FROM slot_users, generate_series(0, 14) AS step
  WHERE random() < 0.6
), counts AS (
  SELECT 'user_' || lpad(user_number::text, 5, '0') AS user_id, event_minute, kind.event_type,
    1 + floor(random() * kind.most)::int AS event_count
  FROM user_minutes,
    (VALUES ('view', 0.9, 4), ('scroll', 0.5, 6), ('click', 0.3, 3)) AS kind(event_type, share, most)
  WHERE random() < kind.share AND event_minute < $5::timestamptz
)
INSERT INTO user_event_summary (user_id, event_minute, event_type, event_hour, event_count, updated_at)
SELECT user_id, event_minute, event_type, date_trunc('hour', event_minute, 'UTC'), event_count,
  event_minute + interval '2 seconds'
FROM counts
-- In time order, as the consumer's flushes write them: a minute's rows share pages.
ORDER BY event_minute, user_id, event_type`;

/** What one day needs; every statement below takes the parameters it names, in order. */
interface Day {
  readonly from: Date;
  readonly to: Date;
  readonly now: Date;
  readonly start: Date;
  readonly users: number;
  readonly perSlot: number;
  readonly partitions: number;
}

const DAY_STATEMENTS: ReadonlyArray<[string, (day: Day) => unknown[]]> = [
  [DAY_SQL, (d) => [d.from, d.to, d.users, d.perSlot, d.now]],
  [
    `INSERT INTO user_event_hourly (user_id, event_hour, event_type, event_count)
     SELECT user_id, event_hour, event_type, sum(event_count) FROM user_event_summary
     WHERE event_minute >= $1 AND event_minute < $2 GROUP BY 1, 2, 3`,
    (d) => [d.from, d.to],
  ],
  [
    `INSERT INTO user_event_daily (user_id, event_day, event_type, event_count)
     SELECT user_id, date_trunc('day', event_minute, 'UTC'), event_type, sum(event_count)
     FROM user_event_summary WHERE event_minute >= $1 AND event_minute < $2 GROUP BY 1, 2, 3`,
    (d) => [d.from, d.to],
  ],
  [
    // Through the 0002 trigger, which keeps event_type_hour.
    `INSERT INTO event_type_minute (event_minute, event_type, event_count)
     SELECT event_minute, event_type, sum(event_count) FROM user_event_summary
     WHERE event_minute >= $1 AND event_minute < $2 GROUP BY 1, 2 ORDER BY 1, 2`,
    (d) => [d.from, d.to],
  ],
  [
    `INSERT INTO active_users_minute (event_minute, active_users)
     SELECT event_minute, count(DISTINCT user_id) FROM user_event_summary
     WHERE event_minute >= $1 AND event_minute < $2 GROUP BY 1`,
    (d) => [d.from, d.to],
  ],
  [
    // Processed a few seconds after they occurred: the same minute.
    `INSERT INTO ingest_minute
       (processed_minute, events_accepted, events_rejected, bytes, late_events, flushes)
     SELECT event_minute, sum(event_count), floor(sum(event_count) * 0.002 + random())::bigint,
       sum(event_count) * (230 + floor(random() * 40)::int), floor(random() * 1.2)::bigint, 120
     FROM event_type_minute WHERE event_minute >= $1 AND event_minute < $2 GROUP BY 1`,
    (d) => [d.from, d.to],
  ],
  [
    `INSERT INTO rejected_events (reason, detail, topic, partition, kafka_offset, message_key,
       payload, payload_bytes, received_at)
     SELECT ($4::text[])[1 + floor(random() * array_length($4::text[], 1))::int],
       'synthetic rejection ' || n, 'user_activity', n % $3::int,
       extract(epoch FROM processed_minute)::bigint * 1000 + n, NULL,
       convert_to(repeat('x', 180), 'UTF8'), 180,
       processed_minute + random() * interval '59 seconds'
     FROM ingest_minute, generate_series(1, events_rejected::int) AS n
     WHERE processed_minute >= $1 AND processed_minute < $2`,
    (d) => [d.from, d.to, d.partitions, REASONS],
  ],
  [
    `INSERT INTO rejected_minute (processed_minute, reason, events)
     SELECT date_trunc('minute', received_at, 'UTC'), reason, count(*) FROM rejected_events
     WHERE received_at >= $1 AND received_at < $2 GROUP BY 1, 2`,
    (d) => [d.from, d.to],
  ],
  [
    `INSERT INTO consumer_lag_minute (consumer_group, topic, partition, sampled_minute, lag_messages)
     SELECT 'activity-consumer', 'user_activity', p, minute, floor(random() * 40)::bigint
     FROM generate_series($1::timestamptz, $2::timestamptz - interval '1 minute',
       interval '1 minute') AS minute, generate_series(0, $3::int - 1) AS p
     WHERE minute < $4`,
    (d) => [d.from, d.to, d.partitions, d.now],
  ],
  [
    `INSERT INTO storage_samples (sampled_at, relation, bytes)
     SELECT minute, relation,
       ((1 + ordinal) * 8192 * (1 + extract(epoch FROM minute - $4::timestamptz) / 600))::bigint
     FROM generate_series($1::timestamptz, $2::timestamptz - interval '1 minute',
       interval '1 minute') AS minute, unnest($5::text[]) WITH ORDINALITY AS t(relation, ordinal)
     WHERE minute < $3`,
    (d) => [d.from, d.to, d.now, d.start, SAMPLED],
  ],
];

const SAMPLED = [
  "user_event_summary",
  "user_event_hourly",
  "user_event_daily",
  "event_type_minute",
  "active_users_minute",
  "user_minute_presence",
  "rejected_events",
  "ingest_minute",
  "rejected_minute",
  "consumer_offsets",
];

/** Fills the (empty, migrated) database behind `sql`; returns the row counts. */
export async function fillSyntheticData(
  sql: postgres.Sql,
  options: SyntheticDataOptions = {},
): Promise<SyntheticDataReport> {
  const started = performance.now();
  const users = options.users ?? 10_000;
  const days = options.days ?? 30;
  const now = options.now ?? new Date();
  const partitions = options.partitions ?? 6;
  const perSlot = (options.activeUsersPerMinute ?? 300) / 0.6;
  const start = new Date(Math.floor(now.getTime() / 60_000) * 60_000 - days * 86_400_000);
  const firstDay = Math.floor(start.getTime() / 86_400_000) * 86_400_000;
  const dayCount = Math.ceil((now.getTime() - firstDay) / 86_400_000);
  await sql.begin(async (tx) => {
    // One connection for the whole fill, so the seed governs every random() below.
    await tx`SELECT setseed(${options.seed ?? 0.42})`;
    for (let index = 0; index < dayCount; index++) {
      const day: Day = {
        from: new Date(Math.max(firstDay + index * 86_400_000, start.getTime())),
        to: new Date(firstDay + (index + 1) * 86_400_000),
        now,
        start,
        users,
        perSlot,
        partitions,
      };
      for (const [text, params] of DAY_STATEMENTS) {
        await tx.unsafe(text, params(day) as postgres.ParameterOrJSON<never>[]);
      }
      options.onProgress?.(index + 1, dayCount);
    }
    await tx.unsafe(
      `INSERT INTO consumer_offsets (consumer_group, topic, partition, next_offset, high_watermark)
       SELECT 'activity-consumer', 'user_activity', p, 1000000 + p, 1000000 + p + 12
       FROM generate_series(0, $1::int - 1) AS p`,
      [partitions],
    );
  });
  // Fresh statistics and visibility maps, as autovacuum would have them on a live database.
  for (const table of TABLES) await sql.unsafe(`VACUUM ANALYZE ${table}`);
  const rows: Record<string, number> = {};
  for (const table of TABLES) {
    const [{ count }] = await sql.unsafe(`SELECT count(*)::int8 AS count FROM ${table}`);
    rows[table] = Number(count);
  }
  return { rows, elapsedMs: performance.now() - started };
}
