/**
 * How busy the shared machine is: the 1-minute load average, the CPU time of
 * the whole machine (from /proc/stat: busy, idle, steal) and of one process.
 * The parsing and arithmetic are pure; the readers are thin.
 */

/** Cumulative CPU time of the whole machine, in clock ticks, from the `cpu` line of /proc/stat. */
export interface CpuTimes {
  readonly idle: number;
  readonly iowait: number;
  readonly steal: number;
  readonly total: number;
}

/** Shares of the machine's CPU time between two readings, in percent. */
export interface CpuShares {
  /** Neither idle nor waiting for I/O nor stolen: somebody's work. */
  readonly busy: number;
  readonly idle: number;
  readonly iowait: number;
  /** Taken by the hypervisor for other guests. */
  readonly steal: number;
}

/** Parses the aggregate `cpu` line of /proc/stat (undefined if there is none). */
export function parseCpuTimes(procStat: string): CpuTimes | undefined {
  const line = procStat.split("\n").find((text) => /^cpu\s/.test(text));
  if (!line) return undefined;
  // user nice system idle iowait irq softirq steal [guest guest_nice] (guest time is in user).
  const fields = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (fields.length < 4 || fields.some((n) => !Number.isFinite(n))) return undefined;
  const [, , , idle, iowait = 0, , , steal = 0] = fields;
  return { idle, iowait, steal, total: fields.reduce((sum, n) => sum + n, 0) };
}

/** The shares of CPU time spent between `before` and `after` (NaN when no time passed). */
export function cpuShares(before: CpuTimes, after: CpuTimes): CpuShares {
  const total = after.total - before.total;
  const share = (ticks: number) => (total > 0 ? (100 * ticks) / total : NaN);
  const idle = share(after.idle - before.idle);
  const iowait = share(after.iowait - before.iowait);
  const steal = share(after.steal - before.steal);
  return { busy: 100 - idle - iowait - steal, idle, iowait, steal };
}

/** CPU seconds of the whole machine: busy (not idle nor waiting for I/O) and in all. */
export interface MachineSeconds {
  readonly busySeconds: number;
  readonly totalSeconds: number;
}

/** The busy and total CPU seconds of `times` (clock ticks of 10 ms, USER_HZ 100). */
export function machineSeconds(times: CpuTimes | undefined): MachineSeconds {
  if (times === undefined) return { busySeconds: NaN, totalSeconds: NaN };
  return {
    busySeconds: (times.total - times.idle - times.iowait) / 100,
    totalSeconds: times.total / 100,
  };
}

/** The 1-minute load average (NaN where /proc is missing). */
export function load1(): number {
  try {
    return Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[0]);
  } catch {
    return NaN;
  }
}

/** The machine's CPU times now (undefined where /proc is missing). */
export function readCpuTimes(): CpuTimes | undefined {
  try {
    return parseCpuTimes(Deno.readTextFileSync("/proc/stat"));
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) of a /proc/<pid>/stat line, in milliseconds. */
export function parseProcessCpuMs(stat: string): number {
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10; // clock ticks of 10 ms (USER_HZ 100)
}

/** CPU time of a process so far, in milliseconds, or undefined (no pid, or it has exited). */
export function processCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    return parseProcessCpuMs(Deno.readTextFileSync(`/proc/${pid}/stat`));
  } catch {
    return undefined;
  }
}
