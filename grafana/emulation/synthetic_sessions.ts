/**
 * The session rollups of the synthetic data (see `synthetic_data.ts`): one session per active
 * user-slot, by the hour the slot starts in; lengths exponential with a mean of 9 minutes, cut
 * into the buckets of `session_length_bucket` (sql/0005); each hour's sessions split exactly over
 * fixed shares of landing referrers and furthest funnel steps, with their page views and bounces.
 */
/** Mean session length in seconds. */
const MEAN_LENGTH_S = 540;

// Every bucket's lower bound (seconds under a minute, 5 s under 10 minutes, 30 s under an hour,
// 5 minutes under a day) and the share of exponential lengths that fall in it.
const BUCKETS = `(
  SELECT lo, exp(-lo / ${MEAN_LENGTH_S}.0) -
    exp(-lead(lo, 1, 2 * 86400) OVER (ORDER BY lo) / ${MEAN_LENGTH_S}.0) AS share FROM (
    SELECT generate_series(0, 59) AS lo
    UNION ALL SELECT generate_series(60, 595, 5)
    UNION ALL SELECT generate_series(600, 3570, 30)
    UNION ALL SELECT generate_series(3600, 86400, 300)) AS bounds)`;

// Landing referrers (the producer's shares) and furthest steps, with page views per session
// and the share of single-view sessions at that step.
const CELLS = `(
  SELECT referrer, step, views, bounce,
    sum(share) OVER (ORDER BY referrer, step) - share AS below, sum(share) OVER (ORDER BY referrer, step) AS upto
  FROM (
    SELECT r.referrer, s.step, r.share * s.share AS share, s.views, s.bounce
    FROM (VALUES ('direct', 0.40), ('search', 0.30), ('social', 0.15), ('email', 0.10),
        ('ads', 0.05)) AS r(referrer, share),
      (VALUES (1, 0.55, 2.5, 0.55), (2, 0.30, 6.0, 0.15), (3, 0.10, 9.0, 0.0),
        (4, 0.05, 12.0, 0.0)) AS s(step, share, views, bounce)) AS shares)`;

/** Fills `session_length_hour` from the slots between `$1` (start) and `$2` (now). */
export const SESSION_LENGTH_SQL = `INSERT INTO session_length_hour (start_hour, length_s, sessions)
SELECT * FROM (
  SELECT hours.start_hour, b.lo,
    floor(hours.sessions * b.share + random())::bigint AS sessions
  FROM (SELECT date_trunc('hour', slot, 'UTC') AS start_hour, sum(bit_count(users)) AS sessions
    FROM synthetic_slots WHERE slot >= $1 AND slot < $2 GROUP BY 1) AS hours,
    ${BUCKETS} AS b) AS rounded
WHERE sessions > 0
ORDER BY 1, 2`;

/**
 * Fills `session_hour` from `session_length_hour`: each hour's sessions cut at the cumulative
 * shares of the cells, so the cells add up to the hour exactly.
 */
export const SESSION_HOUR_SQL = `INSERT INTO session_hour
  (start_hour, referrer, furthest_step, sessions, page_views, bounces)
SELECT start_hour, referrer, step, n,
  greatest(n, floor(n * views + random()))::bigint, floor(n * bounce + random())::bigint
FROM (
  SELECT hours.start_hour, c.referrer, c.step, c.views, c.bounce,
    (floor(hours.sessions * c.upto + 0.5) - floor(hours.sessions * c.below + 0.5))::bigint AS n
  FROM (SELECT start_hour, sum(sessions) AS sessions FROM session_length_hour GROUP BY 1)
    AS hours, ${CELLS} AS c) AS cells
WHERE n > 0
ORDER BY 1, 2, 3`;
