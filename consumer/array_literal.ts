/**
 * PostgreSQL array literals (`{…}` text) for the flush statement's column parameters, pure.
 * postgres.js would build the same text, but element by element through two regular
 * expressions each: for a flush of a hundred thousand rows across a dozen columns that was
 * about 5 % of the consumer's CPU. Here a column of plain values (the usual case) is one `join`.
 */

/** A column's value: numbers, text, or null (SQL NULL). */
export type ArrayElement = string | number | bigint | null;

/**
 * The PostgreSQL array literal of `values`, which any array type's input function parses
 * back to the same values: text is always quoted (so empty strings, commas, braces, spaces and
 * the word NULL stay text), `"` and `\` are escaped, null is NULL, and numbers are written as
 * JavaScript writes integers (only safe integers are accepted).
 */
export function arrayLiteral(values: readonly ArrayElement[]): string {
  if (values.length === 0) return "{}";
  let numbers = true;
  let nulls = false;
  for (const value of values) {
    if (typeof value === "number") {
      if (!Number.isSafeInteger(value)) throw notAnInteger(value);
    } else if (value === null) {
      nulls = true;
    } else if (typeof value === "string" && !value.includes('"') && !value.includes("\\")) {
      numbers = false;
    } else {
      // Text to escape, or something to refuse: element by element.
      return `{${values.map(element).join(",")}}`;
    }
  }
  if (!nulls) return numbers ? `{${values.join(",")}}` : `{"${values.join('","')}"}`;
  let literal = "{";
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (i > 0) literal += ",";
    literal += value === null ? "NULL" : typeof value === "number" ? value : `"${value}"`;
  }
  return literal + "}";
}

function element(value: ArrayElement): string {
  if (value === null) return "NULL";
  if (typeof value === "string") return `"${value.replace(/["\\]/g, "\\$&")}"`;
  if (typeof value === "bigint") return String(value);
  if (typeof value === "number" && Number.isSafeInteger(value)) return String(value);
  throw notAnInteger(value);
}

function notAnInteger(value: unknown): RangeError {
  return new RangeError(
    `Cannot write an SQL array element: expected text, an integer or null, got ${String(value)}`,
  );
}
