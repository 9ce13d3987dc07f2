/**
 * The flush statement and its parameters: the offset fence, every count,
 * rollup, rejection, gap and statistic of one flush, written as ONE set-based
 * statement over arrays (never one row per event).
 */
import { Buffer } from "node:buffer";
import {
  ANALYTICS_WRITES,
  analyticsCtes,
  analyticsParameters,
  type AnalyticsRowsWritten,
} from "./analytics_statement.ts";
import { arrayLiteral } from "./array_literal.ts";
import type { FlushPlan } from "./flush_plan.ts";
import type { RejectionStorage } from "./store.ts";
import type { MinuteBitmapColumns } from "./user_bitmaps.ts";

/** What the statement writes besides the plan: how its rejections are kept, the users' bits. */
export interface FlushInputs extends RejectionStorage {
  /** Each minute's users as bitmaps (`minuteBitmaps`). */
  readonly bitmaps: MinuteBitmapColumns;
}

/** Largest part of a rejected message's value kept in `rejected_events.payload`. */
export const MAX_STORED_PAYLOAD_BYTES = 16 * 1024;
/** Largest part of a rejected message's key kept in `rejected_events.message_key`. */
export const MAX_STORED_KEY_BYTES = 16 * 1024;

/** SQLSTATEs raised by `consumer_flush_fence` (sql/0004): offsets moved on, another owner. */
export const FENCE_SQLSTATE = "AF001";
export const OWNER_SQLSTATE = "AF002";

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

/** Each table the flush writes and the CTE that writes it, in the statement's column order. */
export const FLUSH_WRITES: readonly (readonly [keyof RowsWritten, string])[] = [
  ["user_event_summary", "summary"],
  ["user_event_hourly", "hourly"],
  ["user_event_daily", "daily"],
  ["active_users_minute", "active"],
  ["event_type_minute", "type_minute"],
  ["rejected_events", "rejected"],
  ...ANALYTICS_WRITES,
];

// A step's end inside the statement: the output columns are computed left to right and each
// count runs its CTE on first use, so consecutive clock readings time one step each.
const CLOCK = "extract(epoch FROM clock_timestamp())";

// Rows each CTE wrote, each followed by the clock when its step ended (`t_<table>`).
const WRITTEN_COLUMNS = FLUSH_WRITES.map(([table, cte]) =>
  `(SELECT count(*) FROM ${cte})::int AS ${table},\n  ${CLOCK} AS t_${table}`
).join(",\n  ");

/** Where one closed-bucket rollup CTE writes: its name, bucket unit and watermark column. */
interface ClosedRollup {
  readonly cte: "hourly" | "daily";
  readonly unit: "hour" | "day";
  readonly watermark: "hours_closed_before" | "days_closed_before";
}

// The hourly and daily rollups differ only in their bucket; one shape keeps them in step.
function closedRollupCte({ cte, unit, watermark }: ClosedRollup): string {
  return `${cte} AS (
  INSERT INTO user_event_${cte}_closed AS t (user_id, event_${unit}, event_type, event_count)
  SELECT user_id, date_trunc('${unit}', event_minute, 'UTC'), event_type, sum(n) FROM input
  WHERE event_minute < (SELECT ${watermark} FROM watermark)
  GROUP BY 1, 2, 3
  ORDER BY 1, 2, 3
  ON CONFLICT (user_id, event_${unit}, event_type)
  DO UPDATE SET event_count = t.event_count + EXCLUDED.event_count
  RETURNING 1`;
}

const HOURLY_CTE = closedRollupCte({
  cte: "hourly",
  unit: "hour",
  watermark: "hours_closed_before",
});
const DAILY_CTE = closedRollupCte({ cte: "daily", unit: "day", watermark: "days_closed_before" });

// The whole flush is ONE statement, so it commits or not as a unit without BEGIN/COMMIT: a
// connection killed mid-flush leaves nothing behind, and there is no rollback to send on a dead
// connection. The fence is the first output column, so a fenced flush aborts before PostgreSQL
// runs the other writes; the owner row is read under a share lock, so a take-over by another
// group waits for this flush or refuses it. Every multi-row upsert is sorted by its conflict
// key, so concurrent flushes lock rows in one order and cannot deadlock. Hours and days are cut
// in UTC (3-argument date_trunc).
// Keys are compared byte by byte (COLLATE "C", like the key columns since sql/0006): cheap sorts,
// and the order the B-trees are in.
/** The flush statement ($1 ... $36, then the analytics' from $37; see `flushParameters`). */
export const FLUSH = `
WITH owner AS (
  SELECT consumer_group FROM topic_owners WHERE topic = $2 FOR SHARE
), advanced AS (
  UPDATE consumer_offsets AS o
  SET next_offset = u.next_offset, high_watermark = u.high_watermark,
    topic_id = coalesce($3::uuid, o.topic_id), updated_at = now()
  FROM unnest($4::int4[], $5::int8[], $6::int8[], $7::int8[])
    AS u(partition, expected, next_offset, high_watermark)
  WHERE o.consumer_group = $1 AND o.topic = $2 AND o.partition = u.partition
    AND o.next_offset = u.expected
  RETURNING o.partition
), started AS (
  INSERT INTO consumer_offsets
    (consumer_group, topic, partition, next_offset, high_watermark, topic_id)
  SELECT $1, $2, u.partition, u.next_offset, u.high_watermark, $3::uuid
  FROM unnest($8::int4[], $9::int8[], $10::int8[]) AS u(partition, next_offset, high_watermark)
  ORDER BY u.partition
  ON CONFLICT DO NOTHING
  RETURNING partition
), input AS (
  SELECT u.user_id COLLATE "C" AS user_id, to_timestamp(u.minute_s) AS event_minute,
    u.event_type COLLATE "C" AS event_type, u.n
  FROM unnest($11::text[], $12::int8[], $13::text[], $14::int8[])
    AS u(user_id, minute_s, event_type, n)
), summary AS (
  INSERT INTO user_event_summary AS t (user_id, event_minute, event_type, event_hour, event_count)
  SELECT user_id, event_minute, event_type, date_trunc('hour', event_minute, 'UTC'), n FROM input
  ORDER BY 1, 2, 3
  ON CONFLICT (user_id, event_minute, event_type)
  DO UPDATE SET event_count = t.event_count + EXCLUDED.event_count, updated_at = now()
  RETURNING 1
), watermark AS (
  -- Rollups of closed buckets only (sql/0007): a flush adds to those its late events reach.
  SELECT hours_closed_before, days_closed_before FROM rollup_watermark FOR SHARE
), ${HOURLY_CTE}
), ${DAILY_CTE}
), type_minute AS (
  INSERT INTO event_type_minute AS t (event_minute, event_type, event_count)
  SELECT to_timestamp(u.minute_s), u.event_type COLLATE "C", u.n
  FROM unnest($15::int8[], $16::text[], $17::int8[]) AS u(minute_s, event_type, n)
  ORDER BY 1, 2
  ON CONFLICT (event_minute, event_type)
  DO UPDATE SET event_count = t.event_count + EXCLUDED.event_count
  RETURNING 1
), rejected AS (
  INSERT INTO rejected_events (reason, detail, topic, partition, kafka_offset, message_key,
    payload, payload_bytes, key_bytes, dead_letter)
  SELECT u.reason, u.detail, $2, u.partition, u.kafka_offset, decode(u.message_key, 'hex'),
    decode(u.payload, 'hex'), u.payload_bytes, u.key_bytes, u.dead_letter
  FROM unnest($18::text[], $19::text[], $20::int4[], $21::int8[], $22::text[], $23::text[],
    $24::int4[], $25::int4[], $26::text[])
    AS u(reason, detail, partition, kafka_offset, message_key, payload, payload_bytes, key_bytes,
      dead_letter)
  ORDER BY u.partition, u.kafka_offset
  ON CONFLICT (topic, partition, kafka_offset) DO NOTHING
  RETURNING 1
), rejected_reasons AS (
  INSERT INTO rejected_minute AS t (processed_minute, reason, events)
  SELECT date_trunc('minute', now(), 'UTC'), u.reason, u.n
  FROM unnest($27::text[], $28::int8[]) AS u(reason, n)
  ORDER BY 2
  ON CONFLICT (processed_minute, reason) DO UPDATE SET events = t.events + EXCLUDED.events
), ingest AS (
  INSERT INTO ingest_minute AS t
    (processed_minute, events_accepted, events_rejected, bytes, late_events, flushes)
  VALUES (date_trunc('minute', now(), 'UTC'), $29::int8, $30::int8, $31::int8, $32::int8, 1)
  ON CONFLICT (processed_minute) DO UPDATE SET
    events_accepted = t.events_accepted + EXCLUDED.events_accepted,
    events_rejected = t.events_rejected + EXCLUDED.events_rejected,
    bytes = t.bytes + EXCLUDED.bytes,
    late_events = t.late_events + EXCLUDED.late_events,
    flushes = t.flushes + 1
), gaps AS (
  INSERT INTO consumer_offset_gaps (consumer_group, topic, partition, from_offset, to_offset, topic_id)
  SELECT $1, $2, u.partition, u.from_offset, u.to_offset, coalesce(u.topic_id, $3::uuid)
  FROM unnest($33::int4[], $34::int8[], $35::int8[], $36::uuid[])
    AS u(partition, from_offset, to_offset, topic_id)
  ORDER BY 3, 4
  ON CONFLICT DO NOTHING
), ${analyticsCtes(37)}, active AS (
  -- Users each minute's bitmaps gained in this flush, as the updated rows counted them.
  INSERT INTO active_users_minute AS t (event_minute, active_users)
  SELECT event_minute, sum(added) FROM minute_bitmaps
  GROUP BY 1
  HAVING sum(added) > 0
  ORDER BY 1
  ON CONFLICT (event_minute) DO UPDATE SET active_users = t.active_users + EXCLUDED.active_users
  RETURNING 1
)
SELECT
  ${CLOCK} AS t_start,
  consumer_flush_fence(ARRAY(
    SELECT p FROM unnest($4::int4[] || $8::int4[]) AS p
    EXCEPT SELECT partition FROM advanced
    EXCEPT SELECT partition FROM started
    ORDER BY 1
  ), (SELECT consumer_group FROM owner), $1) AS fence,
  ${CLOCK} AS t_offsets,
  ${WRITTEN_COLUMNS}`;

/**
 * The flush statement's parameters, in order ($1 ... $36, then the analytics'); every column
 * goes as its array literal (`arrayLiteral`), the rest as it is.
 */
export function flushParameters(plan: FlushPlan, storage: FlushInputs): unknown[] {
  return columnParameters(plan, storage).map((parameter) =>
    Array.isArray(parameter) ? arrayLiteral(parameter) : parameter
  );
}

function columnParameters(plan: FlushPlan, storage: FlushInputs): unknown[] {
  const existing = plan.ranges.filter((range) => range.expected !== null);
  const fresh = plan.ranges.filter((range) => range.expected === null);
  const gaps = plan.ranges.flatMap((range) =>
    range.gaps.map((gap) => ({ partition: range.partition, ...gap }))
  );
  const { counts, typeMinutes, rejections } = plan;
  const bytes = !storage.withoutBytes;
  const note = storage.withoutBytes
    ? " (key and payload not stored: the database refused them)"
    : "";
  return [
    plan.group,
    plan.topic,
    plan.topicId,
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
    rejections.map((r) => withoutNul(r.detail) + note),
    rejections.map((r) => r.partition),
    rejections.map((r) => r.offset),
    // bytea arrays do not cross postgres.js's array encoding intact; hex text does.
    rejections.map((r) => bytes ? hex(r.key?.subarray(0, MAX_STORED_KEY_BYTES) ?? null) : null),
    rejections.map((r) =>
      bytes ? hex(r.value?.subarray(0, MAX_STORED_PAYLOAD_BYTES) ?? null) : null
    ),
    rejections.map((r) => r.value?.length ?? 0),
    rejections.map((r) => r.key?.length ?? null),
    rejections.map((_, i) => storage.deadLetters[i] ?? "not sent"),
    plan.rejectedByReason.map(([reason]) => reason),
    plan.rejectedByReason.map(([, n]) => n),
    plan.accepted,
    plan.rejected,
    plan.bytes,
    plan.late,
    gaps.map((gap) => gap.partition),
    gaps.map((gap) => gap.from),
    gaps.map((gap) => gap.to),
    gaps.map((gap) => gap.topicId ?? null),
    ...analyticsParameters(plan, storage.bitmaps),
  ];
}

function hex(bytes: Uint8Array | null): string | null {
  if (bytes === null) return null;
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

function withoutNul(text: string): string {
  // PostgreSQL text cannot hold NUL; a detail quoting one must still be stored.
  return text.includes("\u0000") ? text.replaceAll("\u0000", "\\u0000") : text;
}
