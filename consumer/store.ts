/**
 * The PostgreSQL edge of the consumer: reads the stored offsets and commits a
 * flush plan atomically — the offset fence, every count, rollup, rejection and
 * statistic — as one set-based statement over arrays.
 */
import { Buffer } from "node:buffer";
import postgres from "postgres";
import type { FlushPlan } from "./flush_plan.ts";

/** Largest part of a rejected message's value kept in `rejected_events.payload`. */
export const MAX_STORED_PAYLOAD_BYTES = 16 * 1024;

/** Rows a committed flush inserted or updated, per table. */
export interface RowsWritten {
  readonly user_event_summary: number;
  readonly user_event_hourly: number;
  readonly user_event_daily: number;
  readonly event_type_minute: number;
  readonly active_users_minute: number;
  readonly rejected_events: number;
  readonly page_view_minute: number;
  readonly page_view_hour: number;
  readonly sessions: number;
  readonly session_hour: number;
  readonly session_length_hour: number;
  readonly session_length_day: number;
  readonly user_numbers: number;
  readonly user_bitmap_minute: number;
  readonly user_bitmap_hour: number;
  readonly user_bitmap_day: number;
}

/**
 * Milliseconds spent on a committed flush (for profiling): the whole statement, and the part of
 * it spent on each step (the offset fence, then each table with what only it reads: the counts'
 * input goes to `user_event_summary`, the presence rows to `active_users_minute`).
 */
export type FlushTimings =
  & {
    /** The flush statement, from sending it to its reply. */
    readonly statement: number;
    readonly offsets: number;
  }
  & { readonly [table in keyof RowsWritten]: number };

/** What committing a flush did. */
export type CommitOutcome =
  | { readonly kind: "committed"; readonly rows: RowsWritten; readonly timings: FlushTimings }
  /** The stored offsets moved on (another member, or an earlier try that did commit): nothing written. */
  | { readonly kind: "fenced"; readonly partitions: readonly number[] };

/** The consumer's connection pool and its queries. */
export interface Store {
  /** The pool, for maintenance work. */
  readonly sql: postgres.Sql;
  /** Stored next offsets of a group's topic, per partition. */
  readStoredOffsets(group: string, topic: string): Promise<Map<number, bigint>>;
  /** Commits a plan in one transaction, unless its fence fails. */
  commitFlush(plan: FlushPlan): Promise<CommitOutcome>;
  /** Whether PostgreSQL answers within `timeoutMs`. */
  ping(timeoutMs?: number): Promise<boolean>;
  /** Closes the pool. */
  close(): Promise<void>;
}

/** Opens a pool to the database at `databaseUrl` (connections are made on first use). */
export function openStore(databaseUrl: string, options: { applicationName?: string } = {}): Store {
  const sql = postgres(databaseUrl, {
    max: 4,
    idle_timeout: 60,
    connect_timeout: 10,
    // postgres.js waits up to 20 s between reconnects by default, and every failed ping during an
    // outage raises that wait: cap it at 2 s so the consumer is back soon after PostgreSQL is.
    backoff: (retries: number) => (0.5 + Math.random() / 2) * Math.min(0.1 * 2 ** retries, 2),
    onnotice: () => {},
    connection: { application_name: options.applicationName ?? "activity-consumer" },
  });
  return {
    sql,
    readStoredOffsets: (group, topic) => readStoredOffsets(sql, group, topic),
    commitFlush: (plan) => commitFlush(sql, plan),
    ping: (timeoutMs = 2_000) => ping(sql, timeoutMs),
    close: () => sql.end({ timeout: 5 }),
  };
}

async function readStoredOffsets(
  sql: postgres.Sql,
  group: string,
  topic: string,
): Promise<Map<number, bigint>> {
  const rows = await sql<{ partition: number; next_offset: string }[]>`
    SELECT partition, next_offset FROM consumer_offsets
    WHERE consumer_group = ${group} AND topic = ${topic}`;
  return new Map(rows.map((row) => [row.partition, BigInt(row.next_offset)]));
}

/** SQLSTATE raised by `consumer_offset_fence` (sql/0003) when a flush's offsets moved on. */
const FENCE_SQLSTATE = "AF001";

// A step's end inside the flush statement: the output columns are computed left to right and each
// count runs its CTE on first use, so consecutive clock readings time one step each.
const CLOCK = "extract(epoch FROM clock_timestamp())";

// Product analytics ($30 ... $42): page views, sessions and the moves of sessions between
// rollup rows, and distinct users as bitmaps over dense user numbers. Every upsert is sorted by
// its conflict key, so concurrent flushes lock rows in one order.
// A session's length in whole seconds, now and before the update.
const LENGTH_S = "floor(extract(epoch FROM last_event_at) - extract(epoch FROM started_at))::int";
const PREV_LENGTH_S = LENGTH_S.replaceAll("last_event_at", "prev_last_event_at")
  .replaceAll("started_at", "prev_started_at");

const ANALYTICS_CTES = `page_input AS (
  SELECT to_timestamp(u.minute_s) AS event_minute, u.page, u.n
  FROM unnest($30::int8[], $31::text[], $32::int8[]) AS u(minute_s, page, n)
), page_minute AS (
  INSERT INTO page_view_minute AS t (event_minute, page, views)
  SELECT event_minute, page, n FROM page_input
  ORDER BY 1, 2
  ON CONFLICT (event_minute, page) DO UPDATE SET views = t.views + EXCLUDED.views
  RETURNING 1
), page_hour AS (
  INSERT INTO page_view_hour AS t (event_hour, page, views)
  SELECT date_trunc('hour', event_minute, 'UTC'), page, sum(n) FROM page_input
  GROUP BY 1, 2
  ORDER BY 1, 2
  ON CONFLICT (event_hour, page) DO UPDATE SET views = t.views + EXCLUDED.views
  RETURNING 1
), session_rows AS (
  INSERT INTO sessions AS t (user_id, session_id, started_at, last_event_at, events, page_views,
    landing_at, landing_page, referrer, funnel_steps)
  SELECT u.user_id, u.session_id, ${fromEpochMs("u.first_ms")}, ${fromEpochMs("u.last_ms")},
    u.events, u.page_views, ${fromEpochMs("u.landing_ms")}, u.landing_page, u.referrer, u.steps
  FROM unnest($33::text[], $34::text[], $35::int8[], $36::int8[], $37::int4[], $38::int4[],
    $39::int8[], $40::text[], $41::text[], $42::int2[])
    AS u(user_id, session_id, first_ms, last_ms, events, page_views, landing_ms, landing_page,
      referrer, steps)
  ORDER BY 1, 2
  ON CONFLICT (user_id, session_id) DO UPDATE SET
    started_at = least(t.started_at, EXCLUDED.started_at),
    last_event_at = greatest(t.last_event_at, EXCLUDED.last_event_at),
    events = t.events + EXCLUDED.events,
    page_views = t.page_views + EXCLUDED.page_views,
    -- The earliest page view, ties in the order of compareLandings (session_aggregate.ts).
    (landing_at, landing_page, referrer) = (
      SELECT v.at, v.page, v.referrer
      FROM (VALUES (t.landing_at, t.landing_page, t.referrer),
        (EXCLUDED.landing_at, EXCLUDED.landing_page, EXCLUDED.referrer)) AS v(at, page, referrer)
      WHERE v.at IS NOT NULL
      ORDER BY v.at, v.page COLLATE "C", v.referrer IS NOT NULL, v.referrer COLLATE "C"
      LIMIT 1),
    funnel_steps = t.funnel_steps | EXCLUDED.funnel_steps,
    prev_started_at = t.started_at,
    prev_last_event_at = t.last_event_at,
    prev_page_views = t.page_views,
    prev_referrer = t.referrer,
    prev_furthest_step = t.furthest_step
  RETURNING started_at, page_views, referrer, furthest_step, prev_started_at, prev_page_views,
    prev_referrer, prev_furthest_step, ${LENGTH_S} AS length_s, ${PREV_LENGTH_S} AS prev_length_s
), session_moves AS (
  SELECT date_trunc('hour', started_at, 'UTC') AS start_hour, coalesce(referrer, '') AS referrer,
    furthest_step, 1 AS sessions, page_views, (page_views = 1)::int AS bounces,
    session_length_bucket(length_s) AS length_s
  FROM session_rows
  UNION ALL
  SELECT date_trunc('hour', prev_started_at, 'UTC'), coalesce(prev_referrer, ''),
    prev_furthest_step, -1, -prev_page_views, -(prev_page_views = 1)::int,
    session_length_bucket(prev_length_s)
  FROM session_rows
  WHERE prev_started_at IS NOT NULL
), session_hours AS (
  INSERT INTO session_hour AS t (start_hour, referrer, furthest_step, sessions, page_views, bounces)
  SELECT start_hour, referrer, furthest_step, sum(sessions), sum(page_views), sum(bounces)
  FROM session_moves
  GROUP BY 1, 2, 3
  HAVING sum(sessions) <> 0 OR sum(page_views) <> 0 OR sum(bounces) <> 0
  ORDER BY 1, 2, 3
  ON CONFLICT (start_hour, referrer, furthest_step) DO UPDATE SET
    sessions = t.sessions + EXCLUDED.sessions,
    page_views = t.page_views + EXCLUDED.page_views,
    bounces = t.bounces + EXCLUDED.bounces
  RETURNING 1
), session_lengths AS (
  INSERT INTO session_length_hour AS t (start_hour, length_s, sessions)
  SELECT start_hour, length_s, sum(sessions) FROM session_moves
  GROUP BY 1, 2
  HAVING sum(sessions) <> 0
  ORDER BY 1, 2
  ON CONFLICT (start_hour, length_s) DO UPDATE SET sessions = t.sessions + EXCLUDED.sessions
  RETURNING 1
), session_length_days AS (
  INSERT INTO session_length_day AS t (start_day, length_s, sessions)
  SELECT date_trunc('day', start_hour, 'UTC'), length_s, sum(sessions) FROM session_moves
  GROUP BY 1, 2
  HAVING sum(sessions) <> 0
  ORDER BY 1, 2
  ON CONFLICT (start_day, length_s) DO UPDATE SET sessions = t.sessions + EXCLUDED.sessions
  RETURNING 1
), flush_users AS (
  SELECT f.user_id, n.user_number
  FROM (SELECT DISTINCT user_id FROM input) AS f
  LEFT JOIN user_numbers AS n ON n.user_id = f.user_id
), numbered AS (
  -- Only users the snapshot does not know, so the identity advances once per new user. A
  -- concurrent flush that numbered one first wins: the no-op update returns its number.
  INSERT INTO user_numbers AS t (user_id)
  SELECT user_id FROM flush_users WHERE user_number IS NULL
  ORDER BY 1
  ON CONFLICT (user_id) DO UPDATE SET user_id = EXCLUDED.user_id
  RETURNING user_id, user_number
), minute_users AS (
  SELECT m.event_minute, u.user_number / 4096 AS chunk,
    bit_or(B'1'::bit(4096) >> (u.user_number % 4096)) AS users
  FROM (SELECT DISTINCT event_minute, user_id FROM input) AS m
  JOIN (SELECT user_id, user_number FROM flush_users WHERE user_number IS NOT NULL
        UNION ALL SELECT user_id, user_number FROM numbered) AS u ON u.user_id = m.user_id
  GROUP BY 1, 2
), minute_bitmaps AS (
  ${bitmapUpsert("user_bitmap_minute", "event_minute", "event_minute")}
), hour_bitmaps AS (
  ${bitmapUpsert("user_bitmap_hour", "event_hour", "date_trunc('hour', event_minute, 'UTC')")}
), day_bitmaps AS (
  ${bitmapUpsert("user_bitmap_day", "event_day", "date_trunc('day', event_minute, 'UTC')")}
)`;

function fromEpochMs(column: string): string {
  return `timestamptz 'epoch' + ${column} * interval '1 millisecond'`;
}

/** ORs a flush's users into one grain's bitmaps; a bitmap that gains no user is not rewritten. */
function bitmapUpsert(table: string, column: string, bucket: string): string {
  return `INSERT INTO ${table} AS t (${column}, chunk, users)
  SELECT ${bucket}, chunk, bit_or(users) FROM minute_users
  GROUP BY 1, 2
  ORDER BY 1, 2
  ON CONFLICT (${column}, chunk) DO UPDATE SET users = t.users | EXCLUDED.users
  WHERE t.users | EXCLUDED.users <> t.users
  RETURNING 1`;
}

/** Each table the flush writes and the CTE that writes it, in the statement's column order. */
const WRITES: readonly (readonly [keyof RowsWritten, string])[] = [
  ["user_event_summary", "summary"],
  ["user_event_hourly", "hourly"],
  ["user_event_daily", "daily"],
  ["active_users_minute", "active"],
  ["event_type_minute", "type_minute"],
  ["rejected_events", "rejected"],
  ["page_view_minute", "page_minute"],
  ["page_view_hour", "page_hour"],
  ["sessions", "session_rows"],
  ["session_hour", "session_hours"],
  ["session_length_hour", "session_lengths"],
  ["session_length_day", "session_length_days"],
  ["user_numbers", "numbered"],
  ["user_bitmap_minute", "minute_bitmaps"],
  ["user_bitmap_hour", "hour_bitmaps"],
  ["user_bitmap_day", "day_bitmaps"],
];

// Rows each CTE wrote, each followed by the clock when its step ended.
const WRITTEN_COLUMNS = WRITES.map(([table, cte]) =>
  `(SELECT count(*) FROM ${cte})::int AS ${table},\n  ${CLOCK} AS t_${table}`
).join(",\n  ");

// The whole flush is ONE statement, so it commits or not as a unit without BEGIN/COMMIT: a
// connection killed mid-flush leaves nothing behind, and there is no rollback to send on a dead
// connection. The fence check is the first output column, so a fenced flush aborts before
// PostgreSQL runs the other writes. Hours and days are cut in UTC (3-argument date_trunc).
const FLUSH = `
WITH advanced AS (
  UPDATE consumer_offsets AS o
  SET next_offset = u.next_offset, high_watermark = u.high_watermark, updated_at = now()
  FROM unnest($3::int4[], $4::int8[], $5::int8[], $6::int8[])
    AS u(partition, expected, next_offset, high_watermark)
  WHERE o.consumer_group = $1 AND o.topic = $2 AND o.partition = u.partition
    AND o.next_offset = u.expected
  RETURNING o.partition
), started AS (
  INSERT INTO consumer_offsets (consumer_group, topic, partition, next_offset, high_watermark)
  SELECT $1, $2, u.partition, u.next_offset, u.high_watermark
  FROM unnest($7::int4[], $8::int8[], $9::int8[]) AS u(partition, next_offset, high_watermark)
  ORDER BY u.partition
  ON CONFLICT DO NOTHING
  RETURNING partition
), input AS (
  SELECT u.user_id, to_timestamp(u.minute_s) AS event_minute, u.event_type, u.n
  FROM unnest($10::text[], $11::int8[], $12::text[], $13::int8[])
    AS u(user_id, minute_s, event_type, n)
), summary AS (
  INSERT INTO user_event_summary AS t (user_id, event_minute, event_type, event_hour, event_count)
  SELECT user_id, event_minute, event_type, date_trunc('hour', event_minute, 'UTC'), n FROM input
  ON CONFLICT (user_id, event_minute, event_type)
  DO UPDATE SET event_count = t.event_count + EXCLUDED.event_count, updated_at = now()
  RETURNING 1
), hourly AS (
  INSERT INTO user_event_hourly AS t (user_id, event_hour, event_type, event_count)
  SELECT user_id, date_trunc('hour', event_minute, 'UTC'), event_type, sum(n) FROM input
  GROUP BY 1, 2, 3
  ON CONFLICT (user_id, event_hour, event_type)
  DO UPDATE SET event_count = t.event_count + EXCLUDED.event_count
  RETURNING 1
), daily AS (
  INSERT INTO user_event_daily AS t (user_id, event_day, event_type, event_count)
  SELECT user_id, date_trunc('day', event_minute, 'UTC'), event_type, sum(n) FROM input
  GROUP BY 1, 2, 3
  ON CONFLICT (user_id, event_day, event_type)
  DO UPDATE SET event_count = t.event_count + EXCLUDED.event_count
  RETURNING 1
), fresh AS (
  INSERT INTO user_minute_presence (event_minute, user_id)
  SELECT DISTINCT event_minute, user_id FROM input
  ON CONFLICT DO NOTHING
  RETURNING event_minute
), active AS (
  INSERT INTO active_users_minute AS t (event_minute, active_users)
  SELECT event_minute, count(*) FROM fresh GROUP BY 1 ORDER BY 1
  ON CONFLICT (event_minute) DO UPDATE SET active_users = t.active_users + EXCLUDED.active_users
  RETURNING 1
), type_minute AS (
  INSERT INTO event_type_minute AS t (event_minute, event_type, event_count)
  SELECT to_timestamp(u.minute_s), u.event_type, u.n
  FROM unnest($14::int8[], $15::text[], $16::int8[]) AS u(minute_s, event_type, n)
  ORDER BY 1, 2
  ON CONFLICT (event_minute, event_type)
  DO UPDATE SET event_count = t.event_count + EXCLUDED.event_count
  RETURNING 1
), rejected AS (
  INSERT INTO rejected_events
    (reason, detail, topic, partition, kafka_offset, message_key, payload, payload_bytes)
  SELECT u.reason, u.detail, $2, u.partition, u.kafka_offset, decode(u.message_key, 'hex'),
    decode(u.payload, 'hex'), u.payload_bytes
  FROM unnest($17::text[], $18::text[], $19::int4[], $20::int8[], $21::text[], $22::text[],
    $23::int4[]) AS u(reason, detail, partition, kafka_offset, message_key, payload, payload_bytes)
  ON CONFLICT (topic, partition, kafka_offset) DO NOTHING
  RETURNING 1
), rejected_reasons AS (
  INSERT INTO rejected_minute AS t (processed_minute, reason, events)
  SELECT date_trunc('minute', now(), 'UTC'), u.reason, u.n
  FROM unnest($24::text[], $25::int8[]) AS u(reason, n)
  ORDER BY 2
  ON CONFLICT (processed_minute, reason) DO UPDATE SET events = t.events + EXCLUDED.events
), ingest AS (
  INSERT INTO ingest_minute AS t
    (processed_minute, events_accepted, events_rejected, bytes, late_events, flushes)
  VALUES (date_trunc('minute', now(), 'UTC'), $26::int8, $27::int8, $28::int8, $29::int8, 1)
  ON CONFLICT (processed_minute) DO UPDATE SET
    events_accepted = t.events_accepted + EXCLUDED.events_accepted,
    events_rejected = t.events_rejected + EXCLUDED.events_rejected,
    bytes = t.bytes + EXCLUDED.bytes,
    late_events = t.late_events + EXCLUDED.late_events,
    flushes = t.flushes + 1
), ${ANALYTICS_CTES}
SELECT
  ${CLOCK} AS t_start,
  consumer_offset_fence(ARRAY(
    SELECT p FROM unnest($3::int4[] || $7::int4[]) AS p
    EXCEPT SELECT partition FROM advanced
    EXCEPT SELECT partition FROM started
    ORDER BY 1
  )) AS fence,
  ${CLOCK} AS t_offsets,
  ${WRITTEN_COLUMNS}`;

/** The flush statement's parameters, in order ($1 ... $42). */
export function flushParameters(plan: FlushPlan): unknown[] {
  const existing = plan.ranges.filter((range) => range.expected !== null);
  const fresh = plan.ranges.filter((range) => range.expected === null);
  const { counts, typeMinutes, rejections, sessions, pageViews } = plan;
  return [
    plan.group,
    plan.topic,
    existing.map((range) => range.partition),
    existing.map((range) => range.expected),
    existing.map((range) => range.next),
    existing.map((range) => range.highWatermark),
    fresh.map((range) => range.partition),
    fresh.map((range) => range.next),
    fresh.map((range) => range.highWatermark),
    counts.users,
    counts.minutes,
    counts.types,
    counts.counts,
    typeMinutes.minutes,
    typeMinutes.types,
    typeMinutes.counts,
    rejections.map((r) => r.reason),
    rejections.map((r) => withoutNul(r.detail)),
    rejections.map((r) => r.partition),
    rejections.map((r) => r.offset),
    // bytea arrays do not cross postgres.js's array encoding intact; hex text does.
    rejections.map((r) => hex(r.key)),
    rejections.map((r) => hex(r.value?.subarray(0, MAX_STORED_PAYLOAD_BYTES) ?? null)),
    rejections.map((r) => r.value?.length ?? 0),
    plan.rejectedByReason.map(([reason]) => reason),
    plan.rejectedByReason.map(([, n]) => n),
    plan.accepted,
    plan.rejected,
    plan.bytes,
    plan.late,
    pageViews.minutes,
    pageViews.pages,
    pageViews.views,
    sessions.users,
    sessions.sessionIds,
    sessions.firstMs,
    sessions.lastMs,
    sessions.events,
    sessions.pageViews,
    sessions.landingMs,
    sessions.landingPages,
    sessions.referrers,
    sessions.funnelSteps,
  ];
}

async function commitFlush(sql: postgres.Sql, plan: FlushPlan): Promise<CommitOutcome> {
  const started = performance.now();
  try {
    const [row] = await sql.unsafe<Record<string, number | string>[]>(
      FLUSH,
      flushParameters(plan) as never[],
      {
        prepare: true,
      },
    );
    const rows = Object.fromEntries(
      WRITES.map(([table]) => [table, Number(row[table])]),
    ) as unknown as RowsWritten;
    const timings: Record<string, number> = { statement: performance.now() - started };
    let last = Number(row.t_start);
    for (const step of ["offsets", ...WRITES.map(([table]) => table)]) {
      const at = Number(row[`t_${step}`]);
      timings[step] = (at - last) * 1000;
      last = at;
    }
    return { kind: "committed", rows, timings: timings as FlushTimings };
  } catch (error) {
    const { code, detail } = error as { code?: string; detail?: string };
    if (code !== FENCE_SQLSTATE) throw error;
    return { kind: "fenced", partitions: (detail ?? "").split(",").filter(Boolean).map(Number) };
  }
}

async function ping(sql: postgres.Sql, timeoutMs: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([sql`SELECT 1`.then(() => true, () => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function hex(bytes: Uint8Array | null): string | null {
  if (bytes === null) return null;
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

function withoutNul(text: string): string {
  // PostgreSQL text cannot hold NUL; a detail quoting one must still be stored.
  return text.includes("\u0000") ? text.replaceAll("\u0000", "\\u0000") : text;
}
