/**
 * The consumer's only KafkaJS module: group membership and fetching (with
 * `autoCommit: false` and `eachBatchAutoResolve: false`, PostgreSQL holds the
 * offsets), seeks, the best-effort group offset commit, and the dead-letter
 * producer. Swapping the Kafka client means rewriting this file only.
 */
import { Buffer } from "node:buffer";
import { type Consumer, type Kafka, Partitioners, type Producer } from "kafkajs";
import { createKafka, ensureTopics, toKafkaBuffer } from "@activity/shared/kafka";
import type { Logger, ReplicationRequest } from "@activity/shared";
import type { Rejection, SourceMessage } from "./aggregate.ts";

/** A fetched batch with the controls the handler may use. */
export interface IncomingBatch {
  readonly topic: string;
  readonly partition: number;
  readonly messages: readonly SourceMessage[];
  readonly highWatermark: string;
  /** Keeps the group membership alive during long waits; throws when a rebalance began. */
  heartbeat(): Promise<void>;
  /** False once the source is stopping. */
  isRunning(): boolean;
  /** True when a seek made this batch obsolete. */
  isStale(): boolean;
  /** Tells the client the batch was taken up to `offset`, so it fetches on from there. */
  resolveOffset(offset: string): void;
}

/** What the source calls back. */
export interface SourceHandlers {
  onBatch(batch: IncomingBatch): Promise<void>;
  /** A group join finished; these partitions of the topic are now ours. */
  onAssignment(partitions: readonly number[]): void;
  /** The client gave up and will not restart by itself. */
  onFatal(error: Error): void;
}

/** How to reach and consume the topic. */
export interface SourceOptions {
  readonly brokers: readonly string[];
  readonly topic: string;
  readonly group: string;
  readonly dlqTopic: string;
  /** Replication of the dead-letter topic if it has to be created. */
  readonly replication: ReplicationRequest;
  readonly sessionTimeoutMs: number;
  readonly log: Logger;
  readonly signal?: AbortSignal;
}

/** A connected group member and dead-letter producer. */
export interface KafkaSource {
  /** Asks the client to fetch `partition` from `offset` next (ignored unless it is assigned). */
  seek(partition: number, offset: string): void;
  /** Publishes rejected messages to the dead-letter topic; resolves once all acknowledged. */
  publishDeadLetters(rejections: readonly Rejection[]): Promise<void>;
  /** Commits group offsets to Kafka for lag tooling; failures are ignored (never trusted). */
  commitGroupOffsets(offsets: readonly { partition: number; next: string }[]): void;
  /** Stops fetching (the current batch handler still finishes). */
  pause(): void;
  /** Leaves the group and disconnects everything. */
  close(): Promise<void>;
}

/** A dead-letter value larger than this is cut (the broker refuses messages over ~1 MB). */
const MAX_DLQ_VALUE_BYTES = 900 * 1024;

/** Connects, waits for the topic, joins the group and starts fetching (undefined if aborted). */
export async function startKafkaSource(
  options: SourceOptions,
  handlers: SourceHandlers,
): Promise<KafkaSource | undefined> {
  const { log, topic } = options;
  const kafka = createKafka({
    brokers: options.brokers,
    clientId: "activity-consumer",
    log: quietRebalances(log),
  });
  await waitForTopic(kafka, topic, options);
  if (options.signal?.aborted) return undefined;
  await ensureTopics(kafka, [{ topic: options.dlqTopic, partitions: 1 }], {
    replication: options.replication,
    log,
  });
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  const consumer = kafka.consumer({
    groupId: options.group,
    sessionTimeout: options.sessionTimeoutMs,
    heartbeatInterval: Math.min(3_000, Math.floor(options.sessionTimeoutMs / 3)),
    maxBytesPerPartition: 1024 * 1024,
    maxBytes: 6 * 1024 * 1024,
    maxWaitTimeInMs: 200,
    allowAutoTopicCreation: false,
  });
  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    handlers.onAssignment(event.payload.memberAssignment[topic] ?? []);
  });
  consumer.on(consumer.events.CRASH, (event) => {
    if (!event.payload.restart) handlers.onFatal(event.payload.error);
  });
  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: ({ batch, heartbeat, isRunning, isStale, resolveOffset }) =>
      handlers.onBatch({
        topic: batch.topic,
        partition: batch.partition,
        messages: batch.messages,
        highWatermark: batch.highWatermark,
        heartbeat,
        isRunning,
        isStale,
        resolveOffset,
      }),
  });
  return createSource(consumer, producer, options);
}

function createSource(consumer: Consumer, producer: Producer, options: SourceOptions): KafkaSource {
  const { topic, log } = options;
  // Group offsets are informational: one commit in flight at a time, newer offsets coalesced.
  const pending = new Map<number, string>();
  let committing: Promise<void> | undefined;
  const commitPending = async () => {
    while (pending.size > 0) {
      const offsets = [...pending].map(([partition, offset]) => ({ topic, partition, offset }));
      pending.clear();
      try {
        await consumer.commitOffsets(offsets);
      } catch (error) {
        log.debug("group offsets not committed to Kafka (informational only)", { error });
      }
    }
    committing = undefined;
  };
  return {
    seek(partition, offset) {
      consumer.seek({ topic, partition, offset });
    },
    async publishDeadLetters(rejections) {
      for (const chunk of deadLetterRequests(rejections)) {
        await producer.send({ topic: options.dlqTopic, acks: -1, messages: chunk.map(deadLetter) });
      }
    },
    commitGroupOffsets(offsets) {
      for (const { partition, next } of offsets) pending.set(partition, next);
      committing ??= commitPending();
    },
    pause() {
      try {
        consumer.pause([{ topic }]);
      } catch {
        // Not running (it crashed or never started): nothing to pause.
      }
    },
    async close() {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        committing,
        new Promise((resolve) => timer = setTimeout(resolve, 2_000)),
      ]);
      clearTimeout(timer);
      for (const client of [consumer, producer]) {
        try {
          await client.disconnect();
        } catch (error) {
          log.warn("could not disconnect from Kafka cleanly", { error });
        }
      }
    },
  };
}

/** Most messages, and most value bytes, in one dead-letter produce request. */
const DLQ_REQUEST_MESSAGES = 1_000;
const DLQ_REQUEST_BYTES = 900 * 1024;

/**
 * Splits rejections into produce requests the broker accepts: the broker refuses a record batch
 * over its message size limit (1 MB by default), so large values go in requests of their own.
 */
export function deadLetterRequests(rejections: readonly Rejection[]): Rejection[][] {
  const requests: Rejection[][] = [];
  let current: Rejection[] = [];
  let bytes = 0;
  for (const rejection of rejections) {
    const size = Math.min(rejection.value?.length ?? 0, MAX_DLQ_VALUE_BYTES) +
      (rejection.key?.length ?? 0) + rejection.detail.length + 256;
    if (
      current.length > 0 &&
      (current.length >= DLQ_REQUEST_MESSAGES || bytes + size > DLQ_REQUEST_BYTES)
    ) {
      requests.push(current);
      current = [];
      bytes = 0;
    }
    current.push(rejection);
    bytes += size;
  }
  if (current.length > 0) requests.push(current);
  return requests;
}

function deadLetter(rejection: Rejection) {
  const value = rejection.value;
  const cut = value !== null && value.length > MAX_DLQ_VALUE_BYTES;
  return {
    key: rejection.key === null ? null : toKafkaBuffer(rejection.key),
    value: value === null
      ? null
      : toKafkaBuffer(cut ? value.subarray(0, MAX_DLQ_VALUE_BYTES) : value),
    headers: {
      "reject-reason": rejection.reason,
      "reject-detail": Buffer.from(rejection.detail),
      "source-topic": rejection.topic,
      "source-partition": String(rejection.partition),
      "source-offset": rejection.offset,
      "source-timestamp": String(rejection.timestampMs),
      "original-bytes": String(value?.length ?? 0),
      ...(cut ? { "truncated": "true" } : {}),
    },
  };
}

async function waitForTopic(kafka: Kafka, topic: string, options: SourceOptions): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    let waitedMs = 0;
    while (!(await admin.listTopics()).includes(topic)) {
      if (options.signal?.aborted) return;
      if (waitedMs % 10_000 === 0) {
        options.log.info("waiting for the topic to be created (by the producer)", { topic });
      }
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      waitedMs += 1_000;
    }
  } finally {
    await admin.disconnect();
  }
}

// KafkaJS logs every rebalance as protocol errors; for a group member they are routine.
const ROUTINE = /rebalancing|generation id is not valid|not aware of all assigned partitions/i;

function quietRebalances(log: Logger): Logger {
  const routine = (message: string, fields?: Record<string, unknown>) =>
    ROUTINE.test(message) || ROUTINE.test(String(fields?.error ?? ""));
  return {
    enabled: (level) => log.enabled(level),
    debug: (message, fields) => log.debug(message, fields),
    info: (message, fields) => log.info(message, fields),
    warn: (message, fields) =>
      routine(message, fields) ? log.debug(message, fields) : log.warn(message, fields),
    error: (message, fields) =>
      routine(message, fields) ? log.debug(message, fields) : log.error(message, fields),
  };
}
