-- What the consumer needs beyond the schema contract of 0001.

-- Which users were active in which minute, so active_users_minute stays exact when it is
-- kept incrementally: a flush adds one active user per (minute, user) pair it inserts here,
-- and ON CONFLICT DO NOTHING waits for a concurrent flush inserting the same pair, so two
-- consumers never both count one user. Deleted by retention with the other per-minute data.
CREATE TABLE user_minute_presence (
  event_minute timestamptz NOT NULL,
  user_id      text        NOT NULL,
  PRIMARY KEY (event_minute, user_id)
);

-- Count rows are updated far more often than inserted. Free space in each page lets
-- PostgreSQL update them in place (HOT: no new index entries), which the flushes depend on.
ALTER TABLE user_event_summary SET (fillfactor = 70);
ALTER TABLE user_event_hourly SET (fillfactor = 70);
ALTER TABLE user_event_daily SET (fillfactor = 70);
ALTER TABLE event_type_minute SET (fillfactor = 70);
ALTER TABLE active_users_minute SET (fillfactor = 70);

-- The offset fence of a flush: called by the flush statement with the partitions whose stored
-- offsets were not where the flush expected them. Raising aborts the whole statement, so a
-- flush that lost its partitions (a zombie, or a retry of a flush that did commit) writes nothing.
CREATE FUNCTION consumer_offset_fence(moved integer[]) RETURNS integer
LANGUAGE plpgsql AS $$
BEGIN
  IF cardinality(moved) > 0 THEN
    RAISE EXCEPTION 'offset fence: the stored offsets of partitions % moved on', moved
      USING ERRCODE = 'AF001', DETAIL = array_to_string(moved, ',');
  END IF;
  RETURN 0;
END
$$;
