/**
 * One way for every program to read its settings: flags win over environment
 * variables, which win over defaults; each value is validated with zod and
 * `--help` is generated from the same definition. Pure: the caller passes
 * the arguments and the environment in.
 */
import { parseArgs } from "node:util";
import { z } from "zod";
import { LOG_LEVELS, type LogLevel } from "./log.ts";

/** One setting: where it is read from, what it means and how its text is parsed. */
export interface Setting<T> {
  /** The flag without dashes, e.g. `rate` for `--rate`. */
  readonly flag: string;
  /** The environment variable read when the flag is absent. */
  readonly env?: string;
  /** The default as it would be typed; absent means required. */
  readonly fallback?: string;
  /** One line for `--help`. */
  readonly help: string;
  /** What values are allowed, in words, for error messages. */
  readonly allowed: string;
  /** Parses the text of the value. */
  readonly schema: z.ZodType<T, string>;
  /** Hides the value in `--help` and errors (passwords in URLs). */
  readonly secret?: boolean;
}

/** A program's settings, keyed by the name the program uses. */
export type SettingsDefinition = Record<string, Setting<unknown>>;

/** The parsed values of a definition. */
export type ConfigOf<D extends SettingsDefinition> = {
  -readonly [K in keyof D]: D[K] extends Setting<infer T> ? T : never;
};

/** A program's name, one-line summary and settings. */
export interface ProgramDefinition<D extends SettingsDefinition> {
  readonly name: string;
  readonly summary: string;
  readonly settings: D;
  /** A rule across settings: the problem in words (what is wrong, the values, what is allowed). */
  check?(config: ConfigOf<D>): string | undefined;
}

/** A setting that could not be read; the message names the setting, the value and what is allowed. */
export class ConfigError extends Error {
  /** Creates the error with a complete message. */
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** What reading the configuration produced. */
export type ConfigOutcome<C> =
  | { readonly kind: "config"; readonly config: C }
  | { readonly kind: "help"; readonly text: string }
  | { readonly kind: "error"; readonly error: ConfigError };

/** Where settings come from. */
export interface ConfigSources {
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** Declares a setting, keeping its parsed type. */
export function setting<T>(spec: Setting<T>): Setting<T> {
  return spec;
}

/** Reads every setting of a program from flags, environment and defaults. */
export function readConfig<D extends SettingsDefinition>(
  program: ProgramDefinition<D>,
  sources: ConfigSources,
): ConfigOutcome<ConfigOf<D>> {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {
    help: { type: "boolean", short: "h" },
  };
  for (const spec of Object.values(program.settings)) options[spec.flag] = { type: "string" };
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: [...sources.args], options, strict: true, allowPositionals: false })
      .values as Record<string, string | boolean | undefined>;
  } catch (error) {
    return {
      kind: "error",
      error: new ConfigError(`Cannot read config: ${(error as Error).message}; see --help`),
    };
  }
  if (values.help === true) return { kind: "help", text: formatHelp(program) };
  const config: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(program.settings)) {
    const flagValue = values[spec.flag];
    const envValue = spec.env ? sources.env[spec.env] : undefined;
    const [raw, origin] = typeof flagValue === "string"
      ? [flagValue, `"--${spec.flag}"`]
      : envValue !== undefined && envValue !== ""
      ? [envValue, `"${spec.env}"`]
      : [spec.fallback, `"--${spec.flag}"`];
    if (raw === undefined) {
      return {
        kind: "error",
        error: new ConfigError(
          `Cannot read config: ${origin} is required: it must be ${spec.allowed}` +
            (spec.env ? ` (flag --${spec.flag} or variable ${spec.env})` : ""),
        ),
      };
    }
    const parsed = spec.schema.safeParse(raw);
    if (!parsed.success) {
      const shown = spec.secret ? "(hidden)" : `"${raw}"`;
      return {
        kind: "error",
        error: new ConfigError(
          `Cannot read config: ${origin} must be ${spec.allowed}: current value is ${shown}`,
        ),
      };
    }
    config[key] = parsed.data;
  }
  const problem = program.check?.(config as ConfigOf<D>);
  if (problem !== undefined) {
    return { kind: "error", error: new ConfigError(`Cannot read config: ${problem}`) };
  }
  return { kind: "config", config: config as ConfigOf<D> };
}

/** The `--help` text of a program, generated from its definition. */
export function formatHelp<D extends SettingsDefinition>(program: ProgramDefinition<D>): string {
  const rows = Object.values(program.settings).map((spec) => {
    const left = `  --${spec.flag} <value>`;
    const origin = [
      spec.env ? `env ${spec.env}` : "",
      spec.fallback !== undefined && !spec.secret ? `default ${JSON.stringify(spec.fallback)}` : "",
    ].filter(Boolean).join(", ");
    return `${left.padEnd(30)} ${spec.help}\n${" ".repeat(31)}${spec.allowed}${
      origin ? `; ${origin}` : ""
    }`;
  });
  return [
    `${program.name}: ${program.summary}`,
    "",
    `Usage: ${program.name} [flags]   (flags win over environment variables)`,
    "",
    ...rows,
    `  ${"-h, --help".padEnd(28)} Show this help.`,
    "",
  ].join("\n");
}

/** Parsers for common kinds of setting text. */
export const parsers = {
  /** A whole number in `[min, max]`. */
  integer(min: number, max: number = Number.MAX_SAFE_INTEGER): z.ZodType<number, string> {
    return z.string().trim().regex(/^-?\d+$/).transform(Number).pipe(
      z.number().int().min(min).max(max),
    );
  },
  /** A finite number in `[min, max]`. */
  number(min: number, max: number = Number.MAX_VALUE): z.ZodType<number, string> {
    return z.string().trim().regex(/^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/).transform(Number)
      .pipe(z.number().min(min).max(max));
  },
  /** A comma-separated list of `host:port`. */
  brokers(): z.ZodType<string[], string> {
    return z.string().transform((text) => text.split(",").map((part) => part.trim()))
      .pipe(z.array(z.string().regex(/^[A-Za-z0-9_.\-\[\]:]+:\d{1,5}$/)).min(1));
  },
  /** One of a fixed set of words. */
  oneOf<const T extends readonly [string, ...string[]]>(words: T): z.ZodType<T[number], string> {
    return z.enum(words) as unknown as z.ZodType<T[number], string>;
  },
  /** A Kafka topic name. */
  topic(): z.ZodType<string, string> {
    return z.string().regex(/^[A-Za-z0-9._-]{1,249}$/);
  },
  /** A PostgreSQL connection URL. */
  postgresUrl(): z.ZodType<string, string> {
    return z.string().regex(/^postgres(ql)?:\/\/\S+$/);
  },
  /** Free text of bounded length. */
  text(max = 256): z.ZodType<string, string> {
    return z.string().min(1).max(max);
  },
} as const;

/** The settings every program shares, so their flags, variables and messages agree. */
export const commonSettings: {
  readonly brokers: Setting<string[]>;
  readonly databaseUrl: Setting<string>;
  readonly logLevel: Setting<LogLevel>;
} = {
  brokers: setting({
    flag: "brokers",
    env: "KAFKA_BROKERS",
    fallback: "127.0.0.1:9092",
    help: "Kafka bootstrap brokers.",
    allowed: "a comma-separated list of host:port",
    schema: parsers.brokers(),
  }),
  databaseUrl: setting({
    flag: "database-url",
    env: "DATABASE_URL",
    // The database of every local path (deno task services and dev create it when missing).
    fallback: "postgres://postgres@127.0.0.1:5432/activity",
    help: "PostgreSQL connection URL.",
    allowed: "a postgres:// or postgresql:// URL",
    schema: parsers.postgresUrl(),
    secret: true,
  }),
  logLevel: setting({
    flag: "log-level",
    env: "LOG_LEVEL",
    fallback: "info",
    help: "Least severe log level written (per-event lines are at debug).",
    allowed: `one of ${LOG_LEVELS.join(", ")}`,
    schema: parsers.oneOf(LOG_LEVELS),
  }),
};

/** The `--topic` / `KAFKA_TOPIC` setting, with a program's own help line. */
export function topicSetting(help: string): Setting<string> {
  return setting({
    flag: "topic",
    env: "KAFKA_TOPIC",
    fallback: "user_activity",
    help,
    allowed: "a Kafka topic name (1-249 of A-Z a-z 0-9 . _ -)",
    schema: parsers.topic(),
  });
}
