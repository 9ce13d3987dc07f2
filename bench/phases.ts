/**
 * The benchmark's phases. Each runs the real programs as separate processes
 * against the real broker and PostgreSQL and returns its figures.
 */
import postgres from "postgres";
import { createKafka, ensureTopics } from "@activity/shared/kafka";
import type { Figure } from "./report.ts";
import { measureRawRead } from "./kcat.ts";
import { startProgram } from "./program_process.ts";
import { histogramDelta, histogramQuantile, readHistogram, readValue } from "./prometheus.ts";

const PARTITIONS = 6;
const CONSUMER_METRICS_PORT = 19465;
const LATENCY = "activity_consumer_event_commit_latency_seconds";

/** What every phase needs. */
export interface PhaseContext {
  readonly brokers: readonly string[];
  readonly users: number;
  readonly seed: number;
  /** Creates a migrated-on-first-use database of the phase's own; returns its URL. */
  readonly createDatabase: (label: string) => Promise<string>;
  readonly log: (message: string) => void;
}

/** Publishes `events` at `--rate max` into a fresh topic; returns the topic and figures. */
export async function producerPhase(
  context: PhaseContext,
  options: { topic: string; events: number },
): Promise<Figure[]> {
  const kafka = createKafka({ brokers: context.brokers, clientId: "bench" });
  await ensureTopics(kafka, [{ topic: options.topic, partitions: PARTITIONS }]);
  context.log(`producer: ${options.events} events at --rate max into ${options.topic}`);
  const started = performance.now();
  const producer = startProgram("producer", {
    args: [
      `--brokers=${context.brokers.join(",")}`,
      `--topic=${options.topic}`,
      "--rate=max",
      `--count=${options.events}`,
      `--users=${context.users}`,
      `--seed=${context.seed}`,
      `--partitions=${PARTITIONS}`,
      "--metrics-port=0",
      "--log-level=info",
    ],
  });
  const code = await producer.exited;
  const wallSeconds = (performance.now() - started) / 1000;
  const summary = producer.lines().map(parseJsonLine).find((line) => line?.msg === "summary");
  if (code !== 0 || !summary) {
    throw new Error(`the producer failed (${code}):\n${producer.lines().slice(-20).join("\n")}`);
  }
  const sent = Number(summary.sent);
  const publishSeconds = Number(summary.durationMs ?? summary.elapsedMs ?? NaN) / 1000;
  const figures: Figure[] = [
    { phase: "producer", name: "events sent (acknowledged)", value: sent, unit: "events" },
    {
      phase: "producer",
      name: "rate, process start to exit",
      value: sent / wallSeconds,
      unit: "events/s",
    },
    {
      phase: "producer",
      name: "peak memory",
      value: producer.peakMemoryBytes() / 2 ** 20,
      unit: "MiB",
    },
  ];
  if (Number.isFinite(publishSeconds) && publishSeconds > 0) {
    figures.splice(1, 0, {
      phase: "producer",
      name: "rate, first send to last ack",
      value: sent / publishSeconds,
      unit: "events/s",
      target: { kind: "min", value: 200_000 },
    });
  }
  return figures;
}

/** Drains a filled topic into a fresh database; the clock stops when PostgreSQL holds all of it. */
export async function drainPhase(
  context: PhaseContext,
  options: { topic: string; events: number },
): Promise<Figure[]> {
  const databaseUrl = await context.createDatabase("drain");
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    context.log(`drain: consumer on ${options.topic} (${options.events} events)`);
    const started = performance.now();
    await using consumer = startConsumer(context, { topic: options.topic, databaseUrl });
    let firstCommitAt = 0;
    let committed = 0;
    while (committed < options.events) {
      if (performance.now() - started > 600_000) throw new Error("drain did not finish in 10 min");
      await delay(50);
      committed = await committedOffsets(sql, options.topic).catch(() => 0);
      if (committed > 0 && firstCommitAt === 0) firstCommitAt = performance.now();
    }
    const doneAt = performance.now();
    const metrics = await consumer.scrapeMetrics();
    const peak = consumer.peakMemoryBytes();
    await consumer.stop("SIGTERM");
    const [{ counted }] = await sql<{ counted: string }[]>`
      SELECT coalesce(sum(event_count), 0)::text AS counted FROM event_type_minute`;
    const seconds = (doneAt - started) / 1000;
    return [
      {
        phase: "drain",
        name: "events committed",
        value: committed,
        unit: "events",
      },
      {
        phase: "drain",
        name: "events counted (exactly once: = committed)",
        value: Number(counted),
        unit: "events",
        target: { kind: "equal", value: committed },
      },
      {
        phase: "drain",
        name: "rate, consumer start to all committed",
        value: committed / seconds,
        unit: "events/s",
        target: { kind: "min", value: 100_000 },
      },
      {
        phase: "drain",
        name: "rate, first to last commit",
        value: committed / Math.max(0.001, (doneAt - firstCommitAt) / 1000),
        unit: "events/s",
      },
      {
        phase: "drain",
        name: "flushes committed",
        value: readValue(metrics, "activity_consumer_flushes_total", { outcome: "committed" }),
        unit: "flushes",
      },
      {
        phase: "drain",
        name: "rows written",
        value: readValue(metrics, "activity_consumer_rows_written_total"),
        unit: "rows",
      },
      {
        phase: "drain",
        name: "consumer peak memory",
        value: peak / 2 ** 20,
        unit: "MiB",
        target: { kind: "max", value: 300 },
      },
    ];
  } finally {
    await sql.end();
  }
}

/** kcat reading the same topic raw to its end, and our drain rate as a share of it. */
export async function kcatPhase(
  context: PhaseContext,
  options: { topic: string; drainRate?: number },
): Promise<Figure[]> {
  context.log(`kcat: raw read of ${options.topic}`);
  const raw = await measureRawRead(context.brokers, options.topic);
  const figures: Figure[] = [
    { phase: "kcat", name: "messages read", value: raw.messages, unit: "events" },
    { phase: "kcat", name: "raw read rate", value: raw.eventsPerSecond, unit: "events/s" },
  ];
  if (options.drainRate) {
    figures.push({
      phase: "kcat",
      name: "our drain rate as a share of kcat's",
      value: (100 * options.drainRate) / raw.eventsPerSecond,
      unit: "%",
    });
  }
  return figures;
}

/** The producer at a fixed rate with the consumer running; throughput and event→commit latency. */
export async function livePhase(
  context: PhaseContext,
  options: { topic: string; rate: number; seconds: number },
): Promise<Figure[]> {
  const phase = `live ${options.rate / 1000}k/s`;
  const kafka = createKafka({ brokers: context.brokers, clientId: "bench" });
  await ensureTopics(kafka, [{ topic: options.topic, partitions: PARTITIONS }]);
  const databaseUrl = await context.createDatabase("live");
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    await using consumer = startConsumer(context, { topic: options.topic, databaseUrl });
    await waitReady(CONSUMER_METRICS_PORT, 60_000);
    const before = readHistogram(await consumer.scrapeMetrics(), LATENCY);
    context.log(`${phase}: producer at ${options.rate}/s for ${options.seconds} s`);
    const started = performance.now();
    const producer = startProgram("producer", {
      args: [
        `--brokers=${context.brokers.join(",")}`,
        `--topic=${options.topic}`,
        `--rate=${options.rate}`,
        `--duration=${options.seconds}`,
        `--users=${context.users}`,
        `--seed=${context.seed}`,
        "--metrics-port=0",
      ],
    });
    const code = await producer.exited;
    const summary = producer.lines().map(parseJsonLine).find((line) => line?.msg === "summary");
    if (code !== 0 || !summary) throw new Error(`the producer failed (${code})`);
    const sent = Number(summary.sent);
    let committed = 0;
    const deadline = performance.now() + 60_000;
    while (committed < sent && performance.now() < deadline) {
      committed = await committedOffsets(sql, options.topic).catch(() => 0);
      if (committed < sent) await delay(50);
    }
    const seconds = (performance.now() - started) / 1000;
    const latency = histogramDelta(before, readHistogram(await consumer.scrapeMetrics(), LATENCY));
    const peak = consumer.peakMemoryBytes();
    await consumer.stop("SIGTERM");
    return [
      { phase, name: "events sent", value: sent, unit: "events" },
      {
        phase,
        name: "sustained throughput (sent → all committed)",
        value: committed / seconds,
        unit: "events/s",
        target: { kind: "min", value: options.rate * 0.95 },
      },
      { phase, name: "latency p50", value: histogramQuantile(latency, 0.5), unit: "s" },
      { phase, name: "latency p95", value: histogramQuantile(latency, 0.95), unit: "s" },
      {
        phase,
        name: "latency p99",
        value: histogramQuantile(latency, 0.99),
        unit: "s",
        target: { kind: "max", value: 2 },
      },
      { phase, name: "consumer peak memory", value: peak / 2 ** 20, unit: "MiB" },
    ];
  } finally {
    await sql.end();
  }
}

function startConsumer(
  context: PhaseContext,
  options: { topic: string; databaseUrl: string },
) {
  return startProgram("consumer", {
    args: [
      `--brokers=${context.brokers.join(",")}`,
      `--topic=${options.topic}`,
      `--group=bench-${options.topic}`,
      `--database-url=${options.databaseUrl}`,
      `--metrics-port=${CONSUMER_METRICS_PORT}`,
      `--dlq-topic=${options.topic}.dlq`,
    ],
    metricsPort: CONSUMER_METRICS_PORT,
  });
}

async function committedOffsets(sql: postgres.Sql, topic: string): Promise<number> {
  const [{ total }] = await sql<{ total: string }[]>`
    SELECT coalesce(sum(next_offset), 0)::text AS total FROM consumer_offsets WHERE topic = ${topic}`;
  return Number(total);
}

async function waitReady(port: number, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(async (response) => {
      await response.body?.cancel();
      return response.ok;
    }).catch(() => false);
    if (ok) return;
    await delay(100);
  }
  throw new Error(`the consumer was not ready within ${timeoutMs} ms`);
}

function parseJsonLine(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
