/**
 * A clock for unit tests: time moves only when the test advances it, and
 * every wait due by then resolves in order (with the promises it unblocks
 * settled in between), so timing logic is tested without sleeping.
 */
import type { Clock } from "@activity/shared";

interface Sleeper {
  readonly at: number;
  readonly order: number;
  readonly wake: () => void;
}

/** A `Clock` whose time only `advance` moves. */
export class VirtualClock implements Clock {
  #now: number;
  #order = 0;
  #sleepers: Sleeper[] = [];

  /** Starts at `startMs` (epoch milliseconds). */
  constructor(startMs = Date.UTC(2026, 0, 1)) {
    this.#now = startMs;
  }

  /** The virtual time. */
  now(): number {
    return this.#now;
  }

  /** Resolves once the virtual time reaches now + `ms`, or when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const sleeper: Sleeper = {
        at: this.#now + ms,
        order: this.#order++,
        wake: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.#sleepers = this.#sleepers.filter((other) => other !== sleeper);
        resolve();
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#sleepers.push(sleeper);
    });
  }

  /** Moves time forward by `ms`, waking every sleeper due on the way, in time order. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    await settle();
    while (true) {
      const next = this.#sleepers
        .filter((sleeper) => sleeper.at <= target)
        .sort((a, b) => a.at - b.at || a.order - b.order)[0];
      if (!next) break;
      this.#sleepers = this.#sleepers.filter((sleeper) => sleeper !== next);
      this.#now = Math.max(this.#now, next.at);
      next.wake();
      await settle();
    }
    this.#now = target;
    await settle();
  }
}

/** Lets every promise chain that can move without timers move. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => queueMicrotask(resolve));
  await new Promise<void>((resolve) => setTimeout(resolve, 0));
  for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => queueMicrotask(resolve));
}
