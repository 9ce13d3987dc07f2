import assert from "node:assert/strict";
import { machineCpu, processCpuSeconds } from "./proc_stats.ts";

Deno.test("a process's CPU is its user and system ticks, even when its name holds spaces and parentheses", () => {
  const line =
    "4242 (deno (worker) x) S 1 4242 4242 0 -1 4194560 5000 0 0 0 1234 567 0 0 20 0 12 0 100 0 0";
  assert.equal(processCpuSeconds(line), (1234 + 567) / 100);
});

Deno.test("the machine's busy time excludes idle and I/O wait, its total counts every state", () => {
  const stat = "cpu  100 5 50 800 20 3 2 0 0 0\ncpu0 50 2 25 400 10 1 1 0 0 0\n";
  assert.deepEqual(machineCpu(stat), { busySeconds: 1.6, totalSeconds: 9.8 });
});
