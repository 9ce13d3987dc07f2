/**
 * Real services for tests, found or started once per test run:
 * 1. `KAFKA_BROKERS` / `DATABASE_URL` when set;
 * 2. else Testcontainers (`apache/kafka:3.9.1`, a pinned `postgres`) when a Docker engine answers;
 * 3. else the local broker from Maven Central jars (Java and Maven) and the machine's PostgreSQL;
 * 4. else the run fails, saying how to provide services.
 * Each test isolates itself with its own topics and its own database.
 */
import postgres from "postgres";
import { defaultKafkaOptions, runningKafkaPid, startLocalKafka } from "../tools/kafka_local.ts";
import { LOCAL_DATABASE_URL, maintenanceUrl, postgresAnswers } from "../tools/services.ts";

/** Services could not be found or started. */
export class TestServicesError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "TestServicesError";
  }
}

const HOW_TO =
  "Provide services in one of these ways: set KAFKA_BROKERS and DATABASE_URL; or run a Docker " +
  "engine (Testcontainers starts apache/kafka:3.9.1 and postgres); or install Java 17 and Maven " +
  "(the local broker is fetched from Maven Central) and run PostgreSQL on 127.0.0.1:5432.";

interface Services {
  readonly brokers: string[];
  readonly databaseUrl: string;
}

let services: Promise<Services> | undefined;

/** The brokers and admin database URL for this test run (started on first use). */
export function testServices(): Promise<Services> {
  services ??= resolveServices();
  return services;
}

async function resolveServices(): Promise<Services> {
  const brokersEnv = Deno.env.get("KAFKA_BROKERS");
  const databaseEnv = Deno.env.get("DATABASE_URL");
  if (brokersEnv && databaseEnv) {
    return { brokers: brokersEnv.split(","), databaseUrl: databaseEnv };
  }
  if (await dockerAnswers()) {
    const { startContainers } = await import("./containers.ts");
    const started = await startContainers();
    return {
      brokers: brokersEnv?.split(",") ?? started.brokers,
      databaseUrl: databaseEnv ?? started.databaseUrl,
    };
  }
  // Tests only create databases of their own: the server's maintenance database is enough.
  const databaseUrl = databaseEnv ?? maintenanceUrl(LOCAL_DATABASE_URL);
  if (!await postgresAnswers(databaseUrl)) {
    throw new TestServicesError(`PostgreSQL does not answer at ${databaseUrl}. ${HOW_TO}`);
  }
  if (brokersEnv) return { brokers: brokersEnv.split(","), databaseUrl };
  if (!await commandWorks("java", ["-version"]) || !await commandWorks("mvn", ["-v"])) {
    throw new TestServicesError(`No Kafka broker: KAFKA_BROKERS is not set. ${HOW_TO}`);
  }
  const options = defaultKafkaOptions();
  const alreadyRunning = await runningKafkaPid(options);
  const address = await startLocalKafka(options);
  if (!alreadyRunning) {
    // Left running for later runs: Deno fires "unload" after each test module, so stopping it
    // there would pull the broker from under the modules that follow.
    console.error(
      `Started a local Kafka broker at ${address} for the tests; it keeps running ` +
        "(stop it with `deno task services:stop`).",
    );
  }
  return { brokers: [address], databaseUrl };
}

async function dockerAnswers(): Promise<boolean> {
  if (Deno.env.get("ACTIVITY_NO_DOCKER")) return false;
  return await commandWorks("docker", ["info", "--format", "{{.ServerVersion}}"]);
}

async function commandWorks(command: string, args: string[]): Promise<boolean> {
  try {
    const result = await new Deno.Command(command, { args, stdout: "null", stderr: "null" })
      .output();
    return result.success;
  } catch {
    return false;
  }
}

/** A unique lowercase name for a test's topics, groups and databases. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${crypto.randomUUID().slice(0, 8)}`
    .toLowerCase().replace(/[^a-z0-9_]/g, "_");
}

/** A database of a test's own, dropped when disposed. */
export interface TestDatabase extends AsyncDisposable {
  /** The URL of the new database. */
  readonly url: string;
  /** A client connected to it. */
  readonly sql: postgres.Sql;
}

/** Creates an empty database for one test. */
export async function createTestDatabase(prefix = "test"): Promise<TestDatabase> {
  const { databaseUrl } = await testServices();
  return await createDatabaseNamed(databaseUrl, uniqueName(prefix));
}

/** Creates the empty database `name` on the server of `databaseUrl`; dropped when disposed. */
export async function createDatabaseNamed(
  databaseUrl: string,
  name: string,
): Promise<TestDatabase> {
  const admin = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = databaseUrlWithName(databaseUrl, name);
  const sql = postgres(url, { max: 4, onnotice: () => {} });
  return {
    url,
    sql,
    async [Symbol.asyncDispose]() {
      await sql.end();
      const dropper = postgres(databaseUrl, { max: 1, onnotice: () => {} });
      try {
        await dropper.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await dropper.end();
      }
    },
  };
}

/** The same URL pointing at another database. */
export function databaseUrlWithName(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
