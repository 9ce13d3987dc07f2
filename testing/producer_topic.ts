/**
 * Test helpers for the producer's end-to-end tests: run the real CLI as
 * `deno task producer` runs it, and read a topic back completely.
 */
import { fileURLToPath } from "node:url";
import { readTopicBack } from "./fault_topic.ts";
import { killQuietly, type RunningProgram } from "./command_output.ts";

/** A message as read back from Kafka, its key as text. */
export interface ReadMessage {
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  readonly value: Uint8Array | null;
}

/** Reads every message up to the current end of `topic` (all partitions). */
export async function readTopic(
  brokers: readonly string[],
  topic: string,
  options: { timeoutMs?: number } = {},
): Promise<ReadMessage[]> {
  const decoder = new TextDecoder();
  const messages = await readTopicBack(brokers, topic, { timeoutMs: 30_000, ...options });
  return messages.map((message) => ({
    partition: message.partition,
    offset: String(message.offset),
    key: message.key === null ? null : decoder.decode(message.key),
    value: message.value,
  }));
}

/** What a finished CLI run produced. */
export interface CliRun {
  readonly code: number;
  /** stderr lines that are JSON log lines, parsed. */
  readonly logs: Record<string, unknown>[];
  readonly stderr: string;
}

/** The `deno run` arguments of `deno task producer` (its permissions included), from deno.json. */
export function producerTaskArgs(): string[] {
  const config = JSON.parse(
    Deno.readTextFileSync(new URL("../deno.json", import.meta.url)),
  ) as { tasks: Record<string, string> };
  const [deno, ...args] = config.tasks.producer.split(/\s+/);
  if (deno !== "deno" || args[0] !== "run") {
    throw new Error(`unexpected producer task: ${config.tasks.producer}`);
  }
  const root = fileURLToPath(new URL("..", import.meta.url));
  // Paths in the task are relative to the root, where `deno task` runs.
  return args.map((arg) =>
    arg.endsWith("main.ts") ? root + arg : arg.replace(/^--lock=(?!\/)/, `--lock=${root}`)
  );
}

/** Starts the producer CLI with `args`; JSON logs on stderr. */
export function spawnProducer(args: readonly string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: [...producerTaskArgs(), ...args],
    env: { LOG_FORMAT: "json", NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Collects a child's output and exit code. */
export async function finish(child: Deno.ChildProcess): Promise<CliRun> {
  const { code, stderr } = await child.output();
  const text = new TextDecoder().decode(stderr);
  const logs = text.split("\n").filter((line) => line.startsWith("{")).map((line) =>
    JSON.parse(line)
  );
  return { code, logs, stderr: text };
}

/** Starts the producer CLI with `args` in the background (bound its end with `exitWithin`). */
export function startProducerCli(args: readonly string[]): RunningProgram<CliRun> {
  const child = spawnProducer(args);
  return { finished: finish(child), kill: (signal) => killQuietly(child, signal) };
}

/** Runs the producer CLI with `args` to the end. */
export function runProducerCli(args: readonly string[]): Promise<CliRun> {
  return startProducerCli(args).finished;
}

/** The final summary line of a run. */
export function summaryOf(run: CliRun): Record<string, unknown> {
  const summary = run.logs.find((line) => line.msg === "summary");
  if (!summary) throw new Error(`no summary (exit ${run.code}):\n${run.stderr}`);
  return summary;
}

/** A producer CLI started in the background, its stderr read line by line. */
export interface WatchedProducer {
  /** Resolves with the first JSON log line that satisfies `predicate`. */
  waitFor(
    predicate: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** Sends `signal` and waits for the end of the run. */
  stop(signal: Deno.Signal): Promise<CliRun>;
}

/** Starts the producer CLI and watches its log lines as they come. */
export function watchProducer(args: readonly string[]): WatchedProducer {
  const child = spawnProducer(args);
  const logs: Record<string, unknown>[] = [];
  let text = "";
  const waiters: {
    predicate: (line: Record<string, unknown>) => boolean;
    resolve: (line: Record<string, unknown>) => void;
  }[] = [];
  const stdout = child.stdout.cancel();
  const reading = (async () => {
    let rest = "";
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      text += chunk;
      const parts = (rest + chunk).split("\n");
      rest = parts.pop() ?? "";
      for (const line of parts.filter((part) => part.startsWith("{"))) {
        const parsed = JSON.parse(line);
        logs.push(parsed);
        for (const waiter of waiters.filter((w) => w.predicate(parsed))) waiter.resolve(parsed);
      }
    }
  })();
  return {
    waitFor(predicate, timeoutMs = 30_000) {
      const found = logs.find(predicate);
      if (found) return Promise.resolve(found);
      const { promise, resolve, reject } = Promise.withResolvers<Record<string, unknown>>();
      waiters.push({ predicate, resolve });
      const timer = setTimeout(
        () => reject(new Error(`no such log line in ${timeoutMs} ms:\n${text}`)),
        timeoutMs,
      );
      return promise.finally(() => clearTimeout(timer));
    },
    async stop(signal) {
      try {
        child.kill(signal);
      } catch {
        // Already exited.
      }
      const { code } = await child.status;
      await reading;
      await stdout;
      return { code, logs, stderr: text };
    },
  };
}
