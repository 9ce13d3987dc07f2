/**
 * What every Kafka client in the comparison provides: a `MessageSink` for the
 * producer's own publishing loop, and a count-only reader of a whole topic.
 * Names and types only.
 */
import type { MessageSink } from "../producer/publisher.ts";

/** The pinned `@platformatic/kafka` version (as in deno.json's import map). */
export const PLATFORMATIC_KAFKA_VERSION = "2.12.1";

/** The clients compared. */
export const CLIENT_NAMES = ["kafkajs", "kafkajs-patched", "platformatic"] as const;

/** A client in the comparison. */
export type ClientName = typeof CLIENT_NAMES[number];

/** The clients that can read a topic (the KafkaJS speedups concern producing only). */
export const DRAIN_CLIENT_NAMES = [
  "kafkajs",
  "platformatic",
] as const satisfies readonly ClientName[];

/** A client that reads in the comparison. */
export type DrainClientName = typeof DRAIN_CLIENT_NAMES[number];

/** Where and how a sink publishes (the topic exists already). */
export interface SinkOptions {
  readonly brokers: readonly string[];
  readonly topic: string;
  readonly idempotent: boolean;
  /** Requests in flight per connection; also the publishing loop's batches in flight. */
  readonly maxInFlight: number;
  /** Attempts after the first before a batch fails. */
  readonly retries: number;
}

/** A connected sink with what it is. */
export interface ClientSink extends MessageSink, AsyncDisposable {
  readonly maxInFlight: number;
  /** Library, version and anything that tells runs apart (speedups, CRC implementation). */
  readonly details: Readonly<Record<string, string>>;
  close(): Promise<void>;
}

/** Fetch sizes, the same for every reader (the consumer's own values). */
export interface FetchLimits {
  readonly maxBytesPerPartition: number;
  readonly maxBytes: number;
  readonly maxWaitMs: number;
}

/** What a reader needs to read a topic to its end. */
export interface DrainOptions {
  readonly brokers: readonly string[];
  readonly topic: string;
  /** A consumer group of its own (fresh, so reading starts at the earliest offsets). */
  readonly groupId: string;
  /** Per partition: the offset after the last message. */
  readonly ends: ReadonlyMap<number, bigint>;
  readonly fetch: FetchLimits;
  /** Gives up when no message arrived for this long. */
  readonly stallMs: number;
}
