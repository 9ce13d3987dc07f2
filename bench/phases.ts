/**
 * The benchmark's producer, live and dashboard phases (the drains are in
 * `drain_phases.ts`). Each runs the real programs as separate processes
 * against the real broker and PostgreSQL and returns its figures.
 */
import { migrate } from "@activity/consumer";
import { fillSyntheticData, measureQueryCosts } from "@activity/grafana/emulation";
import { createKafka, ensureTopics } from "@activity/shared/kafka";
import { checkConsistency } from "./consistency.ts";
import { startConsumer, waitCommitted, waitReady } from "./consumer_process.ts";
import { consumerMemoryFigure, PARTITIONS, type PhaseContext, TARGETS } from "./phase_context.ts";
import type { PhaseResult } from "./phase_runner.ts";
import { startProgram } from "./program_process.ts";
import { histogramDelta, histogramQuantile, readHistogram } from "./prometheus.ts";
import type { Figure } from "./report.ts";

const LATENCY = "activity_consumer_event_commit_latency_seconds";
const silentLog = { debug() {}, info() {}, warn() {}, error() {}, enabled: () => false };

/** Publishes `events` at `--rate max` into a fresh topic. */
export async function producerPhase(
  context: PhaseContext,
  options: { topic: string; events: number },
): Promise<PhaseResult> {
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
  const summary = producerSummary(producer.lines());
  if (code !== 0 || !summary) {
    throw new Error(`the producer failed (${code}):\n${producer.lines().slice(-20).join("\n")}`);
  }
  const sent = Number(summary.sent);
  if (sent !== options.events) {
    throw new Error(`the producer had ${sent} of ${options.events} events acknowledged`);
  }
  const publishSeconds = Number(summary.durationMs ?? NaN) / 1000;
  const figures: Figure[] = [
    { phase: "producer", name: "events sent (acknowledged)", value: sent, unit: "events" },
    {
      phase: "producer",
      name: "rate, first send to last ack",
      value: sent / publishSeconds,
      unit: "events/s",
      target: { kind: "min", value: TARGETS.producerRate },
    },
    {
      phase: "producer",
      name: "rate, process start to exit",
      value: sent / wallSeconds,
      unit: "events/s",
    },
    {
      phase: "producer",
      name: "producer peak memory (RSS)",
      value: producer.peakMemoryBytes() / 2 ** 20,
      unit: "MiB",
    },
  ];
  return { figures, details: { topic: options.topic, summary } };
}

/**
 * The producer at a fixed rate with the consumer running: sustained
 * throughput, event→commit latency, memory, and exactly once afterwards.
 */
export async function livePhase(
  context: PhaseContext,
  options: { phase: string; topic: string; rate: number; seconds: number },
): Promise<PhaseResult> {
  const { phase, topic, rate } = options;
  const kafka = createKafka({ brokers: context.brokers, clientId: "bench" });
  await ensureTopics(kafka, [{ topic, partitions: PARTITIONS }]);
  await using database = await context.createDatabase("live");
  await using consumer = startConsumer({
    brokers: context.brokers,
    topic,
    databaseUrl: database.url,
  });
  await waitReady(60_000);
  const before = readHistogram(await consumer.scrapeMetrics(), LATENCY);
  context.log(`${phase}: producer at ${rate}/s for ${options.seconds} s`);
  const producer = startProgram("producer", {
    args: [
      `--brokers=${context.brokers.join(",")}`,
      `--topic=${topic}`,
      `--rate=${rate}`,
      `--duration=${options.seconds}`,
      `--users=${context.users}`,
      `--seed=${context.seed}`,
      "--metrics-port=0",
      "--progress-interval=1s",
    ],
  });
  const code = await producer.exited;
  const exitedAt = performance.now();
  const summary = producerSummary(producer.lines());
  if (code !== 0 || !summary) throw new Error(`the producer failed (${code})`);
  const sent = Number(summary.sent);
  // From the producer's first send (its summary's duration ends at its last acknowledgement,
  // just before it exits): the producer's own start-up is not the consumer's throughput.
  const firstSendAt = exitedAt - Number(summary.durationMs);
  const progress = await waitCommitted(database.sql, {
    topic,
    events: sent,
    timeoutMs: 60_000,
    consumer,
  });
  const end = Number.isNaN(progress.doneAt) ? performance.now() : progress.doneAt;
  const seconds = (end - firstSendAt) / 1000;
  const latency = histogramDelta(before, readHistogram(await consumer.scrapeMetrics(), LATENCY));
  const peakBytes = consumer.peakMemoryBytes();
  const exitCode = await consumer.stop("SIGTERM");
  const figures: Figure[] = [
    { phase, name: "events sent", value: sent, unit: "events" },
    // A producer that cannot keep its schedule (a loaded machine) offers less than the rate and
    // stamps events late on its schedule, which the event→commit latency then includes.
    {
      phase,
      name: "rate the producer delivered (sent ÷ its duration)",
      value: sent / (Number(summary.durationMs) / 1000),
      unit: "events/s",
      target: { kind: "min", value: (rate * TARGETS.liveSustainedShare) / 100 },
    },
    {
      phase,
      name: "producer behind its schedule, at most",
      value: Math.max(
        0,
        ...logRecords(producer.lines(), "progress").map((r) => Number(r.behind_s)),
      ),
      unit: "s",
    },
    {
      phase,
      name: "events committed within 60 s of the last send",
      value: progress.committed,
      unit: "events",
      target: { kind: "equal", value: sent },
    },
    {
      phase,
      name: "sustained throughput (first send → all committed)",
      value: progress.committed / seconds,
      unit: "events/s",
      target: { kind: "min", value: (rate * TARGETS.liveSustainedShare) / 100 },
    },
    { phase, name: "latency p50", value: histogramQuantile(latency, 0.5), unit: "s" },
    { phase, name: "latency p95", value: histogramQuantile(latency, 0.95), unit: "s" },
    {
      phase,
      name: "latency p99 (event → commit)",
      value: histogramQuantile(latency, 0.99),
      unit: "s",
      target: { kind: "max", value: TARGETS.liveP99Seconds },
    },
    consumerMemoryFigure(phase, peakBytes),
    ...await checkConsistency(database.sql, { phase, topic }),
  ];
  return { figures, details: { topic, rate, consumerExitCode: exitCode, latency } };
}

/** Every dashboard panel's and alert's SQL timed on synthetic data. */
export async function dashboardPhase(
  context: PhaseContext,
  options: { users: number; days: number },
): Promise<PhaseResult> {
  await using database = await context.createDatabase("dashboard");
  await migrate(database.url, { log: silentLog });
  context.log(`dashboard: synthetic data for ${options.users} users over ${options.days} days`);
  const filled = await fillSyntheticData(database.sql, options);
  context.log(`dashboard: filled in ${(filled.elapsedMs / 1000).toFixed(1)} s; timing every query`);
  const costs = await measureQueryCosts(database.sql);
  const figures: Figure[] = [
    {
      phase: "dashboard",
      name: `synthetic data (${options.users} users, ${options.days} days) filled in`,
      value: filled.elapsedMs / 1000,
      unit: "s",
    },
    ...costs.map((cost): Figure => ({
      phase: "dashboard",
      name: `${cost.key} [${cost.range}] ${cost.title}`.slice(0, 70),
      value: cost.medianMs,
      unit: "ms",
      target: { kind: "max", value: TARGETS.dashboardQueryMs },
    })),
  ];
  return { figures, details: { rows: filled.rows, fillSteps: filled.steps, queries: costs } };
}

/** The program's JSON log lines whose message is `msg`. */
function logRecords(lines: readonly string[], msg: string): Record<string, unknown>[] {
  const records: Record<string, unknown>[] = [];
  for (const line of lines) {
    if (!line.startsWith("{")) continue;
    try {
      const parsed = JSON.parse(line);
      if (parsed?.msg === msg) records.push(parsed);
    } catch { /* not a JSON line */ }
  }
  return records;
}

function producerSummary(lines: readonly string[]): Record<string, unknown> | undefined {
  return logRecords(lines, "summary")[0];
}
