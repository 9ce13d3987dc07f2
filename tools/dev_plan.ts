/**
 * Where `deno task dev` gets Kafka and PostgreSQL from, decided without I/O:
 * a variable that is set wins; otherwise the compose containers where a
 * Docker engine with `docker compose` answers; otherwise the local services
 * (`tools/services.ts`).
 */

/** Where one service comes from. */
export type ServiceSource = "env" | "docker" | "local";

/** The services `deno task dev` uses. */
export interface DevPlan {
  readonly kafka: ServiceSource;
  readonly postgres: ServiceSource;
  /** Compose services to start (`docker compose up --wait ...`), empty without Docker. */
  readonly containers: readonly string[];
}

/** Decides where Kafka and PostgreSQL come from. */
export function planDev(
  env: { readonly KAFKA_BROKERS?: string; readonly DATABASE_URL?: string },
  options: { readonly dockerAvailable: boolean },
): DevPlan {
  const fallback: ServiceSource = options.dockerAvailable ? "docker" : "local";
  const kafka: ServiceSource = env.KAFKA_BROKERS ? "env" : fallback;
  const postgres: ServiceSource = env.DATABASE_URL ? "env" : fallback;
  const containers = [
    ...(kafka === "docker" ? ["kafka"] : []),
    // Grafana reads the compose database, so it comes with it.
    ...(postgres === "docker" ? ["postgres", "grafana"] : []),
  ];
  return { kafka, postgres, containers };
}

/** One line per service saying where it comes from, for the start-up banner. */
export function describePlan(
  plan: DevPlan,
  resolved: { brokers: string; databaseUrl: string },
): string[] {
  const origin: Record<ServiceSource, string> = {
    env: "from the environment",
    docker: "compose container",
    local: "local service (deno task services)",
  };
  return [
    `Kafka       ${resolved.brokers}  (${origin[plan.kafka]})`,
    `PostgreSQL  ${redactUrl(resolved.databaseUrl)}  (${origin[plan.postgres]})`,
  ];
}

/** The URL with its password replaced by `***`. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:/@]*):[^@/]*@/, "$1:***@");
}

/** The same PostgreSQL URL pointing at another database. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** What a line of `deno run --watch` says about its program. */
export type WatcherEvent =
  | { readonly kind: "started" }
  | { readonly kind: "ended"; readonly code: number };

/** Reads a watcher line (colours removed): the program (re)started, or ended with a code. */
export function watcherEvent(line: string): WatcherEvent | undefined {
  if (/^Watcher\s+(Process started|Restarting)/.test(line)) return { kind: "started" };
  const finished = /^Watcher\s+Process finished(?: with exit code (\d+))?/.exec(line);
  if (finished) return { kind: "ended", code: Number(finished[1] ?? 0) };
  if (/^Watcher\s+Process failed/.test(line)) return { kind: "ended", code: 1 };
  return undefined;
}

/** A program that ended without being asked to, and whether dev stops the other one. */
export interface ProgramEnd {
  readonly name: string;
  readonly code: number;
}

/**
 * What dev says and does when a program ends on its own: a producer that
 * finished its --count or --duration (code 0) leaves the consumer counting;
 * anything else stops both, loudly, with the program's last lines.
 */
export function describeEnd(
  end: ProgramEnd,
  options: { other: string; lastLines: readonly string[] },
): { stopAll: boolean; lines: string[] } {
  if (end.name === "producer" && end.code === 0) {
    return {
      stopAll: false,
      lines: [
        `producer finished (exit code 0); the ${options.other} keeps running (Ctrl-C stops it)`,
      ],
    };
  }
  return {
    stopAll: true,
    lines: [
      `${end.name.toUpperCase()} DIED (exit code ${end.code}): stopping the ${options.other} too`,
      ...(options.lastLines.length > 0 ? [`its last lines:`] : []),
      ...options.lastLines.map((line) => `  ${line}`),
      `fix the cause above, then run deno task dev again`,
    ],
  };
}

/** Where programs that would clash with dev's are already running. */
export interface RunningElsewhere {
  /** Compose services in state "running" (`docker compose ps`), empty without Docker. */
  readonly composeServices: readonly string[];
  /** Programs whose metrics port on 127.0.0.1 already answers `/healthz`. */
  readonly answering: readonly { readonly name: string; readonly port: number }[];
}

/** Why dev refuses to start next to programs that are already running, or undefined. */
export function runningClash(found: RunningElsewhere): string | undefined {
  const compose = found.composeServices.filter((name) =>
    name === "producer" || name === "consumer"
  );
  if (compose.length > 0) {
    return `The compose stack's ${compose.join(" and ")} ${compose.length > 1 ? "are" : "is"} ` +
      "running: dev's programs would publish to and count the same topic next to them. " +
      "Stop them first: docker compose stop producer consumer";
  }
  if (found.answering.length > 0) {
    const where = found.answering.map(({ name, port }) => `a ${name} answers on 127.0.0.1:${port}`);
    return `${where.join(" and ")} (the compose stack's, or another deno task dev): stop it ` +
      "first (docker compose stop producer consumer, or Ctrl-C in the other dev), or give dev " +
      "other ports (PRODUCER_METRICS_PORT, CONSUMER_METRICS_PORT)";
  }
  return undefined;
}

/**
 * Messages of this run that the consumer has stored: per partition, how far its
 * committed offset in PostgreSQL is past where the topic ended when dev started
 * (a backlog from earlier runs is not this run's).
 */
export function countedSince(
  startOffsets: ReadonlyMap<number, number>,
  committed: readonly { readonly partition: number; readonly nextOffset: number }[],
): number {
  return committed.reduce(
    (sum, { partition, nextOffset }) =>
      sum + Math.max(0, nextOffset - (startOffsets.get(partition) ?? 0)),
    0,
  );
}
