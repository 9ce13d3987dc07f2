/**
 * Runs the producer or consumer CLI as its own process (as in production, so
 * the two programs do not share one JavaScript thread) and watches it:
 * peak memory from /proc, `/metrics` scrapes, its log lines.
 */
import { programBuild, REPO_ROOT, runArgs } from "../tools/compile.ts";
import { processCpuMs } from "./machine_load.ts";

/** A running program. */
export interface ProgramProcess extends AsyncDisposable {
  readonly pid: number;
  /** Peak resident memory seen so far, in bytes (VmHWM). */
  peakMemoryBytes(): number;
  /** CPU time (user + system) used so far, in milliseconds (last reading before it exited). */
  cpuMs(): number;
  /** The program's `/metrics` text (empty if it has no metrics port). */
  scrapeMetrics(): Promise<string>;
  /** Every line the program wrote to stderr and stdout so far. */
  lines(): readonly string[];
  /** Sends a signal and waits for the exit code. */
  stop(signal?: Deno.Signal): Promise<number>;
  /** Resolves with the exit code when the program ends by itself. */
  readonly exited: Promise<number>;
}

/** Programs started and not yet exited (so that an interrupted benchmark can stop them). */
const running = new Set<Deno.ChildProcess>();

/** Kills every program this process started that is still running. */
export function killRunningPrograms(): void {
  for (const child of running) {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  }
}

/** Starts the producer or consumer from source, with its own task's flags, plus `args`. */
export function startProgram(
  program: "producer" | "consumer",
  options: { args: readonly string[]; metricsPort?: number; env?: Record<string, string> },
): ProgramProcess {
  const child = new Deno.Command(Deno.execPath(), {
    // The same flags and permissions as `deno task producer` / `deno task consumer`.
    args: [...runArgs(programBuild(program)), ...options.args],
    cwd: REPO_ROOT,
    env: { LOG_FORMAT: "json", NO_COLOR: "1", ...options.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  running.add(child);
  const collected: string[] = [];
  const readers = [child.stdout, child.stderr].map(async (stream) => {
    const decoder = new TextDecoderStream();
    let rest = "";
    for await (const chunk of stream.pipeThrough(decoder)) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop() ?? "";
      collected.push(...parts);
    }
    if (rest) collected.push(rest);
  });
  let peak = 0;
  let cpu = 0;
  const sample = () => {
    try {
      const status = Deno.readTextFileSync(`/proc/${child.pid}/status`);
      const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
      peak = Math.max(peak, kb * 1024);
    } catch { /* exited */ }
    cpu = processCpuMs(child.pid) ?? cpu;
  };
  const sampler = setInterval(sample, 100);
  const exited = child.status.then(async (status) => {
    running.delete(child);
    clearInterval(sampler);
    await Promise.allSettled(readers);
    return status.code;
  });
  return {
    pid: child.pid,
    exited,
    peakMemoryBytes: () => (sample(), peak),
    cpuMs: () => (sample(), cpu),
    lines: () => collected,
    async scrapeMetrics() {
      if (!options.metricsPort) return "";
      try {
        const response = await fetch(`http://127.0.0.1:${options.metricsPort}/metrics`);
        return await response.text();
      } catch {
        return "";
      }
    },
    async stop(signal: Deno.Signal = "SIGTERM") {
      sample();
      try {
        child.kill(signal);
      } catch { /* already gone */ }
      return await exited;
    },
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      await exited;
    },
  };
}
