/**
 * A Kafka broker of a test's own, for faults that stop the broker (the shared
 * one on 9092 is never touched). It runs from the cached jars but keeps its
 * configuration, data, log and pid in a temporary folder, on free ports, so
 * test runs that overlap on one machine never share or stop each other's
 * broker.
 */
import {
  defaultKafkaOptions,
  ensureKafkaJars,
  KAFKA_VERSION,
  type LocalKafkaOptions,
  startLocalKafka,
  stopLocalKafka,
} from "../tools/kafka_local.ts";
import { freePort } from "./fault_processes.ts";

/** A running broker of the test's own. */
export interface OwnBroker extends AsyncDisposable {
  /** Its bootstrap address. */
  readonly brokers: string[];
  /** Stops it (SIGTERM, a clean shutdown); its data stays. */
  stop(): Promise<void>;
  /** Starts it again on the same data directory and ports. */
  start(): Promise<void>;
}

/** Starts a fresh single-node broker; disposing it stops it and deletes its files. */
export async function startOwnBroker(): Promise<OwnBroker> {
  const libs = await ensureKafkaJars(defaultKafkaOptions());
  const cacheDir = await Deno.makeTempDir({ prefix: "fault_broker_" });
  await Deno.mkdir(`${cacheDir}/kafka-${KAFKA_VERSION}`);
  await Deno.symlink(libs, `${cacheDir}/kafka-${KAFKA_VERSION}/libs`);
  const port = freePort();
  let controllerPort = freePort();
  while (controllerPort === port) controllerPort = freePort();
  const options: LocalKafkaOptions = { cacheDir, port, controllerPort };
  const remove = () => Deno.remove(cacheDir, { recursive: true }).catch(() => {});
  let address: string;
  try {
    address = await startLocalKafka(options, { fresh: true });
  } catch (error) {
    await stopLocalKafka(options);
    await remove();
    throw error;
  }
  return {
    brokers: [address],
    async stop() {
      await stopLocalKafka(options);
    },
    async start() {
      await startLocalKafka(options);
    },
    async [Symbol.asyncDispose]() {
      await stopLocalKafka(options);
      await remove();
    },
  };
}
