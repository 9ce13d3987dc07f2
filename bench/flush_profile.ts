/**
 * The consumer's flushes during one drain, read from its `/metrics`: how many,
 * how many events and rows (per table) each wrote, how long each took and
 * what share of the drain was spent committing. The breakdown the write-path
 * work is judged by, before and after. Pure.
 */
import { histogramQuantile, readHistogram, readValue, readValuesByLabel } from "./prometheus.ts";
import type { Figure } from "./report.ts";

const FLUSHES = "activity_consumer_flushes_total";
const ACCEPTED = "activity_consumer_events_accepted_total";
const ROWS = "activity_consumer_rows_written_total";
const FLUSH_SECONDS = "activity_consumer_flush_duration_seconds";

/** The flushes of one drain. */
export interface FlushProfile {
  readonly flushes: number;
  readonly eventsPerFlush: number;
  /** Rows inserted or updated per flush, by table (every table the consumer reports). */
  readonly rowsPerFlush: Readonly<Record<string, number>>;
  readonly rowsPerEvent: number;
  readonly meanMs: number;
  /** Estimated from the histogram's buckets (coarse: 10, 25, 50, 100, 250, 500 ms, 1 s, ...). */
  readonly p50Ms: number;
  readonly p95Ms: number;
  /** Time spent committing flushes as a share of the drain's time, in percent. */
  readonly commitShare: number;
}

/** The profile of the flushes in a consumer's metrics, for a drain that took `drainSeconds`. */
export function flushProfile(metrics: string, options: { drainSeconds: number }): FlushProfile {
  const flushes = readValue(metrics, FLUSHES, { outcome: "committed" });
  const accepted = readValue(metrics, ACCEPTED);
  const rows = readValuesByLabel(metrics, ROWS, "table");
  const seconds = readHistogram(metrics, FLUSH_SECONDS);
  const perFlush = (n: number) => (flushes > 0 ? n / flushes : NaN);
  const totalRows = [...rows.values()].reduce((sum, n) => sum + n, 0);
  return {
    flushes,
    eventsPerFlush: perFlush(accepted),
    rowsPerFlush: Object.fromEntries(
      [...rows].sort(([a], [b]) => a.localeCompare(b)).map(([table, n]) => [table, perFlush(n)]),
    ),
    rowsPerEvent: accepted > 0 ? totalRows / accepted : NaN,
    meanMs: seconds.count > 0 ? (1000 * seconds.sum) / seconds.count : NaN,
    p50Ms: 1000 * histogramQuantile(seconds, 0.5),
    p95Ms: 1000 * histogramQuantile(seconds, 0.95),
    commitShare: options.drainSeconds > 0 ? (100 * seconds.sum) / options.drainSeconds : NaN,
  };
}

/** The profile as table rows of `phase`. */
export function flushProfileFigures(phase: string, profile: FlushProfile): Figure[] {
  return [
    { phase, name: "flushes committed", value: profile.flushes, unit: "flushes" },
    { phase, name: "events per flush", value: profile.eventsPerFlush, unit: "events" },
    ...Object.entries(profile.rowsPerFlush).map(([table, n]) => ({
      phase,
      name: `rows per flush: ${table}`,
      value: n,
      unit: "rows",
    })),
    {
      phase,
      name: "rows written per event (all tables)",
      value: profile.rowsPerEvent,
      unit: "rows",
    },
    { phase, name: "ms per flush, mean", value: profile.meanMs, unit: "ms" },
    { phase, name: "ms per flush, p50 (buckets)", value: profile.p50Ms, unit: "ms" },
    { phase, name: "ms per flush, p95 (buckets)", value: profile.p95Ms, unit: "ms" },
    {
      phase,
      name: "time spent committing flushes",
      value: profile.commitShare,
      unit: "% of drain",
    },
  ];
}
