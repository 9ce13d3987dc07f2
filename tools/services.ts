/**
 * `deno task services` / `deno task services:stop`: the real services for
 * development and tests without Docker: a local Kafka broker (or, with
 * `--brokers 3`, a local cluster) from Maven Central jars and the machine's
 * PostgreSQL.
 */
import process from "node:process";
import { parseArgs } from "node:util";
import postgres from "postgres";
import { commonSettings } from "@activity/shared";
import { withDatabase } from "./dev_plan.ts";
import {
  clusterPorts,
  type LocalClusterOptions,
  MAX_LOCAL_BROKERS,
  startLocalCluster,
  stopLocalCluster,
} from "./kafka_cluster.ts";
import {
  defaultKafkaOptions,
  kafkaLogFile,
  LocalKafkaError,
  runningKafkaPid,
  startLocalKafka,
  stopLocalKafka,
} from "./kafka_local.ts";

/**
 * The one database of every local path when `DATABASE_URL` is not set: the
 * programs' default, `deno task services` and `deno task dev` (both create it
 * when missing).
 */
export const LOCAL_DATABASE_URL: string = commonSettings.databaseUrl.fallback!;

/** The same server's maintenance database `postgres`, where databases are created from. */
export function maintenanceUrl(url: string): string {
  return withDatabase(url, "postgres");
}

/** Creates the database `url` names when the server lacks it; returns whether it did. */
export async function ensureDatabase(url: string): Promise<boolean> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  const admin = postgres(maintenanceUrl(url), { max: 1, connect_timeout: 5, onnotice: () => {} });
  try {
    const [row] = await admin`SELECT count(*)::int AS n FROM pg_database WHERE datname = ${name}`;
    if (row.n > 0) return false;
    await admin.unsafe(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
    return true;
  } catch (error) {
    // Created meanwhile by someone else: there it is.
    if ((error as { code?: string }).code === "42P04") return false;
    throw error;
  } finally {
    await admin.end({ timeout: 1 });
  }
}

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

const USAGE =
  "Usage: services.ts start [--fresh] [--brokers N] | status [--brokers N] | stop [--brokers N]\n" +
  "  --brokers 1 (default for start): one broker on 127.0.0.1:9092\n" +
  `  --brokers 2..${MAX_LOCAL_BROKERS}: a local KRaft cluster on 127.0.0.1:9192, 9292, ...\n` +
  "  stop without --brokers stops every broker started from this cache folder";

/** A command line of the services tool, parsed. */
export type ServicesCommand =
  | { readonly kind: "start"; readonly brokers: number; readonly fresh: boolean }
  | { readonly kind: "stop"; readonly brokers?: number }
  | { readonly kind: "status"; readonly brokers: number }
  | { readonly kind: "usage"; readonly problem?: string };

/** Parses `start [--fresh] [--brokers N]`, `status [--brokers N]`, `stop [--brokers N]` (pure). */
export function parseServicesCommand(args: readonly string[]): ServicesCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: { fresh: { type: "boolean" }, brokers: { type: "string" } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    return { kind: "usage", problem: (error as Error).message };
  }
  const [command, ...rest] = parsed.positionals;
  if (!["start", "status", "stop"].includes(command) || rest.length > 0) {
    return {
      kind: "usage",
      problem: command ? `unknown command "${[command, ...rest].join(" ")}"` : undefined,
    };
  }
  const text = parsed.values.brokers;
  const brokers = text === undefined ? undefined : Number(text);
  if (
    text !== undefined &&
    (!/^\d+$/.test(text) || brokers! < 1 || brokers! > MAX_LOCAL_BROKERS)
  ) {
    return {
      kind: "usage",
      problem:
        `"--brokers" must be a whole number from 1 to ${MAX_LOCAL_BROKERS}: current value is "${text}"`,
    };
  }
  if (command !== "start" && parsed.values.fresh) {
    return { kind: "usage", problem: '"--fresh" is for start only' };
  }
  if (command === "stop") return { kind: "stop", brokers };
  if (command === "status") return { kind: "status", brokers: brokers ?? 1 };
  return { kind: "start", brokers: brokers ?? 1, fresh: parsed.values.fresh === true };
}

function clusterOptions(cacheDir: string, brokers: number): LocalClusterOptions {
  return { cacheDir, nodes: clusterPorts(brokers) };
}

async function stop(brokers: number | undefined): Promise<number> {
  const options = defaultKafkaOptions();
  if (brokers === undefined || brokers === 1) {
    const stopped = await stopLocalKafka(options);
    console.log(stopped ? "Stopped the local Kafka broker." : "No local Kafka broker was running.");
  }
  // Without --brokers: every cluster size, since they share their first ports.
  const sizes = brokers === undefined ? [MAX_LOCAL_BROKERS] : brokers > 1 ? [brokers] : [];
  for (const size of sizes) {
    const stopped = await stopLocalCluster(clusterOptions(options.cacheDir, size));
    if (brokers !== undefined || stopped > 0) {
      console.log(
        stopped > 0
          ? `Stopped ${stopped} broker${stopped === 1 ? "" : "s"} of the local Kafka cluster.`
          : "No broker of the local Kafka cluster was running.",
      );
    }
  }
  return 0;
}

/** Exit 0 when the single broker (or every node of the cluster) runs from this cache folder. */
async function status(brokers: number): Promise<number> {
  const options = defaultKafkaOptions();
  if (brokers === 1) {
    const pid = await runningKafkaPid(options);
    console.log(
      pid ? `A local Kafka broker is running (pid ${pid}).` : "No local Kafka broker runs.",
    );
    return pid ? 0 : 1;
  }
  const nodes = clusterPorts(brokers);
  const running = [];
  for (const node of nodes) {
    if (await runningKafkaPid({ ...options, ...node })) running.push(node.port);
  }
  console.log(
    `${running.length} of the ${brokers} brokers of the local cluster run` +
      (running.length > 0 ? ` (ports ${running.join(", ")}).` : "."),
  );
  return running.length === brokers ? 0 : 1;
}

async function main(args: readonly string[]): Promise<number> {
  // KafkaJS arms a timer with a negative delay on every connection: harmless noise here.
  process.removeAllListeners("warning");
  process.on("warning", (warning: Error) => {
    if (warning.name !== "TimeoutNegativeWarning") {
      console.error(`${warning.name}: ${warning.message}`);
    }
  });
  const command = parseServicesCommand(args);
  if (command.kind === "usage") {
    console.error(command.problem ? `${command.problem}\n${USAGE}` : USAGE);
    return 2;
  }
  if (command.kind === "stop") return await stop(command.brokers);
  if (command.kind === "status") return await status(command.brokers);
  const options = defaultKafkaOptions();
  const databaseUrl = Deno.env.get("DATABASE_URL") ?? LOCAL_DATABASE_URL;
  if (!await postgresAnswers(maintenanceUrl(databaseUrl))) {
    console.error(
      `PostgreSQL does not answer at ${databaseUrl.replace(/:[^:@/]*@/, ":***@")}.\n` +
        "Start it (here: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start) " +
        "or set DATABASE_URL.",
    );
    return 1;
  }
  if (await ensureDatabase(databaseUrl)) {
    console.error(
      `Created the database ${new URL(databaseUrl).pathname.slice(1)} (it was missing).`,
    );
  }
  try {
    let brokers: string[];
    if (command.brokers === 1) {
      if (await runningKafkaPid(options)) {
        console.error(`Reusing the running Kafka broker (data in ${options.cacheDir}).`);
      } else {
        console.error(`Starting Kafka (jars and data in ${options.cacheDir}) ...`);
      }
      brokers = [await startLocalKafka(options, { fresh: command.fresh })];
      console.error(`Kafka is ready (log: ${kafkaLogFile(options)}). Use:`);
    } else {
      const cluster = clusterOptions(options.cacheDir, command.brokers);
      console.error(
        `Starting a Kafka cluster of ${command.brokers} brokers (jars and data in ` +
          `${options.cacheDir}) ...`,
      );
      brokers = await startLocalCluster(cluster, { fresh: command.fresh });
      const logs = cluster.nodes.map((node) => kafkaLogFile({ ...options, ...node }));
      console.error(
        `All ${command.brokers} brokers are live (logs: ${logs.join(", ")}). Stop them with ` +
          `deno task services:stop --brokers ${command.brokers}. Use:`,
      );
    }
    console.log(`export KAFKA_BROKERS=${brokers.join(",")}`);
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

if (import.meta.main) Deno.exit(await main(Deno.args));
