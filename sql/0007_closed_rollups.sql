-- Hourly and daily rollups per user, materialised for closed buckets only.
--
-- Every flush used to upsert a row per (user, hour, type) and per (user, day, type) besides the
-- per-minute row: on a backlog that was 40 % of the flush. Now the rollups of recent hours and
-- days are computed when read, from the per-minute rows (the views below), and a bucket is
-- written once, when it is closed: the consumer's upkeep materialises every hour that ended over
-- an hour ago from its per-minute rows, and every day from its hours, in one transaction that
-- also advances the watermark. A late event for a bucket already closed still adds to its
-- rollup, in its flush, so the rollups stay exact. The watermark row is read under a share lock
-- by every flush and updated under an exclusive lock by the upkeep, so a flush either sees the
-- old watermark and its rows are materialised later, or the new one and it adds them itself;
-- never both, never neither.

ALTER TABLE user_event_hourly RENAME TO user_event_hourly_closed;
ALTER TABLE user_event_daily RENAME TO user_event_daily_closed;

-- Buckets before these times are materialised (in the *_closed tables); later ones are not.
CREATE TABLE rollup_watermark (
  single              boolean     PRIMARY KEY DEFAULT true CHECK (single),
  hours_closed_before timestamptz NOT NULL,
  days_closed_before  timestamptz NOT NULL,
  CHECK (days_closed_before <= hours_closed_before)
);
-- A database with rollups: until now every flush kept them whole, up to the current hour, so
-- that much is materialised already. A new one: nothing is; the upkeep catches up.
INSERT INTO rollup_watermark (hours_closed_before, days_closed_before)
SELECT CASE WHEN filled THEN next_hour ELSE '-infinity' END,
  CASE WHEN filled THEN next_hour ELSE '-infinity' END
FROM (
  SELECT EXISTS (SELECT 1 FROM user_event_hourly_closed) AS filled,
    date_trunc('hour', now(), 'UTC') + interval '1 hour' AS next_hour
) AS state;

-- The rollups as they always were: materialised buckets, then the open ones from the minutes.
CREATE VIEW user_event_hourly AS
SELECT user_id, event_hour, event_type, event_count FROM user_event_hourly_closed
UNION ALL
SELECT s.user_id, s.event_hour, s.event_type, sum(s.event_count)::bigint
FROM user_event_summary AS s, rollup_watermark AS w
WHERE s.event_minute >= w.hours_closed_before
GROUP BY 1, 2, 3;

CREATE VIEW user_event_daily AS
SELECT user_id, event_day, event_type, event_count FROM user_event_daily_closed
UNION ALL
SELECT user_id, date_trunc('day', event_hour, 'UTC'), event_type, sum(event_count)::bigint
FROM (
  SELECT h.user_id, h.event_hour, h.event_type, h.event_count
  FROM user_event_hourly_closed AS h, rollup_watermark AS w
  WHERE h.event_hour >= w.days_closed_before
  UNION ALL
  SELECT s.user_id, s.event_hour, s.event_type, s.event_count
  FROM user_event_summary AS s, rollup_watermark AS w
  WHERE s.event_minute >= w.hours_closed_before
) AS open_hours
GROUP BY 1, 2, 3;

DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'grafana_reader') THEN
    GRANT SELECT ON user_event_hourly, user_event_daily, user_event_hourly_closed,
      user_event_daily_closed, rollup_watermark TO grafana_reader;
  END IF;
END
$$;
