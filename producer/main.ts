/**
 * `deno task producer`: simulates user activity and publishes it to Kafka.
 * Exit codes: 0 done (count, duration or SIGINT/SIGTERM), 1 events not
 * delivered or Kafka unreachable, 2 bad settings.
 */
import { MetricsRegistry } from "@activity/shared";
import {
  loadConfigOrExit,
  processLogger,
  serveHealth,
  shutdownSignal,
} from "@activity/shared/runtime";
import { producerProgram, runProducer } from "./mod.ts";

if (import.meta.main) {
  Deno.exit(await main());
}

async function main(): Promise<number> {
  const config = loadConfigOrExit(producerProgram);
  const log = processLogger("producer", config.logLevel);
  const metrics = new MetricsRegistry();
  const server = serveHealth(config.metricsPort, { metrics }, { log });
  const stop = new AbortController();
  const shutdown = shutdownSignal();
  shutdown.promise.then((signal) => {
    log.info("stopping: flushing what is pending", { signal });
    stop.abort();
    // A second signal means "now": leave without waiting for Kafka.
    const again = shutdownSignal();
    again.promise.then((second) => {
      log.warn("stopping at once; messages in flight may or may not have been delivered", {
        signal: second,
      });
      Deno.exit(130);
    });
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
