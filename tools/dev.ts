/**
 * `deno task dev`: the producer and the consumer from source, restarted when
 * their files change, against real services:
 * - `KAFKA_BROKERS` / `DATABASE_URL` when set;
 * - else the compose containers (kafka, postgres, grafana) where Docker runs;
 * - else the local services of `deno task services` (a broker from Maven
 *   Central jars, the machine's PostgreSQL with a database `activity`).
 * It says when the first events are counted in PostgreSQL. Ctrl-C stops both
 * programs gracefully; the services keep running for the next session.
 */
import { parseArgs } from "node:util";
import postgres from "postgres";
import { PROGRAM_BUILDS, type ProgramBuild, REPO_ROOT, runArgs } from "./compile.ts";
import {
  COMPOSE_FACTS,
  composeHostDatabaseUrl,
  composeValue,
  parseDotEnv,
} from "./compose_settings.ts";
import { describePlan, type DevPlan, planDev, withDatabase } from "./dev_plan.ts";
import { defaultKafkaOptions, LocalKafkaError, startLocalKafka } from "./kafka_local.ts";
import { DEFAULT_DATABASE_URL, postgresAnswers } from "./services.ts";

/** A service needed by `deno task dev` could not be reached or started. */
export class DevError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "DevError";
  }
}

const GRACE_MS = 25_000;
// deno colours its watcher lines; matching reads them without the escapes.
const ANSI_COLOR = new RegExp(String.fromCharCode(27) + "\\[[0-9;]*m", "g");
const encoder = new TextEncoder();
const color = !Deno.noColor;
const paint = (code: number, text: string) => color ? `\x1b[${code}m${text}\x1b[0m` : text;

function say(text: string): void {
  Deno.stderr.writeSync(encoder.encode(`${paint(1, "dev      |")} ${text}\n`));
}

async function commandSucceeds(command: string, args: string[]): Promise<boolean> {
  try {
    return (await new Deno.Command(command, { args, stdout: "null", stderr: "null" }).output())
      .success;
  } catch {
    return false;
  }
}

async function dockerComposeAnswers(): Promise<boolean> {
  if (Deno.env.get("ACTIVITY_NO_DOCKER")) return false;
  return await commandSucceeds("docker", ["info", "--format", "{{.ServerVersion}}"]) &&
    await commandSucceeds("docker", ["compose", "version"]);
}

async function composeUp(services: readonly string[]): Promise<void> {
  say(`starting containers: ${services.join(", ")} (docker compose up --wait)`);
  const { success } = await new Deno.Command("docker", {
    args: ["compose", "up", "--detach", "--wait", ...services],
    cwd: REPO_ROOT,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!success) throw new DevError(`Cannot start containers: docker compose up ${services} failed`);
}

async function localDatabase(): Promise<string> {
  if (!await postgresAnswers(DEFAULT_DATABASE_URL)) {
    throw new DevError(
      `Cannot reach PostgreSQL at ${DEFAULT_DATABASE_URL}: start it or set DATABASE_URL`,
    );
  }
  const admin = postgres(DEFAULT_DATABASE_URL, { max: 1, onnotice: () => {} });
  try {
    const [row] = await admin`SELECT count(*)::int AS n FROM pg_database
      WHERE datname = ${COMPOSE_FACTS.database}`;
    if (row.n === 0) await admin.unsafe(`CREATE DATABASE "${COMPOSE_FACTS.database}"`);
  } finally {
    await admin.end();
  }
  return withDatabase(DEFAULT_DATABASE_URL, COMPOSE_FACTS.database);
}

async function resolveServices(plan: DevPlan, env: Record<string, string>) {
  const composeValues = {
    ...parseDotEnv(await Deno.readTextFile(`${REPO_ROOT}/.env`).catch(() => "")),
    ...env,
  };
  if (plan.containers.length > 0) await composeUp(plan.containers);
  const brokers = plan.kafka === "env"
    ? env.KAFKA_BROKERS
    : plan.kafka === "docker"
    ? `127.0.0.1:${composeValue("KAFKA_HOST_PORT", composeValues)}`
    : await startLocalKafka(defaultKafkaOptions());
  const databaseUrl = plan.postgres === "env"
    ? env.DATABASE_URL
    : plan.postgres === "docker"
    ? composeHostDatabaseUrl(composeValues)
    : await localDatabase();
  return { brokers, databaseUrl, grafanaPort: composeValue("GRAFANA_HOST_PORT", composeValues) };
}

/** A program running under `deno run --watch`, its output prefixed with its name. */
interface RunningProgram {
  readonly build: ProgramBuild;
  readonly child: Deno.ChildProcess;
  /** Resolves when the watcher reports that the program ended (it then waits for changes). */
  ended(): Promise<void>;
  readonly output: Promise<void>;
}

/**
 * Starts a program; with `isolate`, in a session of its own (`setsid`), so a
 * Ctrl-C in the terminal reaches only this process, which passes on exactly
 * one signal (the producer takes a second signal as "exit now").
 */
function startProgram(
  build: ProgramBuild,
  env: Record<string, string>,
  options: { watch: boolean; isolate: boolean },
) {
  const args = [Deno.execPath(), ...runArgs(build, { watch: options.watch })];
  const child = new Deno.Command(options.isolate ? "setsid" : args[0], {
    args: options.isolate ? args : args.slice(1),
    cwd: REPO_ROOT,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const prefix = paint(build.name === "producer" ? 36 : 35, `${build.name.padEnd(8)} |`);
  let ended = Promise.withResolvers<void>();
  const pipe = async (stream: ReadableStream<Uint8Array>, target: typeof Deno.stdout) => {
    let pending = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      const lines = (pending + chunk).split("\n");
      pending = lines.pop()!;
      for (const line of lines) {
        target.writeSync(encoder.encode(`${prefix} ${line}\n`));
        // deno's watcher says when the program stopped or started again.
        const plain = line.replace(ANSI_COLOR, "");
        if (/Watcher\s+Process (finished|failed)/.test(plain)) ended.resolve();
        if (/Watcher\s+(Process started|Restarting)/.test(plain)) {
          ended = Promise.withResolvers<void>();
        }
      }
    }
    if (pending) target.writeSync(encoder.encode(`${prefix} ${pending}\n`));
  };
  const output = Promise.all([pipe(child.stdout, Deno.stdout), pipe(child.stderr, Deno.stderr)])
    .then(() => {});
  return { build, child, ended: () => ended.promise, output } satisfies RunningProgram;
}

async function stopProgram(program: RunningProgram, signal: Deno.Signal): Promise<void> {
  try {
    program.child.kill(signal);
  } catch {
    return; // already gone
  }
  // A watched program that exits leaves deno waiting for changes: end that wait.
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    program.ended(),
    program.child.status,
    new Promise((resolve) => timer = setTimeout(resolve, GRACE_MS)),
  ]);
  clearTimeout(timer);
  try {
    program.child.kill("SIGKILL");
  } catch {
    // already gone
  }
  await program.child.status;
  await program.output;
}

/** Polls until PostgreSQL counts more events than at start, then says how long it took. */
async function reportFirstEvents(databaseUrl: string, startedAt: number, stop: AbortSignal) {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  // The table appears with the consumer's first migration; until then it counts as empty.
  const counted = () =>
    sql`SELECT coalesce(sum(event_count), 0)::bigint AS n FROM user_event_summary`
      .then(([row]) => Number(row.n)).catch(() => 0);
  try {
    const before = await counted();
    while (!stop.aborted) {
      const now = await counted();
      if (now > before) {
        const seconds = ((performance.now() - startedAt) / 1000).toFixed(1);
        say(`events are in PostgreSQL: ${now - before} new counted, ${seconds} s after start`);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  } finally {
    await sql.end({ timeout: 1 });
  }
}

async function main(args: string[]): Promise<number> {
  const startedAt = performance.now();
  let values;
  try {
    values = parseArgs({
      args,
      options: { "no-watch": { type: "boolean" }, help: { type: "boolean", short: "h" } },
    }).values;
  } catch (error) {
    console.error(`Cannot read arguments: ${(error as Error).message}; see --help`);
    return 2;
  }
  if (values.help) {
    console.log("Usage: deno task dev [--no-watch]\n\n" + describeUsage());
    return 0;
  }
  const env = Deno.env.toObject();
  const plan = planDev(env, { dockerAvailable: await dockerComposeAnswers() });
  let services;
  try {
    services = await resolveServices(plan, env);
  } catch (error) {
    if (error instanceof DevError || error instanceof LocalKafkaError) {
      const hint = error instanceof LocalKafkaError
        ? " (to use a broker that is already running, set KAFKA_BROKERS)"
        : "";
      console.error(`${error.message}${hint}`);
      return 1;
    }
    throw error;
  }
  describePlan(plan, services).forEach(say);
  if (plan.postgres === "docker") say(`Grafana     http://127.0.0.1:${services.grafanaPort}`);
  const programEnv = {
    ...env,
    KAFKA_BROKERS: services.brokers,
    DATABASE_URL: services.databaseUrl,
    LOG_FORMAT: env.LOG_FORMAT ?? "pretty",
  };
  // Without setsid (macOS) the terminal's Ctrl-C reaches the programs directly.
  const isolate = await commandSucceeds("setsid", ["--version"]);
  const programs = PROGRAM_BUILDS.map((build) =>
    startProgram(build, programEnv, { watch: !values["no-watch"], isolate })
  );
  for (const build of PROGRAM_BUILDS) {
    const port = env[build.metricsPortEnv] || String(build.metricsPort);
    if (port !== "0") say(`${build.name} metrics at http://127.0.0.1:${port}/metrics`);
  }
  const stopReporting = new AbortController();
  const reporting = reportFirstEvents(services.databaseUrl, startedAt, stopReporting.signal);

  const received = Promise.withResolvers<Deno.Signal>();
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  const handlers = signals.map((signal) => [signal, () => received.resolve(signal)] as const);
  handlers.forEach(([signal, handler]) => Deno.addSignalListener(signal, handler));
  const exited = Promise.race(
    programs.map((program) => program.child.status.then((status) => ({ program, status }))),
  );
  const first = await Promise.race([received.promise, exited]);
  stopReporting.abort();
  // Passed on once; a hang-up becomes a normal stop.
  const signal: Deno.Signal = first === "SIGINT" ? "SIGINT" : "SIGTERM";
  say(
    typeof first === "string"
      ? `${first}: stopping the programs`
      : `${first.program.build.name} exited (code ${first.status.code}): stopping`,
  );
  await Promise.all(programs.map((program) => stopProgram(program, signal)));
  await reporting;
  handlers.forEach(([signal, handler]) => Deno.removeSignalListener(signal, handler));
  say(stopHint(plan));
  return typeof first === "string" ? 0 : first.status.code || 1;
}

function stopHint(plan: DevPlan): string {
  if (plan.containers.length > 0) return "containers keep running: docker compose stop";
  if (plan.kafka === "local") return "the local broker keeps running: deno task services:stop";
  return "stopped";
}

function describeUsage(): string {
  return [
    "Runs the producer and the consumer from source with --watch.",
    "Services: KAFKA_BROKERS / DATABASE_URL when set; else docker compose (kafka, postgres,",
    "grafana) where Docker runs; else the local broker and PostgreSQL (deno task services).",
    "Every program variable (see README) is passed through, e.g. PRODUCER_RATE=50 deno task dev.",
  ].join("\n");
}

if (import.meta.main) Deno.exit(await main(Deno.args));
