/**
 * `deno task dev`: the producer and the consumer from source, restarted when
 * their files change, against real services:
 * - `KAFKA_BROKERS` / `DATABASE_URL` when set;
 * - else the compose containers (kafka, postgres, grafana) where Docker runs;
 * - else the local services of `deno task services` (a broker from Maven
 *   Central jars, the machine's PostgreSQL with the database `activity`,
 *   created when missing).
 * It refuses to start next to the compose stack's programs, says when this
 * run's first events are counted in PostgreSQL, and stops both programs,
 * loudly, when one of them dies. One Ctrl-C stops both gracefully; the
 * services keep running for the next session.
 */
import { parseArgs } from "node:util";
import { PROGRAM_BUILDS, REPO_ROOT } from "./compile.ts";
import {
  COMPOSE_FACTS,
  composeHostDatabaseUrl,
  composeValue,
  parseDotEnv,
} from "./compose_settings.ts";
import {
  describeEnd,
  describePlan,
  type DevPlan,
  planDev,
  runningClash,
  withDatabase,
} from "./dev_plan.ts";
import { type RunningProgram, startProgram, stopProgram } from "./dev_programs.ts";
import { consumerTarget, reportFirstEvents, topicEndOffsets } from "./dev_progress.ts";
import { defaultKafkaOptions, LocalKafkaError, startLocalKafka } from "./kafka_local.ts";
import { ensureDatabase, LOCAL_DATABASE_URL, maintenanceUrl, postgresAnswers } from "./services.ts";

/** A service needed by `deno task dev` could not be reached or started. */
export class DevError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "DevError";
  }
}

const GRACE_MS = 25_000;
const encoder = new TextEncoder();
const color = !Deno.noColor;
const paint = (code: number, text: string) => color ? `\x1b[${code}m${text}\x1b[0m` : text;

function say(text: string): void {
  Deno.stderr.writeSync(encoder.encode(`${paint(1, "dev      |")} ${text}\n`));
}

async function commandOutput(command: string, args: string[]): Promise<string | undefined> {
  try {
    const result = await new Deno.Command(command, {
      args,
      cwd: REPO_ROOT,
      stdout: "piped",
      stderr: "null",
    }).output();
    return result.success ? new TextDecoder().decode(result.stdout) : undefined;
  } catch {
    return undefined;
  }
}

async function dockerComposeAnswers(): Promise<boolean> {
  if (Deno.env.get("ACTIVITY_NO_DOCKER")) return false;
  return await commandOutput("docker", ["info", "--format", "{{.ServerVersion}}"]) !== undefined &&
    await commandOutput("docker", ["compose", "version"]) !== undefined;
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

/** Whether something answers `/healthz` on 127.0.0.1:`port` (a program already running there). */
async function healthAnswers(port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/healthz`, {
      signal: AbortSignal.timeout(1_000),
    });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

/** Programs that would clash with dev's: the compose stack's, or another dev's. */
async function programsRunningElsewhere(dockerAvailable: boolean, env: Record<string, string>) {
  const composeServices = dockerAvailable
    ? (await commandOutput("docker", ["compose", "ps", "--status", "running", "--services"]) ?? "")
      .split("\n").map((line) => line.trim()).filter(Boolean)
    : [];
  const answering = [];
  for (const build of PROGRAM_BUILDS) {
    const port = Number(env[build.metricsPortEnv] || build.metricsPort);
    if (port !== 0 && await healthAnswers(port)) answering.push({ name: build.name, port });
  }
  return runningClash({ composeServices, answering });
}

async function localDatabase(): Promise<string> {
  if (!await postgresAnswers(maintenanceUrl(LOCAL_DATABASE_URL))) {
    throw new DevError(
      `Cannot reach PostgreSQL at ${LOCAL_DATABASE_URL}: start it or set DATABASE_URL`,
    );
  }
  if (await ensureDatabase(LOCAL_DATABASE_URL)) {
    say(`created the database ${COMPOSE_FACTS.database} (it was missing)`);
  }
  return withDatabase(LOCAL_DATABASE_URL, COMPOSE_FACTS.database);
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
  const dockerAvailable = await dockerComposeAnswers();
  const clash = await programsRunningElsewhere(dockerAvailable, env);
  if (clash) {
    console.error(`Cannot start deno task dev: ${clash}`);
    return 1;
  }
  const plan = planDev(env, { dockerAvailable });
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
  // Where the topic ends now: what the consumer stores beyond it is this run's.
  const target = consumerTarget(programEnv);
  const startOffsets = target &&
    await topicEndOffsets(services.brokers.split(","), target.topic).catch((error) => {
      say(`cannot read where ${target.topic} ends (${error.message}): no first-events line`);
      return undefined;
    });
  // Without setsid (macOS) the terminal's Ctrl-C reaches the programs directly.
  const isolate = await commandOutput("setsid", ["--version"]) !== undefined;
  const programs = PROGRAM_BUILDS.map((build) =>
    startProgram(build, programEnv, {
      watch: !values["no-watch"],
      isolate,
      prefix: paint(build.name === "producer" ? 36 : 35, `${build.name.padEnd(8)} |`),
    })
  );
  for (const build of PROGRAM_BUILDS) {
    const port = env[build.metricsPortEnv] || String(build.metricsPort);
    if (port !== "0") say(`${build.name} metrics at http://127.0.0.1:${port}/metrics`);
  }
  const stopReporting = new AbortController();
  const reporting = target && startOffsets
    ? reportFirstEvents({
      databaseUrl: services.databaseUrl,
      target,
      startOffsets,
      startedAt,
      signal: stopReporting.signal,
      say,
    })
    : Promise.resolve();

  const received = Promise.withResolvers<Deno.Signal>();
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  const handlers = signals.map((signal) => [signal, () => received.resolve(signal)] as const);
  handlers.forEach(([signal, handler]) => Deno.addSignalListener(signal, handler));
  const code = await superviseUntilStop(programs, received.promise);
  stopReporting.abort();
  await Promise.all(programs.map((program) => stopProgram(program, GRACE_MS)));
  await reporting;
  handlers.forEach(([signal, handler]) => Deno.removeSignalListener(signal, handler));
  say(stopHint(plan));
  return code;
}

/**
 * Waits for a signal or for a program to end on its own; returns dev's exit
 * code. A program that dies is announced loudly with its last lines and stops
 * the other one; a producer that finished its count leaves the consumer running.
 */
async function superviseUntilStop(
  programs: readonly RunningProgram[],
  signal: Promise<Deno.Signal>,
): Promise<number> {
  let running = [...programs];
  while (running.length > 0) {
    const first = await Promise.race([
      signal,
      ...running.map((program) => program.ended.then((code) => ({ program, code }))),
    ]);
    if (typeof first === "string") {
      say(`${first}: stopping the programs (one SIGTERM each; they finish what they hold)`);
      return 0;
    }
    const other = programs.find((program) => program !== first.program)!;
    const verdict = describeEnd(
      { name: first.program.build.name, code: first.code },
      { other: other.build.name, lastLines: first.program.lastLines() },
    );
    verdict.lines.forEach((line) => say(paint(31, line)));
    if (verdict.stopAll) return first.code || 1;
    running = running.filter((program) => program !== first.program);
  }
  return 0;
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
