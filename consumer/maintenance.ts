/**
 * Background upkeep of the database: retention (old rows deleted in small
 * batches so flushes never wait long behind it) and storage size samples.
 * Which tables and cut-offs apply is pure (`retentionTargets`,
 * `retentionCutoff`); the rest is the SQL edge.
 *
 * One retention rule for reading and deleting: a bucket is gone once its END
 * is more than the retention period ago, by the consumer's clock; events in a
 * gone bucket are rejected as expired (`aggregateBatch`). Rows are deleted
 * `RETENTION_GRACE_MS` after their bucket is gone, so an event accepted just
 * before (still in a buffer, or judged by another consumer whose clock is a
 * little behind) can never re-create a deleted bucket with a partial count.
 */
import type postgres from "postgres";
import { DAY_MS, HOUR_MS, MINUTE_MS } from "@activity/shared";

/** How long after its bucket is gone a row is deleted (buffered events, clock skew). */
export const RETENTION_GRACE_MS = HOUR_MS;

/** One table whose rows expire by one time column. */
export interface RetentionTarget {
  readonly table: string;
  readonly column: string;
  readonly days: number;
  /** The bucket the column starts (a minute, an hour, a day); 0 for processing-time rows. */
  readonly bucketMs: number;
}

/** Rows of `target` whose column is at or before this time are deleted. */
export function retentionCutoff(target: RetentionTarget, nowMs: number): Date {
  return new Date(nowMs - target.days * DAY_MS - target.bucketMs - RETENTION_GRACE_MS);
}

/** The tables retention trims: per-minute data at `retentionDays`, rollups at their own setting. */
export function retentionTargets(
  options: { retentionDays: number; rollupRetentionDays: number },
): RetentionTarget[] {
  const days = options.retentionDays;
  const perMinute: RetentionTarget[] = [
    ...[
      "user_event_summary",
      "event_type_minute",
      "active_users_minute",
      "page_view_minute",
      "user_bitmap_minute",
    ].map((table) => ({ table, column: "event_minute", days, bucketMs: MINUTE_MS })),
    // A session is kept a day past the retention of its first minute: only a session longer
    // than a day can lose its row to retention (and be counted again if it goes on).
    { table: "sessions", column: "started_at", days, bucketMs: DAY_MS },
    ...[
      ["rejected_events", "received_at"],
      ["ingest_minute", "processed_minute"],
      ["rejected_minute", "processed_minute"],
      ["storage_samples", "sampled_at"],
      ["consumer_lag_minute", "sampled_minute"],
      ["consumer_offset_gaps", "detected_at"],
    ].map(([table, column]) => ({ table, column, days, bucketMs: 0 })),
  ];
  if (options.rollupRetentionDays === 0) return perMinute;
  const rollupDays = options.rollupRetentionDays;
  return [
    ...perMinute,
    {
      table: "user_event_hourly_closed",
      column: "event_hour",
      days: rollupDays,
      bucketMs: HOUR_MS,
    },
    { table: "user_event_daily_closed", column: "event_day", days: rollupDays, bucketMs: DAY_MS },
    { table: "event_type_hour", column: "event_hour", days: rollupDays, bucketMs: HOUR_MS },
    ...[
      ["page_view_hour", "event_hour", HOUR_MS],
      ["user_bitmap_hour", "event_hour", HOUR_MS],
      ["user_bitmap_day", "event_day", DAY_MS],
      ["session_hour", "start_hour", HOUR_MS],
      ["session_length_hour", "start_hour", HOUR_MS],
      ["session_length_day", "start_day", DAY_MS],
    ].map(([table, column, bucketMs]) => ({
      table: table as string,
      column: column as string,
      days: rollupDays,
      bucketMs: bucketMs as number,
    })),
    // user_numbers is never trimmed: its numbers must outlive every bitmap that holds them.
  ];
}

/** Tables whose size is sampled into `storage_samples`. */
export const SAMPLED_TABLES: readonly string[] = [
  "user_event_summary",
  "user_event_hourly_closed",
  "user_event_daily_closed",
  "event_type_minute",
  "active_users_minute",
  "rejected_events",
  "ingest_minute",
  "rejected_minute",
  "consumer_offsets",
  "sessions",
  "session_hour",
  "session_length_hour",
  "session_length_day",
  "page_view_minute",
  "page_view_hour",
  "user_numbers",
  "user_bitmap_minute",
  "user_bitmap_hour",
  "user_bitmap_day",
];

/** Deletes expired rows of every target, `batchSize` rows per transaction; returns rows deleted. */
export async function deleteExpired(
  sql: postgres.Sql,
  targets: readonly RetentionTarget[],
  options: { nowMs: number; batchSize?: number; signal?: AbortSignal },
): Promise<Map<string, number>> {
  const batchSize = options.batchSize ?? 5_000;
  const deleted = new Map<string, number>();
  for (const target of targets) {
    // Tables of other migrations (sql/0002) are trimmed when they exist.
    const [found] = await sql`SELECT to_regclass(${target.table}) IS NOT NULL AS exists`;
    if (!found.exists) continue;
    let total = 0;
    // Per-minute rows not rolled up yet are kept, whatever their age (the upkeep closes them).
    const rolledUpOnly = target.table === "user_event_summary";
    while (!options.signal?.aborted) {
      // Table and column names come from retentionTargets, never from input.
      const result = await sql.unsafe(
        `DELETE FROM ${target.table} WHERE ctid = ANY(ARRAY(
           SELECT ctid FROM ${target.table}
           WHERE ${target.column} <= $1::timestamptz AND (NOT $3::boolean OR
             ${target.column} < (SELECT hours_closed_before FROM rollup_watermark))
           LIMIT $2::int))`,
        [retentionCutoff(target, options.nowMs).toISOString(), batchSize, rolledUpOnly],
      );
      total += result.count;
      if (result.count < batchSize) break;
    }
    deleted.set(target.table, total);
  }
  return deleted;
}

/** Records the current size of each sampled table (one sample per minute, whoever takes it). */
export async function sampleStorage(sql: postgres.Sql): Promise<number> {
  const result = await sql`
    INSERT INTO storage_samples (sampled_at, relation, bytes)
    SELECT date_trunc('minute', now(), 'UTC'), relname::text, pg_total_relation_size(c.oid)
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
    WHERE c.relkind = 'r' AND c.relname = ANY(${SAMPLED_TABLES as string[]})
    ON CONFLICT (sampled_at, relation) DO NOTHING`;
  return result.count;
}
