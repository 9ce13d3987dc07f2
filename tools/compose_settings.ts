/**
 * The variables `docker-compose.yml` reads (beyond the programs' own), with
 * their local-only defaults. `.env.example` and the README's configuration
 * reference are generated from this list (`tools/config_reference.ts`),
 * `deno task dev` uses the same defaults to reach the compose services, and
 * `e2e/compose_file_test.ts` checks the compose file against it.
 */

/** One variable of the compose stack. */
export interface ComposeVariable {
  readonly name: string;
  /** The default written in the compose file as `${NAME:-fallback}`. */
  readonly fallback: string;
  /** One line for `.env.example` and the README. */
  readonly help: string;
}

const QUOTE_DOLLAR =
  " In .env, single-quote a value holding `$` (compose reads `$NAME` as a variable).";

/** Every variable the compose file reads, in the order `.env.example` lists them. */
export const COMPOSE_VARIABLES: readonly ComposeVariable[] = [
  {
    name: "GRAFANA_ADMIN_PASSWORD",
    fallback: "admin",
    help: "Password of Grafana's `admin` user (anonymous visitors get Viewer access)." +
      QUOTE_DOLLAR,
  },
  {
    name: "POSTGRES_PASSWORD",
    fallback: "postgres-local-only",
    help: "Password of the `postgres` superuser of the compose database." + QUOTE_DOLLAR,
  },
  {
    name: "ACTIVITY_WRITER_PASSWORD",
    fallback: "activity-writer-local-only",
    help: "Password of `activity_writer`, the consumer's role that owns the tables " +
      "(URL-safe characters: it goes into the consumer's DATABASE_URL)." + QUOTE_DOLLAR,
  },
  {
    name: "GRAFANA_READER_PASSWORD",
    fallback: "grafana-reader-local-only",
    help: "Password of `grafana_reader`, Grafana's read-only role." + QUOTE_DOLLAR,
  },
  {
    name: "KAFKA_HOST_PORT",
    fallback: "9092",
    help: "Port on 127.0.0.1 where the host reaches Kafka (`deno task dev`, kcat).",
  },
  {
    name: "POSTGRES_HOST_PORT",
    fallback: "5432",
    help: "Port on 127.0.0.1 where the host reaches PostgreSQL.",
  },
  {
    name: "GRAFANA_HOST_PORT",
    fallback: "3000",
    help: "Port on 127.0.0.1 of Grafana.",
  },
  {
    name: "PRODUCER_METRICS_HOST_PORT",
    fallback: "9464",
    help: "Port on 127.0.0.1 of the producer's /metrics (consumers publish none: they scale).",
  },
  {
    name: "PROMETHEUS_HOST_PORT",
    fallback: "9090",
    help: "Port on 127.0.0.1 of Prometheus (profile `monitoring`).",
  },
  {
    name: "KAFKA_RETENTION_HOURS",
    fallback: "24",
    help: "How long the broker keeps messages.",
  },
];

/** The compose database, its roles and the broker address inside the compose network. */
export const COMPOSE_FACTS = {
  database: "activity",
  writerRole: "activity_writer",
  readerRole: "grafana_reader",
  internalBrokers: "kafka:19092",
} as const;

/** The value of a compose variable: from `values` when set and non-empty, else its default. */
export function composeValue(
  name: string,
  values: Readonly<Record<string, string | undefined>>,
): string {
  const variable = COMPOSE_VARIABLES.find((candidate) => candidate.name === name);
  if (!variable) throw new Error(`"${name}" is not a compose variable`);
  const value = values[name];
  return value !== undefined && value !== "" ? value : variable.fallback;
}

/** The `DATABASE_URL` of the compose database as the host sees it (for `deno task dev`). */
export function composeHostDatabaseUrl(
  values: Readonly<Record<string, string | undefined>>,
): string {
  const password = encodeURIComponent(composeValue("ACTIVITY_WRITER_PASSWORD", values));
  const port = composeValue("POSTGRES_HOST_PORT", values);
  return `postgres://${COMPOSE_FACTS.writerRole}:${password}@127.0.0.1:${port}/${COMPOSE_FACTS.database}`;
}

/** Parses the `KEY=value` lines of a `.env` file the way compose does for simple values. */
export function parseDotEnv(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!match) continue;
    let value = match[2];
    const quoted = /^(['"])(.*)\1$/.exec(value);
    if (quoted) value = quoted[2];
    else value = value.replace(/\s+#.*$/, "");
    values[match[1]] = value;
  }
  return values;
}
