/**
 * How long a counter stood still: samples of a monotonic count (events
 * published, events committed) taken every ~100 ms, and the longest time
 * between two increases around a fault. Pure.
 */

/** A counter's value at a moment (milliseconds on any clock). */
export interface ProgressSample {
  readonly atMs: number;
  readonly value: number;
}

/** The longest stall in a window and where it was. */
export interface Stall {
  /** Milliseconds between the last increase before the stall and the first after it. */
  readonly ms: number;
  /** When the stall began (the last increase before it). */
  readonly fromMs: number;
  /** When it ended (the first increase after it), or the window's end if it never did. */
  readonly toMs: number;
  /** Whether the counter increased again before the window's end. */
  readonly resumed: boolean;
}

/**
 * The longest time between consecutive increases of the counter that overlaps
 * `[fromMs, toMs]`; a stall still running at `toMs` counts up to `toMs`.
 */
export function longestStall(
  samples: readonly ProgressSample[],
  window: { readonly fromMs: number; readonly toMs: number },
): Stall {
  const increases: number[] = [];
  for (let i = 1; i < samples.length; i++) {
    if (samples[i].value > samples[i - 1].value) increases.push(samples[i].atMs);
  }
  let longest: Stall = { ms: 0, fromMs: window.fromMs, toMs: window.fromMs, resumed: true };
  let previous = samples[0]?.atMs ?? window.fromMs;
  for (const at of increases) {
    if (at >= window.fromMs && previous <= window.toMs && at - previous > longest.ms) {
      longest = { ms: at - previous, fromMs: previous, toMs: at, resumed: true };
    }
    previous = at;
  }
  if (previous <= window.toMs && window.toMs - Math.max(previous, window.fromMs) > 0) {
    const open = window.toMs - previous;
    if (open > longest.ms) {
      longest = { ms: open, fromMs: previous, toMs: window.toMs, resumed: false };
    }
  }
  return longest;
}

/**
 * The longest stall between the counter's first increase and `beforeMs`, counting only stalls
 * that ended before it: what a pause looks like without a fault, for comparison.
 */
export function normalLongestGap(samples: readonly ProgressSample[], beforeMs: number): Stall {
  const before = samples.filter((sample) => sample.atMs <= beforeMs);
  const first = before.findIndex((sample, i) => i > 0 && sample.value > before[i - 1].value);
  if (first < 0) return { ms: 0, fromMs: beforeMs, toMs: beforeMs, resumed: true };
  const last = before.at(-1)!.atMs;
  return longestStall(before.slice(first), { fromMs: before[first].atMs, toMs: last });
}

/** A counter read in the background every `intervalMs`. */
export interface ProgressSampler {
  readonly samples: readonly ProgressSample[];
  /** The latest value read. */
  latest(): number;
  /** Stops reading; resolves after the read in flight. */
  stop(): Promise<void>;
}

/** Reads `read()` every `intervalMs` (a failed read is skipped) until stopped. */
export function sampleProgress(
  read: () => Promise<number | undefined>,
  options: { intervalMs?: number; now?: () => number } = {},
): ProgressSampler {
  const samples: ProgressSample[] = [];
  const now = options.now ?? (() => performance.now());
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const value = await read().catch(() => undefined);
      if (value !== undefined) samples.push({ atMs: now(), value });
      if (!stopped) await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 100));
    }
  })();
  return {
    samples,
    latest: () => samples.at(-1)?.value ?? 0,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
