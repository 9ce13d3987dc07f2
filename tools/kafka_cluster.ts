/**
 * A local Kafka cluster of several KRaft nodes from the same Maven Central
 * jars as the single broker (`kafka_local.ts`): every node is broker and
 * controller, with its own ports, data directory, log and pid file in the
 * cache folder, all formatted with one cluster id.
 */
import { createKafka, liveBrokers } from "@activity/shared/kafka";
import {
  formattedClusterId,
  launchLocalKafka,
  LocalKafkaError,
  type LocalKafkaOptions,
  newClusterId,
  runningKafkaPid,
  stopLocalKafka,
  waitForLocalKafka,
} from "./kafka_local.ts";
import type { KafkaNodeAddress } from "./kafka_properties.ts";

/** The most nodes `clusterPorts` numbers. */
export const MAX_LOCAL_BROKERS = 5;

/**
 * The fixed ports of the cluster `deno task services --brokers N` runs: node
 * i listens on 9092 + 100·i and its controller on 9093 + 100·i (9192/9193,
 * 9292/9293, 9392/9393, ...), clear of the single broker's 9092/9093.
 */
export function clusterPorts(brokers: number): KafkaNodeAddress[] {
  if (!Number.isInteger(brokers) || brokers < 2 || brokers > MAX_LOCAL_BROKERS) {
    throw new LocalKafkaError(
      `Cannot plan a local cluster of ${brokers} brokers: it must be 2 to ${MAX_LOCAL_BROKERS}`,
    );
  }
  return Array.from({ length: brokers }, (_, i) => ({
    nodeId: i + 1,
    port: 9092 + 100 * (i + 1),
    controllerPort: 9093 + 100 * (i + 1),
  }));
}

/** Where a local cluster keeps its files, its nodes and how they run. */
export interface LocalClusterOptions {
  readonly cacheDir: string;
  readonly nodes: readonly KafkaNodeAddress[];
  /** Extra or overriding server properties for every node. */
  readonly properties?: Readonly<Record<string, string>>;
  /** JVM heap flags of each node. */
  readonly heap?: string;
}

/** The heap of each node of a local cluster unless `KAFKA_HEAP_OPTS` says otherwise. */
export const CLUSTER_NODE_HEAP = "-Xms384m -Xmx384m";

/** The options of each node, with the cluster id its storage has or gets. */
export async function clusterNodeOptions(
  options: LocalClusterOptions,
  settings: { fresh?: boolean } = {},
): Promise<LocalKafkaOptions[]> {
  const bare = options.nodes.map((node) => ({
    cacheDir: options.cacheDir,
    port: node.port,
    controllerPort: node.controllerPort,
  }));
  let clusterId: string | undefined;
  if (!settings.fresh) {
    for (const node of bare) clusterId ??= await formattedClusterId(node);
  }
  clusterId ??= newClusterId();
  const heap = options.heap ?? Deno.env.get("KAFKA_HEAP_OPTS") ?? CLUSTER_NODE_HEAP;
  return options.nodes.map((node, i) => ({
    ...bare[i],
    cluster: { nodeId: node.nodeId, quorum: options.nodes, clusterId: clusterId! },
    properties: options.properties,
    heap,
  }));
}

/**
 * Starts every node that is not running (they outlive this process), waits
 * until each logs that it started and the cluster reports all of them live;
 * returns the bootstrap addresses.
 */
export async function startLocalCluster(
  options: LocalClusterOptions,
  settings: { fresh?: boolean; timeoutMs?: number } = {},
): Promise<string[]> {
  const nodes = await clusterNodeOptions(options, settings);
  const timeoutMs = settings.timeoutMs ?? 120_000;
  const deadline = Date.now() + timeoutMs;
  const running = [];
  for (const node of nodes) if (await runningKafkaPid(node)) running.push(node.port);
  if (settings.fresh && running.length > 0) {
    throw new LocalKafkaError(
      `Cannot start the local cluster fresh: its brokers on ports ${running.join(", ")} are ` +
        `running; stop them first (deno task services:stop --brokers ${nodes.length})`,
    );
  }
  const launched: LocalKafkaOptions[] = [];
  try {
    for (const node of nodes) {
      if (!await runningKafkaPid(node)) launched.push(node);
      await launchLocalKafka(node, settings);
    }
    const addresses = await Promise.all(
      nodes.map((node) => waitForLocalKafka(node, { timeoutMs })),
    );
    await waitForLiveBrokers(addresses, nodes.length, { timeoutMs: deadline - Date.now() });
    return addresses;
  } catch (error) {
    // A half-started cluster is of no use; stop what this call started.
    await Promise.all(launched.map((node) => stopLocalKafka(node, { signal: "SIGKILL" })));
    throw error;
  }
}

/** Waits until the cluster at `brokers` reports `count` live brokers. */
export async function waitForLiveBrokers(
  brokers: readonly string[],
  count: number,
  options: { timeoutMs?: number } = {},
): Promise<void> {
  const kafka = createKafka({ brokers, clientId: "local-cluster" });
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let live: number[] = [];
  while (Date.now() < deadline) {
    live = await liveBrokers(kafka).catch(() => []);
    if (live.length >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new LocalKafkaError(
    `The local cluster did not report ${count} live brokers in time (it reports ` +
      `${live.length === 0 ? "none" : live.join(", ")})`,
  );
}

/**
 * Stops every running node of the cluster (SIGTERM to all at once: in a
 * combined node the broker shuts down before its controller, so every
 * broker's controlled shutdown is approved while the quorum still stands);
 * returns how many were running.
 */
export async function stopLocalCluster(options: LocalClusterOptions): Promise<number> {
  const nodes = await clusterNodeOptions(options);
  const stopped = await Promise.all(nodes.map((node) => stopLocalKafka(node)));
  return stopped.filter(Boolean).length;
}
