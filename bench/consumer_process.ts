/**
 * The consumer CLI as the benchmark runs it: its own process on a topic and a
 * database of the phase's own, and progress read where the consumer keeps
 * it, in PostgreSQL's committed offsets.
 */
import type postgres from "postgres";
import { sleep } from "@activity/shared";
import { type ProgramProcess, startProgram } from "./program_process.ts";

/** The consumer's metrics port during the benchmark (one consumer runs at a time). */
export const CONSUMER_METRICS_PORT = 19465;

/** Starts the consumer CLI (flags of `deno task consumer`) on `topic`, writing to `databaseUrl`. */
export function startConsumer(
  options: { brokers: readonly string[]; topic: string; databaseUrl: string },
): ProgramProcess {
  return startProgram("consumer", {
    args: [
      `--brokers=${options.brokers.join(",")}`,
      `--topic=${options.topic}`,
      `--group=bench-${options.topic}`,
      `--database-url=${options.databaseUrl}`,
      `--metrics-port=${CONSUMER_METRICS_PORT}`,
      `--dlq-topic=${options.topic}.dlq`,
    ],
    metricsPort: CONSUMER_METRICS_PORT,
  });
}

/** The sum of the offsets PostgreSQL holds as committed for `topic` (fresh topics start at 0). */
export async function committedOffsets(sql: postgres.Sql, topic: string): Promise<number> {
  const [{ total }] = await sql<{ total: string }[]>`
    SELECT coalesce(sum(next_offset), 0)::text AS total FROM consumer_offsets WHERE topic = ${topic}`;
  return Number(total);
}

/** When the committed offsets first moved and when they reached the target. */
export interface CommitProgress {
  readonly committed: number;
  /** `performance.now()` of the first poll that saw a commit (NaN if none). */
  readonly firstCommitAt: number;
  /** Events that first poll saw committed (0 if none). */
  readonly committedAtFirst: number;
  /** `performance.now()` of the poll that saw `events` committed (NaN if it never did). */
  readonly doneAt: number;
}

/**
 * Polls the committed offsets every 50 ms until they hold `events`, the
 * consumer exits, or `timeoutMs` passes (then `doneAt` is NaN).
 */
export async function waitCommitted(
  sql: postgres.Sql,
  options: { topic: string; events: number; timeoutMs: number; consumer: ProgramProcess },
): Promise<CommitProgress> {
  const deadline = performance.now() + options.timeoutMs;
  let exited = false;
  options.consumer.exited.then(() => exited = true);
  let committed = 0;
  let firstCommitAt = NaN;
  let committedAtFirst = 0;
  while (performance.now() < deadline && !exited) {
    committed = await committedOffsets(sql, options.topic).catch(() => committed);
    const now = performance.now();
    if (committed > 0 && Number.isNaN(firstCommitAt)) {
      firstCommitAt = now;
      committedAtFirst = committed;
    }
    if (committed >= options.events) {
      return { committed, firstCommitAt, committedAtFirst, doneAt: now };
    }
    await sleep(50);
  }
  return { committed, firstCommitAt, committedAtFirst, doneAt: NaN };
}

/** Why the consumer did not commit everything: a timeout or its exit, with its last lines. */
export function describeShortfall(
  consumer: ProgramProcess,
  progress: CommitProgress,
  options: { events: number; timeoutMs: number },
): string {
  return `the consumer committed ${progress.committed} of ${options.events} events within ${
    options.timeoutMs / 1000
  } s; its last lines:\n${consumer.lines().slice(-10).join("\n")}`;
}

/** Waits until the consumer's `/readyz` answers OK. */
export async function waitReady(timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const ok = await fetch(`http://127.0.0.1:${CONSUMER_METRICS_PORT}/readyz`).then(
      async (response) => {
        await response.body?.cancel();
        return response.ok;
      },
    ).catch(() => false);
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`the consumer was not ready within ${timeoutMs} ms`);
}
