/**
 * Fills a migrated database with synthetic activity for query-cost measurements: every table the
 * dashboard reads, at the density the consumer would write for `users` users over `days` days.
 * Generated inside PostgreSQL by one set-based statement per table over the whole period (never
 * a day or a row at a time), deterministic per seed.
 *
 * The model: the day is cut into 15-minute slots; in each slot a number of users, following a
 * daily curve (peak 15:00 UTC, trough 03:00 at a third of the peak), is active, in the minutes
 * of the slot a fixed 60 % mask of user numbers selects; the user bitmaps are those sets. Rows
 * are written as far back as a dashboard query reads them: per-user rows for the last
 * `detailHours` (the last hour's top users), where an active user-minute holds views (90 %, 1-4),
 * scrolls (50 %, 1-6) and clicks (30 %, 1-3), at least one event, each view on a page drawn by
 * weight; page views per minute for the last 4 days (ranges up to 3 days read minutes); the
 * other tables for the whole period, from the active users at the same means. View totals are
 * the page views' sum where both exist; about 0.2 % of messages are rejected; sessions (one per
 * active user-slot) have exponential lengths (mean 9 minutes) and fixed shares of referrers and
 * furthest funnel steps. Storage is sampled every minute for every table the consumer samples,
 * lag every minute for each partition.
 */
import type postgres from "postgres";
import { SAMPLED_TABLES } from "@activity/consumer";
import { SESSION_HOUR_SQL, SESSION_LENGTH_SQL } from "./synthetic_sessions.ts";

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
  /** Hours before `now` with per-user rows (default 6). */
  readonly detailHours?: number;
  /** Kafka partitions of the topic (default 6, as in compose). */
  readonly partitions?: number;
  /** Seed in [-1, 1] for PostgreSQL's random() (default 0.42). */
  readonly seed?: number;
}

/** What was generated. */
export interface SyntheticDataReport {
  /** Rows per table after generation. */
  readonly rows: Record<string, number>;
  /** Milliseconds per generation step, in order. */
  readonly steps: Record<string, number>;
  /** Wall time of the generation, in ms. */
  readonly elapsedMs: number;
}

/** What the statements are generated for; each names the fields it takes as `$1`, `$2`, …. */
interface Period {
  /** The first minute. */
  readonly start: Date;
  readonly now: Date;
  /** The first minute with per-user rows. */
  readonly detailStart: Date;
  /** The first minute with page views per minute (an hour). */
  readonly pageMinuteStart: Date;
  readonly users: number;
  /** Users drawn per 15-minute slot at the mean of the daily curve. */
  readonly perSlot: number;
  readonly partitions: number;
  /** Rejection reasons to draw from. */
  readonly reasons: readonly string[];
  /** Tables whose size is sampled. */
  readonly sampled: readonly string[];
  /** The pages, their weights (shares of 1000), and each page repeated by its weight. */
  readonly pageNames: readonly string[];
  readonly pageWeights: readonly number[];
  readonly pageDraws: readonly string[];
}

/** A generation step: its name, its SQL, and which `Period` fields are its `$1`, `$2`, …. */
type Statement = readonly [string, string, readonly (keyof Period)[]];

const USER_ID = "'user_' || lpad(user_number::text, 5, '0')";

const STATEMENTS: readonly Statement[] = [
  // Random user sets of 8 sizes along the daily curve, two of each; a slot takes one of its size
  // and rotates it by a random offset per chunk, so no two slots hold the same users.
  [
    "pool",
    `CREATE TEMP TABLE synthetic_pool ON COMMIT DROP AS
    SELECT level, draw, chunk, (SELECT string_agg(CASE
        WHEN i > 0 AND random() < $2::float8 * (0.5 + (level + 0.5) / 8) / $1::int THEN '1'
        ELSE '0' END, '') FROM generate_series(1, 4096 + 0 * draw * chunk) AS i)::bit(4096) AS bits
    FROM generate_series(0, 7) AS level, generate_series(0, 1) AS draw,
      generate_series(0, ($1::int - 1) / 4096) AS chunk`,
    ["users", "perSlot"],
  ],
  [
    "slots",
    `CREATE TEMP TABLE synthetic_slots ON COMMIT DROP AS
    SELECT slot, chunk, ((bits << k) | (bits >> (4096 - k))) & valid AS users
    FROM (
      SELECT s.slot, p.chunk, p.bits, floor(random() * 4096)::int AS k,
        (repeat('1', least(4096, $3::int - p.chunk * 4096)) ||
          repeat('0', greatest(0, (p.chunk + 1) * 4096 - $3::int)))::bit(4096) AS valid
      FROM (
        SELECT slot, floor(random() * 2)::int AS draw, least(7, floor(8 * (0.5 + 0.5 *
          sin(2 * pi() * (extract(epoch FROM slot) / 3600 - 9) / 24))))::int AS level
        FROM generate_series(date_bin('15 minutes', $1::timestamptz, 'epoch'), $2::timestamptz,
          interval '15 minutes') AS slot) AS s
      JOIN synthetic_pool AS p ON p.level = s.level AND p.draw = s.draw) AS rotated`,
    [
      "start",
      "now",
      "users",
    ],
  ],
  [
    "masks",
    `CREATE TEMP TABLE synthetic_masks ON COMMIT DROP AS
    SELECT step, chunk, (SELECT string_agg(CASE WHEN random() < 0.6 THEN '1' ELSE '0' END, '')
      FROM generate_series(1, 4096 + 0 * step * chunk))::bit(4096) AS bits
    FROM generate_series(0, 14) AS step, generate_series(0, ($1::int - 1) / 4096) AS chunk`,
    [
      "users",
    ],
  ],
  [
    "user_numbers",
    `INSERT INTO user_numbers (user_id, user_number) OVERRIDING SYSTEM VALUE
    SELECT ${USER_ID}, user_number FROM generate_series(0, $1::int - 1) AS user_number`,
    [
      "users",
    ],
  ],
  [
    "user_numbers sequence",
    `SELECT setval(pg_get_serial_sequence('user_numbers', 'user_number'),
    $1::int)`,
    ["users"],
  ],
  [
    "user_bitmap_minute",
    `INSERT INTO user_bitmap_minute (event_minute, chunk, users, users_count)
    SELECT *, bit_count(users) FROM (
      SELECT s.slot + m.step * interval '1 minute' AS event_minute, s.chunk,
        s.users & m.bits AS users
      FROM synthetic_slots AS s JOIN synthetic_masks AS m ON m.chunk = s.chunk) AS minutes
    WHERE event_minute >= $1 AND event_minute < $2 AND bit_count(users) > 0
    ORDER BY 1, 2`,
    ["start", "now"],
  ],
  [
    "user_bitmap_hour",
    `INSERT INTO user_bitmap_hour (event_hour, chunk, users)
    SELECT date_trunc('hour', event_minute, 'UTC'), chunk, bit_or(users) FROM user_bitmap_minute
    GROUP BY 1, 2 ORDER BY 1, 2`,
    [],
  ],
  [
    "user_bitmap_day",
    `INSERT INTO user_bitmap_day (event_day, chunk, users)
    SELECT date_trunc('day', event_hour, 'UTC'), chunk, bit_or(users) FROM user_bitmap_hour
    GROUP BY 1, 2 ORDER BY 1, 2`,
    [],
  ],
  [
    "active_users_minute",
    `INSERT INTO active_users_minute (event_minute, active_users)
    SELECT event_minute, sum(bit_count(users)) FROM user_bitmap_minute GROUP BY 1 ORDER BY 1`,
    [],
  ],
  // Per-user rows of the last hours: the user-minutes the bitmaps hold, with their events.
  [
    "user_event_summary",
    `INSERT INTO user_event_summary
      (user_id, event_minute, event_type, event_hour, event_count, updated_at)
    SELECT ${USER_ID}, event_minute, kind.event_type, date_trunc('hour', event_minute, 'UTC'),
      kind.n, event_minute + interval '2 seconds'
    FROM (
      SELECT u.user_number, u.slot + m.step * interval '1 minute' AS event_minute,
        random() AS v, random() AS s, random() AS c
      FROM (
        SELECT slot, chunk * 4096 + i AS user_number
        FROM synthetic_slots, generate_series(0, 4095) AS i
        WHERE slot >= $1::timestamptz - interval '15 minutes' AND get_bit(users, i) = 1) AS u
      JOIN synthetic_masks AS m
        ON m.chunk = u.user_number / 4096 AND get_bit(m.bits, u.user_number % 4096) = 1) AS minutes
    CROSS JOIN LATERAL (VALUES
      ('view', CASE WHEN v < 0.9 OR (s >= 0.5 AND c >= 0.3) THEN 1 + floor(v * 40)::int % 4 END),
      ('scroll', CASE WHEN s < 0.5 THEN 1 + floor(s * 120)::int % 6 END),
      ('click', CASE WHEN c < 0.3 THEN 1 + floor(c * 100)::int % 3 END)) AS kind(event_type, n)
    WHERE kind.n IS NOT NULL AND event_minute >= $1 AND event_minute < $2
    -- In time order, as the consumer's flushes write them: a minute's rows share pages.
    ORDER BY event_minute, 1, 3`,
    ["detailStart", "now"],
  ],
  // Every bucket rolled up, as after the consumer's upkeep: the rollups are all materialised.
  [
    "user_event_hourly_closed",
    `INSERT INTO user_event_hourly_closed (user_id, event_hour, event_type, event_count)
    SELECT user_id, event_hour, event_type, sum(event_count) FROM user_event_summary
    GROUP BY 1, 2, 3`,
    [],
  ],
  [
    "user_event_daily_closed",
    `INSERT INTO user_event_daily_closed (user_id, event_day, event_type, event_count)
    SELECT user_id, date_trunc('day', event_minute, 'UTC'), event_type, sum(event_count)
    FROM user_event_summary GROUP BY 1, 2, 3`,
    [],
  ],
  [
    "rollup_watermark",
    `UPDATE rollup_watermark SET hours_closed_before = 'infinity', days_closed_before = 'infinity'`,
    [],
  ],
  // Each view of the last hours on one page, drawn by weight; before them, each minute's views
  // per page around the mean (2.25 views per active user), rounded at random. Minute rows go back
  // as far as the dashboard reads them (3 days); older hours are drawn per hour.
  [
    "page_view_minute",
    `INSERT INTO page_view_minute (event_minute, page, views)
    SELECT event_minute, page, count(*) FROM (
      SELECT s.event_minute, ($2::text[])[1 + floor(random() * 1000)::int] AS page
      FROM user_event_summary AS s, generate_series(1, s.event_count)
      WHERE s.event_type = 'view') AS draws
    GROUP BY 1, 2
    UNION ALL
    SELECT * FROM (
      SELECT a.event_minute, p.page,
        floor(a.active_users * 2.25 * p.weight / 1000 + random())::bigint AS views
      FROM active_users_minute AS a, unnest($3::text[], $4::int[]) AS p(page, weight)
      WHERE a.event_minute >= $5 AND a.event_minute < $1) AS rounded
    WHERE views > 0
    ORDER BY 1, 2`,
    ["detailStart", "pageDraws", "pageNames", "pageWeights", "pageMinuteStart"],
  ],
  [
    "page_view_hour",
    `INSERT INTO page_view_hour (event_hour, page, views)
    SELECT date_trunc('hour', event_minute, 'UTC'), page, sum(views) FROM page_view_minute
    GROUP BY 1, 2
    UNION ALL
    SELECT * FROM (
      SELECT a.event_hour, p.page,
        floor(a.active_users * 2.25 * p.weight / 1000 + random())::bigint AS views
      FROM (SELECT date_trunc('hour', event_minute, 'UTC') AS event_hour,
          sum(active_users) AS active_users
        FROM active_users_minute WHERE event_minute < $1 GROUP BY 1) AS a,
        unnest($2::text[], $3::int[]) AS p(page, weight)) AS rounded
    WHERE views > 0
    ORDER BY 1, 2`,
    ["pageMinuteStart", "pageNames", "pageWeights"],
  ],
  // Views are the page views where there are minute rows; the other types, and views before,
  // follow the active users.
  [
    "event_type_minute",
    `INSERT INTO event_type_minute (event_minute, event_type, event_count)
    SELECT * FROM (
      SELECT event_minute, event_type, sum(event_count) FROM user_event_summary
      WHERE event_type <> 'view' GROUP BY 1, 2
      UNION ALL
      SELECT event_minute, 'view', sum(views) FROM page_view_minute GROUP BY 1
      UNION ALL
      SELECT * FROM (
        SELECT a.event_minute, kind.event_type,
          floor(a.active_users * kind.mean + random())::bigint AS n
        FROM active_users_minute AS a,
          (VALUES ('view', 2.25, $2::timestamptz), ('scroll', 0.5 * 3.5, $1),
            ('click', 0.3 * 2, $1)) AS kind(event_type, mean, until)
        WHERE a.event_minute < kind.until) AS rounded
      WHERE n > 0) AS totals
    -- One statement: the 0002 trigger keeps event_type_hour.
    ORDER BY 1, 2`,
    ["detailStart", "pageMinuteStart"],
  ],
  // Processed a few seconds after they occurred: the same minute.
  [
    "ingest_minute",
    `INSERT INTO ingest_minute
      (processed_minute, events_accepted, events_rejected, bytes, late_events, flushes)
    SELECT event_minute, sum(event_count), floor(sum(event_count) * 0.002 + random())::bigint,
      sum(event_count) * (230 + floor(random() * 40)::int), floor(random() * 1.2)::bigint, 120
    FROM event_type_minute GROUP BY 1 ORDER BY 1`,
    [],
  ],
  [
    "rejected_events",
    `INSERT INTO rejected_events (reason, detail, topic, partition,
      kafka_offset, message_key, payload, payload_bytes, received_at)
    SELECT ($2::text[])[1 + floor(random() * array_length($2::text[], 1))::int],
      'synthetic rejection ' || n, 'user_activity', n % $1::int,
      extract(epoch FROM processed_minute)::bigint * 1000 + n, NULL,
      convert_to(repeat('x', 180), 'UTF8'), 180,
      processed_minute + random() * interval '59 seconds'
    FROM ingest_minute, generate_series(1, events_rejected::int) AS n`,
    [
      "partitions",
      "reasons",
    ],
  ],
  [
    "rejected_minute",
    `INSERT INTO rejected_minute (processed_minute, reason, events)
    SELECT date_trunc('minute', received_at, 'UTC'), reason, count(*) FROM rejected_events
    GROUP BY 1, 2 ORDER BY 1, 2`,
    [],
  ],
  [
    "consumer_lag_minute",
    `INSERT INTO consumer_lag_minute
      (consumer_group, topic, partition, sampled_minute, lag_messages)
    SELECT 'activity-consumer', 'user_activity', p, minute, floor(random() * 40)::bigint
    FROM generate_series($1::timestamptz, $2::timestamptz, interval '1 minute') AS minute,
      generate_series(0, $3::int - 1) AS p
    WHERE minute < $2 ORDER BY 4, 3`,
    ["start", "now", "partitions"],
  ],
  [
    "storage_samples",
    `INSERT INTO storage_samples (sampled_at, relation, bytes)
    SELECT minute, relation,
      ((1 + ordinal) * 8192 * (1 + extract(epoch FROM minute - $1::timestamptz) / 600))::bigint
    FROM generate_series($1::timestamptz, $2::timestamptz, interval '1 minute') AS minute,
      unnest($3::text[]) WITH ORDINALITY AS t(relation, ordinal)
    WHERE minute < $2 ORDER BY 1, 2`,
    ["start", "now", "sampled"],
  ],
  [
    "consumer_offsets",
    `INSERT INTO consumer_offsets
      (consumer_group, topic, partition, next_offset, high_watermark)
    SELECT 'activity-consumer', 'user_activity', p, 1000000 + p, 1000000 + p + 12
    FROM generate_series(0, $1::int - 1) AS p`,
    ["partitions"],
  ],
  ["session_length_hour", SESSION_LENGTH_SQL, ["start", "now"]],
  ["session_hour", SESSION_HOUR_SQL, []],
  [
    "session_length_day",
    `INSERT INTO session_length_day (start_day, length_s, sessions)
    SELECT date_trunc('day', start_hour, 'UTC'), length_s, sum(sessions)
    FROM session_length_hour GROUP BY 1, 2 ORDER BY 1, 2`,
    [],
  ],
];

const REASONS = ["schema_violation", "not_json", "unknown_event_type", "future_timestamp"];

// The producer's catalogue, in the proportions its sessions view them (a share of 1000).
const PAGES: readonly (readonly [string, number])[] = [
  ["/", 180],
  ["/search", 70],
  ["/products", 70],
  ...Array.from({ length: 24 }, (_, i) => [`/products/${i + 1}`, i < 4 ? 40 : 15] as const),
  ["/cart", 55],
  ["/checkout", 25],
  ["/account", 25],
  ["/blog", 20],
  ...Array.from({ length: 8 }, (_, i) => [`/blog/${i + 1}`, 10] as const),
  ["/help", 15],
];

/** Fills the (empty, migrated) database behind `sql`; returns row counts and step times. */
export async function fillSyntheticData(
  sql: postgres.Sql,
  options: SyntheticDataOptions = {},
): Promise<SyntheticDataReport> {
  const started = performance.now();
  const now = options.now ?? new Date();
  const days = options.days ?? 30;
  const startMs = Math.floor(now.getTime() / 60_000) * 60_000 - days * 86_400_000;
  const detailMs = Math.max(startMs, now.getTime() - (options.detailHours ?? 6) * 3_600_000);
  const weights = PAGES.map(([, weight]) => weight);
  const period: Period = {
    start: new Date(startMs),
    now,
    detailStart: new Date(Math.floor(detailMs / 60_000) * 60_000),
    pageMinuteStart: new Date(
      Math.max(startMs, Math.floor((now.getTime() - 4 * 86_400_000) / 3_600_000) * 3_600_000),
    ),
    users: options.users ?? 10_000,
    perSlot: (options.activeUsersPerMinute ?? 300) / 0.6,
    partitions: options.partitions ?? 6,
    reasons: REASONS,
    sampled: SAMPLED_TABLES,
    pageNames: PAGES.map(([page]) => page),
    pageWeights: weights,
    pageDraws: PAGES.flatMap(([page, weight]) => Array<string>(weight).fill(page)),
  };
  if (period.pageDraws.length !== 1000) throw new Error("page weights must add up to 1000");
  const steps: Record<string, number> = {};
  await sql.begin(async (tx) => {
    // One connection for the whole fill, so the seed governs every random() below.
    await tx`SELECT setseed(${options.seed ?? 0.42})`;
    for (const [name, text, fields] of STATEMENTS) {
      const stepStarted = performance.now();
      const parameters = fields.map((field) => period[field]);
      await tx.unsafe(text, parameters as postgres.ParameterOrJSON<never>[]);
      steps[name] = performance.now() - stepStarted;
    }
  });
  const tables = await filledTables(sql);
  const analyzeStarted = performance.now();
  // Fresh statistics and visibility maps, as autovacuum would have them on a live database.
  await sql.unsafe(`VACUUM ANALYZE ${tables.join(", ")}`);
  steps["vacuum analyze"] = performance.now() - analyzeStarted;
  const rows: Record<string, number> = {};
  for (const table of tables) {
    const [{ count }] = await sql.unsafe(`SELECT count(*)::int8 AS count FROM ${table}`);
    rows[table] = Number(count);
  }
  return { rows, steps, elapsedMs: performance.now() - started };
}

/** The tables of the public schema (all written by the fill or left empty by it). */
async function filledTables(sql: postgres.Sql): Promise<string[]> {
  const rows = await sql<{ name: string }[]>`SELECT relname AS name FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
    WHERE c.relkind = 'r' AND relname <> 'schema_migrations' ORDER BY 1`;
  return rows.map((row) => row.name);
}
