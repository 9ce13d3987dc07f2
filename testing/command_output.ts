/**
 * Commands for tests: arguments made of flags, a run's exit code and output,
 * and a bounded wait for a program that must end by itself.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

/** `{ topic: "t", rate: 100 }` as the arguments `--topic t --rate 100`. */
export function cliArgs(flags: Readonly<Record<string, string | number>>): string[] {
  return Object.entries(flags).flatMap(([flag, value]) => [`--${flag}`, String(value)]);
}

/** How a command ended and what it printed. */
export interface CommandRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout, then stderr. */
  readonly output: string;
}

/** A program started in the background: how it ends, and a way to end it sooner. */
export interface RunningProgram<T extends { readonly stderr: string }> {
  /** Settles when the program has exited and its output is read. */
  readonly finished: Promise<T>;
  /** Sends `signal` (nothing when it has exited already). */
  kill(signal: Deno.Signal): void;
}

/** Options of `startCommand` and `commandOutput`. */
export interface CommandOptions {
  readonly args: string[];
  readonly cwd?: string;
  readonly env?: Record<string, string>;
  readonly clearEnv?: boolean;
}

/** Starts a command for a test; its exit code and everything it prints are collected. */
export function startCommand(command: string, options: CommandOptions): RunningProgram<CommandRun> {
  const child = new Deno.Command(command, { ...options, stdout: "piped", stderr: "piped" })
    .spawn();
  const finished = child.output().then((result) => {
    const decoder = new TextDecoder();
    const stdout = decoder.decode(result.stdout);
    const stderr = decoder.decode(result.stderr);
    return { code: result.code, stdout, stderr, output: stdout + stderr };
  });
  return { finished, kill: (signal) => killQuietly(child, signal) };
}

/** Runs a command to its end for a test: its exit code and everything it printed. */
export function commandOutput(command: string, options: CommandOptions): Promise<CommandRun> {
  return startCommand(command, options).finished;
}

/**
 * What a fresh Deno process run with `args` in the repository's root prints on stdout, as JSON
 * (it must exit 0).
 */
export async function printedJson<T>(args: string[]): Promise<T> {
  const { code, stdout, stderr } = await commandOutput(Deno.execPath(), {
    args,
    cwd: fileURLToPath(new URL("..", import.meta.url)),
  });
  assert.equal(code, 0, stderr);
  return JSON.parse(stdout);
}

/** Sends `signal` to `child` unless it has exited (which `kill` reports by throwing). */
export function killQuietly(child: Deno.ChildProcess, signal: Deno.Signal): void {
  try {
    child.kill(signal);
  } catch {
    // Exited already.
  }
}

/**
 * Waits for a program that must end by itself (one that refuses to start, a one-shot) for at
 * most `ms`; if it is still running then, it is killed and the test fails saying so, with the
 * end of what it wrote on stderr, instead of waiting for ever.
 */
export async function exitWithin<T extends { readonly stderr: string }>(
  program: RunningProgram<T>,
  ms: number,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((resolve) => timer = setTimeout(() => resolve("late"), ms));
  const ended = await Promise.race([program.finished, late]).finally(() => clearTimeout(timer));
  if (ended !== "late") return ended;
  program.kill("SIGKILL");
  // A killed program's output ends at once, unless a child it started still holds it open.
  let grace: ReturnType<typeof setTimeout> | undefined;
  const killed = await Promise.race([
    program.finished.then((run) => run.stderr.slice(-2_000)),
    new Promise<string>((resolve) =>
      grace = setTimeout(() => resolve("(its output did not end after SIGKILL)"), 5_000)
    ),
  ]).finally(() => clearTimeout(grace));
  throw new Error(
    `the program had not exited after ${ms} ms (killed now); its stderr:\n${killed}`,
  );
}
