/** `runConsumer`: migrations, the topic's ownership, then Kafka → pipeline → PostgreSQL until the signal aborts. */
import { type Clock, type Logger, MetricsRegistry, systemClock } from "@activity/shared";
import { serveHealth } from "@activity/shared/runtime";
import type { ConsumerConfig } from "./config.ts";
import { startKafkaSource } from "./kafka_source.ts";
import {
  describeFetchSpeedups,
  FETCH_SPEEDUP_NAMES,
  importKafkaAfterSpeedups,
  installKafkaJsFetchSpeedups,
} from "./kafkajs_fetch_speedups.ts";
import { closeRollups } from "./closed_rollups.ts";
import { deleteExpired, retentionTargets, sampleStorage } from "./maintenance.ts";
import { registerConsumerMetrics, startProgress } from "./metrics.ts";
import { migrate, MigrationError } from "./migrations.ts";
import { createPipeline, type PipelineSummary } from "./pipeline.ts";
import { emptySummary } from "./pipeline_state.ts";
import { classifyDatabaseError, retryWithBackoff, WAITING_LOG_INTERVAL_MS } from "./retry.ts";
import { SHUTDOWN_BUDGET } from "./shutdown_budget.ts";
import { openStore, type Store } from "./store.ts";
import { claimTopic } from "./topic_owner.ts";

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
  /** The clock everything waits on (default: the real one). */
  readonly clock?: Clock;
}

/** How often "still waiting" lines are written while a service is unreachable. */

/** Consumes until `options.signal` aborts; rejects on a fatal error or a refused start. */
export async function runConsumer(
  config: ConsumerConfig,
  options: RunOptions,
): Promise<PipelineSummary> {
  const { log, signal } = options;
  const clock = options.clock ?? systemClock;
  const registry = options.metrics ?? new MetricsRegistry();
  const metrics = registerConsumerMetrics(registry);
  // KafkaJS loads (speedups first) while the migrations wait on PostgreSQL, not after them;
  // startKafkaSource awaits the same load, and reports its failure.
  importKafkaAfterSpeedups(log).catch(() => {});
  if (!await migrateWhenReachable(config.databaseUrl, { log, signal, clock })) {
    return emptySummary();
  }
  const store = openStore(config.databaseUrl, { statementTimeoutMs: config.flushTimeoutMs });
  let server: Deno.HttpServer | undefined;
  const maintenance = new AbortController();
  let stopProgress = () => {};
  try {
    const claim = await claimTopic(store.sql, config);
    if (claim.kind === "taken_over") {
      log.warn("took the topic over from another consumer group", {
        topic: config.topic,
        from_group: claim.from,
        group: config.group,
        moved_offsets: claim.movedOffsets,
      });
    }
    const pipeline = createPipeline(config, { store, metrics, log, clock });
    const ready = async () => pipeline.readiness(await store.ping(1_000));
    server = serveHealth(config.metricsPort, { metrics: registry, ready }, {
      log,
      portSetting: "--metrics-port (CONSUMER_METRICS_PORT)",
    });
    stopProgress = startProgress(metrics, {
      log,
      intervalMs: options.progressIntervalMs,
      lag: () => pipeline.lag(),
      judgeReadiness: ready,
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
        closeCommitWaitMs: SHUTDOWN_BUDGET.groupOffsetCommitMs,
        closeDisconnectWaitMs: SHUTDOWN_BUDGET.kafkaDisconnectMs,
        log,
        clock,
        signal,
      }, pipeline.handlers);
      if (!source) return emptySummary();
      // Installed by the source before it loaded KafkaJS; this only reads what became of them.
      const speedups = await installKafkaJsFetchSpeedups();
      for (const name of FETCH_SPEEDUP_NAMES) {
        metrics.kafkaJsSpeedups.set({ speedup: name }, speedups.installed[name] ? 1 : 0);
      }
      log.info("consuming", {
        topic: config.topic,
        group: config.group,
        kafkajs_speedups: describeFetchSpeedups(speedups),
      });
      const upkeep = runMaintenance(store, config, {
        log,
        clock,
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
    }
  } finally {
    maintenance.abort();
    stopProgress();
    if (server) await closeHealthServer(server, { log, clock });
    await store.close();
  }
}

/**
 * Closes the health server within its part of the stop budget: a graceful shutdown waits for
 * every request in flight, and a client can hold one open (a body that never comes) for ever.
 */
async function closeHealthServer(
  server: Deno.HttpServer,
  options: { log: Logger; clock: Clock },
): Promise<void> {
  const ms = SHUTDOWN_BUDGET.healthServerCloseMs;
  const waited = new AbortController();
  const closed = await Promise.race([
    server.shutdown().then(() => true),
    options.clock.sleep(ms, waited.signal).then(() => false),
  ]);
  waited.abort();
  if (!closed) {
    options.log.warn(
      `the health server did not close within ${ms} ms (a client holds a request open?); ` +
        "stopping without waiting for it",
    );
  }
}

/** The URL with its password hidden, for logs. */
function redactedUrl(url: string): string {
  return url.replace(/^(\w+:\/\/[^:/@]*:)[^@]*@/, "$1***@");
}

/** Applies the migrations once PostgreSQL answers; false when aborted first. */
async function migrateWhenReachable(
  databaseUrl: string,
  options: { log: Logger; signal?: AbortSignal; clock: Clock },
): Promise<boolean> {
  const { log, signal, clock } = options;
  const where = redactedUrl(databaseUrl);
  log.info("connecting to PostgreSQL", { database: where });
  let lastLogMs = -Infinity;
  const done = await retryWithBackoff(() => abortable(migrate(databaseUrl, { log }), signal), {
    clock,
    signal,
    capMs: WAITING_LOG_INTERVAL_MS,
    retryable: (error) => {
      const cause = error instanceof MigrationError ? error.cause : error;
      return cause !== undefined && classifyDatabaseError(cause).kind !== "permanent";
    },
    onRetry: (error, { attempt, delayMs }) => {
      if (clock.now() - lastLogMs < WAITING_LOG_INTERVAL_MS) return;
      lastLogMs = clock.now();
      log.warn("PostgreSQL is not reachable yet; still trying", {
        database: where,
        attempt,
        retry_in_ms: delayMs,
        error: error as Error,
      });
    },
  });
  return done !== undefined;
}

/** Settles with `promise`, or rejects as soon as `signal` aborts (the work itself goes on). */
function abortable<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return promise;
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new DOMException("stopped", "AbortError"));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

async function runMaintenance(
  store: Store,
  config: ConsumerConfig,
  options: { log: Logger; clock: Clock; signal: AbortSignal; intervalMs: number },
): Promise<void> {
  const { clock, signal, log } = options;
  const targets = retentionTargets(config);
  await clock.sleep(Math.min(5_000, options.intervalMs), signal);
  while (!signal.aborted) {
    try {
      const closed = await closeRollups(store.sql, clock.now());
      if (closed.hourRows + closed.dayRows > 0) {
        log.info("rolled up closed hours and days", {
          hour_rows: closed.hourRows,
          day_rows: closed.dayRows,
          closed_before: closed.hoursClosedBefore,
        });
      }
      const deleted = await deleteExpired(store.sql, targets, { nowMs: clock.now(), signal });
      const total = [...deleted.values()].reduce((sum, n) => sum + n, 0);
      if (total > 0) log.info("retention deleted old rows", Object.fromEntries(deleted));
      await sampleStorage(store.sql);
    } catch (error) {
      log.warn("rollups, retention or storage sampling failed; will try again", { error });
    }
    await clock.sleep(options.intervalMs, signal);
  }
}
