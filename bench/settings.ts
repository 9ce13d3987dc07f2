/** The benchmark's settings (flags and environment, as for the programs). */
import {
  commonSettings,
  type ConfigOf,
  parsers,
  type ProgramDefinition,
  setting,
} from "@activity/shared";
import { z } from "zod";
import { MESSAGE_SHAPES } from "./client_messages.ts";
import { keepTopicsSetting } from "./topics.ts";

const PHASES = ["producer", "drain", "backlog", "live", "dashboard"] as const;

/** A benchmark phase. */

/** The live rate that is half of the drain rate measured in the same run. */
export const HALF_DRAIN = "half-drain";

const commaList = (text: string) => text.split(",").map((part) => part.trim());

/** What a setting listing some of `names` allows, and its schema. */
function namesList<const T extends readonly [string, ...string[]]>(names: T) {
  return {
    allowed: `a comma-separated list of ${names.join(", ")}`,
    schema: z.string().transform(commaList).pipe(z.array(z.enum(names)).min(1)),
  };
}

const settings = {
  brokers: {
    ...commonSettings.brokers,
    help: "Kafka bootstrap brokers (e.g. from `deno task services`).",
  },
  databaseUrl: {
    ...commonSettings.databaseUrl,
    help: "PostgreSQL server; the benchmark creates and drops its own databases there.",
  },
  events: setting({
    flag: "events",
    fallback: "1000000",
    help: "Events published by the producer phase and drained by the drain phase; also the " +
      "size of each backlog.",
    allowed: "a whole number from 1000 to 100000000",
    schema: parsers.integer(1_000, 100_000_000),
  }),
  users: setting({
    flag: "users",
    fallback: "10000",
    help: "Simulated users.",
    allowed: "a whole number from 1 to 10000000",
    schema: parsers.integer(1, 10_000_000),
  }),
  seed: setting({
    flag: "seed",
    fallback: "42",
    help: "Simulation seed.",
    allowed: "a whole number",
    schema: parsers.integer(0),
  }),
  backlogShapes: setting({
    flag: "backlog-shapes",
    fallback: MESSAGE_SHAPES.join(","),
    help: "Message shapes of the backlog phase, one backlog each: the canonical event, or the " +
      'old prototype\'s {"user_id","event_type","timestamp"}.',
    ...namesList(MESSAGE_SHAPES),
  }),
  backlogMinutes: setting({
    flag: "backlog-minutes",
    fallback: "60",
    help: "Minutes the backlog's timestamps spread over (ending a minute before it is published).",
    allowed: "a whole number from 1 to 1440",
    schema: parsers.integer(1, 1440),
  }),
  backlogSkew: setting({
    flag: "backlog-skew",
    fallback: "0.7",
    help: "Zipf exponent of the backlog users' activity (0.7: ~0.56 distinct keys per event " +
      "for 1 M events of 10 000 users over 60 min).",
    allowed: "a number from 0 to 4",
    schema: parsers.number(0, 4),
  }),
  liveRates: setting({
    flag: "live-rates",
    fallback: HALF_DRAIN,
    help: `Producer rates (events/s) of the live phase, one run each; "${HALF_DRAIN}" is half ` +
      "the drain rate measured in this run.",
    allowed: `a comma-separated list of positive whole numbers or "${HALF_DRAIN}"`,
    schema: z.string().transform(commaList).pipe(
      z.array(z.union([z.literal(HALF_DRAIN), z.string().regex(/^[1-9]\d*$/).transform(Number)]))
        .min(1),
    ),
  }),
  liveSeconds: setting({
    flag: "live-seconds",
    fallback: "30",
    help: "Duration of each live run.",
    allowed: "a whole number of seconds from 2 to 3600",
    schema: parsers.integer(2, 3600),
  }),
  dashboardUsers: setting({
    flag: "dashboard-users",
    fallback: "10000",
    help: "Users in the synthetic data the dashboard queries are timed on.",
    allowed: "a whole number from 10 to 1000000",
    schema: parsers.integer(10, 1_000_000),
  }),
  dashboardDays: setting({
    flag: "dashboard-days",
    fallback: "30",
    help: "Days of synthetic data the dashboard queries are timed on.",
    allowed: "a whole number from 1 to 400",
    schema: parsers.integer(1, 400),
  }),
  phases: setting({
    flag: "phases",
    fallback: PHASES.join(","),
    help: "Phases to run, always in the order listed (drain reads the producer phase's topic).",
    ...namesList(PHASES),
  }),
  keepTopics: keepTopicsSetting,
  out: setting({
    flag: "out",
    fallback: "bench-results",
    help: "Folder for the JSON report (bench-<time>.json).",
    allowed: "a folder path",
    schema: parsers.text(1024),
  }),
};

/** The benchmark program: name, summary and settings. */
export const benchProgram: ProgramDefinition<typeof settings> = {
  name: "bench",
  summary: "measures producer, drains (against kcat's raw read), backlog, live latency and " +
    "dashboard queries side by side",
  settings,
};

/** The benchmark's parsed settings. */
export type BenchConfig = ConfigOf<typeof settings>;

/** Why the chosen phases cannot run together (a `Cannot read config` message), if they cannot. */
export function phasePlanProblem(config: BenchConfig): string | undefined {
  const chosen = new Set(config.phases);
  if (chosen.has("drain") && !chosen.has("producer")) {
    return 'Cannot read config: "--phases" includes drain without producer: the drain reads ' +
      `the producer phase's topic: current value is "${config.phases.join(",")}"`;
  }
  if (chosen.has("live") && config.liveRates.includes(HALF_DRAIN) && !chosen.has("drain")) {
    return `Cannot read config: "--live-rates" ${HALF_DRAIN} needs the drain phase in "--phases": ` +
      `current values are "${config.liveRates.join(",")}" and "${config.phases.join(",")}"`;
  }
  return undefined;
}
