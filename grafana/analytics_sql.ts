/**
 * The SQL of the product analytics row, with Grafana macros (same rules as `panel_sql.ts`). It
 * reads the rollups and bitmaps of sql/0005, never the per-user rows. Session figures count the
 * sessions that started in the UTC hours the range touches (a session's hour is its bucket).
 */
import { FUNNEL_STEPS } from "@activity/shared";
import { LONG_RANGE, SHORT_RANGE } from "./panel_sql.ts";

const FROM = "$__timeFrom()::timestamptz";

/** Hours the range touches: those starting in it, and the one it starts in. */
function touchedHours(column: string): string {
  return `($__timeFilter(${column}) OR ${column} = date_trunc('hour', ${FROM}, 'UTC'))`;
}

/**
 * Distinct users over exactly the range's minutes (those starting in it, as the per-minute
 * panels count): the OR of the user bitmaps of the whole days inside the range, the whole hours
 * left at its edges and the minutes left at its edges, then the bits set. Tiles may overlap
 * (a range inside one hour reads its minutes twice); OR does not count twice.
 */
export const DISTINCT_USERS_SQL = `WITH tiles AS (
  SELECT date_bin('1 hour', f - interval '1 microsecond', 'epoch') + interval '1 hour' AS first_hour,
    date_bin('1 hour', e, 'epoch') AS end_hour,
    date_bin('1 day', f - interval '1 microsecond', 'epoch') + interval '1 day' AS first_day,
    date_bin('1 day', e, 'epoch') AS end_day
  FROM (SELECT ${FROM} AS f,
    date_bin('1 minute', $__timeTo()::timestamptz, 'epoch') + interval '1 minute' AS e) AS range
), bitmaps AS (
  SELECT b.chunk, b.users FROM tiles JOIN user_bitmap_day AS b
    ON b.event_day >= tiles.first_day AND b.event_day < tiles.end_day
  UNION ALL
  SELECT b.chunk, b.users FROM tiles JOIN user_bitmap_hour AS b
    ON b.event_hour >= tiles.first_hour AND b.event_hour < least(tiles.first_day, tiles.end_hour)
  UNION ALL
  SELECT b.chunk, b.users FROM tiles JOIN user_bitmap_hour AS b
    ON b.event_hour >= greatest(tiles.end_day, tiles.first_hour) AND b.event_hour < tiles.end_hour
  UNION ALL
  SELECT b.chunk, b.users FROM tiles JOIN user_bitmap_minute AS b
    ON $__timeFilter(b.event_minute) AND b.event_minute < tiles.first_hour
  UNION ALL
  SELECT b.chunk, b.users FROM tiles JOIN user_bitmap_minute AS b
    ON $__timeFilter(b.event_minute) AND b.event_minute >= tiles.end_hour
)
SELECT COALESCE(sum(bit_count(users)), 0)::bigint AS distinct_users
FROM (SELECT bit_or(users) AS users FROM bitmaps GROUP BY chunk) AS per_chunk`;

/** Distinct users of each whole UTC day the range touches. */
export const DISTINCT_USERS_PER_DAY_SQL =
  `SELECT event_day AS "time", sum(bit_count(users))::bigint AS distinct_users
FROM user_bitmap_day
WHERE $__timeFilter(event_day) OR event_day = date_trunc('day', ${FROM}, 'UTC')
GROUP BY 1
ORDER BY 1`;

/** Sessions started in each hour the range touches. */
export const SESSIONS_PER_HOUR_SQL = `SELECT start_hour AS "time", sum(sessions)::bigint AS sessions
FROM session_hour
WHERE ${touchedHours("start_hour")}
GROUP BY 1
ORDER BY 1`;

/**
 * Median and 90th percentile of the length of the range's sessions (first to last event), as
 * the lower bound of the length bucket that holds them (`session_length_bucket`, sql/0005): the
 * smallest bucket whose running count reaches half (nine tenths) of the sessions. The touched
 * hours are read as whole days (session_length_day) and the hours left at their edges
 * (session_length_hour); the tiles never overlap, since counts add up.
 */
export const SESSION_LENGTH_SQL = `WITH hours AS (
  SELECT date_trunc('hour', ${FROM}, 'UTC') AS first_hour,
    date_trunc('hour', $__timeTo()::timestamptz, 'UTC') + interval '1 hour' AS end_hour
), tiles AS (
  SELECT first_hour, end_hour,
    CASE WHEN first_day < end_day THEN first_day ELSE end_hour END AS first_day,
    CASE WHEN first_day < end_day THEN end_day ELSE end_hour END AS end_day
  FROM (SELECT first_hour, end_hour,
      date_bin('1 day', first_hour - interval '1 microsecond', 'epoch') + interval '1 day'
        AS first_day,
      date_bin('1 day', end_hour, 'epoch') AS end_day
    FROM hours) AS bounds
), lengths AS (
  SELECT d.length_s, d.sessions FROM tiles JOIN session_length_day AS d
    ON d.start_day >= tiles.first_day AND d.start_day < tiles.end_day
  UNION ALL
  SELECT h.length_s, h.sessions FROM tiles JOIN session_length_hour AS h
    ON h.start_hour >= tiles.first_hour AND h.start_hour < tiles.first_day
  UNION ALL
  SELECT h.length_s, h.sessions FROM tiles JOIN session_length_hour AS h
    ON h.start_hour >= tiles.end_day AND h.start_hour < tiles.end_hour
)
SELECT
  min(length_s) FILTER (WHERE total > 0 AND running >= 0.5 * total) AS median_length,
  min(length_s) FILTER (WHERE total > 0 AND running >= 0.9 * total) AS p90_length
FROM (
  SELECT length_s, sum(sum(sessions)) OVER (ORDER BY length_s) AS running,
    sum(sum(sessions)) OVER () AS total
  FROM lengths
  GROUP BY length_s
) AS buckets`;

/** Page views per session of the range's sessions. */
export const PAGES_PER_SESSION_SQL =
  `SELECT sum(page_views)::float8 / NULLIF(sum(sessions), 0) AS pages_per_session
FROM session_hour
WHERE ${touchedHours("start_hour")}`;

/** The share of the range's sessions with exactly one page view. */
export const BOUNCE_RATE_SQL =
  `SELECT sum(bounces)::float8 / NULLIF(sum(sessions), 0) AS bounce_rate
FROM session_hour
WHERE ${touchedHours("start_hour")}`;

/**
 * The ten most viewed pages of the range (ties in code point order, whatever the locale): minute
 * totals up to `MINUTE_ROLLUP_MAX_RANGE`, hourly totals beyond (one UNION branch is cut at plan
 * time).
 */
export const TOP_PAGES_SQL = `SELECT page, sum(views)::bigint AS views
FROM (
  SELECT page, views FROM page_view_minute
  WHERE $__timeFilter(event_minute) AND ${SHORT_RANGE}
  UNION ALL
  SELECT page, views FROM page_view_hour
  WHERE $__timeFilter(event_hour) AND ${LONG_RANGE}
) AS pages
GROUP BY 1
ORDER BY views DESC, page COLLATE "C"
LIMIT 10`;

/** Sessions of the range per landing referrer, the ten most frequent. */
export const TOP_REFERRERS_SQL = `SELECT referrer, sessions
FROM (
  SELECT CASE WHEN referrer = '' THEN '(none)' ELSE referrer END AS referrer,
    sum(sessions)::bigint AS sessions
  FROM session_hour
  WHERE ${touchedHours("start_hour")}
  GROUP BY 1
) AS referrers
WHERE sessions > 0
ORDER BY sessions DESC, referrer COLLATE "C"
LIMIT 10`;

const STEPS = FUNNEL_STEPS.map((step, i) => `(${i + 1}, '${step.name.replaceAll("'", "''")}')`)
  .join(", ");

/**
 * Sessions of the range that reached each funnel step (steps from `FUNNEL_STEPS`), with the
 * conversion from the previous step and from the first.
 */
export const FUNNEL_SQL = `SELECT name AS step, sessions,
  sessions::float8 / NULLIF(lag(sessions) OVER (ORDER BY n), 0) AS from_previous_step,
  sessions::float8 / NULLIF(first_value(sessions) OVER (ORDER BY n), 0) AS from_first_step
FROM (
  SELECT step.n, step.name,
    COALESCE(sum(s.sessions) FILTER (WHERE s.furthest_step >= step.n), 0)::bigint AS sessions
  FROM (VALUES ${STEPS}) AS step(n, name)
  LEFT JOIN (
    SELECT furthest_step, sum(sessions) AS sessions
    FROM session_hour
    WHERE ${touchedHours("start_hour")}
    GROUP BY 1
  ) AS s ON true
  GROUP BY 1, 2
) AS reached
ORDER BY n`;
