-- What the consumer needs to be safe at the edges operators hit: the topic id stored with the
-- offsets (a recreated topic is recognised), gaps recorded instead of skipped, one group per
-- topic, and bounded keys of rejected messages.

-- The Kafka topic id the stored offset belongs to. NULL for offsets stored before ids were
-- kept: the consumer adopts the current id with its next flush.
ALTER TABLE consumer_offsets ADD COLUMN IF NOT EXISTS topic_id uuid;

-- Offsets [from_offset, to_offset) that retention removed before the group read them: counted
-- as lost, never skipped silently. Written by the flush that moves the stored offset past them,
-- so each gap is recorded exactly once.
CREATE TABLE IF NOT EXISTS consumer_offset_gaps (
  consumer_group text        NOT NULL,
  topic          text        NOT NULL,
  partition      integer     NOT NULL,
  from_offset    bigint      NOT NULL,
  to_offset      bigint      NOT NULL CHECK (to_offset > from_offset),
  topic_id       uuid,
  lost_messages  bigint      GENERATED ALWAYS AS (to_offset - from_offset) STORED,
  detected_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer_group, topic, partition, from_offset)
);
CREATE INDEX IF NOT EXISTS consumer_offset_gaps_detected_idx ON consumer_offset_gaps (detected_at);

-- Which consumer group counts each topic into this database. A second group would count every
-- event again, so it refuses to start; `--take-over-from` moves the offsets and the ownership to
-- a new group in one transaction. Every flush checks the owner under a share lock, so a flush of
-- the old group that races a take-over is refused, never written.
CREATE TABLE IF NOT EXISTS topic_owners (
  topic          text        PRIMARY KEY,
  consumer_group text        NOT NULL,
  claimed_at     timestamptz NOT NULL DEFAULT now()
);
-- Databases that already hold offsets: the group that stored them owns the topic, unless
-- several did (they are already double counting; the first consumer to start claims it).
INSERT INTO topic_owners (topic, consumer_group)
SELECT topic, min(consumer_group) FROM consumer_offsets
GROUP BY topic HAVING count(DISTINCT consumer_group) = 1
ON CONFLICT (topic) DO NOTHING;

-- Keys are bounded like values: the stored key is cut, and its original size kept.
ALTER TABLE rejected_events ADD COLUMN IF NOT EXISTS key_bytes integer;
-- What became of the message's dead letter: sent as is, sent cut to a bound, or refused.
ALTER TABLE rejected_events ADD COLUMN IF NOT EXISTS dead_letter text;

-- The flush's fence: the group must own the topic (AF002), and every partition's stored offset
-- must be where the flush expected it (AF001). Raising aborts the whole statement.
CREATE OR REPLACE FUNCTION consumer_flush_fence(moved integer[], owner text, claimant text)
RETURNS integer
LANGUAGE plpgsql AS $$
BEGIN
  IF owner IS DISTINCT FROM claimant THEN
    RAISE EXCEPTION 'topic owner fence: the topic is counted by consumer group %', owner
      USING ERRCODE = 'AF002', DETAIL = coalesce(owner, '');
  END IF;
  IF cardinality(moved) > 0 THEN
    RAISE EXCEPTION 'offset fence: the stored offsets of partitions % moved on', moved
      USING ERRCODE = 'AF001', DETAIL = array_to_string(moved, ',');
  END IF;
  RETURN 0;
END
$$;

DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'grafana_reader') THEN
    GRANT SELECT ON consumer_offset_gaps, topic_owners TO grafana_reader;
    GRANT SELECT (key_bytes, dead_letter) ON rejected_events TO grafana_reader;
  END IF;
END
$$;
