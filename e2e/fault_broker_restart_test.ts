/**
 * Issue 8: the Kafka broker stopped and restarted (same data directory) while
 * the producer CLI publishes and the consumer CLI counts. The test runs a
 * broker of its own on free ports (the shared one on 9092 is never touched).
 * Neither program is restarted: both must recover by themselves, the producer
 * delivering every event once and the consumer counting every event once.
 */
import assert from "node:assert/strict";
import { startOwnBroker } from "../testing/fault_broker.ts";
import { createTestDatabase, uniqueName } from "../testing/services.ts";
import { committedMessages, waitUntil } from "../testing/pipeline_events.ts";
import { spawnConsumerProcess } from "../testing/consumer_fixture.ts";
import { summaryOf, watchProducer } from "../testing/producer_topic.ts";
import { assertCountsExact, eventsOf, readTopicBack } from "../testing/fault_topic.ts";
import { exitOf, explained, faultConsumerFlags, sleep } from "../testing/fault_processes.ts";
import { printFigures } from "../testing/fault_figures.ts";

const EVENTS = 40_000;
const DOWN_MS = 3_000;

Deno.test("the Kafka broker stopped and restarted mid-stream: the producer and the consumer recover by themselves, nothing lost, nothing doubled", async () => {
  const started = performance.now();
  await using broker = await startOwnBroker();
  const { brokers } = broker;
  await using db = await createTestDatabase("fault_broker");
  const topic = uniqueName("fault_broker");
  const group = uniqueName("fault_broker_group");
  const producer = watchProducer([
    "--brokers",
    brokers.join(","),
    "--topic",
    topic,
    "--partitions",
    "6",
    "--rate",
    "2000",
    "--count",
    String(EVENTS),
    "--seed",
    "31337",
    "--metrics-port",
    "0",
    "--progress-interval",
    "1s",
  ]);
  await using consumer = spawnConsumerProcess(faultConsumerFlags({
    brokers: brokers.join(","),
    topic,
    group,
    "database-url": db.url,
    "dlq-topic": `${topic}.dlq`,
    // Progress lines in the log: a failure shows how far it got.
    "log-level": "info",
  }));
  const committed = () => committedMessages(db.sql, group, topic);
  let outageMs = 0;
  let consumerRecoveryMs = 0;
  let producerRun;
  try {
    await explained(
      consumer,
      waitUntil("10 000 events are committed", async () => await committed() >= 10_000, {
        timeoutMs: 60_000,
      }),
    );
    const stoppedAt = performance.now();
    await broker.stop();
    await sleep(DOWN_MS);
    await broker.start();
    outageMs = Math.round(performance.now() - stoppedAt);
    const back = performance.now();
    const before = await committed();
    await explained(
      consumer,
      waitUntil("the consumer commits again", async () => await committed() > before, {
        timeoutMs: 60_000,
      }),
    );
    consumerRecoveryMs = Math.round(performance.now() - back);
    producerRun = await producer.waitFor((line) => line.msg === "summary", 120_000)
      .then(() => exitOf(producer));
  } catch (error) {
    const { stderr } = await producer.stop("SIGKILL");
    const progress = `${await committed()} committed`;
    throw new Error(
      `${(error as Error).message} (${progress})\nproducer log (end):\n${stderr.slice(-3_000)}`,
      { cause: error },
    );
  }
  assert.equal(producerRun.code, 0, producerRun.stderr.slice(-3_000));
  const summary = summaryOf(producerRun);
  assert.equal(summary.sent, EVENTS);
  assert.equal(summary.failed, 0);
  await explained(
    consumer,
    waitUntil("every event is committed", async () => await committed() >= EVENTS, {
      timeoutMs: 90_000,
    }),
  );
  consumer.kill("SIGTERM");
  const { code, stderr } = await consumer.finished;
  assert.equal(code, 0, stderr.slice(-3_000));

  const messages = await readTopicBack(brokers, topic);
  const decoder = new TextDecoder();
  const ids = new Set(
    messages.map((message) => JSON.parse(decoder.decode(message.value!)).event_id),
  );
  assert.equal(messages.length, EVENTS, "the topic holds exactly what the producer sent");
  assert.equal(ids.size, EVENTS, "no event was written twice");
  const compared = await assertCountsExact(db.sql, eventsOf(messages));
  assert.equal(await committed(), EVENTS);
  printFigures("fault_broker_restart", {
    broker_restarts: 1,
    broker_outage_ms: outageMs,
    consumer_commits_again_after_ms: consumerRecoveryMs,
    producer_send_retries: Number(summary.retries),
    producer_failed: 0,
    events: EVENTS,
    events_compared: compared.events,
    rows_compared: compared.rows,
    lost: 0,
    doubled: 0,
    seconds: (performance.now() - started) / 1000,
  });
});
