import assert from "node:assert/strict";
import { longestStall, normalLongestGap, type ProgressSample } from "./progress_stall.ts";

function series(values: number[], stepMs = 100): ProgressSample[] {
  return values.map((value, i) => ({ atMs: i * stepMs, value }));
}

Deno.test("a counter that rises every sample has stalls of one sample interval", () => {
  const stall = longestStall(series([0, 1, 2, 3, 4, 5]), { fromMs: 0, toMs: 500 });
  assert.deepEqual(stall, { ms: 100, fromMs: 0, toMs: 100, resumed: true });
});

Deno.test("the stall around a fault runs from the last increase before it to the first after it", () => {
  // Rises until 300 ms, stands still until 1 200 ms, rises again.
  const values = [0, 1, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4, 5];
  const stall = longestStall(series(values), { fromMs: 500, toMs: 1_300 });
  assert.deepEqual(stall, { ms: 900, fromMs: 300, toMs: 1_200, resumed: true });
});

Deno.test("stalls wholly outside the window are ignored", () => {
  const values = [0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5];
  assert.equal(longestStall(series(values), { fromMs: 800, toMs: 1_000 }).ms, 100);
  assert.equal(longestStall(series(values), { fromMs: 0, toMs: 1_000 }).ms, 600);
});

Deno.test("a stall still running at the window's end counts up to it and is marked as not resumed", () => {
  const stall = longestStall(series([0, 1, 2, 2, 2, 2]), { fromMs: 250, toMs: 500 });
  assert.deepEqual(stall, { ms: 300, fromMs: 200, toMs: 500, resumed: false });
});

Deno.test("the normal gap ignores the wait before the first increase and a stall still open at the fault", () => {
  // Idle until 300 ms, then a 300 ms pause, then rising until the fault at 1 300 ms, stalled after.
  const values = [0, 0, 0, 0, 1, 2, 2, 2, 3, 4, 5, 6, 7, 7, 7, 7];
  const gap = normalLongestGap(series(values), 1_300);
  assert.deepEqual(gap, { ms: 300, fromMs: 500, toMs: 800, resumed: true });
  assert.equal(normalLongestGap(series([0, 0, 0]), 200).ms, 0);
});
