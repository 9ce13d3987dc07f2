/**
 * A consumer run: a topic and a database of the test's own, with the
 * consumer CLI reading them (dead letters on `<topic>.dlq`), so that a test
 * only publishes its messages and checks what was counted and stored.
 */
import type { Kafka } from "kafkajs";
import { createKafka, ensureTopics } from "@activity/shared/kafka";
import { type ConsumerProcess, spawnConsumerProcess } from "./consumer_fixture.ts";
import { explained, faultConsumerFlags, freePort } from "./fault_processes.ts";
import { committedMessages, waitUntil } from "./pipeline_events.ts";
import { createTestDatabase, type TestDatabase, testServices, uniqueName } from "./services.ts";

/** What `startConsumerRun` sets up. */
export interface ConsumerRunOptions {
  /** Prefix of the run's topic, group and database names. */
  readonly name: string;
  readonly partitions: number;
  /** Consumer flags on top of `faultConsumerFlags`. */
  readonly flags?: Readonly<Record<string, string | number>>;
  /** Runs once the topic exists, before the consumer starts (e.g. to make its dead-letter topic). */
  readonly before?: (kafka: Kafka) => Promise<unknown>;
}

/** A running consumer on a fresh topic and database. */
export interface ConsumerRun extends AsyncDisposable {
  readonly brokers: string[];
  readonly kafka: Kafka;
  readonly db: TestDatabase;
  readonly topic: string;
  readonly dlqTopic: string;
  readonly group: string;
  readonly consumer: ConsumerProcess;
  readonly metricsPort: number;
  /** Whether the consumer has exited (it must not, until stopped). */
  exited(): boolean;
  /** Waits until `total` messages are committed; on timeout the error ends with the consumer's log. */
  committed(total: number, options?: { timeoutMs?: number }): Promise<void>;
}

/** Creates the topic and database and starts the consumer CLI on them. */
export async function startConsumerRun(options: ConsumerRunOptions): Promise<ConsumerRun> {
  const { brokers } = await testServices();
  const db = await createTestDatabase(options.name);
  const topic = uniqueName(options.name);
  const dlqTopic = `${topic}.dlq`;
  const group = uniqueName(`${options.name}_group`);
  const kafka = createKafka({ brokers, clientId: `${options.name}-test` });
  await ensureTopics(kafka, [{ topic, partitions: options.partitions }]);
  await options.before?.(kafka);
  const metricsPort = freePort();
  const consumer = spawnConsumerProcess(faultConsumerFlags({
    brokers: brokers.join(","),
    topic,
    group,
    "database-url": db.url,
    "dlq-topic": dlqTopic,
    "metrics-port": metricsPort,
    ...options.flags,
  }));
  let exited = false;
  consumer.finished.then(() => exited = true);
  return {
    brokers,
    kafka,
    db,
    topic,
    dlqTopic,
    group,
    consumer,
    metricsPort,
    exited: () => exited,
    committed: (total, { timeoutMs = 60_000 } = {}) =>
      explained(
        consumer,
        waitUntil(`${total} messages are committed`, async () => {
          return await committedMessages(db.sql, group, topic) >= total;
        }, { timeoutMs }),
      ),
    async [Symbol.asyncDispose]() {
      await consumer[Symbol.asyncDispose]();
      await db[Symbol.asyncDispose]();
    },
  };
}
