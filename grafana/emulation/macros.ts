/**
 * Grafana's PostgreSQL macro expansion (Grafana 11/12 backend), reproduced exactly so that tests can
 * run a panel's SQL as Grafana would send it. Pure: the time range and interval are passed in.
 *
 * Order as in Grafana: first the global substitutions (`$__interval_ms`, `$__interval`,
 * `$__unixEpochFrom()`, `$__unixEpochTo()`), then every `$__name(args)` macro, matched by
 * `\$([_a-zA-Z0-9]+)\(([^)]*)\)` (so an argument can contain neither `)` nor a comma).
 */
import { formatGoFloat, formatGrafanaInterval, parseGrafanaInterval } from "./go_format.ts";

/** The time range and interval Grafana's backend receives with a query. */
export interface MacroContext {
  /** Range start. */
  readonly from: Date;
  /** Range end. */
  readonly to: Date;
  /** The query interval (`$__interval`), in milliseconds. */
  readonly intervalMs: number;
}

/** A macro Grafana would refuse: the query fails with this message instead of running. */
export class MacroError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "MacroError";
  }
}

const MACRO = /\$([_a-zA-Z0-9]+)\(([^)]*)\)/g;

/** Expands every Grafana PostgreSQL macro in `sql` the way Grafana's backend does. */
export function expandMacros(sql: string, context: MacroContext): string {
  const global = interpolateGlobal(sql, context);
  return global.replace(MACRO, (whole: string, rawName: string, rawArgs: string) => {
    let name = rawName;
    // Grafana's pre-5.3 compatibility: a `$__timeGroup(...)` whose FIRST occurrence in the query
    // is directly followed by a comma becomes the aliased form, and so does every copy of it.
    if (name === "__timeGroup") {
      const index = global.indexOf(whole);
      if (index >= 0 && global[index + whole.length] === ",") name = "__timeGroupAlias";
    }
    // Go's strings.Split("", ",") is [""]: a macro always has at least one (maybe empty) argument.
    const args = rawArgs.split(",").map((arg) => arg.replace(/^ +| +$/g, ""));
    return evaluateMacro(name, args, context);
  });
}

function interpolateGlobal(sql: string, { from, to, intervalMs }: MacroContext): string {
  return sql
    .replaceAll("$__interval_ms", String(Math.trunc(intervalMs)))
    .replaceAll("$__interval", formatGrafanaInterval(intervalMs))
    .replaceAll("$__unixEpochFrom()", String(unixSeconds(from)))
    .replaceAll("$__unixEpochTo()", String(unixSeconds(to)));
}

function evaluateMacro(name: string, args: string[], context: MacroContext): string {
  const { from, to } = context;
  switch (name) {
    case "__time":
      return `${args[0]} AS "time"`;
    case "__timeEpoch":
      return `extract(epoch from ${args[0]}) as "time"`;
    case "__timeFilter":
      return `${args[0]} BETWEEN '${formatRfc3339Nano(from)}' AND '${formatRfc3339Nano(to)}'`;
    case "__timeFrom":
      return `'${formatRfc3339Nano(from)}'`;
    case "__timeTo":
      return `'${formatRfc3339Nano(to)}'`;
    case "__timeGroup": {
      const seconds = groupSeconds(name, args);
      return `floor(extract(epoch from ${args[0]})/${seconds})*${seconds}`;
    }
    case "__timeGroupAlias":
      return `${evaluateMacro("__timeGroup", args, context)} AS "time"`;
    case "__unixEpochFilter":
      return `${args[0]} >= ${unixSeconds(from)} AND ${args[0]} <= ${unixSeconds(to)}`;
    case "__unixEpochNanoFilter":
      return `${args[0]} >= ${unixNanos(from)} AND ${args[0]} <= ${unixNanos(to)}`;
    case "__unixEpochNanoFrom":
      return unixNanos(from);
    case "__unixEpochNanoTo":
      return unixNanos(to);
    case "__unixEpochGroup": {
      const seconds = groupSeconds(name, args);
      return `floor((${args[0]})/${seconds})*${seconds}`;
    }
    case "__unixEpochGroupAlias":
      return `${evaluateMacro("__unixEpochGroup", args, context)} AS "time"`;
    default:
      throw new MacroError(`unknown macro "${name}"`);
  }
}

/** The bucket width of a group macro as Go prints `interval.Seconds()` with `%v`. */
function groupSeconds(name: string, args: string[]): string {
  if (args.length < 2) {
    throw new MacroError(`macro ${name} needs time column and interval and optional fill value`);
  }
  const intervalMs = parseGrafanaInterval(args[1].replace(/^'+|'+$/g, ""));
  if (intervalMs === undefined) throw new MacroError(`error parsing interval ${args[1]}`);
  if (args.length === 3 && !/^(NULL|previous|-?\d+(\.\d+)?)$/.test(args[2])) {
    throw new MacroError(`error parsing fill value ${args[2]}`);
  }
  return formatGoFloat(intervalMs / 1000);
}

/** A time as Go's `time.RFC3339Nano` in UTC: fraction only when non-zero, trailing zeros cut. */
export function formatRfc3339Nano(time: Date): string {
  const iso = time.toISOString(); // 2024-05-01T10:00:00.120Z
  const [seconds, fraction] = iso.slice(0, -1).split(".");
  const trimmed = (fraction ?? "").replace(/0+$/, "");
  return trimmed ? `${seconds}.${trimmed}Z` : `${seconds}Z`;
}

function unixSeconds(time: Date): number {
  return Math.floor(time.getTime() / 1000);
}

function unixNanos(time: Date): string {
  return (BigInt(time.getTime()) * 1_000_000n).toString();
}
