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

/** A logger on stderr: pretty on a terminal, JSON lines otherwise (or as `LOG_FORMAT` says). */
export function processLogger(name: string, level: LogLevel): Logger {
  const forced = readEnv("LOG_FORMAT");
  const format = forced === "json" || forced === "pretty"
    ? forced
    : Deno.stderr.isTerminal()
    ? "pretty"
    : "json";
  const encoder = new TextEncoder();
  return createLogger({
    level,
    format,
    name,
    write: (line) => Deno.stderr.writeSync(encoder.encode(line + "\n")),
  });
}

/** Resolves when SIGINT or SIGTERM arrives; `dispose` removes the listeners. */
export function shutdownSignal(): { promise: Promise<string>; dispose: () => void } {
  const { promise, resolve } = Promise.withResolvers<string>();
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  const handlers = signals.map((signal) => {
    const handler = () => resolve(signal);
    Deno.addSignalListener(signal, handler);
    return [signal, handler] as const;
  });
  return {
    promise,
    dispose: () =>
      handlers.forEach(([signal, handler]) => Deno.removeSignalListener(signal, handler)),
  };
}
