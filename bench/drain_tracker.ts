/**
 * Reading a topic to its end, counted: how many messages arrived, the last
 * offset seen per partition, and when reading began and ended. The topic is
 * drained when every partition has reached its end offset; the count then
 * says whether exactly the messages written were read (a redelivery shows as
 * a count above the total). Pure: the caller passes the clock's readings.
 */

/** The outcome of reading a topic to its end. */
export interface DrainResult {
  /** Messages delivered to the handler. */
  readonly count: number;
  /** Messages the end offsets say the topic holds. */
  readonly expected: number;
  /** From asking the client to consume to the first message (group join, first fetch). */
  readonly firstMessageMs: number;
  /** From the first message to the one that reached the last end offset. */
  readonly readMs: number;
  /** From asking the client to consume to the message that reached the last end offset. */
  readonly totalMs: number;
  /** Partitions whose last offset seen is not their end offset − 1 (empty when drained). */
  readonly partitionsShort: readonly number[];
}

/** Counts what a consumer delivers until every partition reached its end offset. */
export class DrainTracker {
  /** Messages counted so far. */
  count = 0;
  readonly expected: number;
  readonly #ends: ReadonlyMap<number, bigint>;
  readonly #last = new Map<number, bigint>();
  readonly #startedAt: number;
  #firstAt = NaN;
  #doneAt = NaN;

  /** Tracks a topic whose partitions end at `ends` (offset after the last message), from `startedAt`. */
  constructor(ends: ReadonlyMap<number, bigint>, startedAt: number) {
    this.#ends = ends;
    this.#startedAt = startedAt;
    let total = 0n;
    for (const end of ends.values()) total += end;
    this.expected = Number(total);
    if (this.expected === 0) this.#doneAt = startedAt;
  }

  /** Whether every partition reached its end offset. */
  get done(): boolean {
    return !Number.isNaN(this.#doneAt);
  }

  /**
   * Records `count` messages of `partition`, the last at `lastOffset`; says
   * whether the topic is drained. Cheap enough to call per message: `now` is
   * read only for the first message and once the count could be complete.
   */
  add(partition: number, lastOffset: bigint, count: number, now: () => number): boolean {
    if (count <= 0) return this.done;
    if (this.count === 0) this.#firstAt = now();
    this.count += count;
    this.#last.set(partition, lastOffset);
    if (!this.done && this.count >= this.expected && this.partitionsShort().length === 0) {
      this.#doneAt = now();
    }
    return this.done;
  }

  /** Partitions not yet read to their end. */
  partitionsShort(): number[] {
    const short: number[] = [];
    for (const [partition, end] of this.#ends) {
      if (end > 0n && (this.#last.get(partition) ?? -1n) + 1n < end) short.push(partition);
    }
    return short;
  }

  /** The figures so far (final once `done`). */
  result(): DrainResult {
    const endAt = this.done ? this.#doneAt : NaN;
    return {
      count: this.count,
      expected: this.expected,
      firstMessageMs: this.#firstAt - this.#startedAt,
      readMs: endAt - this.#firstAt,
      totalMs: endAt - this.#startedAt,
      partitionsShort: this.partitionsShort(),
    };
  }
}

/** The clock the readers pass to `DrainTracker.add`. */
export function monotonicNow(): number {
  return performance.now();
}

/** Reading stopped making progress before the topic was drained. */
export class DrainStalledError extends Error {
  /** Creates the error with what was read and what was missing. */
  constructor(tracker: DrainTracker, stallMs: number) {
    super(
      `Cannot read the topic to its end: no message for ${stallMs} ms after ${tracker.count} of ` +
        `${tracker.expected} messages; partitions short of their end: ${
          tracker.partitionsShort().join(",") || "none"
        }`,
    );
    this.name = "DrainStalledError";
  }
}

/**
 * Resolves when `tracker` is done; rejects with `DrainStalledError` when its
 * count did not move for `stallMs`, or with the first error `failed` reports.
 */
export function whenDrained(
  tracker: DrainTracker,
  options: { stallMs: number; pollMs?: number; failed?: Promise<never> },
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let lastCount = tracker.count;
    let lastMoveAt = performance.now();
    const finish = (error?: unknown) => {
      clearInterval(timer);
      if (error === undefined) resolve();
      else reject(error);
    };
    const timer = setInterval(() => {
      if (tracker.done) return finish();
      const now = performance.now();
      if (tracker.count !== lastCount) {
        lastCount = tracker.count;
        lastMoveAt = now;
      } else if (now - lastMoveAt >= options.stallMs) {
        finish(new DrainStalledError(tracker, options.stallMs));
      }
    }, options.pollMs ?? 5);
    options.failed?.catch(finish);
  });
}
