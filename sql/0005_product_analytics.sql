-- Product analytics: distinct users over any range, sessions, page views and the funnel. The
-- consumer writes every table here in its one flush statement, with the counts and the offsets
-- (exactly once). Old-prototype events (no session, no page) count for users only.

-- A dense number per user, so a set of users is a bitmap. Never renumbered and not trimmed by
-- retention: a number must stay its user's as long as any bitmap below holds it, and rollups are
-- kept forever by default. About 50 bytes per user ever seen.
CREATE TABLE user_numbers (
  user_id     text    PRIMARY KEY,
  user_number integer NOT NULL GENERATED ALWAYS AS IDENTITY UNIQUE
);

-- The same tables at several grains (UTC), created in one loop each:
-- - user_bitmap_minute (event_minute), _hour (event_hour), _day (event_day): the users with an
--   event in the bucket, as bitmaps of 4096 users each: user n is bit n % 4096 of chunk
--   n / 4096. Distinct users over a range are the bits set in the OR of the coarsest buckets that
--   tile it (days, then hours, then minutes at its edges): 30 days of 10 000 users is about 90
--   rows, whatever the traffic. Exact, and a flush only ORs in what it saw.
-- - page_view_minute (event_minute), page_view_hour (event_hour): page views per page, all users.
DO $$
DECLARE
  grain text;
BEGIN
  FOREACH grain IN ARRAY ARRAY['minute', 'hour', 'day'] LOOP
    EXECUTE format('CREATE TABLE user_bitmap_%1$s (
        event_%1$s timestamptz NOT NULL,
        chunk      integer     NOT NULL,
        users      bit(4096)   NOT NULL,
        PRIMARY KEY (event_%1$s, chunk)
      ) WITH (fillfactor = 70)', grain);
  END LOOP;
  FOREACH grain IN ARRAY ARRAY['minute', 'hour'] LOOP
    EXECUTE format('CREATE TABLE page_view_%1$s (
        event_%1$s timestamptz NOT NULL,
        page       text        NOT NULL,
        views      bigint      NOT NULL CHECK (views > 0),
        PRIMARY KEY (event_%1$s, page)
      ) WITH (fillfactor = 70)', grain);
  END LOOP;
END
$$;

-- The furthest funnel step of a session's step bits (bit i: a page of step i + 1 was viewed): the
-- number of steps from the first that are all set. 0b1011 (landing, product, checkout) is 2.
CREATE FUNCTION funnel_furthest_step(steps integer) RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN bit_count(((((steps + 1) & ~steps) - 1))::bit(32))::smallint;

-- The bucket of a session's length (whole seconds) the rollups keep, as its lower bound: every
-- second under a minute, 5 s under 10 minutes, 30 s under an hour, 5 minutes under a day, then
-- one bucket for a day or more. Median and p90 are read at this resolution (at most 1/12 of the
-- length above a minute), which keeps the rollups to a few hundred rows per hour. A plain
-- expression of its argument, so PostgreSQL inlines it (a flush calls it twice per session).
CREATE FUNCTION session_length_bucket(seconds integer) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE
  WHEN seconds < 60 THEN seconds
  WHEN seconds < 600 THEN seconds - seconds % 5
  WHEN seconds < 3600 THEN seconds - seconds % 30
  WHEN seconds < 86400 THEN seconds - seconds % 300
  ELSE 86400
END;

-- One row per (user, session), merged by every flush that holds events of it: the earliest
-- event, the latest, sums, the earliest page view as landing (with its referrer) and the union of
-- funnel steps, so the row is the same whatever order events and flushes come in.
CREATE TABLE sessions (
  user_id       text        NOT NULL,
  session_id    text        NOT NULL,
  started_at    timestamptz NOT NULL,
  last_event_at timestamptz NOT NULL,
  events        integer     NOT NULL CHECK (events > 0),
  page_views    integer     NOT NULL CHECK (page_views >= 0),
  -- The earliest page view; NULL while the session has none.
  landing_at    timestamptz,
  landing_page  text,
  referrer      text,
  funnel_steps  smallint    NOT NULL,
  furthest_step smallint    NOT NULL GENERATED ALWAYS AS (funnel_furthest_step(funnel_steps)) STORED,
  -- What the row counted for in the session rollups before its last update (NULL after its
  -- insert): the flush moves it from there to where the new row counts. Taken from the row it
  -- locked, so a concurrent flush of the same session cannot make the move wrong.
  prev_started_at    timestamptz,
  prev_last_event_at timestamptz,
  prev_page_views    integer,
  prev_referrer      text,
  prev_furthest_step smallint,
  PRIMARY KEY (user_id, session_id)
) WITH (fillfactor = 80);
-- Retention; started_at rarely changes, so most updates stay HOT.
CREATE INDEX sessions_started_idx ON sessions (started_at);

-- Sessions by the hour they started, landing referrer ('' for none) and furthest funnel step:
-- sessions, their page views and bounces (sessions with exactly one page view). Kept by moves
-- (a session whose start, referrer, step or views change leaves one row for another), so a row
-- can hold 0; no CHECK, since a move from a row already removed by rollup retention goes below.
CREATE TABLE session_hour (
  start_hour    timestamptz NOT NULL,
  referrer      text        NOT NULL,
  furthest_step smallint    NOT NULL,
  sessions      bigint      NOT NULL,
  page_views    bigint      NOT NULL,
  bounces       bigint      NOT NULL,
  PRIMARY KEY (start_hour, referrer, furthest_step)
) WITH (fillfactor = 70);

-- Sessions by the hour they started and the bucket of their length (session_length_bucket).
CREATE TABLE session_length_hour (
  start_hour timestamptz NOT NULL,
  length_s   integer     NOT NULL,
  sessions   bigint      NOT NULL,
  PRIMARY KEY (start_hour, length_s)
) WITH (fillfactor = 70);

-- The same by the UTC day they started, so a month's median reads days, not 720 hours.
CREATE TABLE session_length_day (
  start_day timestamptz NOT NULL,
  length_s  integer     NOT NULL,
  sessions  bigint      NOT NULL,
  PRIMARY KEY (start_day, length_s)
) WITH (fillfactor = 70);

-- The dashboards read the rollups and bitmaps, never the per-user rows of this migration.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'grafana_reader') THEN
    GRANT SELECT ON user_bitmap_minute, user_bitmap_hour, user_bitmap_day, page_view_minute,
      page_view_hour, session_hour, session_length_hour, session_length_day TO grafana_reader;
  END IF;
END
$$;
