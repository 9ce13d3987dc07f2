/**
 * The Kafka broker stopped and restarted (same data directory) while
 * the producer CLI publishes and the consumer CLI counts. The test runs a
 * broker of its own on free ports (the shared one on 9092 is never touched).
 * Neither program is restarted: both must recover by themselves, the producer
 * delivering every event once and the consumer counting every event once.
 */
import assert from "node:assert/strict";
import { startOwnBroker } from "../testing/fault_broker.ts";
import {
  assertCountsExact,
  createConsumerScene,
  eventsOf,
  printFigures,
  readTopicBack,
  sleep,
  summaryOf,
} from "../testing/mod.ts";
import { runToEnd } from "../testing/fault_processes.ts";
import { assertEachEventOnce } from "../testing/fault_topic.ts";

const EVENTS = 40_000;
const DOWN_MS = 3_000;

Deno.test("the Kafka broker stopped and restarted mid-stream: the producer and the consumer recover by themselves, nothing lost, nothing doubled", async () => {
  const started = performance.now();
  await using broker = await startOwnBroker();
  const { brokers } = broker;
  await using scene = await createConsumerScene({ name: "fault_broker", partitions: 6, brokers });
  const producer = scene.startProducer({
    rate: 2000,
    count: EVENTS,
    seed: 31337,
    "progress-interval": "1s",
  });
  // Progress lines in the log: a failure shows how far it got.
  await using consumer = scene.spawn({ "log-level": "info" });
  const committed = scene.committed;
  let outageMs = 0;
  let consumerRecoveryMs = 0;
  let producerRun;
  try {
    await scene.reach(10_000, { explain: consumer });
    const stoppedAt = performance.now();
    await broker.stop();
    await sleep(DOWN_MS);
    await broker.start();
    outageMs = Math.round(performance.now() - stoppedAt);
    const back = performance.now();
    const before = await committed();
    await scene.reach(before + 1, { explain: consumer });
    consumerRecoveryMs = Math.round(performance.now() - back);
    producerRun = await producer.waitFor((line) => line.msg === "summary", 120_000)
      .then(() => runToEnd(producer));
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
  await scene.reach(EVENTS, { timeoutMs: 90_000, explain: consumer });
  consumer.kill("SIGTERM");
  const { code, stderr } = await consumer.finished;
  assert.equal(code, 0, stderr.slice(-3_000));

  const messages = await readTopicBack(brokers, scene.topic);
  assertEachEventOnce(messages, EVENTS);
  const compared = await assertCountsExact(scene.db.sql, eventsOf(messages));
  assert.equal(await committed(), EVENTS);
  printFigures("fault_broker_restart", {
    broker_restarts: 1,
    broker_outage_ms: outageMs,
    consumer_commits_again_after_ms: consumerRecoveryMs,
    producer_send_retries: Number(summary.retries),
    producer_failed: Number(summary.failed),
    events: messages.length,
    events_compared: compared.events,
    rows_compared: compared.rows,
    lost: 0,
    doubled: 0,
    seconds: (performance.now() - started) / 1000,
  });
});
