/**
 * Runs the benchmark's phases one after another and keeps each one's result
 * the moment it ends: its rows are printed and the report file on disk holds
 * its figures and the machine's load around it before the next phase starts.
 * A failing phase is recorded with its error and the run goes on.
 */
import { type CpuShares, cpuShares, load1, readCpuTimes } from "./machine_load.ts";
import {
  describePhase,
  type Figure,
  type PhaseLoad,
  type PhaseRecord,
  renderTable,
} from "./report.ts";
import type { ReportFile } from "./report_file.ts";

/** What a phase measured. */
export interface PhaseResult {
  readonly figures: readonly Figure[];
  readonly details?: Readonly<Record<string, unknown>>;
}

/** A phase to run: its label in the table and what it does. */
export interface PhaseStep {
  readonly phase: string;
  readonly run: () => Promise<PhaseResult>;
}

/** Reads the machine's load; injected so that tests do not sample the real machine. */
export interface LoadProbe {
  /** The 1-minute load average. */
  load1(): number;
  /** CPU shares over a short sample taken now (what others do while we are idle). */
  sampleCpu(): Promise<CpuShares | undefined>;
  /** Starts measuring CPU shares; the returned function ends the measurement. */
  measureCpu(): () => CpuShares | undefined;
}

/** The real machine's load, with a CPU sample of `sampleMs` before each phase. */
export function machineLoadProbe(sampleMs = 1_000): LoadProbe {
  const measureCpu = () => {
    const before = readCpuTimes();
    return () => {
      const after = readCpuTimes();
      return before && after ? cpuShares(before, after) : undefined;
    };
  };
  return {
    load1,
    measureCpu,
    async sampleCpu() {
      const end = measureCpu();
      await new Promise((resolve) => setTimeout(resolve, sampleMs));
      return end();
    },
  };
}

/** How a run's phases are reported. */
export interface PhaseRunnerOptions {
  readonly report: ReportFile;
  readonly probe: LoadProbe;
  /** Prints a phase's rows (stdout in the benchmark). */
  readonly print: (text: string) => void;
  /** Tells which phase runs (so an interrupted run can say which one it stopped in). */
  readonly onPhaseStart?: (phase: string) => void;
}

/** Runs one phase, then prints its rows and writes it to the report; returns its record. */
export async function runPhase(step: PhaseStep, options: PhaseRunnerOptions): Promise<PhaseRecord> {
  const { probe } = options;
  options.onPhaseStart?.(step.phase);
  const load1Before = probe.load1();
  const cpuBefore = await probe.sampleCpu();
  const startedAt = new Date().toISOString();
  const started = performance.now();
  const endCpu = probe.measureCpu();
  let result: PhaseResult = { figures: [] };
  let error: string | undefined;
  try {
    result = await step.run();
  } catch (thrown) {
    error = thrown instanceof Error ? thrown.message : String(thrown);
  }
  const load: PhaseLoad = {
    load1Before,
    load1After: probe.load1(),
    cpuBefore,
    cpuDuring: endCpu(),
  };
  const record: PhaseRecord = {
    phase: step.phase,
    startedAt,
    seconds: (performance.now() - started) / 1000,
    load,
    figures: result.figures,
    ...(result.details ? { details: result.details } : {}),
    ...(error === undefined ? {} : { error }),
  };
  await options.report.recordPhase(record);
  options.print(
    record.figures.length > 0
      ? renderTable(record.figures, new Map([[record.phase, describePhase(record)]]))
      : `# ${describePhase(record)}`,
  );
  return record;
}
