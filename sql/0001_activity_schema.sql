-- Per-minute activity counts, their rollups, progress and rejections.
-- Every time is timestamptz in UTC. The consumer writes all of these in one
-- transaction per flush, together with the offsets it has consumed.

-- The old prototype's contract, kept: one row per (user, minute, type).
CREATE TABLE user_event_summary (
  user_id      text        NOT NULL,
  event_minute timestamptz NOT NULL,
  event_type   text        NOT NULL,
  -- The hour bucket (the prototype stored the minute here).
  event_hour   timestamptz NOT NULL,
  event_count  bigint      NOT NULL CHECK (event_count > 0),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, event_minute, event_type)
);
CREATE INDEX user_event_summary_minute_idx ON user_event_summary (event_minute);
CREATE INDEX user_event_summary_hour_idx ON user_event_summary (event_hour);

-- Rollups, kept consistent with user_event_summary in the same transaction.
CREATE TABLE user_event_hourly (
  user_id     text        NOT NULL,
  event_hour  timestamptz NOT NULL,
  event_type  text        NOT NULL,
  event_count bigint      NOT NULL CHECK (event_count > 0),
  PRIMARY KEY (user_id, event_hour, event_type)
);
CREATE INDEX user_event_hourly_hour_idx ON user_event_hourly (event_hour);

CREATE TABLE user_event_daily (
  user_id     text        NOT NULL,
  event_day   timestamptz NOT NULL,
  event_type  text        NOT NULL,
  event_count bigint      NOT NULL CHECK (event_count > 0),
  PRIMARY KEY (user_id, event_day, event_type)
);
CREATE INDEX user_event_daily_day_idx ON user_event_daily (event_day);

-- Totals per minute and type across users, so dashboards never scan per-user rows.
CREATE TABLE event_type_minute (
  event_minute timestamptz NOT NULL,
  event_type   text        NOT NULL,
  event_count  bigint      NOT NULL CHECK (event_count > 0),
  PRIMARY KEY (event_minute, event_type)
);

-- Distinct active users per minute (a user is counted once whatever the event types).
CREATE TABLE active_users_minute (
  event_minute timestamptz PRIMARY KEY,
  active_users bigint      NOT NULL CHECK (active_users > 0)
);

-- Progress: PostgreSQL, not Kafka, is the source of truth for what was consumed.
CREATE TABLE consumer_offsets (
  consumer_group text        NOT NULL,
  topic          text        NOT NULL,
  partition      integer     NOT NULL,
  -- The next offset to read (last handled + 1).
  next_offset    bigint      NOT NULL CHECK (next_offset >= 0),
  -- The partition's high watermark seen at the flush, for lag.
  high_watermark bigint      NOT NULL,
  updated_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer_group, topic, partition)
);

-- Messages that were not counted, with why and where they came from.
CREATE TABLE rejected_events (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  reason        text        NOT NULL,
  detail        text        NOT NULL,
  topic         text        NOT NULL,
  partition     integer     NOT NULL,
  kafka_offset  bigint      NOT NULL,
  message_key   bytea,
  -- The original bytes, cut to a bound; payload_bytes is the original size.
  payload       bytea,
  payload_bytes integer     NOT NULL,
  received_at   timestamptz NOT NULL DEFAULT now(),
  UNIQUE (topic, partition, kafka_offset)
);
CREATE INDEX rejected_events_received_idx ON rejected_events (received_at);

-- What the consumers did per processing-time minute (summed over consumers).
CREATE TABLE ingest_minute (
  processed_minute timestamptz PRIMARY KEY,
  events_accepted  bigint NOT NULL DEFAULT 0,
  events_rejected  bigint NOT NULL DEFAULT 0,
  bytes            bigint NOT NULL DEFAULT 0,
  late_events      bigint NOT NULL DEFAULT 0,
  flushes          bigint NOT NULL DEFAULT 0
);

-- Rejections per processing-time minute and reason (for rates without scanning rejected_events).
CREATE TABLE rejected_minute (
  processed_minute timestamptz NOT NULL,
  reason           text        NOT NULL,
  events           bigint      NOT NULL CHECK (events > 0),
  PRIMARY KEY (processed_minute, reason)
);

-- Sizes of the tables over time, sampled by the consumer (data volume growth).
CREATE TABLE storage_samples (
  sampled_at timestamptz NOT NULL,
  relation   text        NOT NULL,
  bytes      bigint      NOT NULL,
  PRIMARY KEY (sampled_at, relation)
);
