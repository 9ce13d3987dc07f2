/**
 * The producer's settings: flags, environment variables, defaults and what
 * each accepts, in the shared configuration format (`--help` is generated
 * from it). Pure.
 */
import {
  commonSettings,
  type ConfigOf,
  parsers,
  type ProgramDefinition,
  replicationSettings,
  setting,
  topicSetting,
} from "@activity/shared";
import { z } from "zod";
import type { Burst } from "./arrivals.ts";
import { type EventMix, parseEventMix } from "./event_mix.ts";

/** The largest `--seed`. */
export const MAX_SEED = 0xffffffff;

const rate = z.union([
  z.literal("max"),
  parsers.number(Number.MIN_VALUE, 10_000_000),
]);

const seed = z.union([z.literal("random"), parsers.integer(0, MAX_SEED)]);

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A duration such as `90`, `30s`, `5m`, `1.5h` (no unit: seconds), in milliseconds. */
function durationMs(): z.ZodType<number, string> {
  return z.string().trim().regex(/^(\d+\.?\d*|\.\d+)(ms|s|m|h)?$/).transform((text) => {
    const [, amount, unit] = /^([\d.]+)(ms|s|m|h)?$/.exec(text)!;
    return Math.round(Number(amount) * UNIT_MS[unit ?? "s"]);
  }).pipe(z.number().max(365 * 86_400_000));
}

const start = z.union([
  z.literal("now"),
  z.iso.datetime({ offset: true }).transform((text) => Date.parse(text)).pipe(
    z.number().min(Date.parse("1970-01-01T00:00:00Z")).max(Date.parse("9000-01-01T00:00:00Z")),
  ),
]);

const burst = z.union([
  z.literal("off").transform(() => undefined),
  z.string().regex(/^\d+(\.\d+)?x\d+(\.\d+)?s\/\d+(\.\d+)?s$/).transform((text): Burst => {
    const [factor, lengthS, everyS] = text.split(/x|s\/|s$/).map(Number);
    return { factor, lengthMs: lengthS * 1000, everyMs: everyS * 1000 };
  }).refine((value) => value.factor >= 1 && value.lengthMs > 0 && value.lengthMs < value.everyMs),
]);

const eventMix: z.ZodType<EventMix, string> = z.string()
  .refine((text) => parseEventMix(text).ok)
  .transform((text) => {
    const outcome = parseEventMix(text);
    if (!outcome.ok) throw new Error(outcome.problem); // unreachable: refined above
    return outcome.mix;
  });

const settings = {
  brokers: commonSettings.brokers,
  topic: topicSetting("Topic to publish to (created if missing)."),
  partitions: setting({
    flag: "partitions",
    env: "KAFKA_PARTITIONS",
    fallback: "6",
    help: "Partitions of the topic when the producer creates it.",
    allowed: "a whole number from 1 to 10000",
    schema: parsers.integer(1, 10_000),
  }),
  replicationFactor: replicationSettings.replicationFactor,
  minInsyncReplicas: replicationSettings.minInsyncReplicas,
  rate: setting({
    flag: "rate",
    env: "PRODUCER_RATE",
    fallback: "100",
    help:
      'Events per second (a Poisson process around it), or "max" for as fast as Kafka takes them.',
    allowed: 'a positive number up to 10000000 or "max"',
    schema: rate,
  }),
  users: setting({
    flag: "users",
    env: "PRODUCER_USERS",
    fallback: "1000",
    help: "Number of simulated users.",
    allowed: "a whole number from 1 to 1000000",
    schema: parsers.integer(1, 1_000_000),
  }),
  userSkew: setting({
    flag: "user-skew",
    env: "PRODUCER_USER_SKEW",
    fallback: "1",
    help: "How unequal users are: the Zipf exponent of activity (0 = all alike, 1 = web-like).",
    allowed: "a number from 0 to 4",
    schema: parsers.number(0, 4),
  }),
  count: setting({
    flag: "count",
    env: "PRODUCER_COUNT",
    fallback: "0",
    help: "Stop after this many messages (malformed ones included); 0 = no limit.",
    allowed: "a whole number (0 = no limit)",
    schema: parsers.integer(0),
  }),
  durationMs: setting({
    flag: "duration",
    env: "PRODUCER_DURATION",
    fallback: "0",
    help: "Stop after this long; 0 = no limit. Whichever of count and duration comes first wins.",
    allowed: 'a duration such as "90", "30s", "5m", "1.5h" (no unit: seconds; 0 = no limit)',
    schema: durationMs(),
  }),
  seed: setting({
    flag: "seed",
    env: "PRODUCER_SEED",
    fallback: "random",
    help: "Seed of the simulation: the same seed and settings give the same events.",
    allowed: `a whole number from 0 to ${MAX_SEED}, or "random"`,
    schema: seed,
  }),
  eventMix: setting({
    flag: "event-mix",
    env: "PRODUCER_EVENT_MIX",
    fallback: "view=5,scroll=3,click=2",
    help: "Event types and their relative weights (other types need EVENT_TYPES on the consumer).",
    allowed:
      'comma-separated type=weight pairs with positive weights, including view, e.g. "view=5,scroll=3,click=2"',
    schema: eventMix,
  }),
  invalidRatio: setting({
    flag: "invalid-ratio",
    env: "PRODUCER_INVALID_RATIO",
    fallback: "0",
    help: "Share of messages replaced by malformed ones (each rejection kind in turn).",
    allowed: "a number from 0 to 1",
    schema: parsers.number(0, 1),
  }),
  burst: setting({
    flag: "burst",
    env: "PRODUCER_BURST",
    fallback: "off",
    help: 'Periodic bursts: "5x10s/60s" multiplies the rate by 5 for 10 s every 60 s.',
    allowed: '"off" or <factor>x<seconds>s/<period>s with factor ≥ 1 and seconds < period',
    schema: burst,
  }),
  start: setting({
    flag: "start",
    env: "PRODUCER_START",
    fallback: "now",
    help: 'Simulated clock: the time of the first event ("now" = the real clock).',
    allowed: 'an ISO 8601 date-time with an offset, such as "2026-06-01T00:00:00Z", or "now"',
    schema: start,
  }),
  speed: setting({
    flag: "speed",
    env: "PRODUCER_SPEED",
    fallback: "1",
    help: "Simulated clock: simulated seconds per real second (60 = an hour of events per minute).",
    allowed: "a positive number up to 1000000",
    schema: parsers.number(Number.MIN_VALUE, 1_000_000),
  }),
  idempotent: setting({
    flag: "idempotent",
    env: "PRODUCER_IDEMPOTENT",
    fallback: "true",
    help: "Idempotent producer (no duplicates on retries, one request in flight).",
    allowed: "true or false",
    schema: parsers.oneOf(["true", "false"]).transform((value) => value === "true"),
  }),
  logLevel: commonSettings.logLevel,
  progressIntervalMs: setting({
    flag: "progress-interval",
    env: "PRODUCER_PROGRESS_INTERVAL",
    fallback: "5s",
    help: "How often a progress line is logged.",
    allowed: 'a duration from 100ms, such as "5s"',
    schema: durationMs().pipe(z.number().min(100)),
  }),
  metricsPort: setting({
    flag: "metrics-port",
    env: "PRODUCER_METRICS_PORT",
    fallback: "9464",
    help: "Port of /metrics and /healthz; 0 = off.",
    allowed: "a whole number from 0 to 65535",
    schema: parsers.integer(0, 65_535),
  }),
};

/** The producer's command line and environment. */
export const producerProgram: ProgramDefinition<typeof settings> = {
  name: "producer",
  summary:
    "Simulates user activity (views, scrolls, clicks in sessions) and publishes it to Kafka.",
  settings,
};

/** The producer's parsed settings. */
export type ProducerConfig = ConfigOf<typeof settings>;
