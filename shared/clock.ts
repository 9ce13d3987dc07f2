/**
 * Time as an input: cores read the time and wait through a `Clock`, so their
 * tests drive a virtual one (`testing/virtual_clock.ts`) and never sleep.
 */
import { sleep } from "./sleep.ts";

/** The time and timed waits a core depends on. */
export interface Clock {
  /** The current time, epoch milliseconds. */
  now(): number;
  /** Resolves after `ms`, or at once when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep,
};
