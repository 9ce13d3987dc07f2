/**
 * A consumer scene: a topic, a consumer group and a database of the test's
 * own (dead letters on `<topic>.dlq`), with the settings that point a
 * consumer at them, so that a test only publishes its messages, runs its
 * consumers and checks what was counted and stored. `startConsumerRun` adds
 * a consumer CLI already running on the scene.
 */
import type { Kafka } from "kafkajs";
import { createKafka, ensureTopics } from "@activity/shared/kafka";
import type { ConsumerConfig, RunOptions } from "../consumer/mod.ts";
import {
  type ConsumerProcess,
  spawnConsumerProcess,
  startTestConsumer,
  type TestConsumer,
  testConsumerConfig,
} from "./consumer_fixture.ts";
import { explained, faultConsumerFlags, freePort } from "./fault_processes.ts";
import { committedMessages, waitUntil } from "./pipeline_events.ts";
import { type WatchedProducer, watchProducer } from "./producer_topic.ts";
import { cliArgs } from "./command_output.ts";
import { createTestDatabase, type TestDatabase, testServices, uniqueName } from "./services.ts";

/** Program settings as flags, as a user would type them (`{ "flush-events": 2000 }`). */
export type CliFlags = Readonly<Record<string, string | number>>;

/** What `createConsumerScene` sets up. */
export interface ConsumerSceneOptions {
  /** Prefix of the scene's topic, group and database names. */
  readonly name: string;
  /** Partitions of the topic, created at once. */
  readonly partitions: number;
  /** Another broker than the test run's (one of the test's own). */
  readonly brokers?: string[];
  /** Runs once the topic exists (e.g. to make its dead-letter topic). */
  readonly before?: (kafka: Kafka) => Promise<unknown>;
}

/** A topic, a group and a database of a test's own; disposing it drops the database. */
export interface ConsumerScene extends AsyncDisposable {
  readonly brokers: string[];
  readonly kafka: Kafka;
  readonly db: TestDatabase;
  readonly topic: string;
  readonly dlqTopic: string;
  readonly group: string;
  /** Consumer CLI flags for the scene: `faultConsumerFlags`, the scene's names, then `extra`. */
  flags(extra?: CliFlags): Record<string, string | number>;
  /** Settings of an in-process consumer for the scene (`testConsumerConfig` defaults). */
  config(extra?: CliFlags): ConsumerConfig;
  /** Starts the consumer CLI on the scene with `flags(extra)`. */
  spawn(extra?: CliFlags): ConsumerProcess;
  /** Starts a consumer in this process on the scene with `config(extra)`. */
  start(
    extra?: CliFlags,
    options?: { name?: string; run?: Omit<RunOptions, "log" | "signal"> },
  ): TestConsumer;
  /** Starts the producer CLI publishing to the scene's topic (no metrics endpoint) with `flags`. */
  startProducer(flags: CliFlags): WatchedProducer;
  /** Messages the group has committed: the sum of its stored next offsets. */
  committed(): Promise<number>;
  /**
   * Waits until at least `total` messages are committed; on timeout, with `explain`, the error
   * ends with that consumer's log.
   */
  reach(
    total: number,
    options?: { timeoutMs?: number; explain?: ConsumerProcess },
  ): Promise<void>;
}

/** Creates the topic and the database of a scene. */
export async function createConsumerScene(options: ConsumerSceneOptions): Promise<ConsumerScene> {
  const brokers = options.brokers ?? (await testServices()).brokers;
  const db = await createTestDatabase(options.name);
  const topic = uniqueName(options.name);
  const dlqTopic = `${topic}.dlq`;
  const group = uniqueName(`${options.name}_group`);
  const kafka = createKafka({ brokers, clientId: `${options.name}-test` });
  try {
    await ensureTopics(kafka, [{ topic, partitions: options.partitions }]);
    await options.before?.(kafka);
  } catch (error) {
    await db[Symbol.asyncDispose]();
    throw error;
  }
  const names = {
    brokers: brokers.join(","),
    topic,
    group,
    "database-url": db.url,
    "dlq-topic": dlqTopic,
  };
  const committed = () => committedMessages(db.sql, group, topic);
  const scene: ConsumerScene = {
    brokers,
    kafka,
    db,
    topic,
    dlqTopic,
    group,
    flags: (extra = {}) => faultConsumerFlags({ ...names, ...extra }),
    config: (extra = {}) => testConsumerConfig({ ...names, ...extra }),
    spawn: (extra) => spawnConsumerProcess(scene.flags(extra)),
    start: (extra, { name, run } = {}) => startTestConsumer(scene.config(extra), name, run),
    startProducer: (flags) =>
      watchProducer(cliArgs({ brokers: names.brokers, topic, "metrics-port": 0, ...flags })),
    committed,
    reach(total, { timeoutMs = 60_000, explain } = {}) {
      const waiting = waitUntil(`${total} messages are committed`, async () => {
        return await committed() >= total;
      }, { timeoutMs });
      return explain ? explained(explain, waiting) : waiting;
    },
    [Symbol.asyncDispose]: () => db[Symbol.asyncDispose](),
  };
  return scene;
}

/** What `startConsumerRun` sets up. */
export interface ConsumerRunOptions extends ConsumerSceneOptions {
  /** Consumer flags on top of the scene's. */
  readonly flags?: CliFlags;
}

/** A consumer CLI running on a scene of its own. */
export interface ConsumerRun extends ConsumerScene {
  readonly consumer: ConsumerProcess;
  readonly metricsPort: number;
  /** Whether the consumer has exited (it must not, until stopped). */
  exited(): boolean;
}

/** Creates a scene and starts the consumer CLI on it (a timeout of `reach` shows its log). */
export async function startConsumerRun(options: ConsumerRunOptions): Promise<ConsumerRun> {
  const scene = await createConsumerScene(options);
  const metricsPort = freePort();
  const consumer = scene.spawn({ "metrics-port": metricsPort, ...options.flags });
  let exited = false;
  consumer.finished.then(() => exited = true);
  return {
    ...scene,
    consumer,
    metricsPort,
    exited: () => exited,
    reach: (total, { timeoutMs, explain = consumer } = {}) =>
      scene.reach(total, { timeoutMs, explain }),
    async [Symbol.asyncDispose]() {
      await consumer[Symbol.asyncDispose]();
      await scene[Symbol.asyncDispose]();
    },
  };
}
