/**
 * Runs the consumer for tests: in-process (`startTestConsumer`) or as the
 * real CLI in a subprocess (`spawnConsumerProcess`), configured through the
 * same settings definition users have.
 */
import { fileURLToPath } from "node:url";
import { cliArgs } from "./command_output.ts";
import { createLogger, type Logger, readConfig } from "@activity/shared";
import {
  type ConsumerConfig,
  consumerProgram,
  type PipelineSummary,
  runConsumer,
  type RunOptions,
} from "../consumer/mod.ts";

/** Test settings: flags as a user would type them, on top of quick test defaults. */
export function testConsumerConfig(
  flags: Readonly<Record<string, string | number>>,
): ConsumerConfig {
  const all: Record<string, string | number> = {
    "metrics-port": 0,
    "session-timeout-ms": 6_000,
    "flush-interval-ms": 100,
    ...flags,
  };
  const outcome = readConfig(consumerProgram, { args: cliArgs(all), env: {} });
  if (outcome.kind !== "config") throw new Error(`bad test config: ${JSON.stringify(outcome)}`);
  return outcome.config;
}

/** A logger for test consumers: warnings and errors on stderr, tagged with `name`. */
export function testLogger(name: string): Logger {
  return createLogger({
    level: "warn",
    format: "pretty",
    name,
    write: (line) => console.error(line),
  });
}

/** An in-process consumer. */
export interface TestConsumer {
  /** Aborts it and waits until it has flushed, committed and left the group. */
  stop(): Promise<PipelineSummary>;
  /** Settles when it ends by itself (only on failure). */
  readonly done: Promise<PipelineSummary>;
}

/** Starts `runConsumer` in this process. */
export function startTestConsumer(
  config: ConsumerConfig,
  name = "consumer",
  options: Omit<RunOptions, "log" | "signal"> = {},
): TestConsumer {
  const controller = new AbortController();
  const done = runConsumer(config, {
    ...options,
    log: testLogger(name),
    signal: controller.signal,
  });
  return {
    stop() {
      controller.abort();
      return done;
    },
    done,
  };
}

/** The consumer CLI running in a subprocess. */
export interface ConsumerProcess extends AsyncDisposable {
  readonly child: Deno.ChildProcess;
  /** Exit status and everything the process wrote on stderr. */
  readonly finished: Promise<{ code: number; signal: Deno.Signal | null; stderr: string }>;
  kill(signal: Deno.Signal): void;
}

const MAIN = new URL("../consumer/main.ts", import.meta.url);

/** Starts `consumer/main.ts` with the permissions of `deno task consumer` and the given flags. */
export function spawnConsumerProcess(
  flags: Readonly<Record<string, string | number>>,
): ConsumerProcess {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...CONSUMER_PERMISSIONS, fileURLToPath(MAIN), ...cliArgs(flags)],
    env: { LOG_FORMAT: "json" },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const finished = Promise.all([child.status, stderr]).then(([status, text]) => ({
    code: status.code,
    signal: status.signal,
    stderr: text,
  }));
  let exited = false;
  finished.then(() => exited = true);
  return {
    child,
    finished,
    kill(signal) {
      if (!exited) child.kill(signal);
    },
    async [Symbol.asyncDispose]() {
      if (!exited) child.kill("SIGKILL");
      await finished;
    },
  };
}

/** The runtime flags and permissions of `deno task consumer` (kept in step with deno.json). */
export const CONSUMER_PERMISSIONS: readonly string[] = [
  "--v8-flags=--max-old-space-size=512,--max-semi-space-size=16",
  "--allow-net",
  `--allow-read=${fileURLToPath(new URL("../sql/", import.meta.url))}`,
  "--allow-env=KAFKA*,PG*,NODE_ENV,CONSUMER_*,DATABASE_URL,RETENTION_DAYS,ROLLUP_RETENTION_DAYS," +
  "FUTURE_TOLERANCE_S,EVENT_TYPES,LOG_LEVEL,LOG_FORMAT",
];
