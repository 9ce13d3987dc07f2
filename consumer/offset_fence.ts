/**
 * The offset fence model, pure: where each partition's next message must
 * start, which offset ranges the next flush covers, and what the stored
 * offsets must still be for that flush to commit ("Storing Offsets Outside
 * Kafka": PostgreSQL holds the truth; Kafka's own positions are only hints).
 *
 * Every flush is a compare-and-set on each partition's stored next offset,
 * so each offset range is committed at most once whoever tries, and a member
 * that lost its partitions (a zombie) cannot commit over the new owner.
 */

import type { OffsetGap, Placement } from "./partition_placement.ts";

/** One partition's part of a flush: the stored offset it expects and the one it writes. */
export interface PartitionRange {
  readonly partition: number;
  /** The stored next offset this flush starts from; null when no row exists yet. */
  readonly expected: string | null;
  /** The next offset to read after this flush. */
  readonly next: string;
  /** The partition's high watermark last seen. */
  readonly highWatermark: string;
  /** Offsets inside this range that no longer existed when read (retention removed them). */
  readonly gaps: readonly OffsetGap[];
}

interface PartitionProgress {
  /** Stored next offset as of our last read or commit; null when no row exists. */
  committed: bigint | null;
  /** The next offset to read into the buffer. */
  position: bigint;
  /** The position we last asked Kafka to seek to, if any. */
  seekedTo: bigint | null;
  highWatermark: bigint;
  /** Messages since the last cut are buffered. */
  buffered: boolean;
  /** A cut flush covering this partition has not committed or failed yet. */
  inFlight: boolean;
  /** Gaps found since the last cut; they are recorded by the flush that moves past them. */
  gaps: OffsetGap[];
}

/** Per partition progress of one consumer. */
export interface OffsetFence {
  readonly partitions: Map<number, PartitionProgress>;
  /** The Kafka topic id the placed partitions are read from (null: unknown, an old broker). */
  topicId: string | null;
}

/** What to do with a batch that arrived for a partition. */
export type BatchDecision =
  /** The stored offset is unknown: read it, then judge again. */
  | { readonly kind: "load" }
  /** Drop the batch and ask Kafka to fetch from `offset`. */
  | { readonly kind: "seek"; readonly offset: string }
  /** Aggregate `messages[from..]`. */
  | { readonly kind: "take"; readonly from: number }
  /** The batch ends before our position even after seeking there: the log changed under us. */
  | { readonly kind: "behind"; readonly position: string }
  /**
   * Even after seeking to our position the batch starts later: offsets `[from, to)` do not
   * exist (removed by retention, compacted away, or transaction markers); find out which.
   */
  | { readonly kind: "jump"; readonly from: string; readonly to: string };

/** A fence with no partitions known. */
export function createOffsetFence(): OffsetFence {
  return { partitions: new Map(), topicId: null };
}

/** Whether the stored offset of a partition is known. */
export function isPlaced(fence: OffsetFence, partition: number): boolean {
  return fence.partitions.has(partition);
}

/**
 * Places partitions not placed yet; partitions already placed keep their progress. A placement
 * with a gap (or one that starts elsewhere than the stored offset) must move the stored offset
 * even if no message follows: it is marked buffered, so the next flush commits it.
 */
export function recordPlacements(
  fence: OffsetFence,
  placements: ReadonlyMap<number, Placement>,
): void {
  for (const [partition, placement] of placements) {
    if (fence.partitions.has(partition)) continue;
    fence.partitions.set(partition, {
      committed: placement.committed,
      position: placement.position,
      seekedTo: null,
      highWatermark: placement.highWatermark,
      buffered: placement.committed !== null && placement.position !== placement.committed,
      inFlight: false,
      gaps: placement.gap ? [placement.gap] : [],
    });
  }
}

/** Partitions placed away from their stored offset and waiting for a flush to move it. */
export function movedWithoutMessages(fence: OffsetFence): number[] {
  return [...fence.partitions].filter(([, p]) => p.buffered && !p.inFlight).map(([n]) => n);
}

/** The next offset to read from each placed partition. */
export function positions(fence: OffsetFence): Map<number, bigint> {
  return new Map([...fence.partitions].map(([partition, p]) => [partition, p.position]));
}

/** Moves a partition's position forward over offsets that do not exist (not a loss). */
export function skipTo(fence: OffsetFence, partition: number, offset: bigint): void {
  const progress = fence.partitions.get(partition);
  if (!progress) throw new Error(`partition ${partition} skips but was not placed`);
  if (offset > progress.position) progress.position = offset;
}

/** Records a gap found while reading: the partition's position moves past it. */
export function recordGap(fence: OffsetFence, partition: number, gap: OffsetGap): void {
  const progress = fence.partitions.get(partition);
  if (!progress) throw new Error(`partition ${partition} has a gap but was not placed`);
  progress.gaps.push(gap);
  if (BigInt(gap.to) > progress.position) progress.position = BigInt(gap.to);
  progress.buffered = true;
}

/** Decides what to do with a batch of messages (in ascending offset order). */
export function judgeBatch(
  fence: OffsetFence,
  partition: number,
  messages: readonly { readonly offset: string }[],
): BatchDecision {
  const progress = fence.partitions.get(partition);
  if (!progress) return { kind: "load" };
  const { position } = progress;
  const first = BigInt(messages[0].offset);
  if (first === position) return { kind: "take", from: 0 };
  if (first > position) {
    if (progress.seekedTo === position) {
      return { kind: "jump", from: position.toString(), to: first.toString() };
    }
    progress.seekedTo = position;
    return { kind: "seek", offset: position.toString() };
  }
  const last = BigInt(messages[messages.length - 1].offset);
  if (last >= position) {
    // Kafka re-sent messages we already hold (e.g. after a rebalance): take the new tail,
    // found by binary search (offsets ascend).
    let low = 0;
    let high = messages.length - 1;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (BigInt(messages[middle].offset) < position) low = middle + 1;
      else high = middle;
    }
    return { kind: "take", from: low };
  }
  if (progress.seekedTo === position) return { kind: "behind", position: position.toString() };
  progress.seekedTo = position;
  return { kind: "seek", offset: position.toString() };
}

/** Records that a batch was aggregated up to `lastOffset`. */
export function admitBatch(
  fence: OffsetFence,
  partition: number,
  options: { lastOffset: string; highWatermark: string },
): void {
  const progress = fence.partitions.get(partition);
  if (!progress) throw new Error(`partition ${partition} was admitted before it was placed`);
  progress.position = BigInt(options.lastOffset) + 1n;
  const highWatermark = BigInt(options.highWatermark);
  if (highWatermark > progress.highWatermark) progress.highWatermark = highWatermark;
  progress.buffered = true;
}

/** Cuts the buffered ranges for a flush; the fence then expects them to commit or fail. */
export function cutRanges(fence: OffsetFence): PartitionRange[] {
  const ranges: PartitionRange[] = [];
  for (const [partition, progress] of fence.partitions) {
    if (!progress.buffered) continue;
    if (progress.inFlight) throw new Error(`partition ${partition} already has a flush in flight`);
    ranges.push({
      partition,
      expected: progress.committed === null ? null : progress.committed.toString(),
      next: progress.position.toString(),
      highWatermark: progress.highWatermark.toString(),
      gaps: progress.gaps,
    });
    progress.buffered = false;
    progress.inFlight = true;
    progress.gaps = [];
  }
  return ranges.sort((a, b) => a.partition - b.partition);
}

/** Records that a flush committed: its ranges are now the stored offsets. */
export function commitRanges(fence: OffsetFence, ranges: readonly PartitionRange[]): void {
  for (const range of ranges) {
    const progress = fence.partitions.get(range.partition);
    if (!progress) continue;
    progress.committed = BigInt(range.next);
    progress.inFlight = false;
  }
}

/** Forgets everything: after a fence miss the stored offsets must be read again. */
export function resetFence(fence: OffsetFence): void {
  fence.partitions.clear();
}

/** Forgets partitions with nothing buffered or in flight, so they are read again when next seen. */
export function forgetIdle(fence: OffsetFence, partitions: Iterable<number>): void {
  for (const partition of partitions) {
    const progress = fence.partitions.get(partition);
    if (progress && !progress.buffered && !progress.inFlight) fence.partitions.delete(partition);
  }
}

/** Lag per placed partition: high watermark minus stored next offset. */
export function committedLag(fence: OffsetFence): Map<number, bigint> {
  const lag = new Map<number, bigint>();
  for (const [partition, progress] of fence.partitions) {
    if (progress.committed === null) continue;
    const behind = progress.highWatermark - progress.committed;
    lag.set(partition, behind > 0n ? behind : 0n);
  }
  return lag;
}

/** Messages known to exist beyond what has been read, over all placed partitions. */
export function unreadMessages(fence: OffsetFence): bigint {
  let unread = 0n;
  for (const progress of fence.partitions.values()) {
    const behind = progress.highWatermark - progress.position;
    if (behind > 0n) unread += behind;
  }
  return unread;
}
