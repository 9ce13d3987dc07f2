/** The settings of `deno task bench:scaling` (flags and environment, as for the programs). */
import {
  commonSettings,
  type ConfigOf,
  parsers,
  type ProgramDefinition,
  setting,
} from "@activity/shared";
import { z } from "zod";
import { benchProgram } from "./settings.ts";

const settings = {
  brokers: {
    ...commonSettings.brokers,
    help: "Kafka bootstrap brokers (e.g. from `deno task services --brokers 3`).",
  },
  databaseUrl: benchProgram.settings.databaseUrl,
  events: setting({
    flag: "events",
    fallback: "1000000",
    help: "Events published into the topic once; every run drains all of them.",
    allowed: "a whole number from 1000 to 100000000",
    schema: parsers.integer(1_000, 100_000_000),
  }),
  consumers: setting({
    flag: "consumers",
    fallback: "1,2,3",
    help: "Consumer counts, one run each (a group of that many consumer processes).",
    allowed: "a comma-separated list of whole numbers from 1 to 32",
    schema: z.string().transform((text) => text.split(",").map((part) => Number(part.trim())))
      .pipe(z.array(z.number().int().min(1).max(32)).min(1)),
  }),
  partitions: setting({
    flag: "partitions",
    fallback: "6",
    help: "Partitions of the topic.",
    allowed: "a whole number from 1 to 1000",
    schema: parsers.integer(1, 1_000),
  }),
  users: benchProgram.settings.users,
  seed: benchProgram.settings.seed,
  out: setting({
    flag: "out",
    fallback: "bench-results",
    help: "Folder for the JSON report (scaling-<time>.json).",
    allowed: "a folder path",
    schema: parsers.text(1024),
  }),
};

/** The scaling benchmark: name, summary and settings. */
export const scalingProgram: ProgramDefinition<typeof settings> = {
  name: "bench:scaling",
  summary: "drains one filled topic with 1, 2, 3 ... consumer processes and measures each run",
  settings,
};

/** The scaling benchmark's parsed settings. */
export type ScalingConfig = ConfigOf<typeof settings>;
