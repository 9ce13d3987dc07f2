/**
 * The SQL of every panel and alert, with Grafana macros. Rules kept by every query (see
 * `/work/shared/notes/grafana.md`): macro arguments are bare column names (no `)` or commas),
 * buckets named "time" then `GROUP BY 1`, time series ordered by `time`, and totals read rollups
 * (`event_type_minute`, `event_type_hour`, `active_users_minute`, `ingest_minute`, ...), never the
 * per-user minute rows, except the last hour's top users which are per user by nature.
 */

/** Ranges longer than this read hourly totals (`event_type_hour`) instead of minute totals. */
export const MINUTE_ROLLUP_MAX_RANGE = "3 days";

const RANGE = "$__timeTo()::timestamptz - $__timeFrom()::timestamptz";
const INTERVAL = "$__interval_ms * interval '1 millisecond'";

/**
 * The `$__interval` bucket of a timestamptz column, named "time". Same buckets as
 * `$__timeGroupAlias(column,$__interval)`, but on timestamps: that macro computes a numeric epoch
 * per row, which makes a 30-day scan of a per-minute table four times slower.
 */
function bucket(column: string): string {
  return `date_bin(${INTERVAL}, ${column}, 'epoch') AS "time"`;
}

/** True when the range is short enough to read minute totals. */
export const SHORT_RANGE = `${RANGE} <= interval '${MINUTE_ROLLUP_MAX_RANGE}'`;
/** True when the range reads hourly totals (the negation of `SHORT_RANGE`). */
export const LONG_RANGE = `${RANGE} > interval '${MINUTE_ROLLUP_MAX_RANGE}'`;

/** Events counted in the panel's range ("today so far" on the stat), from minute totals. */
export const EVENTS_TODAY_SQL = `SELECT COALESCE(sum(event_count), 0)::bigint AS events
FROM event_type_minute
WHERE $__timeFilter(event_minute)`;

/**
 * Average events per minute in each `$__interval` bucket, by type: minute totals up to
 * ${MINUTE_ROLLUP_MAX_RANGE}, hourly totals beyond (one UNION branch is cut at plan time).
 */
export const EVENT_RATE_SQL = `SELECT ${bucket("event_minute")}, event_type AS metric,
  sum(event_count)::float8 * 60000 / greatest($__interval_ms, 60000) AS events_per_minute
FROM event_type_minute
WHERE $__timeFilter(event_minute) AND ${SHORT_RANGE}
GROUP BY 1, 2
UNION ALL
SELECT ${bucket("event_hour")}, event_type,
  sum(event_count)::float8 * 60000 / greatest($__interval_ms, 3600000)
FROM event_type_hour
WHERE $__timeFilter(event_hour) AND ${LONG_RANGE}
GROUP BY 1, 2
ORDER BY 1, 2`;

/** Events per type over the selected range, largest first. */
export const EVENT_TYPES_SQL = `SELECT event_type, sum(event_count)::bigint AS events
FROM event_type_minute
WHERE $__timeFilter(event_minute) AND ${SHORT_RANGE}
GROUP BY 1
UNION ALL
SELECT event_type, sum(event_count)::bigint
FROM event_type_hour
WHERE $__timeFilter(event_hour) AND ${LONG_RANGE}
GROUP BY 1
ORDER BY 2 DESC, 1`;

/** The five users with the most events in the panel's range (the last hour), ties by id. */
export const TOP_USERS_SQL = `SELECT user_id, sum(event_count)::bigint AS events
FROM user_event_summary
WHERE $__timeFilter(event_minute)
GROUP BY user_id
ORDER BY events DESC, user_id
LIMIT 5`;

/** Events counted since the beginning, at the end of each bucket (processing time). */
export const CUMULATIVE_EVENTS_SQL = `SELECT buckets."time",
  (SELECT COALESCE(sum(events_accepted), 0) FROM ingest_minute WHERE processed_minute < $__timeFrom())
    + sum(buckets.accepted) OVER (ORDER BY buckets."time") AS events_counted
FROM (
  SELECT ${bucket("processed_minute")}, sum(events_accepted) AS accepted
  FROM ingest_minute
  WHERE $__timeFilter(processed_minute)
  GROUP BY 1
) AS buckets
ORDER BY 1`;

const BUCKETS_FROM_THE_END =
  `generate_series($__timeTo()::timestamptz, $__timeFrom()::timestamptz, -${INTERVAL}) AS bucket(ends)`;
function inBucket(column: string): string {
  return `${column} <= bucket.ends AND ${column} > bucket.ends - ${INTERVAL}`;
}

/**
 * Bytes of each table at the last sample of each bucket (buckets end at the range's end). One
 * index probe per bucket, so the cost follows the number of buckets, not of samples (a sample per
 * table per minute is 432 000 rows in 30 days).
 */
export const STORED_BYTES_SQL = `SELECT samples.sampled_at AS "time", samples.relation AS metric,
  samples.bytes
FROM ${BUCKETS_FROM_THE_END}
CROSS JOIN LATERAL (
  SELECT sampled_at FROM storage_samples
  WHERE $__timeFilter(sampled_at) AND ${inBucket("sampled_at")}
  ORDER BY sampled_at DESC
  LIMIT 1
) AS latest
JOIN storage_samples AS samples ON samples.sampled_at = latest.sampled_at
ORDER BY 1, 2`;

/** Distinct active users per minute, averaged over each bucket. */
export const ACTIVE_USERS_SQL = `SELECT ${bucket("event_minute")},
  avg(active_users)::float8 AS active_users
FROM active_users_minute
WHERE $__timeFilter(event_minute)
GROUP BY 1
ORDER BY 1`;

/** Rejections per minute by reason, averaged over each bucket. */
export const REJECTION_RATE_SQL = `SELECT ${bucket("processed_minute")}, reason AS metric,
  sum(events)::float8 * 60000 / greatest($__interval_ms, 60000) AS rejected_per_minute
FROM rejected_minute
WHERE $__timeFilter(processed_minute)
GROUP BY 1, 2
ORDER BY 1, 2`;

/** The newest rejected messages in the range with their reason and detail. */
export const LATEST_REJECTIONS_SQL =
  `SELECT received_at AS "time", reason, detail, topic, partition,
  kafka_offset, payload_bytes
FROM rejected_events
WHERE $__timeFilter(received_at)
ORDER BY received_at DESC, id DESC
LIMIT 100`;

/** Messages retention removed before a group read them, found in the range (a recorded gap). */
export const LOST_MESSAGES_SQL = `SELECT COALESCE(sum(lost_messages), 0)::bigint AS lost
FROM consumer_offset_gaps
WHERE $__timeFilter(detected_at)`;

/**
 * Seconds since the newest counted minute began (future minutes, allowed by the clock-skew
 * tolerance, are ignored so they cannot hide a stall). Deliberately not bounded by the range.
 */
export const NEWEST_EVENT_AGE_SQL =
  `SELECT greatest(0, extract(epoch FROM now() - max(event_minute)))::float8 AS newest_event_age
FROM event_type_minute
WHERE event_minute <= now()`;

/** Seconds since a consumer last committed counts and offsets. */
export const LAST_COMMIT_AGE_SQL =
  `SELECT greatest(0, extract(epoch FROM now() - max(updated_at)))::float8 AS last_commit_age
FROM consumer_offsets`;

/**
 * Messages behind the high watermark per partition of every consumer group, at the last sample of
 * each bucket (one index probe per partition and bucket).
 */
export const CONSUMER_LAG_SQL = `SELECT sample.sampled_minute AS "time",
  p.consumer_group || ' ' || p.topic || '/' || p.partition AS metric, sample.lag_messages AS lag
FROM consumer_offsets AS p
CROSS JOIN ${BUCKETS_FROM_THE_END}
CROSS JOIN LATERAL (
  SELECT l.sampled_minute, l.lag_messages FROM consumer_lag_minute AS l
  WHERE l.consumer_group = p.consumer_group AND l.topic = p.topic AND l.partition = p.partition
    AND $__timeFilter(l.sampled_minute) AND ${inBucket("l.sampled_minute")}
  ORDER BY l.sampled_minute DESC
  LIMIT 1
) AS sample
ORDER BY 1, 2`;

/** What the consumers did per minute: messages accepted, rejected and late, and bytes per second. */
export const INGEST_THROUGHPUT_SQL = `SELECT ${bucket("processed_minute")},
  sum(events_accepted)::float8 * 60000 / greatest($__interval_ms, 60000) AS accepted_per_minute,
  sum(events_rejected)::float8 * 60000 / greatest($__interval_ms, 60000) AS rejected_per_minute,
  sum(late_events)::float8 * 60000 / greatest($__interval_ms, 60000) AS late_per_minute,
  sum(bytes)::float8 * 1000 / greatest($__interval_ms, 60000) AS bytes_per_second
FROM ingest_minute
WHERE $__timeFilter(processed_minute)
GROUP BY 1
ORDER BY 1`;

/**
 * Alert: events counted in the rule's window (5 minutes). No row at all while the stack has never
 * counted an event, so a fresh stack is NoData (OK for this rule), not "no events for 5 minutes".
 */
export const ALERT_EVENTS_COUNTED_SQL =
  `SELECT COALESCE(sum(events_accepted), 0)::float8 AS events_counted
FROM ingest_minute
WHERE $__timeFilter(processed_minute)
HAVING EXISTS (SELECT 1 FROM ingest_minute WHERE events_accepted > 0)`;

/** Alert: the share of messages rejected in the rule's window (10 minutes), 0 when idle. */
export const ALERT_REJECTED_SHARE_SQL = `SELECT COALESCE(
    sum(events_rejected)::float8 / NULLIF(sum(events_accepted) + sum(events_rejected), 0), 0
  ) AS rejected_share
FROM ingest_minute
WHERE $__timeFilter(processed_minute)`;

/**
 * Alert, one series per partition: how much the lag grew over the window (6 minute samples) when it
 * grew at every one of the 5 steps, else 0.
 */
export const ALERT_LAG_GROWTH_SQL = `SELECT consumer_group, topic, partition::text AS partition,
  CASE WHEN count(*) >= 6 AND bool_and(step IS NULL OR step > 0)
    THEN (max(lag_messages) - min(lag_messages))::float8 ELSE 0 END AS lag_growth
FROM (
  SELECT consumer_group, topic, partition, lag_messages,
    lag_messages - lag(lag_messages) OVER (
      PARTITION BY consumer_group, topic, partition ORDER BY sampled_minute
    ) AS step
  FROM consumer_lag_minute
  WHERE $__timeFilter(sampled_minute)
) AS samples
GROUP BY 1, 2, 3`;
