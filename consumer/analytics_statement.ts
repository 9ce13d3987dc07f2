/**
 * The product analytics part of the consumer's flush statement (sql/0005): its CTEs, the tables
 * they write and their parameters from a flush plan. Pure text; `flush_statement.ts` makes it part
 * of the one statement, so it commits with the counts and offsets or not at all.
 */
import type { FlushPlan } from "./flush_plan.ts";
import type { MinuteBitmapColumns } from "./user_bitmaps.ts";

/** Rows written to the analytics tables. */
export interface AnalyticsRowsWritten {
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

/** Each analytics table and the CTE that writes it, in the order the statement counts them. */
export const ANALYTICS_WRITES: readonly (readonly [keyof AnalyticsRowsWritten, string])[] = [
  ["page_view_minute", "page_minute"],
  ["page_view_hour", "page_hour"],
  ["sessions", "session_rows"],
  ["session_hour", "session_hours"],
  ["session_length_hour", "session_lengths"],
  ["session_length_day", "session_length_days"],
  ["user_bitmap_minute", "minute_bitmaps"],
  ["user_bitmap_hour", "hour_bitmaps"],
  ["user_bitmap_day", "day_bitmaps"],
];

const SESSION_HOUR_KEY = ["start_hour", "referrer", "furthest_step"];
const SESSION_HOUR_SUMS = ["sessions", "page_views", "bounces"];

// A session's length in whole seconds, now and before the update.
const LENGTH_S = "floor(extract(epoch FROM last_event_at) - extract(epoch FROM started_at))::int";
const PREV_LENGTH_S = LENGTH_S.replaceAll("last_event_at", "prev_last_event_at")
  .replaceAll("started_at", "prev_started_at");

/**
 * The analytics CTEs of the flush statement (after its counts, whose `input` they read), their
 * parameters numbered from `$first` in the order of `analyticsParameters`: page views, sessions
 * and the moves of sessions between rollup rows, and distinct users as bitmaps over dense user
 * numbers. Every upsert is sorted by its conflict key, so concurrent flushes lock rows in one
 * order; text keys byte by byte (`COLLATE "C"`), which sorts without the locale's rules.
 */
export function analyticsCtes(first: number): string {
  const $ = (i: number) => `$${first + i}`;
  return `page_input AS (
  SELECT to_timestamp(u.minute_s) AS event_minute, u.page COLLATE "C" AS page, u.n
  FROM unnest(${$(0)}::int8[], ${$(1)}::text[], ${$(2)}::int8[]) AS u(minute_s, page, n)
), page_minute AS (
  ${addingUpsert("page_view_minute", ["event_minute", "page"], ["views"])}
  SELECT event_minute, page, n FROM page_input
  ORDER BY 1, 2
  ${addingConflict(["event_minute", "page"], ["views"])}
), page_hour AS (
  ${addingUpsert("page_view_hour", ["event_hour", "page"], ["views"])}
  SELECT date_trunc('hour', event_minute, 'UTC'), page, sum(n) FROM page_input
  GROUP BY 1, 2
  ORDER BY 1, 2
  ${addingConflict(["event_hour", "page"], ["views"])}
), session_rows AS (
  INSERT INTO sessions AS t (user_id, session_id, started_at, last_event_at, events, page_views,
    landing_at, landing_page, referrer, funnel_steps)
  SELECT u.user_id COLLATE "C", u.session_id COLLATE "C", ${fromEpochMs("u.first_ms")}, ${
    fromEpochMs("u.last_ms")
  },
    u.events, u.page_views, ${fromEpochMs("u.landing_ms")}, u.landing_page, u.referrer, u.steps
  FROM unnest(${$(3)}::text[], ${$(4)}::text[], ${$(5)}::int8[], ${$(6)}::int8[],
    ${$(7)}::int4[], ${$(8)}::int4[], ${$(9)}::int8[], ${$(10)}::text[], ${$(11)}::text[],
    ${$(12)}::int2[])
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
  ${addingUpsert("session_hour", SESSION_HOUR_KEY, SESSION_HOUR_SUMS)}
  SELECT start_hour, referrer, furthest_step, sum(sessions), sum(page_views), sum(bounces)
  FROM session_moves
  GROUP BY 1, 2, 3
  HAVING sum(sessions) <> 0 OR sum(page_views) <> 0 OR sum(bounces) <> 0
  ORDER BY 1, 2, 3
  ${addingConflict(SESSION_HOUR_KEY, SESSION_HOUR_SUMS)}
), session_lengths AS (
  ${sessionLengthUpsert("session_length_hour", "start_hour", "start_hour")}
), session_length_days AS (
  ${sessionLengthUpsert("session_length_day", "start_day", "date_trunc('day', start_hour, 'UTC')")}
), minute_users AS (
  -- The users of each minute, as the consumer set their bits (consumer/user_bitmaps.ts).
  SELECT to_timestamp(u.minute_s) AS event_minute, u.chunk, ('x' || u.bits)::bit(4096) AS users
  FROM unnest(${$(13)}::int8[], ${$(14)}::int4[], ${$(15)}::text[]) AS u(minute_s, chunk, bits)
), minute_bitmaps AS (
  -- Each minute's bitmap also keeps its number of users; the one it had before this update is
  -- read from the locked row, so what a flush adds is exact even when another one raced it.
  INSERT INTO user_bitmap_minute AS t (event_minute, chunk, users, users_count, previous_count)
  SELECT event_minute, chunk, users, bit_count(users), 0 FROM minute_users
  ORDER BY 1, 2
  ON CONFLICT (event_minute, chunk) DO UPDATE SET
    users = t.users | EXCLUDED.users,
    users_count = bit_count(t.users | EXCLUDED.users),
    previous_count = t.users_count
  WHERE t.users | EXCLUDED.users <> t.users
  RETURNING event_minute, users_count - previous_count AS added
), hour_bitmaps AS (
  ${bitmapUpsert("user_bitmap_hour", "event_hour", "date_trunc('hour', event_minute, 'UTC')")}
), day_bitmaps AS (
  ${bitmapUpsert("user_bitmap_day", "event_day", "date_trunc('day', event_minute, 'UTC')")}
)`;
}

/** The head of an upsert into a table of sums. */
function addingUpsert(table: string, key: readonly string[], sums: readonly string[]): string {
  return `INSERT INTO ${table} AS t (${[...key, ...sums].join(", ")})`;
}

/** The tail of an upsert into a table of sums: a row that exists adds the new amounts. */
function addingConflict(key: readonly string[], sums: readonly string[]): string {
  const add = sums.map((column) => `${column} = t.${column} + EXCLUDED.${column}`).join(", ");
  return `ON CONFLICT (${key.join(", ")}) DO UPDATE SET ${add}\n  RETURNING 1`;
}

/** Moves sessions between the length buckets of one grain (`bucket` of their start hour). */
function sessionLengthUpsert(table: string, column: string, bucket: string): string {
  return `${addingUpsert(table, [column, "length_s"], ["sessions"])}
  SELECT ${bucket}, length_s, sum(sessions) FROM session_moves
  GROUP BY 1, 2
  HAVING sum(sessions) <> 0
  ORDER BY 1, 2
  ${addingConflict([column, "length_s"], ["sessions"])}`;
}

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

/** The analytics' parameters, in the order `analyticsCtes` numbers them. */
export function analyticsParameters(plan: FlushPlan, bitmaps: MinuteBitmapColumns): unknown[] {
  const { sessions, pageViews } = plan;
  return [
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
    bitmaps.minutes,
    bitmaps.chunks,
    bitmaps.bits,
  ];
}
