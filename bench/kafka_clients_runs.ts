/**
 * Runs one measurement of the Kafka client comparison in its own process
 * (`kafka_clients_worker.ts`) and turns what it reports, the topic's end
 * offsets and the machine's load around it into a checked `ClientRun`.
 */
import type { Kafka } from "kafkajs";
import { topicEndOffsets } from "@activity/shared/kafka";
import type { ClientName, DrainClientName } from "./client_contract.ts";
import { type ClientRun, type RunLoad, runProblem, runRate } from "./client_summary.ts";
import { load1, processCpuMs } from "./machine_load.ts";
import { formatNumber } from "./report.ts";
import { runWorkerProcess, type WorkerOutcome } from "./worker_process.ts";

/** Requests in flight without idempotence (`NON_IDEMPOTENT_IN_FLIGHT` of the producer's sink). */
const NON_IDEMPOTENT_IN_FLIGHT = 4;
/** A reader that receives nothing for this long has failed. */
const STALL_MS = 60_000;
const WORKER = new URL("./kafka_clients_worker.ts", import.meta.url);

/** What every run needs. */
export interface RunContext {
  readonly brokers: readonly string[];
  readonly count: number;
  readonly users: number;
  readonly seed: number;
  readonly idempotent: boolean;
  /** For end offsets (the orchestrator's own client, never one being measured). */
  readonly kafka: Kafka;
  /** The local broker's process, for its CPU time; undefined when not known. */
  readonly brokerPid?: number;
  readonly log: (message: string) => void;
}

/** Runs the worker; returns its result line's object, or the error text when it failed. */
async function runWorker(
  context: RunContext,
  args: readonly string[],
): Promise<WorkerOutcome & { load: RunLoad }> {
  const load1Before = load1();
  const brokerBefore = processCpuMs(context.brokerPid);
  const outcome = await runWorkerProcess(WORKER, [
    `--brokers=${context.brokers.join(",")}`,
    ...args,
  ]);
  const brokerAfter = processCpuMs(context.brokerPid);
  const load: RunLoad = {
    load1Before,
    load1After: load1(),
    ...(brokerBefore !== undefined && brokerAfter !== undefined
      ? { brokerCpuMs: brokerAfter - brokerBefore }
      : {}),
  };
  return { ...outcome, load };
}

function describe(run: ClientRun): string {
  const problem = runProblem(run);
  return problem === undefined
    ? `${formatNumber(Math.round(runRate(run)))} msg/s (${run.count} in ${
      Math.round(run.elapsedMs)
    } ms)`
    : `FAILED: ${problem}`;
}

/** Publishes N messages with `client` into the (new, empty) `topic` and checks the end offsets. */
export async function runProduce(
  context: RunContext,
  options: { client: ClientName; topic: string; repetition: number },
): Promise<ClientRun> {
  const { client, topic, repetition } = options;
  context.log(
    `repetition ${repetition}: ${client} publishes ${context.count} messages to ${topic}`,
  );
  const { result, error, load } = await runWorker(context, [
    "--mode=produce",
    `--client=${client}`,
    `--topic=${topic}`,
    `--count=${context.count}`,
    `--users=${context.users}`,
    `--seed=${context.seed}`,
    `--idempotent=${context.idempotent}`,
    `--max-in-flight=${context.idempotent ? 1 : NON_IDEMPOTENT_IN_FLIGHT}`,
  ]);
  const ends = await topicEndOffsets(context.kafka, topic);
  const partitionCounts = [...ends.entries()].sort(([a], [b]) => a - b).map(([, end]) =>
    Number(end)
  );
  const { sent, publishMs, cpuMs, error: sendError, ...extra } = result ?? {};
  const run: ClientRun = {
    mode: "produce",
    client,
    repetition,
    topic,
    expected: context.count,
    count: Number(sent ?? 0),
    delivered: partitionCounts.reduce((sum, n) => sum + n, 0),
    elapsedMs: Number(publishMs ?? NaN),
    cpuMs: Number(cpuMs ?? NaN),
    load,
    ...(error ?? sendError ? { error: String(error ?? sendError) } : {}),
    extra: { ...extra, partitionCounts },
  };
  context.log(`  ${describe(run)}; load ${load.load1Before} → ${load.load1After}`);
  return run;
}

/** Reads `topic` to its `ends` with `client` in a fresh group and checks the count. */
export async function runDrain(
  context: RunContext,
  options: {
    client: DrainClientName;
    topic: string;
    ends: ReadonlyMap<number, bigint>;
    groupId: string;
    repetition: number;
  },
): Promise<ClientRun> {
  const { client, topic, repetition } = options;
  const expected = Number([...options.ends.values()].reduce((sum, end) => sum + end, 0n));
  context.log(`repetition ${repetition}: ${client} reads ${expected} messages from ${topic}`);
  const ends = Object.fromEntries([...options.ends].map(([p, end]) => [p, end.toString()]));
  const { result, error, load } = await runWorker(context, [
    "--mode=drain",
    `--client=${client}`,
    `--topic=${topic}`,
    `--group=${options.groupId}`,
    `--ends=${JSON.stringify(ends)}`,
    `--stall-ms=${STALL_MS}`,
  ]);
  const { count, totalMs, cpuMs, partitionsShort, ...extra } = result ?? {};
  const short = Array.isArray(partitionsShort) ? partitionsShort : [];
  const run: ClientRun = {
    mode: "drain",
    client,
    repetition,
    topic,
    expected,
    count: Number(count ?? 0),
    // Reading changes no offsets: the topic still holds what the end offsets said.
    delivered: expected,
    elapsedMs: Number(totalMs ?? NaN),
    cpuMs: Number(cpuMs ?? NaN),
    load,
    ...(error
      ? { error }
      : short.length
      ? { error: `partitions ${short.join(",")} not read to their end` }
      : {}),
    extra: { ...extra, groupId: options.groupId },
  };
  context.log(`  ${describe(run)}; load ${load.load1Before} → ${load.load1After}`);
  return run;
}
