/**
 * `deno task producer`: simulates user activity and publishes it to Kafka.
 * Exit codes: 0 done (count, duration or SIGINT/SIGTERM), 1 events not
 * delivered or Kafka unreachable, 2 bad settings (or a busy metrics port).
 */
import { MetricsRegistry } from "@activity/shared";
import {
  EXIT_USAGE,
  HealthServerError,
  loadConfigOrExit,
  processLogger,
  serveHealth,
  shutdownSignals,
} from "@activity/shared/runtime";
import { producerProgram, runProducer } from "./mod.ts";

if (import.meta.main) {
  Deno.exit(await main());
}

async function main(): Promise<number> {
  const config = loadConfigOrExit(producerProgram);
  const log = processLogger("producer", config.logLevel);
  const metrics = new MetricsRegistry();
  let server: Deno.HttpServer | undefined;
  try {
    server = serveHealth(config.metricsPort, { metrics }, {
      log,
      portSetting: "--metrics-port (PRODUCER_METRICS_PORT)",
    });
  } catch (error) {
    if (!(error instanceof HealthServerError)) throw error;
    log.error(error.message);
    return EXIT_USAGE;
  }
  const stop = new AbortController();
  const shutdown = shutdownSignals();
  shutdown.first.then((signal) => {
    log.info("stopping: flushing what is pending", { signal });
    stop.abort();
  });
  // A second signal means "now": leave without waiting for Kafka.
  shutdown.second.then((signal) => {
    log.warn("stopping at once; messages in flight may or may not have been delivered", {
      signal,
    });
    Deno.exit(130);
  });
  try {
    const summary = await runProducer(config, { log, metrics, signal: stop.signal });
    log.info("summary", { ...summary });
    if (summary.failed > 0) {
      log.error(`${summary.failed} events were not delivered`, { error: summary.error });
      return 1;
    }
    return 0;
  } catch (error) {
    log.error("the producer failed", { error });
    return 1;
  } finally {
    shutdown.dispose();
    await server?.shutdown();
  }
}
