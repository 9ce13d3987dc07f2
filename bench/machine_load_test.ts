import assert from "node:assert/strict";
import { cpuShares, machineSeconds, parseCpuTimes, parseProcessCpuMs } from "./machine_load.ts";

Deno.test("CPU shares between two readings of /proc/stat split busy, idle, I/O wait and steal", () => {
  const before = parseCpuTimes("cpu  100 0 50 800 10 0 5 35 0 0\ncpu0 1 2 3 4\n");
  const after = parseCpuTimes("cpu  800 0 150 900 10 0 5 135 0 0\ncpu0 1 2 3 4\n");
  assert.ok(before && after);
  assert.equal(before.total, 1000);
  const shares = cpuShares(before, after);
  assert.deepEqual(shares, { busy: 80, idle: 10, iowait: 0, steal: 10 });
  assert.ok(Number.isNaN(cpuShares(after, after).idle));
  assert.equal(parseCpuTimes("intr 1 2 3\n"), undefined);
});

Deno.test("a process's CPU time is read after its command name, even one with spaces", () => {
  const fields = Array.from({ length: 20 }, (_, i) => String(i));
  fields[11] = "250"; // utime
  fields[12] = "50"; // stime
  assert.equal(parseProcessCpuMs(`4242 (deno run x) ${fields.join(" ")}`), 3000);
});

Deno.test("the machine's busy seconds exclude idle and I/O wait, its total counts every state", () => {
  const stat = "cpu  100 5 50 800 20 3 2 0 0 0\ncpu0 50 2 25 400 10 1 1 0 0 0\n";
  assert.deepEqual(machineSeconds(parseCpuTimes(stat)), { busySeconds: 1.6, totalSeconds: 9.8 });
});
