/**
 * `deno task bench:clients`: the Kafka clients compared side by side on the
 * local broker. The same N simulated messages (same bytes, keys = user ids)
 * go through the producer's own publishing loop into a fresh 6-partition
 * topic per run, with stock KafkaJS, KafkaJS with the producer's speedups
 * (the producer's own sink) and `@platformatic/kafka`; then one topic is read
 * to its end by each reader. Every run is checked (acknowledged = end offsets
 * = N, read = N), repeated with the clients' order rotated, and reported
 * with CPU per message and the load average, since the machine is shared.
 * Prints a table and writes `bench-results/kafka-clients-<time>.json`.
 */
import process from "node:process";
import { commonSettings, type ConfigOf, parsers, setting } from "@activity/shared";
import { loadConfigOrExit } from "@activity/shared/runtime";
import { createKafka, ensureTopics, topicEndOffsets } from "@activity/shared/kafka";
import { z } from "zod";
import { defaultKafkaOptions, KAFKA_VERSION, runningKafkaPid } from "../tools/kafka_local.ts";
import {
  CLIENT_NAMES,
  type ClientName,
  DRAIN_CLIENT_NAMES,
  PLATFORMATIC_KAFKA_VERSION,
} from "./client_contract.ts";
import { allEqual, type ClientRun, renderSummaryTable, summarizeRuns } from "./client_summary.ts";
import { readMachineFacts } from "./machine.ts";
import { benchProgram } from "./settings.ts";
import { type RunContext, runDrain, runProduce } from "./kafka_clients_runs.ts";
import { deleteTopics, keepTopicsSetting } from "./topics.ts";

const PARTITIONS = 6;

const list = <const T extends readonly [string, ...string[]]>(names: T) =>
  z.string().transform((text) => text.split(",").map((part) => part.trim()))
    .pipe(z.array(z.enum(names)).min(1));

const settings = {
  brokers: {
    ...commonSettings.brokers,
    help: "Kafka bootstrap brokers (e.g. from `deno task services`).",
  },
  count: setting({
    flag: "count",
    fallback: "1000000",
    help: "Messages per run (N), generated once per process before the clock starts.",
    allowed: "a whole number from 1000 to 5000000",
    schema: parsers.integer(1_000, 5_000_000),
  }),
  repetitions: setting({
    flag: "repetitions",
    fallback: "3",
    help: "Runs of every client (the order of clients rotates between repetitions).",
    allowed: "a whole number from 1 to 20",
    schema: parsers.integer(1, 20),
  }),
  users: setting({
    flag: "users",
    fallback: "10000",
    help: "Simulated users (message keys).",
    allowed: "a whole number from 1 to 1000000",
    schema: parsers.integer(1, 1_000_000),
  }),
  seed: benchProgram.settings.seed,
  idempotent: setting({
    flag: "idempotent",
    fallback: "true",
    help: "Idempotent producers (the producer's default: one request in flight).",
    allowed: "true or false",
    schema: parsers.oneOf(["true", "false"]).transform((value) => value === "true"),
  }),
  clients: setting({
    flag: "clients",
    fallback: CLIENT_NAMES.join(","),
    help: "Producing clients to compare.",
    allowed: `a comma-separated list of ${CLIENT_NAMES.join(", ")}`,
    schema: list(CLIENT_NAMES),
  }),
  readers: setting({
    flag: "readers",
    fallback: DRAIN_CLIENT_NAMES.join(","),
    help: "Reading clients to compare (none read when producing failed everywhere).",
    allowed: `a comma-separated list of ${DRAIN_CLIENT_NAMES.join(", ")}`,
    schema: list(DRAIN_CLIENT_NAMES),
  }),
  keepTopics: keepTopicsSetting,
  out: setting({
    flag: "out",
    fallback: "bench-results",
    help: "Folder for the JSON report (kafka-clients-<time>.json).",
    allowed: "a folder path",
    schema: parsers.text(1024),
  }),
};

type ClientsConfig = ConfigOf<typeof settings>;

/** Rotates `items` left by `by` places (so each client takes each position in turn). */
function rotate<T>(items: readonly T[], by: number): T[] {
  const shift = by % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

/** The topic the readers read: the producer's own sink's, else any that was filled. */
function topicToRead(runs: readonly ClientRun[]): ClientRun | undefined {
  const filled = runs.filter((run) => run.error === undefined && run.delivered === run.expected);
  return filled.find((run) => run.client === "kafkajs-patched") ?? filled[0];
}

/** KafkaJS arms a timer with a negative delay on every connection; that warning is noise here. */
function quietTimeoutWarnings(): void {
  process.removeAllListeners("warning");
  process.on("warning", (warning: Error) => {
    if (warning.name !== "TimeoutNegativeWarning") {
      console.error(`${warning.name}: ${warning.message}`);
    }
  });
}

async function main(config: ClientsConfig): Promise<number> {
  quietTimeoutWarnings();
  const stamp = new Date().toISOString().replace(/[-:.]/g, "").slice(0, 15).toLowerCase();
  const log = (message: string) =>
    console.error(`[clients ${new Date().toISOString().slice(11, 19)}] ${message}`);
  const kafka = createKafka({ brokers: config.brokers, clientId: "bench-clients" });
  const context: RunContext = {
    brokers: config.brokers,
    count: config.count,
    users: config.users,
    seed: config.seed,
    idempotent: config.idempotent,
    kafka,
    brokerPid: await runningKafkaPid(defaultKafkaOptions()),
    log,
  };
  const machine = await readMachineFacts({
    postgresVersion: "not used",
    kafkaVersion: KAFKA_VERSION,
  });
  log(
    `machine: ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.cpu}; Deno ${machine.deno}`,
  );
  log(`broker pid: ${context.brokerPid ?? "unknown (broker CPU not measured)"}`);
  const topics: string[] = [];
  const runs: ClientRun[] = [];
  try {
    for (let repetition = 1; repetition <= config.repetitions; repetition++) {
      const produced: ClientRun[] = [];
      for (const client of rotate(config.clients, repetition - 1) as ClientName[]) {
        const topic = `bench_clients_${stamp}_r${repetition}_${client.replace("-", "_")}`;
        await ensureTopics(kafka, [{ topic, partitions: PARTITIONS }]);
        topics.push(topic);
        produced.push(await runProduce(context, { client, topic, repetition }));
      }
      runs.push(...produced);
      const source = topicToRead(produced);
      if (!source) {
        log(`repetition ${repetition}: no topic was filled; nothing to read`);
        continue;
      }
      const ends = await topicEndOffsets(kafka, source.topic);
      for (const client of rotate(config.readers, repetition - 1)) {
        const groupId = `bench_clients_${stamp}_r${repetition}_${client}_${
          crypto.randomUUID().slice(0, 8)
        }`;
        runs.push(
          await runDrain(context, { client, topic: source.topic, ends, groupId, repetition }),
        );
      }
    }
  } finally {
    if (!config.keepTopics) await deleteTopics(kafka, (topic) => topics.includes(topic), log);
  }
  const summaries = summarizeRuns(runs);
  const producedRuns = runs.filter((run) => run.mode === "produce" && run.error === undefined);
  const checks = {
    sameMessagesEverywhere: allEqual(producedRuns.map((run) => run.extra.digest)),
    samePartitionCountsEverywhere: allEqual(producedRuns.map((run) => run.extra.partitionCounts)),
  };
  const report = {
    machine,
    clients: {
      kafkajs: "kafkajs@2.2.4",
      platformatic: `@platformatic/kafka@${PLATFORMATIC_KAFKA_VERSION}`,
    },
    settings: config,
    checks,
    summaries,
    runs,
  };
  console.log(renderSummaryTable(summaries));
  console.log(
    `\nsame message bytes in every run: ${checks.sameMessagesEverywhere ? "yes" : "NO"}; ` +
      `same per-partition counts (same partitioner): ${
        checks.samePartitionCountsEverywhere ? "yes" : "NO"
      }`,
  );
  await Deno.mkdir(config.out, { recursive: true });
  const path = `${config.out}/kafka-clients-${stamp}.json`;
  await Deno.writeTextFile(path, JSON.stringify(report, null, 2) + "\n");
  log(`report written to ${path}`);
  const allVerified = summaries.every((summary) => summary.verified === summary.runs);
  return allVerified && checks.sameMessagesEverywhere ? 0 : 1;
}

if (import.meta.main) {
  const program = {
    name: "bench:clients",
    summary: "compares Kafka clients (KafkaJS, patched KafkaJS, @platformatic/kafka) side by side",
    settings,
  };
  Deno.exit(await main(loadConfigOrExit(program)));
}
