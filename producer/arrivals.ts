/**
 * When events happen: a Poisson process around a target rate, optionally with
 * periodic bursts (a non-homogeneous Poisson process whose rate is multiplied
 * during each burst). Pure: times are milliseconds since the start.
 */
import type { Random } from "./random.ts";

/** Periodic bursts: every `everyMs` the rate is multiplied by `factor` for `lengthMs`. */
export interface Burst {
  readonly factor: number;
  readonly lengthMs: number;
  readonly everyMs: number;
}

/** The times of successive events. */
export interface Arrivals {
  /** The time of the next event, in milliseconds since the start (never decreasing). */
  next(): number;
}

/**
 * Event times at `ratePerSecond` outside bursts; the gaps are exponential, so
 * counts per interval vary the way independent arrivals do.
 */
export function createArrivals(
  options: { ratePerSecond: number; burst?: Burst; random: Random },
): Arrivals {
  const { ratePerSecond, burst, random } = options;
  const perMs = ratePerSecond / 1000;
  let time = 0;
  if (!burst || burst.factor === 1 || burst.lengthMs <= 0) {
    return {
      next() {
        time += random.exponential() / perMs;
        return time;
      },
    };
  }
  return {
    next() {
      // Walk the piecewise-constant rate until the expected count drawn is used up.
      let work = random.exponential();
      for (;;) {
        const period = Math.floor(time / burst.everyMs);
        const burstEnd = period * burst.everyMs + burst.lengthMs;
        const inBurst = time < burstEnd;
        const rate = inBurst ? perMs * burst.factor : perMs;
        let boundary = inBurst ? burstEnd : (period + 1) * burst.everyMs;
        // Rounding can put the period's end at or before `time`; the next one is safe.
        if (boundary <= time) boundary = (period + 2) * burst.everyMs;
        const capacity = (boundary - time) * rate;
        if (work <= capacity) {
          time += work / rate;
          return time;
        }
        work -= capacity;
        time = boundary;
      }
    },
  };
}

/** The long-run average rate of `ratePerSecond` with `burst`. */
export function averageRate(ratePerSecond: number, burst?: Burst): number {
  if (!burst) return ratePerSecond;
  const burstShare = Math.min(burst.lengthMs, burst.everyMs) / burst.everyMs;
  return ratePerSecond * (1 + (burst.factor - 1) * burstShare);
}
