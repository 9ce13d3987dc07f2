/**
 * The Kafka edge both programs share: the KafkaJS client factory and the admin
 * calls (topics, their offsets and replication). With `producer/kafka_sink.ts`,
 * `consumer/kafka_source.ts` and `consumer/dead_letter_producer.ts` it is all
 * the code that knows KafkaJS, so the client library can be swapped there.
 */
import { type Admin, ConfigResourceTypes, Kafka, type LogEntry, logLevel } from "kafkajs";
import type { Logger } from "./log.ts";
import {
  AUTO_REPLICATION,
  replicationFor,
  type ReplicationRequest,
  replicationShortfall,
} from "./replication.ts";

/** How to reach Kafka. */
export interface KafkaConnection {
  readonly brokers: readonly string[];
  readonly clientId: string;
  /** Receives KafkaJS's own log lines (warnings and errors only). */
  readonly log?: Logger;
}

/** Creates a KafkaJS client whose log lines go through our logger. */
export function createKafka(connection: KafkaConnection): Kafka {
  return new Kafka({
    clientId: connection.clientId,
    brokers: [...connection.brokers],
    connectionTimeout: 5_000,
    requestTimeout: 30_000,
    retry: { initialRetryTime: 200, retries: 8, maxRetryTime: 10_000 },
    logLevel: connection.log ? logLevel.WARN : logLevel.NOTHING,
    logCreator: () => (entry: LogEntry) => {
      const { message, ...rest } = entry.log;
      const fields = { kafka: entry.namespace, ...rest };
      if (entry.level <= logLevel.ERROR) connection.log?.error(message, fields);
      else connection.log?.warn(message, fields);
    },
  });
}

/** A topic that must exist. */
export interface TopicSpec {
  readonly topic: string;
  readonly partitions: number;
  readonly config?: Readonly<Record<string, string>>;
}

/** What `ensureTopics` found or did for one topic. */
export interface TopicOutcome {
  readonly topic: string;
  readonly created: boolean;
  readonly partitions: number;
  readonly replicationFactor: number;
  /** The topic's effective min.insync.replicas (its own or the broker default). */
  readonly minInsyncReplicas: number;
  /** Why an existing topic is less safe than a new one would be (see `replicationShortfall`). */
  readonly shortfall?: string;
}

/** How `ensureTopics` creates topics. */
export interface EnsureTopicsOptions {
  /** Replication of new topics; `auto` (min(3, brokers) copies, min(2, ...) in sync) by default. */
  readonly replication?: ReplicationRequest;
  /** Told about created topics (info) and existing ones with a shortfall (warn). */
  readonly log?: Logger;
}

/**
 * Creates the topics that do not exist yet, with the replication the cluster's live broker count
 * gives (`replicationFor`); existing ones are left as they are, and reported.
 */
export async function ensureTopics(
  kafka: Kafka,
  topics: readonly TopicSpec[],
  options: EnsureTopicsOptions = {},
): Promise<TopicOutcome[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { brokers } = await admin.describeCluster();
    const wanted = replicationFor(brokers.length, options.replication ?? AUTO_REPLICATION);
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((spec) => !existing.has(spec.topic));
    // False, without creating, when another program created the topics in between. Not
    // `waitForLeaders`: it gives up when the broker it asks has not heard of a new topic yet.
    const created = missing.length > 0 && await admin.createTopics({
      waitForLeaders: false,
      topics: missing.map((spec) => ({
        topic: spec.topic,
        numPartitions: spec.partitions,
        replicationFactor: wanted.replicationFactor,
        configEntries: Object.entries({
          "min.insync.replicas": String(wanted.minInsyncReplicas),
          ...spec.config,
        }).map(([name, value]) => ({ name, value })),
      })),
    });
    const found = await whenKnown(() => describeTopics(admin, topics.map((spec) => spec.topic)));
    return topics.map((spec) => {
      const state = found.get(spec.topic)!;
      const isNew = created && !existing.has(spec.topic);
      const shortfall = isNew ? undefined : replicationShortfall(state, wanted);
      const outcome = {
        topic: spec.topic,
        created: isNew,
        ...state,
        ...(shortfall ? { shortfall } : {}),
      };
      if (isNew) options.log?.info("created topic", { ...outcome, brokers: brokers.length });
      else if (shortfall) {
        options.log?.warn(
          `topic "${spec.topic}" is less replicated than new topics: ${shortfall}`,
          {
            ...outcome,
            brokers: brokers.length,
          },
        );
      }
      return outcome;
    });
  } finally {
    await admin.disconnect();
  }
}

/**
 * Retries `read` while the broker asked does not know a topic yet or a partition has no leader
 * (or not the one the metadata named): in a cluster, a new topic reaches each broker's metadata a
 * moment after its creation, and leaders move.
 */
async function whenKnown<T>(read: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    try {
      return await read();
    } catch (error) {
      const type = (error as { type?: string }).type;
      if (!RETRIED_TYPES.has(type ?? "") || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

const RETRIED_TYPES = new Set([
  "UNKNOWN_TOPIC_OR_PARTITION",
  "LEADER_NOT_AVAILABLE",
  "NOT_LEADER_FOR_PARTITION",
]);

async function describeTopics(
  admin: Admin,
  topics: readonly string[],
): Promise<Map<string, Omit<TopicOutcome, "topic" | "created" | "shortfall">>> {
  const metadata = await admin.fetchTopicMetadata({ topics: [...topics] });
  const configs = await admin.describeConfigs({
    includeSynonyms: false,
    resources: topics.map((name) => ({
      type: ConfigResourceTypes.TOPIC,
      name,
      configNames: ["min.insync.replicas"],
    })),
  });
  const minIsr = new Map(configs.resources.map((resource) => [
    resource.resourceName,
    Number(
      resource.configEntries.find((entry) => entry.configName === "min.insync.replicas")
        ?.configValue ?? 1,
    ),
  ]));
  const leaderless = metadata.topics.find((topic) => topic.partitions.some((p) => p.leader < 0));
  if (leaderless) {
    throw Object.assign(new Error(`a partition of ${leaderless.name} has no leader yet`), {
      type: "LEADER_NOT_AVAILABLE",
    });
  }
  return new Map(metadata.topics.map((topic) => [topic.name, {
    partitions: topic.partitions.length,
    replicationFactor: Math.min(...topic.partitions.map((partition) => partition.replicas.length)),
    minInsyncReplicas: minIsr.get(topic.name) ?? 1,
  }]));
}

/** One partition's leader, replicas and in-sync replicas (broker node ids). */
export interface PartitionReplicas {
  readonly partition: number;
  /** -1 while the partition has no leader. */
  readonly leader: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
}

/** The live brokers of the cluster (node ids, sorted). */
export async function liveBrokers(kafka: Kafka): Promise<number[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { brokers } = await admin.describeCluster();
    return brokers.map((broker) => broker.nodeId).sort((a, b) => a - b);
  } finally {
    await admin.disconnect();
  }
}

/** Where each partition of `topic` lives now, by partition. */
export async function partitionReplicas(kafka: Kafka, topic: string): Promise<PartitionReplicas[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { topics } = await whenKnown(() => admin.fetchTopicMetadata({ topics: [topic] }));
    return topics[0].partitions.map((partition) => ({
      partition: partition.partitionId,
      leader: partition.leader,
      replicas: [...partition.replicas].sort((a, b) => a - b),
      isr: [...partition.isr].sort((a, b) => a - b),
    })).sort((a, b) => a.partition - b.partition);
  } finally {
    await admin.disconnect();
  }
}

/** Per partition: the offset after the last message (the high watermark). */
export function topicEndOffsets(kafka: Kafka, topic: string): Promise<Map<number, bigint>> {
  // A fresh admin client per attempt: a retry must not reuse metadata that named a stale leader.
  return whenKnown(async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchTopicOffsets(topic);
      return new Map(offsets.map((entry) => [entry.partition, BigInt(entry.high)]));
    } finally {
      await admin.disconnect();
    }
  });
}

/** Wraps bytes as the Node `Buffer` KafkaJS requires for keys and values (no copy). */
export function toKafkaBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
