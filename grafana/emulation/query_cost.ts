/**
 * Times every dashboard and alert query as Grafana would send it (macros expanded) for given
 * dashboard ranges, and returns each one's `EXPLAIN (ANALYZE, BUFFERS)` plan: the measurement the
 * benchmark reports against the 100 ms target.
 */
import type postgres from "postgres";
import { buildAlertRules } from "../alert_rules.ts";
import { buildActivityDashboard } from "../dashboard.ts";
import { collectQueries, expandQuery } from "./panel_queries.ts";

/** A dashboard range to measure, e.g. `{label: "30d", from: "now-30d", to: "now"}`. */
export interface MeasuredRange {
  readonly label: string;
  readonly from: string;
  readonly to: string;
}

/** The cost of one query for one range. */
export interface QueryCost {
  /** `panel 4 A`, `alert activity-no-events A`. */
  readonly key: string;
  readonly title: string;
  /** The dashboard range, or `own` for panels with their own time and alerts. */
  readonly range: string;
  readonly intervalMs: number;
  /** The SQL as Grafana sends it. */
  readonly sql: string;
  /** Median and slowest of the timed runs, in ms (client-side, round trip included). */
  readonly medianMs: number;
  readonly maxMs: number;
  readonly rows: number;
  /** `EXPLAIN (ANALYZE, BUFFERS)` text. */
  readonly plan: string;
  /** Tables read by a sequential scan in the plan. */
  readonly seqScans: string[];
}

/** How to measure. */
export interface QueryCostOptions {
  /** The moment the dashboard is looked at (default: now). */
  readonly now?: Date;
  /** Dashboard ranges (default: the last 6 hours and the last 30 days). */
  readonly ranges?: readonly MeasuredRange[];
  /** Timed runs after one warm-up (default 5). */
  readonly runs?: number;
  /** Data points per panel (default 1 000). */
  readonly maxDataPoints?: number;
}

/** The default ranges: the dashboard's own and the longest one it must stay fast at. */
export const DEFAULT_RANGES: readonly MeasuredRange[] = [
  { label: "6h", from: "now-6h", to: "now" },
  { label: "30d", from: "now-30d", to: "now" },
];

/** Measures every query of the dashboard and the alert rules. */
export async function measureQueryCosts(
  sql: postgres.Sql,
  options: QueryCostOptions = {},
): Promise<QueryCost[]> {
  const now = options.now ?? new Date();
  const runs = options.runs ?? 5;
  const model = buildActivityDashboard();
  const costs: QueryCost[] = [];
  for (const query of collectQueries(model, buildAlertRules())) {
    // A panel with its own time (today, last hour) or an alert ignores the dashboard's range.
    const ownTime = query.timeFrom !== undefined || query.alertWindow !== undefined;
    const ranges = ownTime
      ? [{ ...DEFAULT_RANGES[0], label: "own" }]
      : options.ranges ?? DEFAULT_RANGES;
    for (const range of ranges) {
      const expanded = expandQuery(query, model.time!, {
        now,
        range,
        maxDataPoints: options.maxDataPoints,
      });
      let rows = (await sql.unsafe(expanded.sql)).length;
      const timings: number[] = [];
      for (let run = 0; run < runs; run++) {
        const started = performance.now();
        rows = (await sql.unsafe(expanded.sql)).length;
        timings.push(performance.now() - started);
      }
      timings.sort((a, b) => a - b);
      const planRows = await sql.unsafe(`EXPLAIN (ANALYZE, BUFFERS) ${expanded.sql}`);
      const plan = planRows.map((row) => row["QUERY PLAN"] as string).join("\n");
      costs.push({
        key: query.key,
        title: query.title,
        range: range.label,
        intervalMs: expanded.intervalMs,
        sql: expanded.sql,
        medianMs: timings[Math.floor(timings.length / 2)] ?? 0,
        maxMs: timings.at(-1) ?? 0,
        rows,
        plan,
        seqScans: [...new Set([...plan.matchAll(/Seq Scan on (\w+)/g)].map((match) => match[1]))],
      });
    }
  }
  return costs;
}
