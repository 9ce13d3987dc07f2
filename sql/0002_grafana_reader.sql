-- What the dashboards need besides the 0001 contract: two small rollups kept by triggers in the
-- consumer's own transactions (so they are exactly as consistent as the tables they follow), and
-- read-only access for the role Grafana connects as. Safe to apply again.

-- Per-hour totals per event type, following event_type_minute: a 30-day panel reads 720 rows per
-- type instead of 43 200. Rows deleted from event_type_minute (retention) stay counted here.
CREATE TABLE IF NOT EXISTS event_type_hour (
  event_hour  timestamptz NOT NULL,
  event_type  text        NOT NULL,
  event_count bigint      NOT NULL,
  PRIMARY KEY (event_hour, event_type)
);

CREATE OR REPLACE FUNCTION event_type_hour_add_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  -- Sorted, so concurrent consumers lock the hour rows in the same order.
  INSERT INTO event_type_hour (event_hour, event_type, event_count)
  SELECT date_trunc('hour', event_minute, 'UTC'), event_type, sum(event_count)
  FROM inserted_rows
  GROUP BY 1, 2
  ORDER BY 1, 2
  ON CONFLICT (event_hour, event_type)
  DO UPDATE SET event_count = event_type_hour.event_count + EXCLUDED.event_count;
  RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION event_type_hour_add_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO event_type_hour (event_hour, event_type, event_count)
  SELECT event_hour, event_type, sum(delta)
  FROM (
    SELECT date_trunc('hour', event_minute, 'UTC') AS event_hour, event_type, event_count AS delta
    FROM new_rows
    UNION ALL
    SELECT date_trunc('hour', event_minute, 'UTC'), event_type, -event_count
    FROM old_rows
  ) AS changes
  GROUP BY 1, 2
  HAVING sum(delta) <> 0
  ORDER BY 1, 2
  ON CONFLICT (event_hour, event_type)
  DO UPDATE SET event_count = event_type_hour.event_count + EXCLUDED.event_count;
  RETURN NULL;
END
$$;

-- Statement-level with transition tables: one upsert per consumer statement, whatever its size.
-- INSERT ... ON CONFLICT DO UPDATE fires both: new rows in the first, updated rows in the second.

CREATE OR REPLACE TRIGGER event_type_hour_after_insert
  AFTER INSERT ON event_type_minute
  REFERENCING NEW TABLE AS inserted_rows
  FOR EACH STATEMENT EXECUTE FUNCTION event_type_hour_add_inserted();

CREATE OR REPLACE TRIGGER event_type_hour_after_update
  AFTER UPDATE ON event_type_minute
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION event_type_hour_add_updated();

-- Minute rows written before this migration (applied to a database with data).
INSERT INTO event_type_hour (event_hour, event_type, event_count)
SELECT date_trunc('hour', event_minute, 'UTC'), event_type, sum(event_count)
FROM event_type_minute
WHERE NOT EXISTS (SELECT 1 FROM event_type_hour)
GROUP BY 1, 2;

-- Consumer lag history: consumer_offsets only holds the latest values, but "lag growing for
-- 5 minutes" needs the past. The last lag a consumer committed in each minute, per partition.
CREATE TABLE IF NOT EXISTS consumer_lag_minute (
  consumer_group text        NOT NULL,
  topic          text        NOT NULL,
  partition      integer     NOT NULL,
  sampled_minute timestamptz NOT NULL,
  lag_messages   bigint      NOT NULL,
  PRIMARY KEY (consumer_group, topic, partition, sampled_minute)
);
CREATE INDEX IF NOT EXISTS consumer_lag_minute_minute_idx ON consumer_lag_minute (sampled_minute);

CREATE OR REPLACE FUNCTION consumer_lag_minute_sample() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  -- now() is the committing transaction's start: the minute the consumer saw this watermark.
  INSERT INTO consumer_lag_minute (consumer_group, topic, partition, sampled_minute, lag_messages)
  VALUES (NEW.consumer_group, NEW.topic, NEW.partition, date_trunc('minute', now(), 'UTC'),
          greatest(NEW.high_watermark - NEW.next_offset, 0))
  ON CONFLICT (consumer_group, topic, partition, sampled_minute)
  DO UPDATE SET lag_messages = EXCLUDED.lag_messages;
  RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER consumer_lag_minute_after_write
  AFTER INSERT OR UPDATE ON consumer_offsets
  FOR EACH ROW EXECUTE FUNCTION consumer_lag_minute_sample();

-- Grafana reads as grafana_reader (created with its password by the PostgreSQL init, before the
-- migrations run): SELECT on what the dashboards show and nothing else. Raw rejected payloads and
-- keys are not readable: the dashboard shows the reason and detail only.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'grafana_reader') THEN
    RAISE NOTICE 'role grafana_reader does not exist: Grafana gets no access to this database';
    RETURN;
  END IF;
  GRANT USAGE ON SCHEMA public TO grafana_reader;
  GRANT SELECT ON
    event_type_minute, event_type_hour, active_users_minute, user_event_summary,
    user_event_hourly, user_event_daily, ingest_minute, rejected_minute, storage_samples,
    consumer_offsets, consumer_lag_minute
  TO grafana_reader;
  GRANT SELECT (id, reason, detail, topic, partition, kafka_offset, payload_bytes, received_at)
    ON rejected_events TO grafana_reader;
  -- No default privileges on purpose: a table a later migration adds is not readable until that
  -- migration grants it the same way (a new dashboard table), so nothing leaks by default.
END
$$;
