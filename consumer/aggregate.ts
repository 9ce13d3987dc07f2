/**
 * Pure aggregation: Kafka messages in, per (minute, type, user) count deltas,
 * sessions and page views, rejections and statistics out. No I/O. Each message is decoded exactly once
 * and leaves only a counter increment behind (or one rejection record), so
 * memory grows with distinct keys, not with events.
 */
import {
  DAY_MS,
  decode,
  type DecodeOptions,
  eventTimeAsWritten,
  eventTimeField,
  MINUTE_MS,
  minuteOf,
  type RejectReason,
} from "@activity/shared";
import {
  addSessionEvent,
  emptySessionAggregate,
  type SessionAggregate,
} from "./session_aggregate.ts";

/** One Kafka message as the aggregation needs it (KafkaJS messages fit as they are). */
export interface SourceMessage {
  readonly offset: string;
  /** Kafka timestamp, epoch milliseconds as text. */
  readonly timestamp: string;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
}

/** A batch of messages from one partition, in offset order. */
export interface SourceBatch {
  readonly topic: string;
  readonly partition: number;
  readonly messages: readonly SourceMessage[];
}

/** A message that was not counted, with where it came from. */
export interface Rejection {
  readonly reason: RejectReason;
  readonly detail: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly timestampMs: number;
  readonly key: Uint8Array | null;
  /** The original value (all of it; the store bounds what it keeps). */
  readonly value: Uint8Array | null;
}

/** Counts per event minute (epoch ms) → event type → user. */
export type MinuteCounts = Map<number, Map<string, Map<string, number>>>;

/** What a run of batches adds up to; grows in place as batches are added. */
export interface BatchAggregate {
  readonly counts: MinuteCounts;
  readonly rejections: Rejection[];
  /** Bytes of rejected keys and values held in `rejections`. */
  rejectedBytes: number;
  /** Distinct rows it will write: (minute, type, user) counts and session parts (its memory). */
  keys: number;
  accepted: number;
  rejected: number;
  /** Bytes of every message value, accepted or not. */
  bytes: number;
  /** Accepted events that reached Kafka more than `lateAfterMs` after they occurred. */
  late: number;
  /** Accepted events in the old prototype's shape. */
  legacy: number;
  readonly rejectedByReason: Map<RejectReason, number>;
  /** Accepted events per tenth of a second of event time (epoch ms / 100), for event→commit latency. */
  readonly eventsPerTenthSecond: Map<number, number>;
  /** Sessions and page views of the accepted events in the canonical shape. */
  readonly analytics: SessionAggregate;
}

/** How messages are judged. */
export interface AggregateOptions {
  /** Passed to `decode` (clock, accepted types, tolerance, retention, size). */
  readonly decode: DecodeOptions;
  /** An event is late when its Kafka timestamp is this much after it occurred (default 60 s). */
  readonly lateAfterMs?: number;
  /**
   * The retention rule, the same one that deletes rows: a minute is gone once its END is more
   * than this many days ago, and an event in a gone minute is rejected as expired (it would
   * re-create the minute with a partial count). Unset: only `decode`'s own age check.
   */
  readonly retentionDays?: number;
  /** Adds to this aggregate instead of a new one. */
  readonly into?: BatchAggregate;
}

/** An empty aggregate. */
export function emptyAggregate(): BatchAggregate {
  return {
    counts: new Map(),
    rejections: [],
    rejectedBytes: 0,
    keys: 0,
    accepted: 0,
    rejected: 0,
    bytes: 0,
    late: 0,
    legacy: 0,
    rejectedByReason: new Map(),
    eventsPerTenthSecond: new Map(),
    analytics: emptySessionAggregate(),
  };
}

/** Decodes every message of a batch and adds it to an aggregate (a new one unless `into`). */
export function aggregateBatch(batch: SourceBatch, options: AggregateOptions): BatchAggregate {
  const aggregate = options.into ?? emptyAggregate();
  const lateAfterMs = options.lateAfterMs ?? 60_000;
  const { counts, eventsPerTenthSecond } = aggregate;
  const cutoffMs = options.retentionDays === undefined
    ? -Infinity
    : options.decode.nowMs - options.retentionDays * DAY_MS;
  for (const message of batch.messages) {
    const value = message.value;
    aggregate.bytes += value?.length ?? 0;
    const result = decode(value, options.decode);
    if (result.kind === "rejected") {
      addRejection(aggregate, batch, message, result);
      continue;
    }
    const occurredAtMs = result.occurredAtMs;
    const minute = minuteOf(occurredAtMs);
    if (minute + MINUTE_MS <= cutoffMs) {
      addRejection(aggregate, batch, message, {
        reason: "expired_timestamp",
        detail: `"${eventTimeField(result)}" ${eventTimeAsWritten(result)} is in a minute that ` +
          `ended more than ${options.retentionDays} days ago (the retention period): its counts ` +
          "are deleted",
      });
      continue;
    }
    let byType = counts.get(minute);
    if (byType === undefined) counts.set(minute, byType = new Map());
    const type = result.event.event_type;
    let byUser = byType.get(type);
    if (byUser === undefined) byType.set(type, byUser = new Map());
    const user = result.event.user_id;
    const count = byUser.get(user);
    if (count === undefined) aggregate.keys++;
    byUser.set(user, (count ?? 0) + 1);
    const tenth = Math.floor(occurredAtMs / 100);
    eventsPerTenthSecond.set(tenth, (eventsPerTenthSecond.get(tenth) ?? 0) + 1);
    aggregate.accepted++;
    if (result.legacy) aggregate.legacy++;
    else if (addSessionEvent(aggregate.analytics, result.event, occurredAtMs)) aggregate.keys++;
    if (Number(message.timestamp) - occurredAtMs > lateAfterMs) aggregate.late++;
  }
  return aggregate;
}

function addRejection(
  aggregate: BatchAggregate,
  batch: SourceBatch,
  message: SourceMessage,
  rejection: { readonly reason: RejectReason; readonly detail: string },
): void {
  aggregate.rejected++;
  // Keys are bounded like values: both are held until the flush, so both count.
  aggregate.rejectedBytes += (message.value?.length ?? 0) + (message.key?.length ?? 0);
  aggregate.rejectedByReason.set(
    rejection.reason,
    (aggregate.rejectedByReason.get(rejection.reason) ?? 0) + 1,
  );
  aggregate.rejections.push({
    reason: rejection.reason,
    detail: rejection.detail,
    topic: batch.topic,
    partition: batch.partition,
    offset: message.offset,
    timestampMs: Number(message.timestamp),
    key: message.key,
    value: message.value,
  });
}

/** How many events an aggregate holds, accepted and rejected. */
export function aggregateEvents(aggregate: BatchAggregate): number {
  return aggregate.accepted + aggregate.rejected;
}
