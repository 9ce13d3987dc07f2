/**
 * Kafka and PostgreSQL helpers of the reliability tests: what a topic really
 * holds (read back with headers), the events in it (parsed with plain
 * `JSON.parse`, not the consumer's decoder), counts compared table by table,
 * and a stream published in the background while faults are injected.
 */
import assert from "node:assert/strict";
import type { Buffer } from "node:buffer";
import type postgres from "postgres";
import type { Kafka } from "kafkajs";
import type { ActivityEvent } from "@activity/shared";
import { createKafka, toKafkaBuffer, topicEndOffsets } from "@activity/shared/kafka";
import {
  countDifferences,
  type ExpectedCounts,
  expectedCounts,
  type RawMessage,
  storedCounts,
} from "./pipeline_events.ts";

/** A message as read back, with its headers as text. */
export interface TopicMessage {
  readonly partition: number;
  readonly offset: number;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers: Readonly<Record<string, string>>;
}

/** Messages in `topic` now: the sum of its partitions' end offsets. */
export async function topicMessageCount(kafka: Kafka, topic: string): Promise<number> {
  const ends = await topicEndOffsets(kafka, topic);
  return [...ends.values()].reduce((sum, end) => sum + Number(end), 0);
}

/** Reads every message up to the current end of `topic`, in partition and offset order. */
export async function readTopicBack(
  brokers: readonly string[],
  topic: string,
  options: { timeoutMs?: number } = {},
): Promise<TopicMessage[]> {
  const kafka = createKafka({ brokers, clientId: "fault-test-reader" });
  const expected = await topicMessageCount(kafka, topic);
  const messages: TopicMessage[] = [];
  if (expected === 0) return messages;
  const consumer = kafka.consumer({
    groupId: `fault-reader-${crypto.randomUUID()}`,
    maxBytesPerPartition: 8 * 1024 * 1024,
    maxBytes: 32 * 1024 * 1024,
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    const done = Promise.withResolvers<void>();
    // A rejoin (a coordinator that moved, as in a rolling restart) fetches again from the
    // reader's last committed offset: a message read twice is still one message of the topic.
    const seen = new Set<string>();
    await consumer.run({
      eachBatch: ({ batch }) => {
        for (const message of batch.messages) {
          const position = `${batch.partition}:${message.offset}`;
          if (seen.has(position)) continue;
          seen.add(position);
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(message.headers ?? {})) {
            headers[name] = String(value);
          }
          messages.push({
            partition: batch.partition,
            offset: Number(message.offset),
            key: message.key === null ? null : new Uint8Array(message.key),
            value: message.value === null ? null : new Uint8Array(message.value),
            headers,
          });
        }
        if (messages.length >= expected) done.resolve();
        return Promise.resolve();
      },
    });
    const timeoutMs = options.timeoutMs ?? 60_000;
    const timer = setTimeout(
      () => done.reject(new Error(`read ${messages.length} of ${expected} messages of ${topic}`)),
      timeoutMs,
    );
    await done.promise.finally(() => clearTimeout(timer));
  } finally {
    await consumer.disconnect();
  }
  return messages.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}

/** The fields of an event that decide where it is counted. */
export type CountedEvent = Pick<ActivityEvent, "user_id" | "event_type" | "occurred_at">;

/** Parses valid event JSON values with `JSON.parse` (independent of the consumer's decoder). */
export function eventsOf(messages: readonly { value: Uint8Array | null }[]): CountedEvent[] {
  const decoder = new TextDecoder();
  return messages.map((message) => {
    const parsed = JSON.parse(decoder.decode(message.value!));
    return {
      user_id: parsed.user_id,
      event_type: parsed.event_type,
      occurred_at: parsed.occurred_at,
    };
  });
}

/** Asserts that `messages` are `sent` events, none of them twice (by event id). */
export function assertEachEventOnce(
  messages: readonly { value: Uint8Array | null }[],
  sent: number,
): void {
  const decoder = new TextDecoder();
  const ids = new Set(
    messages.map((message) => JSON.parse(decoder.decode(message.value!)).event_id),
  );
  assert.equal(messages.length, sent, "the topic holds exactly the events reported sent");
  assert.equal(ids.size, sent, "no event is on the topic twice");
}

const TABLES = ["summary", "hourly", "daily", "typeMinute", "activeUsers"] as const;

/**
 * Asserts that stored count tables (`storedCounts`, now or a snapshot) hold exactly the counts
 * of `events`: no row missing, none extra, none off by one; returns the rows compared.
 */
export function assertSameCounts(
  stored: ExpectedCounts,
  events: readonly CountedEvent[],
  label = "counts",
): number {
  const expected = expectedCounts(events as ActivityEvent[]);
  let rows = 0;
  for (const table of TABLES) {
    assert.deepEqual(countDifferences(expected[table], stored[table]), [], `${label}: ${table}`);
    assert.equal(stored[table].size, expected[table].size, `${label}: rows of ${table}`);
    rows += stored[table].size;
  }
  return rows;
}

/**
 * Asserts that every count table holds exactly the counts of `events`, and `ingest_minute` their
 * number as accepted; returns how much was compared.
 */
export async function assertCountsExact(
  sql: postgres.Sql,
  events: readonly CountedEvent[],
  label = "counts",
): Promise<{ events: number; rows: number }> {
  const rows = assertSameCounts(await storedCounts(sql), events, label);
  const [ingest] = await sql<{ n: string | null }[]>`
    SELECT sum(events_accepted) AS n FROM ingest_minute`;
  assert.equal(Number(ingest.n ?? 0), events.length, `${label}: ingest_minute accepted`);
  return { events: events.length, rows };
}

/** The stored next offset of each partition of a group's topic (empty before any commit). */
export async function storedOffsets(
  sql: postgres.Sql,
  group: string,
  topic: string,
): Promise<Map<number, number>> {
  const [exists] = await sql`SELECT to_regclass('consumer_offsets') IS NOT NULL AS ok`;
  if (!exists.ok) return new Map();
  const rows = await sql<{ partition: number; next_offset: string }[]>`
    SELECT partition, next_offset FROM consumer_offsets
    WHERE consumer_group = ${group} AND topic = ${topic}`;
  return new Map(rows.map((row) => [row.partition, Number(row.next_offset)]));
}

/** The messages below the stored offsets: what a group has committed. */
export function committedPrefix<T extends { partition: number; offset: number }>(
  messages: readonly T[],
  offsets: ReadonlyMap<number, number>,
): T[] {
  return messages.filter((message) => message.offset < (offsets.get(message.partition) ?? 0));
}

/** A publisher running in the background. */
export interface BackgroundStream {
  /** Messages acknowledged so far. */
  published(): number;
  /** Stops after the chunk in flight; resolves with the number of messages published. */
  stop(): Promise<number>;
  /** Settles when publishing ended (rejects if it failed) with the number of messages published. */
  readonly done: Promise<number>;
}

/**
 * Publishes `messages` in order, in chunks at about `ratePerSecond`, acknowledged by all
 * replicas, until all are published or `stop` is called: the first `published()` of them are
 * then exactly what the topic received.
 */
export function streamInBackground(
  kafka: Kafka,
  topic: string,
  messages: readonly RawMessage[],
  options: { ratePerSecond: number; chunk?: number },
): BackgroundStream {
  const chunk = options.chunk ?? 500;
  let published = 0;
  let stopped = false;
  const run = async () => {
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      const started = performance.now();
      for (let i = 0; i < messages.length && !stopped; i += chunk) {
        const dueMs = (i / options.ratePerSecond) * 1000 - (performance.now() - started);
        if (dueMs > 0) await new Promise((resolve) => setTimeout(resolve, dueMs));
        if (stopped) break;
        const slice = messages.slice(i, i + chunk);
        await producer.send({
          topic,
          acks: -1,
          messages: slice.map((message) => ({
            key: message.key,
            value: message.value === null ? null : (toKafkaBuffer(message.value) as Buffer),
          })),
        });
        published += slice.length;
      }
      return published;
    } finally {
      await producer.disconnect();
    }
  };
  const done = run();
  return {
    published: () => published,
    stop() {
      stopped = true;
      return done;
    },
    done,
  };
}
