/**
 * `@platformatic/kafka` (the maintained pure-TypeScript client) behind the
 * benchmark's client interface: a `MessageSink` that plugs into the
 * producer's publishing loop exactly like its KafkaJS sink (one request per
 * batch, acknowledgement from all in-sync replicas, the same idempotence and
 * requests in flight, retries with backoff), and a count-only reader of a
 * whole topic. Keys go through the Java-compatible partitioner, as with
 * KafkaJS: the client's own default (`murmur2 >>> 0`) would send users to
 * other partitions than the running pipeline does.
 */
import { Buffer } from "node:buffer";
import {
  compatibilityPartitioner,
  Consumer,
  crc32c,
  jsCRC32C,
  loadNativeCRC32C,
  MessagesStreamModes,
  ProduceAcks,
  Producer,
} from "@platformatic/kafka";
import type { OutgoingBatch } from "../producer/batch.ts";
import {
  type ClientSink,
  type DrainOptions,
  PLATFORMATIC_KAFKA_VERSION,
  type SinkOptions,
} from "./client_contract.ts";
import { type DrainResult, DrainTracker, monotonicNow, whenDrained } from "./drain_tracker.ts";

/** Request timeout and backoff bounds, as the KafkaJS edge sets them (`shared/kafka.ts`). */
const REQUEST_TIMEOUT_MS = 30_000;
const CONNECT_TIMEOUT_MS = 5_000;
const BACKOFF = { initialMs: 200, maxMs: 10_000 } as const;

/** Keys cached as Buffers (user ids repeat), up to this many, as the producer's sink does. */
const KEY_CACHE_LIMIT = 100_000;

/** Which CRC-32C implementation the client uses: its native addon, WebAssembly or JavaScript. */
export function platformaticCrc32c(): string {
  if (crc32c === jsCRC32C) return "javascript";
  return loadNativeCRC32C() ? "native (@node-rs/crc32)" : "webassembly";
}

function backoff(_client: unknown, _operation: string, attempt: number): number {
  return Math.min(BACKOFF.initialMs * 2 ** Math.max(0, attempt - 1), BACKOFF.maxMs);
}

/** Keys as the Buffers the client writes, cached (user ids repeat; encoding each was measurable). */
function createKeyCache(): (key: string) => Buffer {
  const cache = new Map<string, Buffer>();
  return (key) => {
    let bytes = cache.get(key);
    if (bytes === undefined) {
      bytes = Buffer.from(key);
      if (cache.size < KEY_CACHE_LIMIT) cache.set(key, bytes);
    }
    return bytes;
  };
}

type PartitionerArgs = Parameters<typeof compatibilityPartitioner>;

/**
 * The Java-compatible partitioner, remembered per cached key Buffer, as the
 * producer's KafkaJS sink does: hashing every message was 10 % of the
 * client's time. Its result is the hash; the client takes it modulo the
 * partition count, so the memo holds whatever the count.
 */
function memoizedCompatibilityPartitioner(): (...args: PartitionerArgs) => number {
  const memo = new Map<Buffer, number>();
  return (message, key) => {
    if (key === undefined) return compatibilityPartitioner(message, key);
    let hash = memo.get(key);
    if (hash === undefined) {
      hash = compatibilityPartitioner(message, key);
      if (memo.size < KEY_CACHE_LIMIT) memo.set(key, hash);
    }
    return hash;
  };
}

/** Connects a `@platformatic/kafka` producer to an existing topic. */
export async function openPlatformaticSink(options: SinkOptions): Promise<ClientSink> {
  const producer = new Producer({
    clientId: "bench-platformatic",
    bootstrapBrokers: [...options.brokers],
    idempotent: options.idempotent,
    acks: ProduceAcks.ALL,
    maxInflights: options.maxInFlight,
    partitioner: memoizedCompatibilityPartitioner(),
    retries: options.retries,
    retryDelay: backoff,
    timeout: REQUEST_TIMEOUT_MS,
    connectTimeout: CONNECT_TIMEOUT_MS,
    autocreateTopics: false,
  });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await producer.close();
  };
  try {
    // Connects and fails now, not at the first batch, when the topic is missing.
    const metadata = await producer.metadata({ topics: [options.topic] });
    if (!metadata.topics.has(options.topic)) {
      throw new Error(`the topic "${options.topic}" does not exist`);
    }
  } catch (error) {
    await close();
    throw error;
  }
  const keyBytes = createKeyCache();
  const { topic } = options;
  return {
    maxInFlight: options.maxInFlight,
    details: {
      library: `@platformatic/kafka@${PLATFORMATIC_KAFKA_VERSION}`,
      crc32c: platformaticCrc32c(),
    },
    async send(batch: OutgoingBatch): Promise<void> {
      const messages = new Array(batch.count);
      for (let i = 0; i < batch.count; i++) {
        const value = batch.value(i);
        messages[i] = {
          topic,
          key: keyBytes(batch.keys[i]),
          value: Buffer.from(value.buffer, value.byteOffset, value.byteLength),
        };
      }
      await producer.send({ messages, acks: ProduceAcks.ALL });
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Reads the topic to its end with a `@platformatic/kafka` stream in a fresh group, counting only. */
export async function drainWithPlatformatic(options: DrainOptions): Promise<DrainResult> {
  const consumer = new Consumer({
    clientId: "bench-platformatic-drain",
    groupId: options.groupId,
    bootstrapBrokers: [...options.brokers],
    autocommit: false,
    sessionTimeout: 30_000,
    heartbeatInterval: 3_000,
    minBytes: 1,
    maxBytes: options.fetch.maxBytes,
    maxWaitTime: options.fetch.maxWaitMs,
    timeout: REQUEST_TIMEOUT_MS,
    connectTimeout: CONNECT_TIMEOUT_MS,
  });
  try {
    const tracker = new DrainTracker(options.ends, performance.now());
    const stream = await consumer.consume({
      topics: [options.topic],
      mode: MessagesStreamModes.EARLIEST,
      autocommit: false,
      maxBytesPerPartition: options.fetch.maxBytesPerPartition,
    });
    try {
      const failed = new Promise<never>((_, reject) => stream.on("error", reject));
      stream.on("data", (message) => {
        tracker.add(message.partition, message.offset, 1, monotonicNow);
      });
      await whenDrained(tracker, { stallMs: options.stallMs, failed });
      return tracker.result();
    } finally {
      await stream.close();
    }
  } finally {
    await consumer.close();
  }
}
