/**
 * One producer run: the simulation, the Kafka sink and the publishing loop
 * wired together, with progress lines, metrics and a final summary.
 */
import { type Logger, MetricsRegistry, REJECT_REASONS, type RejectReason } from "@activity/shared";
import { averageRate } from "./arrivals.ts";
import { formatEventMix } from "./event_mix.ts";
import { openKafkaSink } from "./kafka_sink.ts";
import { describeSpeedups, SPEEDUP_NAMES } from "./kafkajs_speedups.ts";
import type { OutgoingBatch } from "./batch.ts";
import { createProducerMetrics, type ProducerMetrics } from "./metrics.ts";
import {
  malformedByReason,
  type MessageSink,
  publish,
  type PublishPlan,
  PublishStats,
  type StopReason,
} from "./publisher.ts";
import type { ProducerConfig } from "./settings.ts";
import { createSimulation, type SimulatedMessage } from "./simulation.ts";

/** What a run reports when it ends. */
export interface ProducerSummary {
  /** The seed used (chosen at random unless given), to replay the run. */
  readonly seed: number;
  /** Messages acknowledged by Kafka (valid and malformed). */
  readonly sent: number;
  /** Messages generated but not delivered. */
  readonly failed: number;
  /** Valid events acknowledged, by event type. */
  readonly sentByType: Readonly<Record<string, number>>;
  /** Injected malformed messages acknowledged. */
  readonly invalidSent: number;
  /** Injected malformed messages acknowledged, by the reason the consumer will reject them for. */
  readonly invalidByReason: Readonly<Partial<Record<RejectReason, number>>>;
  /** Send attempts that failed and were retried. */
  readonly retries: number;
  readonly stoppedBy: StopReason;
  /** The send failure that stopped the run, when there was one. */
  readonly error?: string;
  readonly durationMs: number;
  /** Messages acknowledged per second of the run. */
  readonly eventsPerSecond: number;
}

/** What a run needs besides its configuration. */
export interface RunProducerOptions {
  readonly log: Logger;
  readonly metrics?: MetricsRegistry;
  /** Aborting stops generating; what was generated is sent, then the run ends. */
  readonly signal?: AbortSignal;
  /** Another destination than Kafka (tests of the loop); default: the topic in `config`. */
  readonly sink?: MessageSink & { readonly maxInFlight?: number };
}

/** Batch bounds: ≤ 2000 messages and < 1 MB (Kafka's default per-partition batch limit). */
const BATCH = { maxMessages: 2000, maxBytes: 1_000_000, lingerMs: 50 } as const;

/** Simulates and publishes as `config` says, until its count, duration or the signal. */
export async function runProducer(
  config: ProducerConfig,
  options: RunProducerOptions,
): Promise<ProducerSummary> {
  const { log } = options;
  const seed = config.seed === "random"
    ? crypto.getRandomValues(new Uint32Array(1))[0]
    : config.seed;
  const metrics = createProducerMetrics(options.metrics ?? new MetricsRegistry());
  let retries = 0;
  const opened = options.sink ? undefined : await openKafkaSink({
    brokers: config.brokers,
    topic: config.topic,
    partitions: config.partitions,
    replication: {
      replicationFactor: config.replicationFactor,
      minInsyncReplicas: config.minInsyncReplicas,
    },
    idempotent: config.idempotent,
    log,
    onAttemptFailed: () => {
      retries++;
      metrics.sendRetries.inc();
    },
  });
  const sink: MessageSink & { readonly maxInFlight?: number } = options.sink ?? opened!;
  if (opened) {
    for (const name of SPEEDUP_NAMES) {
      metrics.kafkaJsSpeedups.set({ speedup: name }, opened.speedups.installed[name] ? 1 : 0);
    }
  }
  try {
    // Read after connecting, so that real-clock timestamps match when events are sent.
    const startMs = config.start === "now" ? Date.now() : config.start;
    const simulation = createSimulation({
      seed,
      users: config.users,
      userSkew: config.userSkew,
      mix: config.eventMix,
      ratePerSecond: config.rate === "max" ? 1 : config.rate,
      burst: config.burst,
      startMs,
      speed: config.speed,
      invalidRatio: config.invalidRatio,
    });
    const plan: PublishPlan = {
      count: config.count,
      durationMs: config.durationMs,
      pacing: config.rate === "max" ? "max" : "schedule",
      clock: { startMs, speed: config.speed },
      batch: BATCH,
      maxInFlight: sink.maxInFlight ?? 1,
      typeCount: config.eventMix.types.length,
    };
    log.info("publishing", {
      topic: config.topic,
      brokers: config.brokers.join(","),
      rate: config.rate === "max"
        ? "max"
        : Math.round(averageRate(config.rate, config.burst) * 100) / 100,
      users: config.users,
      seed,
      count: config.count || "unlimited",
      duration_s: config.durationMs / 1000 || "unlimited",
      event_mix: formatEventMix(config.eventMix),
      invalid_ratio: config.invalidRatio,
      clock_start: new Date(startMs).toISOString(),
      clock_speed: config.speed,
      ...(opened ? { kafkajs_speedups: describeSpeedups(opened.speedups) } : {}),
    });
    if (config.rate === "max" && config.burst) {
      log.warn("--burst has no effect at --rate max");
    }
    const stats = new PublishStats();
    const progress = startProgress(stats, () => retries, config.progressIntervalMs, log);
    let result;
    try {
      result = await publish(simulation, sink, plan, {
        signal: options.signal,
        stats,
        onMessage: log.enabled("debug") ? (message) => logMessage(log, message) : undefined,
        onAcknowledged: (batch, latencyMs) =>
          recordAcknowledged(metrics, config.eventMix.types, batch, latencyMs, stats),
        onFailed: (batch, error) => {
          metrics.sendErrors.inc();
          log.error("sending a batch failed", { messages: batch.count, error: describe(error) });
        },
      });
    } finally {
      progress.stop();
    }
    const { stats: final } = result;
    // Counted at the end: after a failure, batches already built are abandoned too.
    metrics.eventsFailed.inc({}, final.failed);
    const invalidByReason = malformedByReason(final);
    return {
      seed,
      sent: final.sent,
      failed: final.failed,
      sentByType: Object.fromEntries(
        config.eventMix.types.map((type, i) => [type, final.sentByType[i]]),
      ),
      invalidSent: Object.values(invalidByReason).reduce((sum, n) => sum + (n ?? 0), 0),
      invalidByReason,
      retries,
      stoppedBy: result.stoppedBy,
      ...(result.error === undefined ? {} : { error: describe(result.error) }),
      durationMs: Math.round(result.durationMs),
      eventsPerSecond: Math.round(final.sent / Math.max(result.durationMs / 1000, 0.001)),
    };
  } finally {
    await opened?.close();
  }
}

function recordAcknowledged(
  metrics: ProducerMetrics,
  types: readonly string[],
  batch: OutgoingBatch,
  latencyMs: number,
  stats: PublishStats,
): void {
  batch.typeCounts.forEach((count, i) => {
    if (count) metrics.eventsSent.inc({ event_type: types[i] }, count);
  });
  batch.malformedCounts.forEach((count, i) => {
    if (count) metrics.malformedSent.inc({ reason: REJECT_REASONS[i] }, count);
  });
  metrics.batchMessages.observe(batch.count);
  metrics.sendLatency.observe(latencyMs / 1000);
  metrics.behindSchedule.set({}, stats.behindMs / 1000);
}

function startProgress(
  stats: PublishStats,
  retries: () => number,
  intervalMs: number,
  log: Logger,
): { stop(): void } {
  let lastSent = 0;
  let lastAt = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    const rate = ((stats.sent - lastSent) * 1000) / (now - lastAt);
    lastSent = stats.sent;
    lastAt = now;
    log.info("progress", {
      sent: stats.sent,
      rate: Math.round(rate),
      retries: retries(),
      errors: stats.sendErrors,
      failed: stats.failed,
      behind_s: Math.round(stats.behindMs) / 1000,
    });
  }, intervalMs);
  return { stop: () => clearInterval(timer) };
}

function logMessage(log: Logger, message: SimulatedMessage): void {
  log.debug("event", {
    key: message.key,
    event_type: message.eventType,
    event_id: message.eventId,
    session_id: message.sessionId,
    occurred_at: new Date(message.occurredAtMs).toISOString(),
    page: message.page,
    ...(message.malformed ? { malformed: message.malformed } : {}),
  });
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
