/** The benchmark's figures and their rendering as a terminal table; pure. */

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

const TARGET_SIGN = { min: "≥", max: "≤", equal: "=" } as const;

/** Renders figures as an aligned table with a verdict column. */
export function renderTable(figures: readonly Figure[]): string {
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
      met === undefined ? "" : met ? "met" : "MISSED",
    ];
  });
  const header = ["phase", "figure", "value", "unit", "target", ""];
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => row[i].length))
  );
  const line = (cells: string[]) =>
    cells.map((cell, i) => (i === 2 ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
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
