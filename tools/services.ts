/**
 * `deno task services` / `deno task services:stop`: the real services for
 * development and tests without Docker: a local Kafka broker from Maven
 * Central jars and the machine's PostgreSQL.
 */
import postgres from "postgres";
import {
  defaultKafkaOptions,
  kafkaLogFile,
  LocalKafkaError,
  runningKafkaPid,
  startLocalKafka,
  stopLocalKafka,
} from "./kafka_local.ts";

/** The database URL used when `DATABASE_URL` is not set. */
export const DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/postgres";

/** Whether PostgreSQL answers a query at `url`. */
export async function postgresAnswers(url: string): Promise<boolean> {
  const sql = postgres(url, { max: 1, connect_timeout: 5, onnotice: () => {} });
  try {
    await sql`select 1`;
    return true;
  } catch {
    return false;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

async function main(command: string | undefined): Promise<number> {
  const options = defaultKafkaOptions();
  if (command === "stop") {
    const stopped = await stopLocalKafka(options);
    console.log(stopped ? "Stopped the local Kafka broker." : "No local Kafka broker was running.");
    return 0;
  }
  if (command === "status") {
    const pid = await runningKafkaPid(options);
    console.log(
      pid ? `A local Kafka broker is running (pid ${pid}).` : "No local Kafka broker runs.",
    );
    return pid ? 0 : 1;
  }
  if (command !== "start") {
    console.error("Usage: services.ts start [--fresh] | status | stop");
    return 2;
  }
  const databaseUrl = Deno.env.get("DATABASE_URL") ?? DEFAULT_DATABASE_URL;
  if (!await postgresAnswers(databaseUrl)) {
    console.error(
      `PostgreSQL does not answer at ${databaseUrl.replace(/:[^:@/]*@/, ":***@")}.\n` +
        "Start it (here: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start) " +
        "or set DATABASE_URL.",
    );
    return 1;
  }
  try {
    if (await runningKafkaPid(options)) {
      console.error(`Reusing the running Kafka broker (data in ${options.cacheDir}).`);
    } else {
      console.error(`Starting Kafka (jars and data in ${options.cacheDir}) ...`);
    }
    const brokers = await startLocalKafka(options, { fresh: Deno.args.includes("--fresh") });
    console.error(`Kafka is ready (log: ${kafkaLogFile(options)}). Use:`);
    console.log(`export KAFKA_BROKERS=${brokers}`);
    console.log(`export DATABASE_URL=${databaseUrl}`);
    return 0;
  } catch (error) {
    if (error instanceof LocalKafkaError) {
      console.error(error.message);
      return 1;
    }
    throw error;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args[0]));
