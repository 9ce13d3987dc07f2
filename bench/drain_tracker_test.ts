import assert from "node:assert/strict";
import { DrainStalledError, DrainTracker, whenDrained } from "./drain_tracker.ts";

const ENDS = new Map<number, bigint>([[0, 3n], [1, 2n], [2, 0n]]);

function clock(start: number) {
  let t = start;
  return () => (t += 10);
}

Deno.test("a topic is drained only when every partition reached its end offset", () => {
  const now = clock(1_000);
  const tracker = new DrainTracker(ENDS, 1_000);
  assert.equal(tracker.expected, 5);
  assert.equal(tracker.add(0, 2n, 3, now), false);
  assert.deepEqual(tracker.partitionsShort(), [1]);
  assert.equal(tracker.add(1, 1n, 2, now), true);
  const result = tracker.result();
  assert.deepEqual(result, {
    count: 5,
    expected: 5,
    firstMessageMs: 10,
    readMs: 10,
    totalMs: 20,
    partitionsShort: [],
  });
});

Deno.test("a redelivered message shows as a count above the total", () => {
  const now = clock(0);
  const tracker = new DrainTracker(ENDS, 0);
  tracker.add(0, 1n, 2, now);
  tracker.add(0, 1n, 2, now); // the same two again, as after a rebalance
  assert.equal(tracker.done, false, "partition 0 ends at 3 and 1 was never read");
  tracker.add(0, 2n, 1, now);
  tracker.add(1, 1n, 2, now);
  assert.equal(tracker.done, true);
  assert.equal(tracker.result().count, 7);
  assert.equal(tracker.result().expected, 5);
});

Deno.test("an empty topic is drained from the start", () => {
  const tracker = new DrainTracker(new Map([[0, 0n]]), 5);
  assert.equal(tracker.done, true);
  assert.equal(tracker.result().count, 0);
});

Deno.test("waiting for a drain fails with what is missing when messages stop coming", async () => {
  const tracker = new DrainTracker(ENDS, 0);
  tracker.add(0, 2n, 3, () => 1);
  await assert.rejects(
    whenDrained(tracker, { stallMs: 30, pollMs: 5 }),
    (error: unknown) =>
      error instanceof DrainStalledError && /after 3 of 5 messages; .*short of their end: 1$/
        .test(error.message),
  );
});

Deno.test("waiting for a drain ends when the tracker is done or the client fails", async () => {
  const tracker = new DrainTracker(ENDS, 0);
  const waiting = whenDrained(tracker, { stallMs: 5_000, pollMs: 1 });
  tracker.add(0, 2n, 3, () => 1);
  tracker.add(1, 1n, 2, () => 2);
  await waiting;
  const failing = new DrainTracker(ENDS, 0);
  await assert.rejects(
    whenDrained(failing, { stallMs: 5_000, pollMs: 1, failed: Promise.reject(new Error("boom")) }),
    /boom/,
  );
});
