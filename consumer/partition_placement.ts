/**
 * Where a partition starts, pure: from its stored offset, its log's current
 * bounds and the topic's current id. Never a silent skip: messages removed
 * before they were read are a recorded gap, a recreated topic is read from
 * its start, and a stored offset past the log's end stops the consumer.
 */

/** Offsets `[from, to)` of a partition that were removed before they could be read. */
export interface OffsetGap {
  readonly from: string;
  readonly to: string;
  /** The topic the offsets belonged to, when not the current one (a deleted topic). */
  readonly topicId?: string | null;
}

/** Where a partition's next message starts, as stored, and what its log holds now. */
export interface StoredOffset {
  readonly next: bigint;
  /** The topic id stored with the offset (null: stored before topic ids were kept). */
  readonly topicId: string | null;
}

/** A partition's log: its first retained offset and its high watermark. */
export interface PartitionLog {
  readonly logStart: bigint;
  readonly highWatermark: bigint;
}

/** Where to start reading a partition. */
export interface Placement {
  /** Stored next offset (the fence's expected value); null when no row exists. */
  readonly committed: bigint | null;
  /** The offset to read next. */
  readonly position: bigint;
  readonly highWatermark: bigint;
  /** Offsets removed by retention before they were read, recorded with the next flush. */
  readonly gap?: OffsetGap;
}

/** How a partition is placed, and why. */
export type PlacementDecision =
  /** Read on from the stored offset (or from the log's start when none is stored). */
  | { readonly kind: "stored"; readonly placement: Placement }
  /** No offset stored: a partition this group never read. */
  | { readonly kind: "new"; readonly placement: Placement }
  /** The stored offset is below the log's start: the messages in between were never read. */
  | { readonly kind: "gap"; readonly placement: Placement; readonly lost: bigint }
  /** The topic was deleted and created again (another id): read the new topic from its start. */
  | { readonly kind: "recreated"; readonly placement: Placement; readonly storedTopicId: string }
  /** The stored offset is past the end of the same topic's log: data the group read is gone. */
  | { readonly kind: "truncated"; readonly storedOffset: bigint; readonly highWatermark: bigint };

/**
 * Decides where a partition starts from its stored offset, its log and the topic's current id.
 * Never skips silently: messages below the log's start are a recorded gap, another topic id is
 * a recreated topic read from its start, and a stored offset past the log's end stops the
 * consumer (only an operator can say whether to re-read or to wait).
 */
export function decidePlacement(
  stored: StoredOffset | undefined,
  log: PartitionLog,
  topicId: string | null,
): PlacementDecision {
  const { logStart, highWatermark } = log;
  if (stored === undefined) {
    return { kind: "new", placement: { committed: null, position: logStart, highWatermark } };
  }
  if (topicId !== null && stored.topicId !== null && stored.topicId !== topicId) {
    return {
      kind: "recreated",
      placement: { committed: stored.next, position: logStart, highWatermark },
      storedTopicId: stored.topicId,
    };
  }
  if (stored.next > highWatermark) {
    return { kind: "truncated", storedOffset: stored.next, highWatermark };
  }
  if (stored.next < logStart) {
    const gap = { from: stored.next.toString(), to: logStart.toString() };
    return {
      kind: "gap",
      placement: { committed: stored.next, position: logStart, highWatermark, gap },
      lost: logStart - stored.next,
    };
  }
  return {
    kind: "stored",
    placement: { committed: stored.next, position: stored.next, highWatermark },
  };
}
