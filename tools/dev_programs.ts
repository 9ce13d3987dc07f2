/**
 * The programs `deno task dev` runs: each under `deno run --watch` in a
 * session of its own, its output prefixed with its name, its end noticed
 * (the watcher keeps waiting for changes after a program exits, so its
 * "Process finished/failed" line is the end), and stopped with exactly one
 * signal.
 */
import { type ProgramBuild, REPO_ROOT, runArgs } from "./compile.ts";
import { watcherEvent } from "./dev_plan.ts";

// deno colours its watcher lines; matching reads them without the escapes.
const ANSI_COLOR = new RegExp(String.fromCharCode(27) + "\\[[0-9;]*m", "g");
const LAST_LINES = 8;
const encoder = new TextEncoder();

/** A program started by dev. */
export interface RunningProgram {
  readonly build: ProgramBuild;
  readonly child: Deno.ChildProcess;
  /** Resolves with the exit code the first time the program ends. */
  readonly ended: Promise<number>;
  /** The program's last output lines, colours removed (why it died). */
  lastLines(): string[];
  /** Resolves when all its output is written. */
  readonly output: Promise<void>;
}

/**
 * Starts a program; with `isolate`, in a session of its own (`setsid`), so a
 * Ctrl-C in the terminal reaches only dev, which passes on exactly one signal.
 */
export function startProgram(
  build: ProgramBuild,
  env: Record<string, string>,
  options: { watch: boolean; isolate: boolean; prefix: string },
): RunningProgram {
  const args = [Deno.execPath(), ...runArgs(build, { watch: options.watch })];
  const child = new Deno.Command(options.isolate ? "setsid" : args[0], {
    args: options.isolate ? args : args.slice(1),
    cwd: REPO_ROOT,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const ended = Promise.withResolvers<number>();
  child.status.then((status) => ended.resolve(status.code));
  const last: string[] = [];
  const pipe = async (stream: ReadableStream<Uint8Array>, target: typeof Deno.stdout) => {
    let pending = "";
    const line = (text: string) => {
      target.writeSync(encoder.encode(`${options.prefix} ${text}\n`));
      const plain = text.replace(ANSI_COLOR, "");
      const event = watcherEvent(plain);
      if (event?.kind === "ended") ended.resolve(event.code);
      else if (!event && plain.trim() !== "") {
        last.push(plain);
        if (last.length > LAST_LINES) last.shift();
      }
    };
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      const lines = (pending + chunk).split("\n");
      pending = lines.pop()!;
      lines.forEach(line);
    }
    if (pending) line(pending);
  };
  const output = Promise.all([pipe(child.stdout, Deno.stdout), pipe(child.stderr, Deno.stderr)])
    .then(() => {});
  return { build, child, ended: ended.promise, lastLines: () => [...last], output };
}

/**
 * Stops a program: one SIGTERM, then up to `graceMs` for it to finish (the
 * producer flushes and prints its summary, the consumer commits what it
 * holds), then the watcher is killed. Never SIGINT: deno's watcher answers a
 * SIGINT by sending the program a SIGINT and then a SIGTERM, which the
 * producer takes as a second signal ("stop at once").
 */
export async function stopProgram(program: RunningProgram, graceMs: number): Promise<void> {
  try {
    program.child.kill("SIGTERM");
  } catch {
    // already gone
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    program.ended,
    new Promise((resolve) => timer = setTimeout(resolve, graceMs)),
  ]);
  clearTimeout(timer);
  try {
    // A watched program that ended leaves deno waiting for changes: end that wait.
    program.child.kill("SIGKILL");
  } catch {
    // already gone
  }
  await program.child.status;
  await program.output;
}
