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
