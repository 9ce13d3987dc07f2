/** The consumer's settings: one definition gives parsing, validation and `--help`. */
import {
  commonSettings,
  type ConfigOf,
  DEFAULT_EVENT_TYPES,
  EVENT_TYPE_PATTERN,
  parsers,
  type ProgramDefinition,
  replicationSettings,
  setting,
  topicSetting,
} from "@activity/shared";
import { z } from "zod";

const EVENT_TYPE_LIST = z.string().transform((text) => text.split(",").map((part) => part.trim()))
  .pipe(z.array(z.string().regex(EVENT_TYPE_PATTERN)).min(1));

const settings = {
  brokers: commonSettings.brokers,
  topic: topicSetting("Topic to consume."),
  group: setting({
    flag: "group",
    env: "CONSUMER_GROUP",
    fallback: "activity-consumer",
    help: "Consumer group; also the key of the offsets stored in PostgreSQL.",
    allowed: "1-200 characters",
    schema: parsers.text(200),
  }),
  databaseUrl: commonSettings.databaseUrl,
  flushEvents: setting({
    flag: "flush-events",
    env: "CONSUMER_FLUSH_EVENTS",
    fallback: "20000",
    help: "Flush to PostgreSQL once this many events are buffered.",
    allowed: "a whole number from 1 to 1000000",
    schema: parsers.integer(1, 1_000_000),
  }),
  flushIntervalMs: setting({
    flag: "flush-interval-ms",
    env: "CONSUMER_FLUSH_INTERVAL_MS",
    fallback: "500",
    help: "Flush at least this often while events are buffered.",
    allowed: "a whole number of milliseconds from 10 to 60000",
    schema: parsers.integer(10, 60_000),
  }),
  maxBufferEvents: setting({
    flag: "max-buffer-events",
    env: "CONSUMER_MAX_BUFFER_EVENTS",
    fallback: "1000000",
    help: "Fetching pauses while this many events wait for a flush (backpressure); far behind, " +
      "flushes take up to half of it.",
    allowed: "a whole number from 1 to 10000000",
    schema: parsers.integer(1, 10_000_000),
  }),
  maxBufferKeys: setting({
    flag: "max-buffer-keys",
    env: "CONSUMER_MAX_BUFFER_KEYS",
    fallback: "100000",
    help: "Fetching pauses while the buffer holds this many distinct rows to write (its memory " +
      "grows with them, not with events); far behind, flushes take up to half of it.",
    allowed: "a whole number from 1 to 10000000",
    schema: parsers.integer(1, 10_000_000),
  }),
  dlqTopic: setting({
    flag: "dlq-topic",
    env: "KAFKA_DLQ_TOPIC",
    fallback: "user_activity.dlq",
    help: "Dead-letter topic for rejected messages (created if missing).",
    allowed: "a Kafka topic name (1-249 of A-Z a-z 0-9 . _ -)",
    schema: parsers.topic(),
  }),
  replicationFactor: replicationSettings.replicationFactor,
  minInsyncReplicas: replicationSettings.minInsyncReplicas,
  retentionDays: setting({
    flag: "retention-days",
    env: "RETENTION_DAYS",
    fallback: "30",
    help: "Per-minute data and rejected events older than this are deleted; older events are " +
      "rejected.",
    allowed: "a whole number of days from 1 to 3650",
    schema: parsers.integer(1, 3650),
  }),
  rollupRetentionDays: setting({
    flag: "rollup-retention-days",
    env: "ROLLUP_RETENTION_DAYS",
    fallback: "0",
    help: "Hourly and daily rollups older than this are deleted (0 keeps them forever).",
    allowed: "a whole number of days from 0 to 36500",
    schema: parsers.integer(0, 36_500),
  }),
  futureToleranceS: setting({
    flag: "future-tolerance-s",
    env: "FUTURE_TOLERANCE_S",
    fallback: "300",
    help: "Events further than this in the future are rejected.",
    allowed: "a whole number of seconds from 0 to 86400",
    schema: parsers.integer(0, 86_400),
  }),
  eventTypes: setting({
    flag: "event-types",
    env: "EVENT_TYPES",
    fallback: DEFAULT_EVENT_TYPES.join(","),
    help: "Accepted event types; others are rejected as unknown_event_type.",
    allowed: "a comma-separated list of lowercase identifiers",
    schema: EVENT_TYPE_LIST,
  }),
  sessionTimeoutMs: setting({
    flag: "session-timeout-ms",
    env: "CONSUMER_SESSION_TIMEOUT_MS",
    fallback: "30000",
    help: "Kafka group session timeout: how soon a dead member's partitions move.",
    allowed: "a whole number of milliseconds from 6000 to 300000",
    schema: parsers.integer(6_000, 300_000),
  }),
  flushTimeoutMs: setting({
    flag: "flush-timeout-ms",
    env: "CONSUMER_FLUSH_TIMEOUT_MS",
    fallback: "30000",
    help: "PostgreSQL cancels any statement of the consumer after this long; the flush is retried.",
    allowed: "a whole number of milliseconds from 1000 to 600000",
    schema: parsers.integer(1_000, 600_000),
  }),
  notReadyAfterMs: setting({
    flag: "not-ready-after-ms",
    env: "CONSUMER_NOT_READY_AFTER_MS",
    fallback: "30000",
    help: "/readyz reports not ready once flushes have failed for this long (short outages " +
      "do not flap it).",
    allowed: "a whole number of milliseconds from 0 to 3600000",
    schema: parsers.integer(0, 3_600_000),
  }),
  takeOverFrom: setting({
    flag: "take-over-from",
    env: "CONSUMER_TAKE_OVER_FROM",
    fallback: "",
    help: "Hand the topic over from this consumer group to --group at start: its stored " +
      "offsets move in one transaction (stop that group's consumers first).",
    allowed: "a consumer group name of at most 200 characters, or empty",
    schema: z.string().max(200),
  }),
  metricsPort: setting({
    flag: "metrics-port",
    env: "CONSUMER_METRICS_PORT",
    fallback: "9465",
    help: "Port of /metrics, /healthz and /readyz (0 turns it off).",
    allowed: "a whole number from 0 to 65535",
    schema: parsers.integer(0, 65_535),
  }),
  logLevel: commonSettings.logLevel,
};

/** The consumer program: its name, summary and settings. */
export const consumerProgram: ProgramDefinition<typeof settings> = {
  name: "consumer",
  summary: "reads user activity from Kafka and writes exactly-once per-minute counts to PostgreSQL",
  settings,
  check(config) {
    // An event is accepted while its minute is kept; its hour and day must be kept at least as
    // long, or partial rollup rows would appear and vanish.
    const { rollupRetentionDays, retentionDays } = config;
    if (rollupRetentionDays !== 0 && rollupRetentionDays < retentionDays) {
      return `"--rollup-retention-days" (ROLLUP_RETENTION_DAYS) must be 0 (keep forever) or at ` +
        `least "--retention-days" (${retentionDays}): current value is ${rollupRetentionDays}`;
    }
    if (config.takeOverFrom === config.group) {
      return `"--take-over-from" must name another group than "--group": current value is ` +
        `"${config.takeOverFrom}"`;
    }
    return undefined;
  },
};

/** The consumer's parsed settings. */
export type ConsumerConfig = ConfigOf<typeof settings>;
