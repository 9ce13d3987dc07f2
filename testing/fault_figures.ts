/**
 * The figures a reliability test measured (kills survived, inputs tried,
 * events compared), printed as one greppable line per test so the README's
 * "Guarantees" section can quote the last run: `[figures] <test>: k=v, ...`.
 */

/** A figure: a count, a duration, a yes/no or a short text. */
export type Figure = number | string | boolean;

/** Formats a test's figures as one line. */
export function formatFigures(test: string, figures: Readonly<Record<string, Figure>>): string {
  const parts = Object.entries(figures).map(([name, value]) =>
    `${name}=${typeof value === "number" && !Number.isInteger(value) ? value.toFixed(1) : value}`
  );
  return `[figures] ${test}: ${parts.join(", ")}`;
}

/** Prints a test's figures (see `formatFigures`). */
export function printFigures(test: string, figures: Readonly<Record<string, Figure>>): void {
  console.log(formatFigures(test, figures));
}
