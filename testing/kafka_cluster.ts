/**
 * A Kafka cluster of a test's own: three KRaft nodes (broker and controller
 * each) from the cached jars, with configuration, data, logs and pids in a
 * temporary folder and on free ports, so overlapping test runs never share or
 * stop each other's brokers. Failure detection is shortened so that a killed
 * broker loses its leaderships in seconds. Tests that only need a cluster
 * (and kill nothing) can use the one `deno task services --brokers 3` runs,
 * through `KAFKA_CLUSTER_BROKERS` (see `clusterForTest`).
 */
import {
  defaultKafkaOptions,
  ensureKafkaJars,
  KAFKA_VERSION,
  kafkaLogFile,
  launchLocalKafka,
  runningKafkaPid,
  stopLocalKafka,
  waitForLocalKafka,
} from "../tools/kafka_local.ts";
import { clusterNodeOptions, waitForLiveBrokers } from "../tools/kafka_cluster.ts";
import type { KafkaNodeAddress } from "../tools/kafka_properties.ts";
import { freePort } from "./fault_processes.ts";

/**
 * Server properties of test clusters: a broker that stops heartbeating is
 * fenced (and its partitions get new leaders) after 4 s instead of 9 s, a
 * lagging follower leaves the ISR after 8 s, and preferred leaders are
 * restored every 10 s, so a restarted broker takes its leaderships back
 * within a test (one more leader move the clients must ride through).
 */
const TEST_CLUSTER_PROPERTIES: Readonly<Record<string, string>> = {
  "broker.heartbeat.interval.ms": "1000",
  "broker.session.timeout.ms": "4000",
  "replica.lag.time.max.ms": "8000",
  "leader.imbalance.check.interval.seconds": "10",
};

/** The heap of each node of a test cluster. */
const TEST_NODE_HEAP = "-Xms256m -Xmx256m";

/** One node of a test's cluster. */
export interface ClusterNode {
  readonly nodeId: number;
  /** Its broker address, `127.0.0.1:port`. */
  readonly address: string;
}

/** A running cluster of the test's own. */
export interface OwnCluster extends AsyncDisposable {
  /** Every node's broker address (the bootstrap list). */
  readonly brokers: string[];
  readonly nodes: readonly ClusterNode[];
  /** SIGKILL: the node's broker and controller crash at once; resolves when the process is gone. */
  kill(nodeId: number): Promise<void>;
  /** SIGTERM: a controlled shutdown (leaderships handed over first); resolves when it exited. */
  stop(nodeId: number): Promise<void>;
  /** Starts a stopped node again on its data; resolves when it logs that it started. */
  start(nodeId: number): Promise<void>;
  /** The path of a node's log, for failure messages. */
  logFile(nodeId: number): string;
}

/** How a test's own cluster is started. */
export interface OwnClusterOptions {
  /** Nodes (default 3). */
  readonly brokers?: number;
  /**
   * `TEST_CLUSTER_PROPERTIES`' short failure detection (default true). Off for tests that stop
   * no broker: on a loaded machine a 4 s heartbeat timeout can fence a healthy broker for a
   * moment, and the cluster then looks smaller than it is.
   */
  readonly fastFailover?: boolean;
}

/** Starts a fresh cluster of `brokers` nodes; disposing it stops every node and deletes its files. */
export async function startOwnCluster(options: OwnClusterOptions = {}): Promise<OwnCluster> {
  const count = options.brokers ?? 3;
  const libs = await ensureKafkaJars(defaultKafkaOptions());
  const cacheDir = await Deno.makeTempDir({ prefix: "test_cluster_" });
  await Deno.mkdir(`${cacheDir}/kafka-${KAFKA_VERSION}`);
  await Deno.symlink(libs, `${cacheDir}/kafka-${KAFKA_VERSION}/libs`);
  const ports = new Set<number>();
  while (ports.size < 2 * count) ports.add(freePort());
  const [...free] = ports;
  const addresses: KafkaNodeAddress[] = Array.from({ length: count }, (_, i) => ({
    nodeId: i + 1,
    port: free[2 * i],
    controllerPort: free[2 * i + 1],
  }));
  const clusterOptions = {
    cacheDir,
    nodes: addresses,
    properties: options.fastFailover === false ? {} : TEST_CLUSTER_PROPERTIES,
    heap: TEST_NODE_HEAP,
  };
  const nodes = await clusterNodeOptions(clusterOptions, { fresh: true });
  const stopAll = () =>
    Promise.all(nodes.map((node) => stopLocalKafka(node, { signal: "SIGKILL" })));
  const remove = () => Deno.remove(cacheDir, { recursive: true }).catch(() => {});
  let brokers: string[];
  try {
    // The same cluster id (from `nodes`) formats every node's storage.
    for (const node of nodes) await launchLocalKafka(node, { fresh: true });
    brokers = await Promise.all(
      nodes.map((node) => waitForLocalKafka(node, { timeoutMs: 120_000 })),
    );
    await waitForLiveBrokers(brokers, count, { timeoutMs: 60_000 });
  } catch (error) {
    await stopAll();
    await remove();
    throw error;
  }
  const node = (nodeId: number) => {
    const found = nodes.find((candidate) => candidate.cluster?.nodeId === nodeId);
    if (!found) throw new Error(`the test cluster has no node ${nodeId}`);
    return found;
  };
  return {
    brokers,
    nodes: addresses.map((address) => ({
      nodeId: address.nodeId,
      address: `127.0.0.1:${address.port}`,
    })),
    async kill(nodeId) {
      if (!await stopLocalKafka(node(nodeId), { signal: "SIGKILL" })) {
        throw new Error(`node ${nodeId} was not running`);
      }
    },
    async stop(nodeId) {
      if (!await stopLocalKafka(node(nodeId), { timeoutMs: 60_000 })) {
        throw new Error(`node ${nodeId} was not running`);
      }
    },
    async start(nodeId) {
      if (await runningKafkaPid(node(nodeId))) throw new Error(`node ${nodeId} is running`);
      await launchLocalKafka(node(nodeId));
      await waitForLocalKafka(node(nodeId), { timeoutMs: 120_000 });
    },
    logFile: (nodeId) => kafkaLogFile(node(nodeId)),
    async [Symbol.asyncDispose]() {
      await stopAll();
      await remove();
    },
  };
}

/** A cluster for a test that stops no broker: the running one named by `KAFKA_CLUSTER_BROKERS`, else its own. */
export async function clusterForTest(): Promise<{ brokers: string[] } & AsyncDisposable> {
  const shared = Deno.env.get("KAFKA_CLUSTER_BROKERS");
  if (shared) return { brokers: shared.split(","), [Symbol.asyncDispose]: async () => {} };
  return await startOwnCluster({ fastFailover: false });
}

/** Lines of every node's log that matter after a failure: errors, truncations, fencing. */
export async function brokerLogNotes(cluster: OwnCluster, limit = 40): Promise<string> {
  const notes: string[] = [];
  for (const { nodeId } of cluster.nodes) {
    const text = await Deno.readTextFile(cluster.logFile(nodeId)).catch(() => "");
    const lines = text.split("\n").filter((line) => /ERROR|Truncat|unclean|fenced/i.test(line));
    notes.push(`node ${nodeId} (${cluster.logFile(nodeId)}):`, ...lines.slice(-limit));
  }
  return notes.join("\n");
}
