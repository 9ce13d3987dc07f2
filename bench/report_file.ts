/**
 * The benchmark's JSON report, rewritten on disk after every phase (to a
 * temporary file, then renamed over the report), so that a run stopped at
 * any point keeps every phase it finished.
 */
import type { Figure, PhaseRecord } from "./report.ts";

/** Where a run stands: `running` until it ends, then how it ended. */
export type RunStatus = "running" | "complete" | "failed" | "interrupted";

/** The report as written to disk. */
export interface BenchReport {
  readonly status: RunStatus;
  readonly startedAt: string;
  readonly updatedAt: string;
  /** The phase running when the run was interrupted. */
  readonly interruptedIn?: string;
  readonly machine: unknown;
  readonly settings: unknown;
  readonly phases: readonly PhaseRecord[];
  /** Every phase's figures, in order (as in the table). */
  readonly figures: readonly Figure[];
}

/** A report file that grows by one phase at a time. */
export class ReportFile {
  /** The report's path. */
  readonly path: string;
  readonly #header: { machine: unknown; settings: unknown; startedAt: string };
  readonly #phases: PhaseRecord[] = [];
  #status: RunStatus = "running";
  #interruptedIn: string | undefined;
  #writing: Promise<void> = Promise.resolve();

  /** A report at `path` for a run on `machine` with `settings`; nothing is written yet. */
  constructor(path: string, header: { machine: unknown; settings: unknown; startedAt: string }) {
    this.path = path;
    this.#header = header;
  }

  /** The phases recorded so far. */
  get phases(): readonly PhaseRecord[] {
    return this.#phases;
  }

  /** Writes the report as it stands (status `running`, no phase yet). */
  start(): Promise<void> {
    return this.#write();
  }

  /** Adds a finished phase and writes the report; resolves once it is on disk. */
  recordPhase(record: PhaseRecord): Promise<void> {
    this.#phases.push(record);
    return this.#write();
  }

  /** Marks how the run ended and writes the report. */
  finish(status: Exclude<RunStatus, "running">, options: { phase?: string } = {}): Promise<void> {
    this.#status = status;
    this.#interruptedIn = options.phase;
    return this.#write();
  }

  /** The report as it stands. */
  snapshot(): BenchReport {
    return {
      status: this.#status,
      startedAt: this.#header.startedAt,
      updatedAt: new Date().toISOString(),
      ...(this.#interruptedIn === undefined ? {} : { interruptedIn: this.#interruptedIn }),
      machine: this.#header.machine,
      settings: this.#header.settings,
      phases: this.#phases,
      figures: this.#phases.flatMap((record) => record.figures),
    };
  }

  #write(): Promise<void> {
    // One write at a time, each with the state at its turn: the last one wins, whole.
    this.#writing = this.#writing.catch(() => {}).then(async () => {
      const text = JSON.stringify(this.snapshot(), null, 2) + "\n";
      const temporary = `${this.path}.partial`;
      await Deno.writeTextFile(temporary, text);
      await Deno.rename(temporary, this.path);
    });
    return this.#writing;
  }
}
