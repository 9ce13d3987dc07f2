/**
 * A benchmark worker: a Deno module run in a process of its own (so what it
 * loads and patches stays out of the benchmark's process) that reports one
 * line `RESULT <json>` on stdout.
 */

import { fileURLToPath } from "node:url";

const REPO_ROOT = new URL("../", import.meta.url);

/** What a worker reported: its result object, or why there is none. */
export type WorkerOutcome =
  | { readonly result: Record<string, unknown>; readonly error?: undefined }
  | { readonly result?: undefined; readonly error: string };

/** Runs `worker` with `--allow-all` and `args` from the repository root; waits for its result. */
export async function runWorkerProcess(
  worker: URL,
  args: readonly string[],
): Promise<WorkerOutcome> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", fileURLToPath(worker), ...args],
    cwd: fileURLToPath(REPO_ROOT),
    env: { KAFKAJS_NO_PARTITIONER_WARNING: "1", NO_COLOR: "1", LOG_FORMAT: "json" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(output.stdout);
  const line = stdout.split("\n").find((text) => text.startsWith("RESULT "));
  if (output.code === 0 && line) return { result: JSON.parse(line.slice("RESULT ".length)) };
  const stderr = new TextDecoder().decode(output.stderr).trim().split("\n").slice(-12).join("\n");
  return {
    error: `${fileURLToPath(worker)} exited with ${output.code}: ${stderr || stdout.trim()}`,
  };
}

/** Prints a worker's result line (the one `runWorkerProcess` reads). */
export function printWorkerResult(result: Record<string, unknown>): void {
  console.log(`RESULT ${JSON.stringify(result)}`);
}
