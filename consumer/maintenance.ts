/**
 * Background upkeep of the database: retention (old rows deleted in small
 * batches so flushes never wait long behind it) and storage size samples.
 * Which tables and cut-offs apply is pure (`retentionTargets`); the rest is
 * the SQL edge.
 */
import type postgres from "postgres";

/** One table whose rows expire by one time column. */
export interface RetentionTarget {
  readonly table: string;
  readonly column: string;
  readonly days: number;
}

/** The tables retention trims: per-minute data at `retentionDays`, rollups at their own setting. */
export function retentionTargets(
  options: { retentionDays: number; rollupRetentionDays: number },
): RetentionTarget[] {
  const perMinute = [
    ["user_event_summary", "event_minute"],
    ["event_type_minute", "event_minute"],
    ["active_users_minute", "event_minute"],
    ["user_minute_presence", "event_minute"],
    ["rejected_events", "received_at"],
    ["ingest_minute", "processed_minute"],
    ["rejected_minute", "processed_minute"],
    ["storage_samples", "sampled_at"],
    ["consumer_lag_minute", "sampled_minute"],
    ["page_view_minute", "event_minute"],
    ["user_bitmap_minute", "event_minute"],
    // A session goes with the minute it started in.
    ["sessions", "started_at"],
  ].map(([table, column]) => ({ table, column, days: options.retentionDays }));
  if (options.rollupRetentionDays === 0) return perMinute;
  // user_numbers is never trimmed: its numbers must outlive every bitmap that holds them.
  return [
    ...perMinute,
    ...[
      ["user_event_hourly", "event_hour"],
      ["user_event_daily", "event_day"],
      ["event_type_hour", "event_hour"],
      ["page_view_hour", "event_hour"],
      ["user_bitmap_hour", "event_hour"],
      ["user_bitmap_day", "event_day"],
      ["session_hour", "start_hour"],
      ["session_length_hour", "start_hour"],
      ["session_length_day", "start_day"],
    ].map(([table, column]) => ({ table, column, days: options.rollupRetentionDays })),
  ];
}

/** Tables whose size is sampled into `storage_samples`. */
export const SAMPLED_TABLES: readonly string[] = [
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
  options: { batchSize?: number; signal?: AbortSignal } = {},
): Promise<Map<string, number>> {
  const batchSize = options.batchSize ?? 5_000;
  const deleted = new Map<string, number>();
  for (const target of targets) {
    // Tables of other migrations (sql/0002) are trimmed when they exist.
    const [found] = await sql`SELECT to_regclass(${target.table}) IS NOT NULL AS exists`;
    if (!found.exists) continue;
    let total = 0;
    while (!options.signal?.aborted) {
      // Table and column names come from retentionTargets, never from input.
      const result = await sql.unsafe(
        `DELETE FROM ${target.table} WHERE ctid = ANY(ARRAY(
           SELECT ctid FROM ${target.table}
           WHERE ${target.column} < now() - make_interval(days => $1::int)
           LIMIT $2::int))`,
        [target.days, batchSize],
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
