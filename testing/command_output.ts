/** Commands for tests: arguments made of flags, and a run's exit code and output. */

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

/** Runs a command to its end for a test: its exit code and everything it printed. */
export async function commandOutput(
  command: string,
  options: { args: string[]; cwd?: string; env?: Record<string, string>; clearEnv?: boolean },
): Promise<CommandRun> {
  const result = await new Deno.Command(command, { ...options, stdout: "piped", stderr: "piped" })
    .output();
  const decoder = new TextDecoder();
  const stdout = decoder.decode(result.stdout);
  const stderr = decoder.decode(result.stderr);
  return { code: result.code, stdout, stderr, output: stdout + stderr };
}
