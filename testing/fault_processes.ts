/**
 * Watching the real programs from outside during fault tests: free ports for
 * their metrics endpoints, their Prometheus figures and health answers, and
 * their JSON log lines.
 */
import type { ConsumerProcess } from "./consumer_fixture.ts";
import type { CliRun, WatchedProducer } from "./producer_topic.ts";

/** A TCP port that was free a moment ago (for a child's metrics endpoint). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** GETs `path` on 127.0.0.1:`port`: status and body, or undefined when nothing answers. */
export async function httpGet(
  port: number,
  path: string,
  options: { timeoutMs?: number } = {},
): Promise<{ status: number; body: string } | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, {
      signal: AbortSignal.timeout(options.timeoutMs ?? 3_000),
    });
    return { status: response.status, body: await response.text() };
  } catch {
    return undefined;
  }
}

/** The Prometheus text of a program's `/metrics`, or undefined when it does not answer. */
export async function scrapeMetrics(port: number): Promise<string | undefined> {
  const answer = await httpGet(port, "/metrics");
  return answer?.status === 200 ? answer.body : undefined;
}

/** The sum of the samples of metric `name` whose labels include `labels` (Prometheus text). */
export { readValue as metricSum } from "../bench/prometheus.ts";

/** The JSON log lines in a program's stderr. */
export function logLines(stderr: string): Record<string, unknown>[] {
  return stderr.split("\n").filter((line) => line.startsWith("{")).flatMap((line) => {
    try {
      return [JSON.parse(line)];
    } catch {
      return [];
    }
  });
}

/** Waits for a watched producer that is ending by itself (SIGCONT: a signal that changes nothing). */
export function runToEnd(producer: WatchedProducer): Promise<CliRun> {
  return producer.stop("SIGCONT");
}

/** Consumer flags for fault tests: quick rebalances, small flushes, a metrics port of its own. */
export function faultConsumerFlags(
  flags: Readonly<Record<string, string | number>>,
): Record<string, string | number> {
  return {
    "session-timeout-ms": 6_000,
    "flush-events": 2_000,
    "flush-interval-ms": 100,
    "max-buffer-events": 4_000,
    "log-level": "warn",
    "metrics-port": 0,
    ...flags,
  };
}

/**
 * Awaits `step`; when it fails, kills the consumer and adds the end of its log to the error,
 * so a timeout says what the consumer was doing.
 */
export async function explained<T>(consumer: ConsumerProcess, step: Promise<T>): Promise<T> {
  try {
    return await step;
  } catch (error) {
    consumer.kill("SIGKILL");
    const { stderr } = await consumer.finished;
    throw new Error(`${(error as Error).message}\nconsumer log (end):\n${stderr.slice(-4_000)}`, {
      cause: error,
    });
  }
}
