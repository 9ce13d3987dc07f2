/**
 * The flush plan, pure: one aggregate and the offset ranges it covers, laid
 * out as the column arrays that the flush statement writes (never one row
 * per event).
 */
import type { RejectReason } from "@activity/shared";
import type { BatchAggregate, Rejection } from "./aggregate.ts";
import type { PartitionRange } from "./offset_fence.ts";
import {
  type PageViewColumns,
  pageViewColumns,
  type SessionColumns,
  sessionColumns,
} from "./session_aggregate.ts";

/** Per (user, minute, type) count deltas as columns; minutes are epoch seconds. */
export interface CountColumns {
  readonly users: string[];
  readonly minutes: number[];
  readonly types: string[];
  readonly counts: number[];
}

/** Per (minute, type) totals across users, sorted so concurrent flushes lock rows in one order. */
export interface TypeMinuteColumns {
  readonly minutes: number[];
  readonly types: string[];
  readonly counts: number[];
}

/** Everything one flush writes, in one transaction. */
export interface FlushPlan {
  readonly group: string;
  readonly topic: string;
  /** The Kafka topic id the ranges were read from (null: unknown). */
  readonly topicId: string | null;
  /** The fence: each partition's expected stored offset and its new one. */
  readonly ranges: readonly PartitionRange[];
  readonly counts: CountColumns;
  readonly typeMinutes: TypeMinuteColumns;
  /** One merge per (user, session); the statement sorts them by that key. */
  readonly sessions: SessionColumns;
  /** Page views per (minute, page); the statement sorts them by that key. */
  readonly pageViews: PageViewColumns;
  readonly rejections: readonly Rejection[];
  /** Rejections per reason, sorted by reason. */
  readonly rejectedByReason: readonly (readonly [RejectReason, number])[];
  readonly accepted: number;
  readonly rejected: number;
  readonly bytes: number;
  readonly late: number;
  /** Accepted events per tenth of a second of event time (epoch ms / 100). */
  readonly eventsPerTenthSecond: ReadonlyMap<number, number>;
}

/** Lays out an aggregate and its offset ranges as a flush plan. */
export function planFlush(
  aggregate: BatchAggregate,
  ranges: readonly PartitionRange[],
  source: { readonly group: string; readonly topic: string; readonly topicId: string | null },
): FlushPlan {
  const counts: CountColumns = { users: [], minutes: [], types: [], counts: [] };
  const typeTotals: { minute: number; type: string; count: number }[] = [];
  for (const [minuteMs, byType] of aggregate.counts) {
    const minute = minuteMs / 1000;
    for (const [type, byUser] of byType) {
      let total = 0;
      for (const [user, count] of byUser) {
        counts.users.push(user);
        counts.minutes.push(minute);
        counts.types.push(type);
        counts.counts.push(count);
        total += count;
      }
      typeTotals.push({ minute, type, count: total });
    }
  }
  typeTotals.sort((a, b) => a.minute - b.minute || compareText(a.type, b.type));
  return {
    ...source,
    ranges,
    counts,
    typeMinutes: {
      minutes: typeTotals.map((row) => row.minute),
      types: typeTotals.map((row) => row.type),
      counts: typeTotals.map((row) => row.count),
    },
    sessions: sessionColumns(aggregate.analytics),
    pageViews: pageViewColumns(aggregate.analytics),
    rejections: aggregate.rejections,
    rejectedByReason: [...aggregate.rejectedByReason].sort((a, b) => compareText(a[0], b[0])),
    accepted: aggregate.accepted,
    rejected: aggregate.rejected,
    bytes: aggregate.bytes,
    late: aggregate.late,
    eventsPerTenthSecond: aggregate.eventsPerTenthSecond,
  };
}

/** How many events a plan covers. */
export function planEvents(plan: FlushPlan): number {
  return plan.accepted + plan.rejected;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
