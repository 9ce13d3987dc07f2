/** A timed wait that can be cut short, for loops that sleep until there is work. */

/** Wakes sleepers early: `wait` resolves on `notify` or after `ms`, whichever comes first. */
export interface Wakeup {
  wait(ms: number): Promise<void>;
  notify(): void;
}

/** Creates a wakeup with no sleepers. */
export function createWakeup(): Wakeup {
  let waiters: (() => void)[] = [];
  return {
    wait(ms: number): Promise<void> {
      return new Promise((resolve) => {
        const done = () => {
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters = waiters.filter((waiter) => waiter !== done);
          resolve();
        }, ms);
        waiters.push(done);
      });
    },
    notify(): void {
      const woken = waiters;
      waiters = [];
      woken.forEach((wake) => wake());
    },
  };
}
