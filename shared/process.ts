/**
 * The edge where a program meets its process: reading its configuration from
 * the command line and environment (exit code 2 on a bad value), its logger on
 * stderr, and the shutdown signals.
 */
import {
  type ConfigOf,
  type ProgramDefinition,
  readConfig,
  type SettingsDefinition,
} from "./config.ts";
import process from "node:process";
import { createLogger, type Logger, type LogLevel } from "./log.ts";

/** Exit code for a bad command line or environment. */
export const EXIT_USAGE = 2;

/** Reads the program's configuration from `Deno.args` and the environment, or exits. */
export function loadConfigOrExit<D extends SettingsDefinition>(
  program: ProgramDefinition<D>,
  args: readonly string[] = Deno.args,
): ConfigOf<D> {
  const env: Record<string, string | undefined> = {};
  for (const spec of Object.values(program.settings)) {
    if (spec.env) env[spec.env] = readEnv(spec.env);
  }
  const outcome = readConfig(program, { args, env });
  if (outcome.kind === "help") {
    console.log(outcome.text);
    Deno.exit(0);
  }
  if (outcome.kind === "error") {
    console.error(outcome.error.message);
    Deno.exit(EXIT_USAGE);
  }
  return outcome.config;
}

function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    // Without permission for this variable the flag or default applies.
    return undefined;
  }
}

/**
 * A logger on stderr: pretty on a terminal, JSON lines otherwise (or as `LOG_FORMAT` says).
 * Node-style process warnings go through it too, so every line in JSON mode is JSON.
 */
export function processLogger(name: string, level: LogLevel): Logger {
  const forced = readEnv("LOG_FORMAT");
  const format = forced === "json" || forced === "pretty"
    ? forced
    : Deno.stderr.isTerminal()
    ? "pretty"
    : "json";
  const encoder = new TextEncoder();
  const log = createLogger({
    level,
    format,
    name,
    write: (line) => Deno.stderr.writeSync(encoder.encode(line + "\n")),
  });
  routeProcessWarnings(log);
  return log;
}

/**
 * Sends Node-style process warnings to `log` instead of raw `(node:…)` stderr lines that break
 * JSON logs. KafkaJS arms timers with negative delays (`TimeoutNegativeWarning`, harmless: the
 * delay becomes 1 ms), so that one is debug.
 */
function routeProcessWarnings(log: Logger): void {
  process.removeAllListeners("warning");
  process.on("warning", (warning: Error) => {
    if (warning.name === "TimeoutNegativeWarning") log.debug(warning.message);
    else log.warn(warning.message, { warning: warning.name });
  });
}

/** The first and the second SIGINT/SIGTERM. */
export interface ShutdownSignals {
  /** Resolves with the first signal's name: stop cleanly. */
  readonly first: Promise<string>;
  /** Resolves with the second signal's name: leave at once. */
  readonly second: Promise<string>;
  /** Removes the listeners. */
  dispose(): void;
}

/** Listens for SIGINT and SIGTERM: the first asks for a clean stop, a second for leaving now. */
export function shutdownSignals(): ShutdownSignals {
  const first = Promise.withResolvers<string>();
  const second = Promise.withResolvers<string>();
  let received = 0;
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  const handlers = signals.map((signal) => {
    const handler = () => {
      received++;
      if (received === 1) first.resolve(signal);
      else second.resolve(signal);
    };
    Deno.addSignalListener(signal, handler);
    return [signal, handler] as const;
  });
  return {
    first: first.promise,
    second: second.promise,
    dispose: () =>
      handlers.forEach(([signal, handler]) => Deno.removeSignalListener(signal, handler)),
  };
}
