/**
 * The PostgreSQL edge of the consumer: reads the stored offsets and commits a
 * flush plan atomically — the offset fence, every count, rollup, rejection and
 * statistic — as one set-based statement over arrays.
 */
import { Buffer } from "node:buffer";
import postgres from "postgres";
import {
  ANALYTICS_CTES,
  ANALYTICS_WRITES,
  analyticsParameters,
  type AnalyticsRowsWritten,
} from "./analytics_statement.ts";
import type { FlushPlan } from "./flush_plan.ts";

/** Largest part of a rejected message's value kept in `rejected_events.payload`. */
export const MAX_STORED_PAYLOAD_BYTES = 16 * 1024;

/** Rows a committed flush inserted or updated, per table. */
export type RowsWritten = CountRowsWritten & AnalyticsRowsWritten;

/** Rows written to the count, rollup and rejection tables. */
interface CountRowsWritten {
  readonly user_event_summary: number;
  readonly user_event_hourly: number;
  readonly user_event_daily: number;
  readonly event_type_minute: number;
  readonly active_users_minute: number;
  readonly rejected_events: number;
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

/** Each table the flush writes and the CTE that writes it, in the statement's column order. */
const WRITES: readonly (readonly [keyof RowsWritten, string])[] = [
  ["user_event_summary", "summary"],
  ["user_event_hourly", "hourly"],
  ["user_event_daily", "daily"],
  ["active_users_minute", "active"],
  ["event_type_minute", "type_minute"],
  ["rejected_events", "rejected"],
  ...ANALYTICS_WRITES,
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

/** The flush statement's parameters, in order ($1 ... $29, then the analytics' from $30). */
export function flushParameters(plan: FlushPlan): unknown[] {
  const existing = plan.ranges.filter((range) => range.expected !== null);
  const fresh = plan.ranges.filter((range) => range.expected === null);
  const { counts, typeMinutes, rejections } = plan;
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
    ...analyticsParameters(plan),
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
