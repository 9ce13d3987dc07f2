/**
 * Load for the cluster fault tests: the producer CLI at a fixed rate and two
 * consumer CLIs in one group, each its own process, against a test's
 * cluster; what was published and what PostgreSQL has committed, sampled
 * every 100 ms (so stalls can be measured); and, at the end, the proof that
 * every event the producer reports sent is on the topic once and counted
 * once. Neither program is ever restarted.
 */
import assert from "node:assert/strict";
import type { Kafka } from "kafkajs";
import { createKafka, partitionReplicas, topicEndOffsets } from "@activity/shared/kafka";
import { type TestDatabase, uniqueName } from "./services.ts";
import { cliArgs } from "./command_output.ts";
import { committedMessages, waitUntil } from "./pipeline_events.ts";
import { type ConsumerProcess, spawnConsumerProcess } from "./consumer_fixture.ts";
import { type CliRun, summaryOf, type WatchedProducer, watchProducer } from "./producer_topic.ts";
import {
  assertCountsExact,
  assertEachEventOnce,
  eventsOf,
  readTopicBack,
  storedOffsets,
} from "./fault_topic.ts";
import {
  faultConsumerFlags,
  freePort,
  metricSum,
  runToEnd,
  scrapeMetrics,
} from "./fault_processes.ts";
import { type ProgressSampler, sampleProgress } from "./progress_stall.ts";

/** What load to run. */
export interface ClusterLoadOptions {
  readonly brokers: readonly string[];
  readonly db: TestDatabase;
  /** Events the producer publishes in all (at most, if `finish` stops it). */
  readonly events: number;
  /** Events per second. */
  readonly rate: number;
  readonly seed: number;
  readonly label: string;
  readonly consumers?: number;
}

/** The running load. */
export interface ClusterLoad extends AsyncDisposable {
  readonly topic: string;
  readonly group: string;
  readonly kafka: Kafka;
  /** Events the producer has had acknowledged, sampled. */
  readonly published: ProgressSampler;
  /** Events PostgreSQL holds as committed, sampled. */
  readonly committed: ProgressSampler;
  /** Waits until at least `events` are committed. */
  reachCommitted(events: number, options?: { timeoutMs?: number }): Promise<void>;
  /** Partitions each consumer holds now (from its metrics). */
  assignedPerConsumer(): Promise<number[]>;
  /**
   * Waits for the producer's end (or, with `stopProducer`, stops it with SIGTERM: it flushes
   * what is pending and reports what it sent), then for every event sent to be committed; stops
   * the consumers and proves exactness.
   */
  finish(options?: { stopProducer?: boolean }): Promise<ClusterLoadResult>;
  /**
   * Adds the partitions' state, `extra` and the end of every program's log to an error (the
   * programs are killed first; their whole logs are kept in a temporary folder).
   */
  explain(error: unknown, extra?: string): Promise<Error>;
}

/** What `finish` proved. */
export interface ClusterLoadResult {
  readonly sent: number;
  readonly producerRetries: number;
  readonly eventsCompared: number;
  readonly rowsCompared: number;
}

/** The figures every cluster test prints about its load (see `printFigures`). */
export function loadFigures(result: ClusterLoadResult): Record<string, number> {
  return {
    events_sent: result.sent,
    producer_send_retries: result.producerRetries,
    events_compared: result.eventsCompared,
    rows_compared: result.rowsCompared,
    lost: 0,
    doubled: 0,
  };
}

/** Starts the producer and the consumers; the topic is created by the producer with `auto` replication. */
export function startClusterLoad(options: ClusterLoadOptions): ClusterLoad {
  const topic = uniqueName(options.label);
  const group = uniqueName(`${options.label}_group`);
  const kafka = createKafka({ brokers: options.brokers, clientId: `${options.label}-test` });
  const producerPort = freePort();
  const producer: WatchedProducer = watchProducer(cliArgs({
    brokers: options.brokers.join(","),
    topic,
    partitions: 6,
    rate: options.rate,
    count: options.events,
    seed: options.seed,
    "metrics-port": producerPort,
    "progress-interval": "1s",
  }));
  const consumerPorts = Array.from({ length: options.consumers ?? 2 }, () => freePort());
  const consumers: ConsumerProcess[] = consumerPorts.map((port) =>
    spawnConsumerProcess(faultConsumerFlags({
      brokers: options.brokers.join(","),
      topic,
      group,
      "database-url": options.db.url,
      "dlq-topic": `${topic}.dlq`,
      "metrics-port": port,
      "log-level": "info",
    }))
  );
  const published = sampleProgress(async () => {
    const text = await scrapeMetrics(producerPort);
    return text === undefined ? undefined : metricSum(text, "activity_producer_events_sent_total");
  });
  const committed = sampleProgress(() => committedMessages(options.db.sql, group, topic));
  let producerRun: CliRun | undefined;
  const stopSampling = () => Promise.all([published.stop(), committed.stop()]);
  const killAll = async () => {
    await stopSampling();
    producerRun ??= await producer.stop("SIGKILL");
    for (const consumer of consumers) consumer.kill("SIGKILL");
    return await Promise.all(consumers.map((consumer) => consumer.finished));
  };
  return {
    topic,
    group,
    kafka,
    published,
    committed,
    async reachCommitted(events, settings = {}) {
      await waitUntil(
        `${events} events are committed`,
        () => Promise.resolve(committed.latest() >= events),
        {
          timeoutMs: settings.timeoutMs ?? 90_000,
        },
      );
    },
    async assignedPerConsumer() {
      return await Promise.all(consumerPorts.map(async (port) => {
        const text = await scrapeMetrics(port);
        return text === undefined ? 0 : metricSum(text, "activity_consumer_assigned_partitions");
      }));
    },
    async finish(settings = {}) {
      const run = settings.stopProducer
        ? await producer.stop("SIGTERM")
        : await producer.waitFor((line) => line.msg === "summary", 180_000)
          .then(() => runToEnd(producer));
      producerRun = run;
      assert.equal(run.code, 0, run.stderr.slice(-3_000));
      const summary = summaryOf(run);
      assert.equal(summary.failed, 0, "the producer gave up on no event");
      if (!settings.stopProducer) {
        assert.equal(summary.sent, options.events, "the producer reports every event sent");
      }
      const sent = Number(summary.sent);
      await this.reachCommitted(sent, { timeoutMs: 120_000 });
      await stopSampling();
      for (const consumer of consumers) consumer.kill("SIGTERM");
      for (const { code, stderr } of await Promise.all(consumers.map((c) => c.finished))) {
        assert.equal(code, 0, `a consumer did not stop cleanly:\n${stderr.slice(-3_000)}`);
      }
      const messages = await readTopicBack(options.brokers, topic);
      assertEachEventOnce(messages, sent);
      const compared = await assertCountsExact(options.db.sql, eventsOf(messages));
      assert.equal(await committedMessages(options.db.sql, group, topic), sent);
      return {
        sent,
        producerRetries: Number(summary.retries),
        eventsCompared: compared.events,
        rowsCompared: compared.rows,
      };
    },
    async explain(error, extra = "") {
      const finished = await killAll();
      // The whole logs go to files (a failure in CI is read there); the ends into the message.
      const folder = await Deno.makeTempDir({ prefix: `${options.label}_logs_` });
      await Deno.writeTextFile(`${folder}/producer.log`, producerRun!.stderr);
      for (const [i, run] of finished.entries()) {
        await Deno.writeTextFile(`${folder}/consumer${i + 1}.log`, run.stderr);
      }
      const logs = [
        `producer log (end):\n${producerRun!.stderr.slice(-2_000)}`,
        ...finished.map((run, i) => `consumer ${i + 1} log (end):\n${run.stderr.slice(-2_000)}`),
      ];
      const state = await partitionStates(kafka, topic, options.db, group).catch((e) => String(e));
      const progress = `published ${published.latest()}, committed ${committed.latest()}`;
      return new Error(
        `${(error as Error).message} (${progress})\n${state}\n${extra}\n${logs.join("\n")}\n` +
          `whole logs: ${folder}`,
        { cause: error },
      );
    },
    async [Symbol.asyncDispose]() {
      await killAll();
    },
  };
}

/** Per partition: leader, in-sync replicas, end offset and the offset PostgreSQL stores. */
async function partitionStates(
  kafka: Kafka,
  topic: string,
  db: TestDatabase,
  group: string,
): Promise<string> {
  const [replicas, ends, stored] = await Promise.all([
    partitionReplicas(kafka, topic),
    topicEndOffsets(kafka, topic),
    storedOffsets(db.sql, group, topic),
  ]);
  return replicas.map((p) =>
    `partition ${p.partition}: leader ${p.leader}, isr [${p.isr.join(",")}], end ` +
    `${ends.get(p.partition)}, stored ${stored.get(p.partition) ?? 0}`
  ).join("\n");
}
