/**
 * The consumer's KafkaJS edge: group membership and fetching (with
 * `autoCommit: false` and `eachBatchAutoResolve: false`, PostgreSQL holds the
 * offsets), seeks, what the topic's log holds (its id, first and last
 * offsets), the best-effort group offset commit, and the dead-letter
 * producer, as `batch_source.ts` asks. Swapping the Kafka client means rewriting this file,
 * `dead_letter_producer.ts` and `shared/kafka.ts` only.
 */
// Types only: KafkaJS itself is loaded in `startKafkaSource`, after the speedups (see there).
import type { Admin, Consumer, Kafka, Producer } from "kafkajs";
import type { Logger } from "@activity/shared";
import type { KafkaSource, SourceHandlers, SourceOptions } from "./batch_source.ts";
import { createDeadLetterPublisher } from "./dead_letter_producer.ts";
import { deadLetterPartition } from "./dead_letters.ts";
import { fetchTopicIds } from "./kafka_topic_ids.ts";
import { importKafkaAfterSpeedups } from "./kafkajs_fetch_speedups.ts";
import { withDeadline } from "./kafka_deadline.ts";
import {
  classifyKafkaError,
  errorSummary,
  retryWithBackoff,
  WAITING_LOG_INTERVAL_MS,
} from "./retry.ts";

/** How long one topic-id lookup may take. */
const TOPIC_ID_TIMEOUT_MS = 5_000;

/** How long reading the topic's offsets may take: a batch handler waits for it. */
const DESCRIBE_TIMEOUT_MS = 15_000;

/** Connects, waits for the topic, joins the group and starts fetching (undefined if aborted). */
export async function startKafkaSource(
  options: SourceOptions,
  handlers: SourceHandlers,
): Promise<KafkaSource | undefined> {
  const { log, topic, clock, signal } = options;
  const { createKafka, ensureTopics } = await importKafkaAfterSpeedups(log);
  const kafka = createKafka({
    brokers: options.brokers,
    clientId: "activity-consumer",
    log: quietRebalances(log),
  });
  const admin = kafka.admin();
  log.info("connecting to Kafka", { brokers: options.brokers.join(",") });
  const ready = await retryWithBackoff(async () => {
    await admin.connect();
    await waitForTopic(admin, options, handlers);
    if (signal?.aborted) return false;
    await ensureTopics(kafka, [{ topic: options.dlqTopic, partitions: 1 }], {
      replication: options.replication,
      log,
    });
    return true;
  }, {
    clock,
    signal,
    capMs: WAITING_LOG_INTERVAL_MS,
    retryable: (error) => classifyKafkaError(error).kind !== "permanent",
    onRetry: (error, { attempt, delayMs }) => {
      const reason = `Kafka is not reachable at ${options.brokers.join(",")}: ${
        errorSummary(error)
      }`;
      handlers.onBlocked(reason);
      if (attempt === 1 || delayMs >= WAITING_LOG_INTERVAL_MS / 2) {
        log.warn("cannot reach Kafka yet; retrying", { attempt, retry_in_ms: delayMs, error });
      }
    },
  });
  if (!ready) {
    await admin.disconnect().catch(() => {});
    return undefined;
  }
  handlers.onBlocked(null);
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    createPartitioner: () => ({ partitionMetadata, message }) =>
      deadLetterPartition(
        (message.headers ?? {}) as Record<string, string>,
        partitionMetadata.length,
      ),
  });
  const consumer = kafka.consumer({
    groupId: options.group,
    sessionTimeout: options.sessionTimeoutMs,
    heartbeatInterval: Math.min(3_000, Math.floor(options.sessionTimeoutMs / 3)),
    // Every message of a fetch is an object until its batch is counted: with twice these, a
    // backlog of small messages (the old prototype's, ~90 bytes) held up to 66 000 at once and
    // measured ~90 MiB more peak memory and a tenth less rate; other shapes, the same either way.
    maxBytesPerPartition: 512 * 1024,
    maxBytes: 3 * 1024 * 1024,
    maxWaitTimeInMs: 200,
    allowAutoTopicCreation: false,
  });
  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    handlers.onAssignment(event.payload.memberAssignment[topic] ?? []);
  });
  consumer.on(consumer.events.CRASH, (event) => {
    if (!event.payload.restart) handlers.onFatal(event.payload.error);
  });
  for (
    const sign of [
      consumer.events.FETCH_START,
      consumer.events.HEARTBEAT,
      consumer.events.GROUP_JOIN,
      consumer.events.CRASH,
    ]
  ) {
    consumer.on(sign, () => handlers.onActivity());
  }
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
  return createSource({ kafka, admin, consumer, producer }, options);
}

function createSource(
  clients: { kafka: Kafka; admin: Admin; consumer: Consumer; producer: Producer },
  options: SourceOptions,
): KafkaSource {
  const { kafka, consumer, producer } = clients;
  const { topic, log, clock } = options;
  let admin = clients.admin;
  let adminIsStale = false;
  // KafkaJS's admin keeps metadata naming a moved leader (it does not refresh on NOT_LEADER),
  // and a request it never settles would hold the caller: after a failure, a fresh client.
  const currentAdmin = async () => {
    if (!adminIsStale) return admin;
    const stale = admin;
    admin = kafka.admin();
    adminIsStale = false;
    stale.disconnect().catch(() => {});
    await admin.connect();
    return admin;
  };
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
  const publishDeadLetters = createDeadLetterPublisher(producer, options);
  return {
    seek(partition, offset) {
      consumer.seek({ topic, partition, offset });
    },
    async describeTopic() {
      let topicId, offsets;
      try {
        [topicId, offsets] = await withDeadline(
          (async () => {
            const client = await currentAdmin();
            return await Promise.all([
              readTopicId(options.brokers, topic),
              client.fetchTopicOffsets(topic),
            ]);
          })(),
          { clock, ms: DESCRIBE_TIMEOUT_MS, what: `the offsets of topic "${topic}"` },
        );
      } catch (error) {
        adminIsStale = true;
        throw error;
      }
      return {
        topicId,
        partitions: new Map(offsets.map((entry) => [entry.partition, {
          logStart: BigInt(entry.low),
          highWatermark: BigInt(entry.high),
        }])),
      };
    },
    // Bounded by the lookup's own time limit; no admin client is involved.
    topicId: () => readTopicId(options.brokers, topic),
    publishDeadLetters,
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
      const waited = new AbortController();
      await Promise.race([
        committing,
        options.clock.sleep(options.closeCommitWaitMs, waited.signal),
      ]);
      waited.abort();
      try {
        await withDeadline(
          (async () => {
            for (const client of [consumer, producer, admin]) await client.disconnect();
          })(),
          { clock, ms: options.closeDisconnectWaitMs, what: "leaving the group and disconnecting" },
        );
      } catch (error) {
        // The group moves our partitions after the session timeout even if we never leave it.
        log.warn("could not disconnect from Kafka cleanly", { error });
      }
    },
  };
}

/** The topic's id, from one broker's Metadata answer (null: the broker is too old to tell). */
async function readTopicId(brokers: readonly string[], topic: string): Promise<string | null> {
  // Not the stop signal: the last flush of a stopping consumer checks the topic too.
  const ids = await fetchTopicIds(brokers, [topic], { timeoutMs: TOPIC_ID_TIMEOUT_MS });
  return ids.kind === "ids" ? ids.topics.get(topic)?.id ?? null : null;
}

async function waitForTopic(
  admin: Admin,
  options: SourceOptions,
  handlers: SourceHandlers,
): Promise<void> {
  const { topic, log, clock, signal } = options;
  let lastLogMs = -Infinity;
  while (!(await admin.listTopics()).includes(topic)) {
    if (signal?.aborted) return;
    const reason = `topic "${topic}" does not exist yet (the producer creates it)`;
    handlers.onBlocked(reason);
    if (clock.now() - lastLogMs >= WAITING_LOG_INTERVAL_MS) {
      lastLogMs = clock.now();
      log.info(`waiting: ${reason}`, { topic, brokers: options.brokers.join(",") });
    }
    await clock.sleep(1_000, signal);
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
