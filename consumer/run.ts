/** `runConsumer`: migrations, then Kafka → pipeline → PostgreSQL until the signal aborts. */
import { type Logger, MetricsRegistry, serveHealth, sleep } from "@activity/shared";
import type { ConsumerConfig } from "./config.ts";
import { startKafkaSource } from "./kafka_source.ts";
import { deleteExpired, retentionTargets, sampleStorage } from "./maintenance.ts";
import { registerConsumerMetrics, startProgress } from "./metrics.ts";
import { migrate, MigrationError } from "./migrations.ts";
import { createPipeline, type PipelineSummary } from "./pipeline.ts";
import { backoffDelayMs, isConnectionError } from "./retry.ts";
import { openStore, type Store } from "./store.ts";

/** How `runConsumer` reports and when it stops. */
export interface RunOptions {
  readonly log: Logger;
  /** Where metrics are registered (a new registry when absent). */
  readonly metrics?: MetricsRegistry;
  /** Aborting stops fetching, flushes, commits, leaves the group and resolves. */
  readonly signal?: AbortSignal;
  /** How often the progress line is written (default 5 s). */
  readonly progressIntervalMs?: number;
  /** How often retention and storage sampling run (default 60 s). */
  readonly maintenanceIntervalMs?: number;
}

/** Consumes until `options.signal` aborts; rejects only on a fatal error. */
export async function runConsumer(
  config: ConsumerConfig,
  options: RunOptions,
): Promise<PipelineSummary> {
  const { log, signal } = options;
  const registry = options.metrics ?? new MetricsRegistry();
  const metrics = registerConsumerMetrics(registry);
  await migrateWhenReachable(config.databaseUrl, { log, signal });
  const store = openStore(config.databaseUrl);
  const pipeline = createPipeline(config, { store, metrics, log });
  const server = serveHealth(config.metricsPort, {
    metrics: registry,
    ready: async () => pipeline.assigned().size > 0 && await store.ping(1_000),
  }, { log });
  const maintenance = new AbortController();
  const stopProgress = startProgress(metrics, {
    log,
    intervalMs: options.progressIntervalMs,
    lag: () => pipeline.lag(),
  });
  const onAbort = () => pipeline.stop();
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    if (signal?.aborted) return emptySummary();
    const source = await startKafkaSource({
      brokers: config.brokers,
      topic: config.topic,
      group: config.group,
      dlqTopic: config.dlqTopic,
      replication: {
        replicationFactor: config.replicationFactor,
        minInsyncReplicas: config.minInsyncReplicas,
      },
      sessionTimeoutMs: config.sessionTimeoutMs,
      log,
      signal,
    }, pipeline.handlers);
    if (!source) return emptySummary();
    log.info("consuming", { topic: config.topic, group: config.group });
    const upkeep = runMaintenance(store, config, {
      log,
      signal: maintenance.signal,
      intervalMs: options.maintenanceIntervalMs ?? 60_000,
    });
    let summary: PipelineSummary;
    try {
      summary = await pipeline.run(source);
    } finally {
      maintenance.abort();
      await upkeep;
      await source.close();
    }
    const fatal = pipeline.fatal();
    if (fatal) throw fatal;
    log.info("stopped consuming", { ...summary });
    return summary;
  } finally {
    signal?.removeEventListener("abort", onAbort);
    maintenance.abort();
    stopProgress();
    await server?.shutdown();
    await store.close();
  }
}

function emptySummary(): PipelineSummary {
  return { committedEvents: 0, flushes: 0, fenceMisses: 0, abandonedEvents: 0 };
}

async function migrateWhenReachable(
  databaseUrl: string,
  options: { log: Logger; signal?: AbortSignal },
): Promise<void> {
  for (let attempt = 1;; attempt++) {
    try {
      await migrate(databaseUrl, { log: options.log });
      return;
    } catch (error) {
      if (options.signal?.aborted) return;
      const cause = error instanceof MigrationError ? error.cause : error;
      if (!isConnectionError(cause)) throw error;
      const delay = backoffDelayMs(attempt);
      options.log.warn("PostgreSQL is not reachable yet; retrying", {
        attempt,
        retry_in_ms: delay,
        error: error as Error,
      });
      await sleep(delay, options.signal);
    }
  }
}

async function runMaintenance(
  store: Store,
  config: ConsumerConfig,
  options: { log: Logger; signal: AbortSignal; intervalMs: number },
): Promise<void> {
  const targets = retentionTargets(config);
  await sleep(Math.min(5_000, options.intervalMs), options.signal);
  while (!options.signal.aborted) {
    try {
      const deleted = await deleteExpired(store.sql, targets, { signal: options.signal });
      const total = [...deleted.values()].reduce((sum, n) => sum + n, 0);
      if (total > 0) options.log.info("retention deleted old rows", Object.fromEntries(deleted));
      await sampleStorage(store.sql);
    } catch (error) {
      options.log.warn("retention or storage sampling failed; will try again", { error });
    }
    await sleep(options.intervalMs, options.signal);
  }
}
