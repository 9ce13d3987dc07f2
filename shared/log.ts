/** A small levelled logger: readable lines on a terminal, JSON lines otherwise. */

/** Log levels, least to most severe. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;

/** A log level. */
export type LogLevel = typeof LOG_LEVELS[number];

/** Structured fields attached to a log line. */
export type LogFields = Readonly<Record<string, unknown>>;

/** Writes log lines at or above a level. */
export interface Logger {
  /** Whether lines at `level` are written (to skip building costly fields). */
  enabled(level: LogLevel): boolean;
  /** Detail for developers; off by default. */
  debug(message: string, fields?: LogFields): void;
  /** Normal progress. */
  info(message: string, fields?: LogFields): void;
  /** Something is wrong but handled. */
  warn(message: string, fields?: LogFields): void;
  /** Something failed. */
  error(message: string, fields?: LogFields): void;
}

/** How a logger writes. */
export interface LoggerOptions {
  readonly level: LogLevel;
  /** `pretty` for people, `json` for machines. */
  readonly format: "pretty" | "json";
  /** The program's name, on every line. */
  readonly name: string;
  /** Receives each finished line (without newline). */
  readonly write: (line: string) => void;
  /** The clock, for tests. */
  readonly now?: () => Date;
}

/** Creates a logger that formats lines and hands them to `options.write`. */
export function createLogger(options: LoggerOptions): Logger {
  const threshold = LOG_LEVELS.indexOf(options.level);
  const now = options.now ?? (() => new Date());
  const enabled = (level: LogLevel) => LOG_LEVELS.indexOf(level) >= threshold;
  const format = options.format === "json" ? formatJsonLine : formatPrettyLine;
  const emit = (level: LogLevel, message: string, fields: LogFields = {}) => {
    if (!enabled(level)) return;
    options.write(format({ time: now(), level, name: options.name, message, fields }));
  };
  return {
    enabled,
    debug: (message, fields) => emit("debug", message, fields),
    info: (message, fields) => emit("info", message, fields),
    warn: (message, fields) => emit("warn", message, fields),
    error: (message, fields) => emit("error", message, fields),
  };
}

/** One line to write. */
interface LogLine {
  readonly time: Date;
  readonly level: LogLevel;
  readonly name: string;
  readonly message: string;
  readonly fields: LogFields;
}

function formatJsonLine({ time, level, name, message, fields }: LogLine): string {
  return JSON.stringify({ time: time.toISOString(), level, name, msg: message, ...fields }, (
    _key,
    value,
  ) => value instanceof Error ? `${value.name}: ${value.message}` : value);
}

function formatPrettyLine({ time, level, name, message, fields }: LogLine): string {
  const extra = Object.entries(fields).map(([key, value]) =>
    `${key}=${value instanceof Error ? value.message : formatValue(value)}`
  );
  const clock = time.toISOString().slice(11, 23);
  return [clock, level.toUpperCase().padEnd(5), `${name}:`, message, ...extra].join(" ");
}

function formatValue(value: unknown): string {
  if (typeof value === "string") return /[\s"=]/.test(value) ? JSON.stringify(value) : value;
  return typeof value === "object" && value !== null ? JSON.stringify(value) : String(value);
}
