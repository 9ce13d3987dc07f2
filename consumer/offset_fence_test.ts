import assert from "node:assert/strict";
import {
  admitBatch,
  commitRanges,
  committedLag,
  createOffsetFence,
  cutRanges,
  forgetIdle,
  isPlaced,
  judgeBatch,
  movedWithoutMessages,
  type OffsetFence,
  recordGap,
  recordPlacements,
  resetFence,
  skipTo,
  unreadMessages,
} from "./offset_fence.ts";

const batch = (...offsets: number[]) => offsets.map((offset) => ({ offset: String(offset) }));

/** Places partitions at stored offsets (null: none stored, read from offset 0). */
function place(fence: OffsetFence, stored: [number, bigint | null][]): void {
  recordPlacements(
    fence,
    new Map(stored.map(([partition, committed]) => [partition, {
      committed,
      position: committed ?? 0n,
      highWatermark: committed ?? 0n,
    }])),
  );
}

Deno.test("a partition must be placed from the stored offsets before its batches are judged", () => {
  const fence = createOffsetFence();
  assert.deepEqual(judgeBatch(fence, 0, batch(0, 1)), { kind: "load" });
  place(fence, [[0, 10n], [1, null]]);
  assert.ok(isPlaced(fence, 0) && isPlaced(fence, 1));
  assert.deepEqual(judgeBatch(fence, 0, batch(10, 11)), { kind: "take", from: 0 });
  assert.deepEqual(judgeBatch(fence, 1, batch(0, 1)), { kind: "take", from: 0 });
});

Deno.test("a batch starting elsewhere than the stored position makes the consumer seek there once", () => {
  const fence = createOffsetFence();
  place(fence, [[0, 10n]]);
  assert.deepEqual(judgeBatch(fence, 0, batch(40, 41)), { kind: "seek", offset: "10" });
  // After the seek, a later first offset means offsets 10..24 do not exist: find out why.
  assert.deepEqual(judgeBatch(fence, 0, batch(25, 26)), { kind: "jump", from: "10", to: "25" });
  const other = createOffsetFence();
  place(other, [[0, 10n]]);
  assert.deepEqual(judgeBatch(other, 0, batch(2, 3)), { kind: "seek", offset: "10" });
  assert.deepEqual(judgeBatch(other, 0, batch(2, 3)), { kind: "behind", position: "10" });
});

Deno.test("messages already taken are skipped and only the new tail is taken", () => {
  const fence = createOffsetFence();
  place(fence, [[0, 0n]]);
  admitBatch(fence, 0, { lastOffset: "6", highWatermark: "20" });
  assert.deepEqual(judgeBatch(fence, 0, batch(3, 4, 5, 6, 7, 8, 9)), { kind: "take", from: 4 });
  assert.deepEqual(judgeBatch(fence, 0, batch(3, 4, 5, 7, 8)), { kind: "take", from: 3 });
});

Deno.test("a cut expects the stored offsets and a commit makes its ends the new stored offsets", () => {
  const fence = createOffsetFence();
  place(fence, [[0, 10n], [1, null], [2, 5n]]);
  admitBatch(fence, 1, { lastOffset: "99", highWatermark: "150" });
  admitBatch(fence, 0, { lastOffset: "19", highWatermark: "30" });
  const ranges = cutRanges(fence);
  assert.deepEqual(ranges, [
    { partition: 0, expected: "10", next: "20", highWatermark: "30", gaps: [] },
    { partition: 1, expected: null, next: "100", highWatermark: "150", gaps: [] },
  ]);
  // While it commits, more is read; the next cut must wait for this one.
  admitBatch(fence, 0, { lastOffset: "24", highWatermark: "30" });
  assert.throws(() => cutRanges(fence), /already has a flush in flight/);
  commitRanges(fence, ranges);
  assert.deepEqual(cutRanges(fence), [
    { partition: 0, expected: "20", next: "25", highWatermark: "30", gaps: [] },
  ]);
  assert.deepEqual(committedLag(fence), new Map([[0, 10n], [1, 50n], [2, 0n]]));
  assert.equal(unreadMessages(fence), 5n + 50n);
});

Deno.test("after a fence miss everything is forgotten, and idle partitions can be forgotten alone", () => {
  const fence = createOffsetFence();
  place(fence, [[0, 10n], [1, 20n]]);
  admitBatch(fence, 0, { lastOffset: "11", highWatermark: "12" });
  forgetIdle(fence, [0, 1]);
  assert.ok(isPlaced(fence, 0), "a partition with buffered messages is kept");
  assert.ok(!isPlaced(fence, 1));
  place(fence, [[0, 999n], [1, 21n]]);
  assert.deepEqual(judgeBatch(fence, 0, batch(12)), { kind: "take", from: 0 }, "placed kept");
  resetFence(fence);
  assert.ok(!isPlaced(fence, 0) && !isPlaced(fence, 1));
  assert.deepEqual(cutRanges(fence), []);
});

Deno.test("a gap is committed by the next flush even when no message follows it", () => {
  const fence = createOffsetFence();
  recordPlacements(
    fence,
    new Map([[0, {
      committed: 10n,
      position: 60n,
      highWatermark: 60n,
      gap: { from: "10", to: "60" },
    }]]),
  );
  assert.deepEqual(movedWithoutMessages(fence), [0]);
  assert.deepEqual(cutRanges(fence), [
    {
      partition: 0,
      expected: "10",
      next: "60",
      highWatermark: "60",
      gaps: [{ from: "10", to: "60" }],
    },
  ]);
  assert.deepEqual(movedWithoutMessages(fence), []);
});

Deno.test("a gap found while reading moves the position past it and rides with the next cut", () => {
  const fence = createOffsetFence();
  place(fence, [[0, 10n]]);
  recordGap(fence, 0, { from: "10", to: "30" });
  skipTo(fence, 0, 35n); // offsets 30..34 held no message for us (markers): not a loss
  assert.deepEqual(judgeBatch(fence, 0, batch(35, 36)), { kind: "take", from: 0 });
  admitBatch(fence, 0, { lastOffset: "36", highWatermark: "37" });
  assert.deepEqual(cutRanges(fence), [
    {
      partition: 0,
      expected: "10",
      next: "37",
      highWatermark: "37",
      gaps: [{ from: "10", to: "30" }],
    },
  ]);
});
