/**
 * The Kafka client comparison's runs, checked and summarised: whether each
 * run delivered (or read) exactly the messages expected, and per client the
 * median, minimum and maximum rate over repetitions with CPU costs and load,
 * rendered as a terminal table. Pure.
 */
import { formatNumber } from "./report.ts";

/** The machine's state around one run. */
export interface RunLoad {
  /** The 1-minute load average before and after the run. */
  readonly load1Before: number;
  readonly load1After: number;
  /** CPU time the broker used during the run, when its process is known. */
  readonly brokerCpuMs?: number;
}

/** One measured run of one client. */
export interface ClientRun {
  readonly mode: "produce" | "drain";
  readonly client: string;
  readonly repetition: number;
  readonly topic: string;
  /** Messages expected: N for producing, the topic's end offsets for reading. */
  readonly expected: number;
  /** Messages acknowledged (producing) or delivered to the handler (reading). */
  readonly count: number;
  /** Messages the topic's end offsets show after producing (for reading, the topic's total). */
  readonly delivered: number;
  /**
   * The timed span: first send to last acknowledgement; for reading, from asking to consume
   * (group join and first fetch included) to the last message.
   */
  readonly elapsedMs: number;
  /** CPU time of the client's process during the timed span. */
  readonly cpuMs: number;
  readonly load: RunLoad;
  /** Why the run failed, when it did (the client's error text, or what did not add up). */
  readonly error?: string;
  /** Anything else the run reported (details, per-partition counts, digest, memory). */
  readonly extra: Readonly<Record<string, unknown>>;
}

/** Whether a run delivered or read exactly what it should: undefined when fine, else why not. */
export function runProblem(run: ClientRun): string | undefined {
  if (run.error !== undefined) return run.error;
  if (run.count !== run.expected) {
    return `${run.mode === "produce" ? "acknowledged" : "read"} ${run.count} of ${run.expected}`;
  }
  if (run.delivered !== run.expected) {
    return `the topic's end offsets hold ${run.delivered} messages, not ${run.expected}`;
  }
  if (!(run.elapsedMs > 0)) return `the timed span is ${run.elapsedMs} ms`;
  return undefined;
}

/** Messages per second of a run. */
export function runRate(run: ClientRun): number {
  return run.count / (run.elapsedMs / 1000);
}

/** One client's figures over its repetitions. */
export interface ClientSummary {
  readonly mode: "produce" | "drain";
  readonly client: string;
  readonly runs: number;
  /** Runs that delivered or read exactly what they should (only these give rates). */
  readonly verified: number;
  /** Rates of the verified runs, in repetition order. */
  readonly rates: readonly number[];
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** Client CPU microseconds per message, median over verified runs. */
  readonly clientCpuUsPerMessage: number;
  /** Broker CPU microseconds per message, median over verified runs that measured it. */
  readonly brokerCpuUsPerMessage: number;
  /** Peak resident memory of the client's process, median over verified runs (NaN if unknown). */
  readonly peakRssMiB: number;
  /** The highest 1-minute load average seen around the runs. */
  readonly maxLoad1: number;
  /** Why runs failed, one line each. */
  readonly problems: readonly string[];
}

/** The median of numbers (NaN for none). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Summarises runs per mode and client, in the order clients first appear. */
export function summarizeRuns(runs: readonly ClientRun[]): ClientSummary[] {
  const groups = new Map<string, ClientRun[]>();
  for (const run of runs) {
    const key = `${run.mode}\u0000${run.client}`;
    groups.set(key, [...(groups.get(key) ?? []), run]);
  }
  return [...groups.values()].map((group) => {
    const good = group.filter((run) => runProblem(run) === undefined);
    const rates = good.map(runRate);
    const brokerCosts = good.filter((run) => run.load.brokerCpuMs !== undefined)
      .map((run) => (run.load.brokerCpuMs! * 1000) / run.count);
    return {
      mode: group[0].mode,
      client: group[0].client,
      runs: group.length,
      verified: good.length,
      rates,
      median: median(rates),
      min: rates.length ? Math.min(...rates) : NaN,
      max: rates.length ? Math.max(...rates) : NaN,
      clientCpuUsPerMessage: median(good.map((run) => (run.cpuMs * 1000) / run.count)),
      brokerCpuUsPerMessage: median(brokerCosts),
      peakRssMiB: median(good.map((run) => Number(run.extra.peakRssMiB ?? NaN))),
      maxLoad1: Math.max(...group.flatMap((run) => [run.load.load1Before, run.load.load1After])),
      problems: group.flatMap((run) => {
        const problem = runProblem(run);
        return problem === undefined ? [] : [`repetition ${run.repetition}: ${problem}`];
      }),
    };
  });
}

/** Whether all values are equal (true for none). */
export function allEqual(values: readonly unknown[]): boolean {
  const texts = values.map((value) => JSON.stringify(value));
  return texts.every((text) => text === texts[0]);
}

/** Renders the summaries as an aligned table (rates in messages per second). */
export function renderSummaryTable(summaries: readonly ClientSummary[]): string {
  const header = [
    "mode",
    "client",
    "verified",
    "median msg/s",
    "min",
    "max",
    "each run (msg/s)",
    "client CPU µs/msg",
    "broker CPU µs/msg",
    "peak RSS MiB",
    "max load1",
  ];
  const rows = summaries.map((summary) => [
    summary.mode,
    summary.client,
    `${summary.verified}/${summary.runs}`,
    formatNumber(summary.median),
    formatNumber(summary.min),
    formatNumber(summary.max),
    summary.rates.map((rate) => formatNumber(Math.round(rate))).join(" "),
    formatNumber(summary.clientCpuUsPerMessage),
    formatNumber(summary.brokerCpuUsPerMessage),
    formatNumber(Math.round(summary.peakRssMiB)),
    formatNumber(summary.maxLoad1),
  ]);
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => row[i].length))
  );
  const numeric = new Set([3, 4, 5, 7, 8, 9, 10]);
  const line = (cells: string[]) =>
    cells.map((cell, i) => (numeric.has(i) ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join("  ").trimEnd();
  const problems = summaries.flatMap((summary) =>
    summary.problems.map((problem) => `${summary.mode} ${summary.client}, ${problem}`)
  );
  return [
    line(header),
    line(widths.map((width) => "-".repeat(width))),
    ...rows.map(line),
    ...(problems.length ? ["", "Failed runs:", ...problems.map((problem) => `  ${problem}`)] : []),
  ].join("\n");
}
