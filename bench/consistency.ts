/**
 * Exactly once, proven after every consumer run of the benchmark, in SQL over
 * the tables the consumer wrote (after it stopped): every message up to the
 * committed offsets is counted or rejected exactly once, and every derived
 * table agrees with the per-minute table it is derived from.
 */
import type postgres from "postgres";
import type { Figure } from "./report.ts";

/** A consistency check: a query whose one row's `mismatches` must be 0. */
export interface ConsistencyCheck {
  readonly name: string;
  readonly sql: string;
}

/** The rows of `derived` that differ from `base`, joined on `keys` (missing on either side counts). */
function mismatches(
  base: string,
  derived: string,
  options: { keys: string; baseValue: string; derivedValue: string },
): string {
  return `SELECT count(*)::int8 AS mismatches
    FROM (${base}) AS s FULL JOIN ${derived} AS t USING (${options.keys})
    WHERE s.${options.baseValue} IS DISTINCT FROM t.${options.derivedValue}`;
}

const rollup = (bucket: "hour" | "day") =>
  `SELECT user_id, date_trunc('${bucket}', event_minute, 'UTC') AS event_${bucket}, event_type,
     sum(event_count) AS n
   FROM user_event_summary GROUP BY 1, 2, 3`;

/**
 * The checks, each against `user_event_summary` (the per-minute table).
 * If the write path ever keeps not-yet-folded rows apart, check what readers
 * see (the view or the folded tables), not a table that is still behind.
 */
export const CONSISTENCY_CHECKS: readonly ConsistencyCheck[] = [
  {
    name: "hourly rollup = per-minute table summed by hour",
    sql: mismatches(rollup("hour"), "user_event_hourly", {
      keys: "user_id, event_hour, event_type",
      baseValue: "n",
      derivedValue: "event_count",
    }),
  },
  {
    name: "daily rollup = per-minute table summed by day",
    sql: mismatches(rollup("day"), "user_event_daily", {
      keys: "user_id, event_day, event_type",
      baseValue: "n",
      derivedValue: "event_count",
    }),
  },
  {
    name: "per-type minutes = per-minute table summed over users",
    sql: mismatches(
      `SELECT event_minute, event_type, sum(event_count) AS n FROM user_event_summary GROUP BY 1, 2`,
      "event_type_minute",
      { keys: "event_minute, event_type", baseValue: "n", derivedValue: "event_count" },
    ),
  },
  {
    name: "active users = distinct users of the per-minute table",
    sql: mismatches(
      `SELECT event_minute, count(DISTINCT user_id) AS n FROM user_event_summary GROUP BY 1`,
      "active_users_minute",
      { keys: "event_minute", baseValue: "n", derivedValue: "active_users" },
    ),
  },
  // Session and page tables (product analytics): add their checks here, each a query returning
  // `mismatches` = rows that disagree with the table they are derived from, e.g. sessions'
  // event counts summed per user and minute against user_event_summary, pages' views per
  // minute against event_type_minute's views.
];

/** What a consumer run left in its database: counted, rejected, committed. */
export interface ExactlyOnce {
  /** Events in the per-minute table. */
  readonly counted: number;
  readonly rejected: number;
  /** Messages retention removed before the consumer read them (recorded gaps). */
  readonly lost: number;
  /** The stored offsets' sum over the topic's partitions (fresh topics start at 0). */
  readonly committed: number;
}

/** Reads the counted, rejected, lost and committed totals of `topic`. */
export async function readExactlyOnce(sql: postgres.Sql, topic: string): Promise<ExactlyOnce> {
  const [row] = await sql<Record<keyof ExactlyOnce, string>[]>`
    SELECT
      (SELECT coalesce(sum(event_count), 0) FROM user_event_summary)::text AS counted,
      (SELECT count(*) FROM rejected_events WHERE topic = ${topic})::text AS rejected,
      (SELECT coalesce(sum(lost_messages), 0) FROM consumer_offset_gaps WHERE topic = ${topic})::text
        AS lost,
      (SELECT coalesce(sum(next_offset), 0) FROM consumer_offsets WHERE topic = ${topic})::text
        AS committed`;
  return {
    counted: Number(row.counted),
    rejected: Number(row.rejected),
    lost: Number(row.lost),
    committed: Number(row.committed),
  };
}

/** Runs every check after a consumer run of `phase` on `topic`; one figure each, all to equal. */
export async function checkConsistency(
  sql: postgres.Sql,
  options: { phase: string; topic: string },
): Promise<Figure[]> {
  const { phase } = options;
  const totals = await readExactlyOnce(sql, options.topic);
  const figures: Figure[] = [
    {
      phase,
      name: "counted + rejected = committed offsets (exactly once)",
      value: totals.counted + totals.rejected,
      unit: "events",
      target: { kind: "equal", value: totals.committed },
    },
    {
      phase,
      name: "messages lost (removed by retention before they were read)",
      value: totals.lost,
      unit: "events",
      target: { kind: "equal", value: 0 },
    },
  ];
  for (const check of CONSISTENCY_CHECKS) {
    const [row] = await sql.unsafe<{ mismatches: string }[]>(check.sql);
    figures.push({
      phase,
      name: `${check.name}: rows that differ`,
      value: Number(row.mismatches),
      unit: "rows",
      target: { kind: "equal", value: 0 },
    });
  }
  return figures;
}
