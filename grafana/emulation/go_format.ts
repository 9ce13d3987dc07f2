/**
 * The few Go formatting and parsing rules Grafana's backend applies to SQL macros, reproduced so that
 * expanded SQL is byte-for-byte what Grafana sends. Pure.
 */

const GO_UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  "μs": 1e-3,
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
};

const DAY_MS = 86_400_000;

/**
 * Parses an interval as Grafana's `gtime.ParseInterval`: `<int>d` and `<int>w` (24 h days), else a Go
 * duration (`90s`, `1h30m`, `1.5h`, `500ms`); undefined when Grafana would refuse it. Months and
 * years (`M`, `y`) depend on the calendar in Grafana and are refused here.
 */
export function parseGrafanaInterval(text: string): number | undefined {
  const dateUnit = /^(\d+)([dw])$/.exec(text);
  if (dateUnit) return Number(dateUnit[1]) * (dateUnit[2] === "d" ? DAY_MS : 7 * DAY_MS);
  return parseGoDuration(text);
}

/** Parses a Go `time.ParseDuration` string into milliseconds; undefined when Go would refuse it. */
export function parseGoDuration(text: string): number | undefined {
  const match = /^([-+]?)(.*)$/.exec(text)!;
  const sign = match[1] === "-" ? -1 : 1;
  const body = match[2];
  if (body === "0") return 0;
  if (body === "") return undefined;
  const part = /(\d*\.?\d*)([a-zµμ]+)/y;
  let total = 0;
  let index = 0;
  while (index < body.length) {
    part.lastIndex = index;
    const found = part.exec(body);
    if (!found || found[1] === "" || found[1] === ".") return undefined;
    const unit = GO_UNIT_MS[found[2]];
    if (unit === undefined) return undefined;
    total += Number(found[1]) * unit;
    index = part.lastIndex;
  }
  return sign * total;
}

/** Formats an interval as Grafana's `gtime.FormatInterval`: the largest whole unit, truncated. */
export function formatGrafanaInterval(intervalMs: number): string {
  const units: Array<[string, number]> = [
    ["y", 365 * DAY_MS],
    ["d", DAY_MS],
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1_000],
    ["ms", 1],
  ];
  for (const [unit, size] of units) {
    if (intervalMs >= size) return `${Math.floor(intervalMs / size)}${unit}`;
  }
  return "1ms";
}

/**
 * Formats a float64 as Go's `fmt.Sprintf("%v", x)`: the shortest round-trip digits, in `%e` form
 * (`2.592e+06`) when the decimal exponent is below -4 or at least 6, else plain (`86400`, `0.5`).
 */
export function formatGoFloat(value: number): string {
  if (value === 0) return Object.is(value, -0) ? "-0" : "0";
  if (!Number.isFinite(value)) return Number.isNaN(value) ? "NaN" : value > 0 ? "+Inf" : "-Inf";
  const [mantissa, exponentText] = value.toExponential().split("e");
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 6) {
    const sign = exponent < 0 ? "-" : "+";
    return `${mantissa}e${sign}${String(Math.abs(exponent)).padStart(2, "0")}`;
  }
  const negative = mantissa.startsWith("-");
  const digits = mantissa.replace("-", "").replace(".", "");
  const point = exponent + 1; // digits before the decimal point
  const plain = point <= 0
    ? `0.${"0".repeat(-point)}${digits}`
    : point >= digits.length
    ? digits + "0".repeat(point - digits.length)
    : `${digits.slice(0, point)}.${digits.slice(point)}`;
  return negative ? `-${plain}` : plain;
}
