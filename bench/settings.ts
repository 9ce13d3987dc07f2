/** The benchmark's settings (flags and environment, as for the programs). */
import {
  commonSettings,
  type ConfigOf,
  parsers,
  type ProgramDefinition,
  type Setting,
  setting,
} from "@activity/shared";
import { z } from "zod";

const PHASES = ["producer", "drain", "kcat", "live", "dashboard"] as const;

/** A benchmark phase. */
export type BenchPhase = typeof PHASES[number];

/** The simulation settings every benchmark shares. */
export const simulationSettings: {
  readonly users: Setting<number>;
  readonly seed: Setting<number>;
} = {
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
};

/** The `--out` setting of a benchmark that writes `file` (e.g. "bench-<time>.json"). */
export function reportFolderSetting(file: string): Setting<string> {
  return setting({
    flag: "out",
    fallback: "bench-results",
    help: `Folder for the JSON report (${file}).`,
    allowed: "a folder path",
    schema: parsers.text(1024),
  });
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
    help: "Events published by the producer phase and drained by the drain phase.",
    allowed: "a whole number from 1000 to 100000000",
    schema: parsers.integer(1_000, 100_000_000),
  }),
  users: simulationSettings.users,
  seed: simulationSettings.seed,
  liveRates: setting({
    flag: "live-rates",
    fallback: "20000,50000",
    help: "Producer rates (events/s) of the live phase, one run each.",
    allowed: "a comma-separated list of positive whole numbers",
    schema: z.string().transform((text) => text.split(",").map((part) => Number(part.trim())))
      .pipe(z.array(z.number().int().positive()).min(1)),
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
    help: "Phases to run (drain and kcat read the producer phase's topic).",
    allowed: `a comma-separated list of ${PHASES.join(", ")}`,
    schema: z.string().transform((text) => text.split(",").map((part) => part.trim()))
      .pipe(z.array(z.enum(PHASES)).min(1)),
  }),
  out: reportFolderSetting("bench-<time>.json"),
};

/** The benchmark program: name, summary and settings. */
export const benchProgram: ProgramDefinition<typeof settings> = {
  name: "bench",
  summary: "measures producer, drain, raw read, live latency and dashboard queries side by side",
  settings,
};

/** The benchmark's parsed settings. */
export type BenchConfig = ConfigOf<typeof settings>;
