-- The flush's write path, made cheaper (the measurements are in docs/performance.md).

-- Text keys compared byte by byte: the flush sorts its rows by their keys (one lock order for
-- concurrent consumers) and every upsert walks a B-tree of them; with the database's linguistic
-- collation each comparison cost a locale lookup. Ids and types are ASCII identifiers, so "C"
-- orders them as people expect anyway.
ALTER TABLE user_event_summary
  ALTER COLUMN user_id TYPE text COLLATE "C",
  ALTER COLUMN event_type TYPE text COLLATE "C";
ALTER TABLE user_event_hourly
  ALTER COLUMN user_id TYPE text COLLATE "C",
  ALTER COLUMN event_type TYPE text COLLATE "C";
ALTER TABLE user_event_daily
  ALTER COLUMN user_id TYPE text COLLATE "C",
  ALTER COLUMN event_type TYPE text COLLATE "C";
ALTER TABLE event_type_minute ALTER COLUMN event_type TYPE text COLLATE "C";
ALTER TABLE sessions
  ALTER COLUMN user_id TYPE text COLLATE "C",
  ALTER COLUMN session_id TYPE text COLLATE "C";
ALTER TABLE user_numbers ALTER COLUMN user_id TYPE text COLLATE "C";

-- Two B-trees that every per-minute row paid for on insert: the only readers by time are
-- retention and the top-users panel (a recent range), which a BRIN index serves (rows arrive
-- roughly in time order; a BRIN index costs next to nothing to keep up).
DROP INDEX IF EXISTS user_event_summary_minute_idx;
DROP INDEX IF EXISTS user_event_summary_hour_idx;
CREATE INDEX IF NOT EXISTS user_event_summary_minute_brin
  ON user_event_summary USING brin (event_minute) WITH (pages_per_range = 32);
-- The same for sessions: only retention reads them by start time.
DROP INDEX IF EXISTS sessions_started_idx;
CREATE INDEX IF NOT EXISTS sessions_started_brin
  ON sessions USING brin (started_at) WITH (pages_per_range = 32);

-- Active users per minute from the users' minute bitmaps (sql/0005) instead of a row per
-- (minute, user): a flush learns how many users each bitmap gained from the row it updated,
-- so concurrent consumers still add each user once.
ALTER TABLE user_bitmap_minute
  ADD COLUMN users_count integer NOT NULL DEFAULT 0,
  ADD COLUMN previous_count integer NOT NULL DEFAULT 0;
UPDATE user_bitmap_minute SET users_count = bit_count(users);
DROP TABLE IF EXISTS user_minute_presence;
