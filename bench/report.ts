/** The benchmark's figures, its phases' records and their rendering as a terminal table; pure. */
import type { CpuShares } from "./machine_load.ts";

/** One measured figure, with the target it is held to (if any). */
export interface Figure {
  readonly phase: string;
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** The target, if any: `min` means value ≥ target, `max` value ≤ target, `equal` value = target. */
  readonly target?: { readonly kind: "min" | "max" | "equal"; readonly value: number };
}

/** Whether a figure meets its target (`undefined` when it has none). */
export function meetsTarget(figure: Figure): boolean | undefined {
  if (!figure.target) return undefined;
  switch (figure.target.kind) {
    case "min":
      return figure.value >= figure.target.value;
    case "max":
      return figure.value <= figure.target.value;
    case "equal":
      return figure.value === figure.target.value;
  }
}

/** How busy the machine was around a phase (the machine is shared: others' jobs count too). */
export interface PhaseLoad {
  /** The 1-minute load average when the phase started and ended. */
  readonly load1Before: number;
  readonly load1After: number;
  /** CPU shares in a short sample just before the phase: what everyone else was doing. */
  readonly cpuBefore?: CpuShares;
  /** CPU shares over the whole phase: ours and everyone else's. */
  readonly cpuDuring?: CpuShares;
}

/** One finished (or failed) phase as the report keeps it. */
export interface PhaseRecord {
  /** The phase's label in the table, e.g. `drain` or `backlog legacy`. */
  readonly phase: string;
  readonly startedAt: string;
  readonly seconds: number;
  readonly load: PhaseLoad;
  readonly figures: readonly Figure[];
  /** Anything else the phase measured (profiles, plans, settings it derived). */
  readonly details?: Readonly<Record<string, unknown>>;
  /** Why the phase failed, when it did. */
  readonly error?: string;
}

/** One line naming a phase's duration and the machine's load around it. */
export function describePhase(record: PhaseRecord): string {
  const { load } = record;
  const cpu = (shares: CpuShares | undefined) =>
    shares
      ? `busy ${formatPercent(shares.busy)}, idle ${formatPercent(shares.idle)}, steal ${
        formatPercent(shares.steal)
      }`
      : "not measured";
  return `${record.phase}: ${record.seconds.toFixed(1)} s; load average (1 min) ${
    formatNumber(load.load1Before)
  } → ${formatNumber(load.load1After)}; CPU before: ${cpu(load.cpuBefore)}; during: ${
    cpu(load.cpuDuring)
  }${record.error ? `; FAILED: ${record.error}` : ""}`;
}

function formatPercent(value: number): string {
  return Number.isFinite(value) ? `${Math.round(value)} %` : "?";
}

/** The targets of `figures`: how many were met, and the names of those not met. */
export function targetSummary(figures: readonly Figure[]): string {
  const judged = figures.filter((figure) => figure.target);
  const missed = judged.filter((figure) => !meetsTarget(figure));
  const list = missed.map((figure) => `${figure.phase}: ${figure.name}`).join("; ");
  return `targets met: ${judged.length - missed.length} of ${judged.length}` +
    (missed.length ? `; not met: ${list}` : "");
}

const TARGET_SIGN = { min: "≥", max: "≤", equal: "=" } as const;

/**
 * Renders figures as an aligned table with a verdict column; `notes` puts a
 * line (a phase's duration and load) above the first row of its phase.
 */
export function renderTable(
  figures: readonly Figure[],
  notes: ReadonlyMap<string, string> = new Map(),
): string {
  const rows = figures.map((figure) => {
    const met = meetsTarget(figure);
    return [
      figure.phase,
      figure.name,
      formatNumber(figure.value),
      figure.unit,
      figure.target
        ? `${TARGET_SIGN[figure.target.kind]} ${formatNumber(figure.target.value)}`
        : "",
      met === undefined ? "" : met ? "met" : "NOT MET",
    ];
  });
  const header = ["phase", "figure", "value", "unit", "target", ""];
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => row[i].length))
  );
  const line = (cells: string[]) =>
    cells.map((cell, i) => (i === 2 ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join("  ")
      .trimEnd();
  const body: string[] = [];
  rows.forEach((row, i) => {
    const note = notes.get(figures[i].phase);
    if (note !== undefined && (i === 0 || figures[i - 1].phase !== figures[i].phase)) {
      body.push(`# ${note}`);
    }
    body.push(line(row));
  });
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...body].join("\n");
}

/** A number with thousands separators and at most two decimals. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 1 ? 1 : 3;
  return value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

/** The p-th percentile (0–100) of sorted values, by nearest rank. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}
