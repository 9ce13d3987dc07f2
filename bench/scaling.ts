/**
 * `deno task bench:scaling`: consumer scaling on one filled topic. The
 * producer CLI publishes `--events` into a fresh topic once; then, for each
 * count in `--consumers` (1, 2, 3 by default), that many consumer CLI
 * processes in one group drain all of it into a fresh database, the clock
 * stopping when PostgreSQL's committed offsets hold every event (the counted
 * total is then checked: exactly once). Each run reports events/s per
 * consumer and in total, CPU per event (consumers, PostgreSQL backends and
 * local brokers), PostgreSQL's executing time as a share of the flush time,
 * and the machine's load beside it. Writes `scaling-<time>.json`.
 */
import process from "node:process";
import postgres from "postgres";
import { loadConfigOrExit } from "@activity/shared/runtime";
import { createKafka, liveBrokers, partitionReplicas } from "@activity/shared/kafka";
import { migrate } from "@activity/consumer";
import { databaseUrlWithName } from "../testing/services.ts";
import { freePort } from "../testing/fault_processes.ts";
import { defaultKafkaOptions, KAFKA_VERSION, runningKafkaPid } from "../tools/kafka_local.ts";
import { readMachineFacts } from "./machine.ts";
import { startProgram } from "./program_process.ts";
import { readHistogram, readValue } from "./prometheus.ts";
import { load1, machineSeconds, processCpuMs, readCpuTimes } from "./machine_load.ts";
import {
  type ConsumerSample,
  renderScalingTable,
  scalingFigures,
  type ScalingRun,
} from "./scaling_figures.ts";
import { type ScalingConfig, scalingProgram } from "./scaling_settings.ts";

const silentLog = { debug() {}, info() {}, warn() {}, error() {}, enabled: () => false };
const SAMPLE_MS = 250;
const RUN_TIMEOUT_MS = 20 * 60_000;

function log(message: string): void {
  console.error(`[scaling ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

async function main(config: ScalingConfig): Promise<number> {
  // KafkaJS arms a timer with a negative delay on every connection: harmless noise here.
  process.removeAllListeners("warning");
  process.on("warning", (warning: Error) => {
    if (warning.name !== "TimeoutNegativeWarning") log(`${warning.name}: ${warning.message}`);
  });
  const stamp = new Date().toISOString().replace(/[-:.]/g, "").slice(0, 15).toLowerCase();
  const admin = postgres(config.databaseUrl, { max: 1, onnotice: () => {} });
  const created: string[] = [];
  try {
    const [{ version }] = await admin<{ version: string }[]>`SELECT version()`;
    const machine = await readMachineFacts({
      postgresVersion: version,
      kafkaVersion: KAFKA_VERSION,
    });
    const kafka = createKafka({ brokers: config.brokers, clientId: "bench-scaling" });
    const brokers = await liveBrokers(kafka);
    const topic = `scaling_${stamp}`;
    const brokerPids = await localBrokerPids(config.brokers);
    const filled = await fill(config, topic, brokerPids);
    const replicas = (await partitionReplicas(kafka, topic))[0].replicas.length;
    log(
      `${brokers.length} broker(s), replication factor ${replicas}; CPU of ${brokerPids.length} ` +
        `local broker process(es) is measured`,
    );
    const runs: (ScalingRun & { peakMemoryMiB: number[] })[] = [];
    for (const consumers of config.consumers) {
      const name = `bench_${stamp}_scaling_${consumers}`;
      await admin.unsafe(`CREATE DATABASE "${name}"`);
      created.push(name);
      runs.push(await scalingRun(config, { topic, consumers, database: name, admin, brokerPids }));
      log(renderScalingTable([runs.at(-1)!]).split("\n")[1]);
    }
    console.log(renderScalingTable(runs));
    const report = {
      machine,
      settings: { ...config, databaseUrl: undefined },
      kafka: {
        brokers: brokers.length,
        replicationFactor: replicas,
        partitions: config.partitions,
      },
      fill: filled,
      runs,
    };
    await Deno.mkdir(config.out, { recursive: true });
    const path = `${config.out}/scaling-${stamp}.json`;
    await Deno.writeTextFile(path, JSON.stringify(report, null, 2) + "\n");
    log(`report written to ${path}`);
    return 0;
  } finally {
    for (const name of created) {
      await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    }
    await admin.end();
  }
}

/** What publishing the events cost. */
interface FillFigures {
  readonly eventsPerSecond: number;
  readonly producerCpuMicrosPerEvent?: number;
  /** CPU of the local brokers while they took the events (leaders and followers). */
  readonly brokerCpuMicrosPerEvent?: number;
}

/** Publishes the events once with the producer CLI at full speed. */
async function fill(
  config: ScalingConfig,
  topic: string,
  brokerPids: readonly number[],
): Promise<FillFigures> {
  const brokerCpu = () => brokerPids.reduce((sum, pid) => sum + (processSeconds(pid) ?? 0), 0);
  const brokerBefore = brokerCpu();
  log(`filling ${topic}: ${config.events} events, ${config.partitions} partitions`);
  const started = performance.now();
  const producer = startProgram("producer", {
    args: [
      `--brokers=${config.brokers.join(",")}`,
      `--topic=${topic}`,
      "--rate=max",
      `--count=${config.events}`,
      `--users=${config.users}`,
      `--seed=${config.seed}`,
      `--partitions=${config.partitions}`,
      "--metrics-port=0",
    ],
  });
  let producerCpu: number | undefined;
  const sampler = setInterval(() => producerCpu = processSeconds(producer.pid) ?? producerCpu, 100);
  const code = await producer.exited.finally(() => clearInterval(sampler));
  if (code !== 0) {
    throw new Error(`the producer failed (${code}):\n${producer.lines().slice(-20).join("\n")}`);
  }
  const seconds = (performance.now() - started) / 1000;
  const perEvent = (cpu: number | undefined) =>
    cpu === undefined ? undefined : (cpu * 1e6) / config.events;
  const figures = {
    eventsPerSecond: config.events / seconds,
    producerCpuMicrosPerEvent: perEvent(producerCpu),
    brokerCpuMicrosPerEvent: brokerPids.length > 0
      ? perEvent(brokerCpu() - brokerBefore)
      : undefined,
  };
  log(`filled in ${seconds.toFixed(1)} s: ${JSON.stringify(figures)}`);
  return figures;
}

/** The processes of brokers this machine runs from the cache folder (`deno task services`). */
async function localBrokerPids(brokers: readonly string[]): Promise<number[]> {
  const pids: number[] = [];
  for (const address of brokers) {
    const [host, port] = address.split(":");
    if (host !== "127.0.0.1" && host !== "localhost") continue;
    const pid = await runningKafkaPid({ ...defaultKafkaOptions(), port: Number(port) });
    if (pid) pids.push(pid);
  }
  return pids;
}

async function scalingRun(
  config: ScalingConfig,
  run: {
    topic: string;
    consumers: number;
    database: string;
    admin: postgres.Sql;
    brokerPids: number[];
  },
): Promise<ScalingRun & { peakMemoryMiB: number[] }> {
  const url = databaseUrlWithName(config.databaseUrl, run.database);
  // Migrated first, so the run's PostgreSQL time is the consumers' work alone.
  await migrate(url, { log: silentLog });
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  const activeMs = async () => {
    const [row] = await run.admin<{ ms: number }[]>`
      SELECT active_time AS ms FROM pg_stat_database WHERE datname = ${run.database}`;
    return Number(row?.ms ?? 0);
  };
  const brokerCpu = () => run.brokerPids.reduce((sum, pid) => sum + (processSeconds(pid) ?? 0), 0);
  try {
    log(`${run.consumers} consumer(s) draining ${run.topic}`);
    const before = {
      active: await activeMs(),
      machine: machineSeconds(readCpuTimes()),
      load: load1(),
      broker: brokerCpu(),
    };
    const startedMs = performance.now();
    const ports = Array.from({ length: run.consumers }, () => freePort());
    const consumers = ports.map((port) =>
      startProgram("consumer", {
        args: [
          `--brokers=${config.brokers.join(",")}`,
          `--topic=${run.topic}`,
          `--group=bench-${run.database}`,
          `--database-url=${url}`,
          `--metrics-port=${port}`,
          `--dlq-topic=${run.topic}.dlq`,
        ],
        metricsPort: port,
      })
    );
    const samples: ConsumerSample[][] = consumers.map(() => []);
    const sessions = { active: 0, waitingOnLocks: 0 };
    const sampleAll = async () => {
      const [now] = await sql<{ active: number; locked: number }[]>`
        SELECT count(*) FILTER (WHERE state = 'active')::int AS active,
          count(*) FILTER (WHERE state = 'active' AND wait_event_type = 'Lock')::int AS locked
        FROM pg_stat_activity WHERE datname = ${run.database} AND pid <> pg_backend_pid()`;
      sessions.active += now.active;
      sessions.waitingOnLocks += now.locked;
      await Promise.all(consumers.map(async (consumer, i) => {
        const text = await consumer.scrapeMetrics();
        if (!text) return;
        const flush = readHistogram(text, "activity_consumer_flush_duration_seconds");
        samples[i].push({
          atMs: performance.now(),
          committed: readValue(text, "activity_consumer_events_accepted_total") +
            readValue(text, "activity_consumer_events_rejected_total"),
          assigned: readValue(text, "activity_consumer_assigned_partitions"),
          cpuSeconds: processSeconds(consumer.pid),
          flushSeconds: flush.sum,
          flushes: flush.count,
          summaryRows: readValue(text, "activity_consumer_rows_written_total", {
            table: "user_event_summary",
          }),
        });
      }));
    };
    let doneMs = 0;
    try {
      while (doneMs === 0) {
        if (performance.now() - startedMs > RUN_TIMEOUT_MS) throw new Error("the run took 20 min");
        for (const consumer of consumers) {
          const exited = await Promise.race([consumer.exited, Promise.resolve(undefined)]);
          if (exited !== undefined) {
            throw new Error(
              `a consumer exited (${exited}):\n${consumer.lines().slice(-20).join("\n")}`,
            );
          }
        }
        await sampleAll();
        if (await committedOffsets(sql, run.topic) >= config.events) doneMs = performance.now();
        else await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS));
      }
      await sampleAll();
      const postgresCpuSeconds = await backendCpu(run.admin, run.database);
      const after = { machine: machineSeconds(readCpuTimes()), load: load1(), broker: brokerCpu() };
      const peakMemoryMiB = consumers.map((consumer) =>
        Math.round(consumer.peakMemoryBytes() / 2 ** 20)
      );
      await Promise.all(consumers.map((consumer) => consumer.stop("SIGTERM")));
      await assertCountedOnce(sql, config.events);
      // Backends report their statistics when they end: read PostgreSQL's time after the stop.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const figures = scalingFigures({
        consumers: run.consumers,
        events: config.events,
        startedMs,
        doneMs,
        samples,
        postgresActiveMs: (await activeMs()) - before.active,
        postgresSessions: sessions,
        postgresCpuSeconds,
        brokerCpuSeconds: run.brokerPids.length > 0 ? after.broker - before.broker : undefined,
        machine: {
          busySeconds: after.machine.busySeconds - before.machine.busySeconds,
          totalSeconds: after.machine.totalSeconds - before.machine.totalSeconds,
          loadStart: before.load,
          loadEnd: after.load,
        },
      });
      return { ...figures, peakMemoryMiB };
    } finally {
      await Promise.all(consumers.map((consumer) => consumer[Symbol.asyncDispose]()));
    }
  } finally {
    await sql.end();
  }
}

async function committedOffsets(sql: postgres.Sql, topic: string): Promise<number> {
  const [{ total }] = await sql<{ total: string }[]>`
    SELECT coalesce(sum(next_offset), 0)::text AS total FROM consumer_offsets WHERE topic = ${topic}`;
  return Number(total);
}

/** CPU seconds of the database's backends so far (the consumers' open connections). */
async function backendCpu(admin: postgres.Sql, database: string): Promise<number | undefined> {
  const rows = await admin<{ pid: number }[]>`
    SELECT pid FROM pg_stat_activity WHERE datname = ${database}`;
  let total = 0;
  for (const { pid } of rows) {
    const cpu = processSeconds(pid);
    if (cpu === undefined) return undefined;
    total += cpu;
  }
  return rows.length > 0 ? total : undefined;
}

async function assertCountedOnce(sql: postgres.Sql, events: number): Promise<void> {
  const [{ counted }] = await sql<{ counted: string }[]>`
    SELECT coalesce(sum(event_count), 0)::text AS counted FROM event_type_minute`;
  if (Number(counted) !== events) {
    throw new Error(`counted ${counted} events, expected exactly ${events}`);
  }
}

if (import.meta.main) Deno.exit(await main(loadConfigOrExit(scalingProgram)));

/** CPU seconds of process `pid` so far, or undefined once it is gone. */
function processSeconds(pid: number | undefined): number | undefined {
  const ms = processCpuMs(pid);
  return ms === undefined ? undefined : ms / 1000;
}
