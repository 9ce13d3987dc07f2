/**
 * CPU time from Linux's /proc: of a process (user + system) and of the whole
 * machine (busy and total), and the load average; what the scaling benchmark
 * reports beside each figure. Readers return undefined where /proc is absent.
 */

/** Clock ticks per second of /proc/<pid>/stat and /proc/stat (USER_HZ, 100 on Linux). */
export const CLOCK_TICKS_PER_SECOND = 100;

/** CPU seconds a process has used so far (user + system), parsed from its stat line. */
export function processCpuSeconds(statLine: string): number {
  // Fields after the command name (which may hold spaces) start at field 3.
  const fields = statLine.slice(statLine.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / CLOCK_TICKS_PER_SECOND;
}

/** The machine's CPU seconds so far: busy (not idle or waiting for I/O) and in all. */
export interface MachineCpu {
  readonly busySeconds: number;
  readonly totalSeconds: number;
}

/** Parses the `cpu` line of /proc/stat. */
export function machineCpu(procStat: string): MachineCpu {
  const line = procStat.split("\n").find((candidate) => candidate.startsWith("cpu "));
  const ticks = (line ?? "").trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is inside user already)
  const total = ticks.slice(0, 8).reduce((sum, value) => sum + (value || 0), 0);
  const idle = (ticks[3] || 0) + (ticks[4] || 0);
  return {
    busySeconds: (total - idle) / CLOCK_TICKS_PER_SECOND,
    totalSeconds: total / CLOCK_TICKS_PER_SECOND,
  };
}

/** CPU seconds of process `pid`, or undefined once it is gone. */
export function readProcessCpu(pid: number): number | undefined {
  try {
    return processCpuSeconds(Deno.readTextFileSync(`/proc/${pid}/stat`));
  } catch {
    return undefined;
  }
}

/** The machine's CPU so far. */
export function readMachineCpu(): MachineCpu {
  return machineCpu(Deno.readTextFileSync("/proc/stat"));
}

/** The 1-minute load average. */
export function readLoadAverage(): number {
  return Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[0]);
}
