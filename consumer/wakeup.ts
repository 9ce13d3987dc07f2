/** A timed wait that can be cut short, for loops that sleep until there is work. */
import type { Clock } from "@activity/shared";

/** Wakes sleepers early: `wait` resolves on `notify` or after `ms`, whichever comes first. */
export interface Wakeup {
  wait(ms: number): Promise<void>;
  notify(): void;
}

/** Creates a wakeup with no sleepers, timed by `clock`. */
export function createWakeup(clock: Clock): Wakeup {
  let waiters: AbortController[] = [];
  return {
    async wait(ms: number): Promise<void> {
      const waiter = new AbortController();
      waiters.push(waiter);
      await clock.sleep(ms, waiter.signal);
      waiters = waiters.filter((other) => other !== waiter);
    },
    notify(): void {
      const woken = waiters;
      waiters = [];
      woken.forEach((waiter) => waiter.abort());
    },
  };
}
