/**
 * The producer's Kafka edge: the one module that talks to KafkaJS. It makes
 * sure the topic exists, then sends each batch in one request with the
 * idempotent producer and acknowledgement from all in-sync replicas; KafkaJS
 * retries transient errors with exponential backoff, and a batch that still
 * fails rejects, so nothing is counted as sent without an acknowledgement.
 */
import { Buffer } from "node:buffer";
// Types only: KafkaJS itself is loaded in `connect`, after the speedups (see there).
import type { Partitioners, Producer } from "kafkajs";
import type { Logger, ReplicationRequest } from "@activity/shared";
import type { OutgoingBatch } from "./batch.ts";
import {
  describeSpeedups,
  installKafkaJsSpeedups,
  type KafkaJsSpeedups,
} from "./kafkajs_speedups.ts";
import type { MessageSink } from "./publisher.ts";

export { describeSpeedups, type KafkaJsSpeedups } from "./kafkajs_speedups.ts";

/** Requests in flight without idempotence (with it, KafkaJS needs exactly one). */
export const NON_IDEMPOTENT_IN_FLIGHT = 4;

/** Attempts after the first before a batch fails: with backoff from 0.2 s to 10 s, about a minute. */
export const SEND_RETRIES = 8;

/** Where and how to publish. */
export interface KafkaSinkOptions {
  readonly brokers: readonly string[];
  readonly topic: string;
  /** Partitions of the topic if it has to be created. */
  readonly partitions: number;
  /** Replication of the topic if it has to be created (default: `auto`). */
  readonly replication?: ReplicationRequest;
  readonly idempotent: boolean;
  readonly log: Logger;
  /** Called for each failed send attempt that KafkaJS will retry (or give up on). */
  readonly onAttemptFailed?: () => void;
}

/** A connected sink. */
export interface KafkaSink extends MessageSink, AsyncDisposable {
  /** Batches that may be in flight at once. */
  readonly maxInFlight: number;
  /** Partitions of the topic as found or created. */
  readonly partitions: number;
  /** The KafkaJS speedups in effect, and why any is not. */
  readonly speedups: KafkaJsSpeedups;
  /** Disconnects (after in-flight batches are settled). */
  close(): Promise<void>;
}

/** Kafka could not be reached or the topic not be prepared; nothing was sent. */
export class KafkaUnavailableError extends Error {
  /** Creates the error with a complete message. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "KafkaUnavailableError";
  }
}

/** Creates the topic if needed and connects a producer to it. */
export async function openKafkaSink(options: KafkaSinkOptions): Promise<KafkaSink> {
  try {
    return await connect(options);
  } catch (error) {
    throw new KafkaUnavailableError(
      `Cannot publish to topic "${options.topic}" at ${options.brokers.join(",")}: ${
        error instanceof Error ? error.message : String(error)
      }`,
      { cause: error },
    );
  }
}

async function connect(options: KafkaSinkOptions): Promise<KafkaSink> {
  // The speedups first, then KafkaJS: a KafkaJS module already loaded cannot be swapped any more,
  // so nothing here may load KafkaJS before this line (no static import of it in this file).
  const speedups = installKafkaJsSpeedups();
  reportSpeedups(options.log, speedups);
  const kafkajs = await import("kafkajs");
  const { createKafka, ensureTopics, liveBrokers, toKafkaBuffer, topicEndOffsets } = await import(
    "@activity/shared/kafka"
  );
  const kafka = createKafka({
    brokers: options.brokers,
    clientId: "activity-producer",
    log: kafkaLog(options.log, options.onAttemptFailed),
  });
  await ensureTopics(kafka, [{ topic: options.topic, partitions: options.partitions }], {
    replication: options.replication,
    log: options.log,
  });
  const partitions = (await topicEndOffsets(kafka, options.topic)).size;
  if (partitions !== options.partitions) {
    options.log.info("the topic already exists with another partition count; keeping it", {
      topic: options.topic,
      partitions,
      requested: options.partitions,
    });
  }
  // See `partitionWise`: on a cluster, one KafkaJS send per partition.
  const byPartition = (await liveBrokers(kafka)).length > 1
    ? partitionWise(partitions, kafkajs.Partitioners)
    : undefined;
  const maxInFlight = options.idempotent ? 1 : NON_IDEMPOTENT_IN_FLIGHT;
  const producer: Producer = kafka.producer({
    idempotent: options.idempotent,
    maxInFlightRequests: maxInFlight,
    allowAutoTopicCreation: false,
    createPartitioner: () => memoizedDefaultPartitioner(kafkajs.Partitioners),
    retry: { retries: SEND_RETRIES },
  });
  await producer.connect();
  const keys = createKeyCache();
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await producer.disconnect();
  };
  return {
    maxInFlight,
    partitions,
    speedups,
    async send(batch: OutgoingBatch): Promise<void> {
      const messages = new Array(batch.count);
      for (let i = 0; i < batch.count; i++) {
        messages[i] = { key: keys(batch.keys[i]), value: toKafkaBuffer(batch.value(i)) };
      }
      if (!byPartition) {
        await producer.send({ topic: options.topic, acks: -1, messages });
        return;
      }
      await Promise.all(
        byPartition(messages).map((group) =>
          producer.send({ topic: options.topic, acks: -1, messages: group })
        ),
      );
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** A message as the sink hands it to KafkaJS. */
export type KeyedMessage = { key: Buffer | string; value: Buffer; partition?: number };

/**
 * Splits a batch into one group per partition, each message's partition set. KafkaJS 2.2.4
 * retries a send that spans several brokers by resending only to brokers that have not answered
 * yet, as it finds them after a metadata refresh: when a leader dies and its partitions move to a
 * broker that already acknowledged its own part, they are never resent, yet the send resolves
 * (measured: 60 of 40 000 acknowledged events missing after one SIGKILL), and when broker objects
 * are recreated it resends acknowledged parts with new sequence numbers (duplicates despite
 * idempotence). A send for one partition goes to one leader per attempt, so neither can happen.
 */
export function partitionWise(
  partitions: number,
  partitioners: typeof Partitioners,
): (messages: KeyedMessage[]) => KeyedMessage[][] {
  const partitioner = memoizedDefaultPartitioner(partitioners);
  // Keyed messages are placed by the partition count alone (murmur2 of the key).
  const partitionMetadata: PartitionerArgs["partitionMetadata"] = Array.from(
    { length: partitions },
    (_, partitionId) => ({ partitionErrorCode: 0, partitionId, leader: -1, replicas: [], isr: [] }),
  );
  return (messages) => {
    const groups = new Map<number, KeyedMessage[]>();
    for (const message of messages) {
      const partition = partitioner({ topic: "", partitionMetadata, message });
      message.partition = partition;
      let group = groups.get(partition);
      if (!group) groups.set(partition, group = []);
      group.push(message);
    }
    return [...groups.values()];
  };
}

/** Keys cached as the Buffers KafkaJS writes (user ids repeat; encoding each was measurable). */
const KEY_CACHE_LIMIT = 100_000;

function createKeyCache(): (key: string) => Buffer | string {
  const cache = new Map<string, Buffer>();
  return (key) => {
    let bytes = cache.get(key);
    if (bytes === undefined) {
      if (cache.size >= KEY_CACHE_LIMIT) return key;
      bytes = Buffer.from(key);
      cache.set(key, bytes);
    }
    return bytes;
  };
}

type PartitionerArgs = Parameters<ReturnType<typeof Partitioners.DefaultPartitioner>>[0];

let speedupsReported = false;

/** A warning, once per process, when any KafkaJS speedup is out, naming why. */
function reportSpeedups(log: Logger, speedups: KafkaJsSpeedups): void {
  if (speedupsReported || speedups.problems.length === 0) return;
  speedupsReported = true;
  log.warn("KafkaJS speedups left out; plain KafkaJS does their work", {
    kafkajs_speedups: describeSpeedups(speedups),
  });
}

/**
 * KafkaJS's default (Java-compatible murmur2) partitioner, remembered per key
 * (the same string or cached Buffer): keys are user ids, repeated, and
 * hashing each message was a measurable share of the producer's time.
 */
function memoizedDefaultPartitioner(partitioners: typeof Partitioners) {
  const partitioner = partitioners.DefaultPartitioner();
  let partitionCount = -1;
  let memo = new Map<string | Buffer, number>();
  return (args: PartitionerArgs): number => {
    if (typeof args.message.partition === "number") return args.message.partition;
    const key = args.message.key;
    if (key === null || key === undefined || memo.size > 2 * KEY_CACHE_LIMIT) {
      return partitioner(args);
    }
    if (args.partitionMetadata.length !== partitionCount) {
      partitionCount = args.partitionMetadata.length;
      memo = new Map();
    }
    let partition = memo.get(key);
    if (partition === undefined) {
      partition = partitioner(args);
      memo.set(key, partition);
    }
    return partition;
  };
}

/** KafkaJS's log lines, with failed send attempts counted and one known warning quieted. */
function kafkaLog(log: Logger, onAttemptFailed?: () => void): Logger {
  return {
    enabled: (level) => log.enabled(level),
    debug: (message, fields) => log.debug(message, fields),
    info: (message, fields) => log.info(message, fields),
    warn: (message, fields) => {
      // We bound retries on purpose: a batch that still fails stops the producer, which never
      // re-sends it, so the duplicate this warning is about cannot happen.
      if (message.startsWith("Limiting retries for the idempotent producer")) {
        log.debug(message, fields);
      } else log.warn(message, fields);
    },
    error: (message, fields) => {
      if (typeof fields?.retryCount !== "number") return log.error(message, fields);
      // KafkaJS logs each failed attempt it is going to retry (or give up on) with its count.
      if (fields.kafka === "Producer") {
        onAttemptFailed?.();
        log.warn(`send attempt failed (retried with backoff): ${message}`, fields);
      } else log.warn(`attempt failed (retried with backoff): ${message}`, fields);
    },
  };
}
