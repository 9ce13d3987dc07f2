/**
 * The PostgreSQL edge of the consumer: the pool, the stored offsets, and
 * committing a flush plan atomically with the statement of
 * `flush_statement.ts`.
 */
import postgres from "postgres";
import type { FlushPlan } from "./flush_plan.ts";
import {
  FENCE_SQLSTATE,
  FLUSH,
  FLUSH_WRITES,
  flushParameters,
  OWNER_SQLSTATE,
  type RowsWritten,
} from "./flush_statement.ts";
import type { StoredOffset } from "./partition_placement.ts";
import { SHUTDOWN_BUDGET } from "./shutdown_budget.ts";
import { minuteBitmaps, usersOf } from "./user_bitmaps.ts";
import { type UserNumbers, userNumbers } from "./user_numbers.ts";

export type { RowsWritten };

/**
 * Milliseconds spent on a committed flush (for profiling): the whole statement, and the part of
 * it spent on each step (the fence, then each table with what only it reads: the counts' input
 * goes to `user_event_summary`, the presence rows to `active_users_minute`).
 */
export type FlushTimings =
  & {
    /** The flush statement, from sending it to its reply. */
    readonly statement: number;
    readonly offsets: number;
  }
  & { readonly [table in keyof RowsWritten]: number };

/** What committing a flush did. */
export type CommitOutcome =
  | { readonly kind: "committed"; readonly rows: RowsWritten; readonly timings: FlushTimings }
  /** The stored offsets moved on (another member, or an earlier try that did commit): nothing written. */
  | { readonly kind: "fenced"; readonly partitions: readonly number[] }
  /** Another consumer group owns the topic now (it was handed over): nothing written. */
  | { readonly kind: "not_owner"; readonly owner: string };

/** How a flush's rejections are stored besides the plan. */
export interface RejectionStorage {
  /** What became of each rejection's dead letter, in the plan's order. */
  readonly deadLetters: readonly string[];
  /** Store no key and payload bytes (they may be why the statement failed). */
  readonly withoutBytes?: boolean;
}

/** The consumer's connection pool and its queries. */
export interface Store {
  /** The pool, for maintenance work. */
  readonly sql: postgres.Sql;
  /** Stored next offsets of a group's topic, per partition, with the topic id they belong to. */
  readStoredOffsets(group: string, topic: string): Promise<Map<number, StoredOffset>>;
  /** Commits a plan in one transaction, unless its fence fails. */
  commitFlush(plan: FlushPlan, rejections: RejectionStorage): Promise<CommitOutcome>;
  /** Whether PostgreSQL answers within `timeoutMs`. */
  ping(timeoutMs?: number): Promise<boolean>;
  /** Closes the pool. */
  close(): Promise<void>;
}

/** Options of `openStore`. */
export interface StoreOptions {
  readonly applicationName?: string;
  /** Every statement on the pool is cancelled after this long (default 30 s). */
  readonly statementTimeoutMs?: number;
}

/** Opens a pool to the database at `databaseUrl` (connections are made on first use). */
export function openStore(databaseUrl: string, options: StoreOptions = {}): Store {
  const sql = postgres(databaseUrl, {
    max: 4,
    idle_timeout: 60,
    connect_timeout: 10,
    // postgres.js waits up to 20 s between reconnects by default, and every failed ping during an
    // outage raises that wait: cap it at 2 s so the consumer is back soon after PostgreSQL is.
    backoff: (retries: number) => (0.5 + Math.random() / 2) * Math.min(0.1 * 2 ** retries, 2),
    onnotice: () => {},
    connection: {
      application_name: options.applicationName ?? "activity-consumer",
      // A flush that hangs (a lock, an overloaded server) must fail and be retried, not stall
      // every partition; the statement is one transaction, so a cancelled one leaves nothing.
      statement_timeout: options.statementTimeoutMs ?? 30_000,
    },
  });
  const numbers = userNumbers(sql);
  return {
    sql,
    readStoredOffsets: (group, topic) => readStoredOffsets(sql, group, topic),
    commitFlush: (plan, rejections) => commitFlush(sql, numbers, plan, rejections),
    ping: (timeoutMs = 2_000) => ping(sql, timeoutMs),
    close: () => sql.end({ timeout: SHUTDOWN_BUDGET.poolCloseMs / 1000 }),
  };
}

async function readStoredOffsets(
  sql: postgres.Sql,
  group: string,
  topic: string,
): Promise<Map<number, StoredOffset>> {
  const rows = await sql<{ partition: number; next_offset: string; topic_id: string | null }[]>`
    SELECT partition, next_offset, topic_id FROM consumer_offsets
    WHERE consumer_group = ${group} AND topic = ${topic}`;
  return new Map(
    rows.map((row) => [row.partition, { next: BigInt(row.next_offset), topicId: row.topic_id }]),
  );
}

async function commitFlush(
  sql: postgres.Sql,
  numbers: UserNumbers,
  plan: FlushPlan,
  storage: RejectionStorage,
): Promise<CommitOutcome> {
  const numbering = performance.now();
  const users = await numbers.numbersFor(usersOf(plan.counts));
  const bitmaps = minuteBitmaps(plan.counts, users.numbers);
  const started = performance.now();
  try {
    const [row] = await sql.unsafe<Record<string, number | string>[]>(
      FLUSH,
      flushParameters(plan, { ...storage, bitmaps }) as never[],
      { prepare: true },
    );
    const rows = Object.fromEntries([
      ...FLUSH_WRITES.map(([table]) => [table, Number(row[table])]),
      ["user_numbers", users.assigned],
    ]) as unknown as RowsWritten;
    const timings: Record<string, number> = {
      statement: performance.now() - started,
      user_numbers: started - numbering,
    };
    let last = Number(row.t_start);
    for (const step of ["offsets", ...FLUSH_WRITES.map(([table]) => table)]) {
      const at = Number(row[`t_${step}`]);
      timings[step] = (at - last) * 1000;
      last = at;
    }
    return { kind: "committed", rows, timings: timings as FlushTimings };
  } catch (error) {
    const { code, detail } = error as { code?: string; detail?: string };
    if (code === OWNER_SQLSTATE) return { kind: "not_owner", owner: detail ?? "" };
    if (code !== FENCE_SQLSTATE) throw error;
    return { kind: "fenced", partitions: (detail ?? "").split(",").filter(Boolean).map(Number) };
  }
}

async function ping(sql: postgres.Sql, timeoutMs: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([sql`SELECT 1`.then(() => true, () => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
