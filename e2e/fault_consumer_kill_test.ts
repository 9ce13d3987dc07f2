/**
 * Issue 8: the consumer CLI SIGKILLed at random moments, at least ten times,
 * while the real producer CLI publishes at least 200 000 events, restarted
 * each time; the counts are then compared with counts computed from the
 * topic read back.
 */
import assert from "node:assert/strict";
import { createKafka } from "@activity/shared/kafka";
import { createTestDatabase, testServices, uniqueName } from "../testing/services.ts";
import { committedMessages, seededRandom, waitUntil } from "../testing/pipeline_events.ts";
import { spawnConsumerProcess } from "../testing/consumer_fixture.ts";
import { summaryOf, watchProducer } from "../testing/producer_topic.ts";
import {
  assertCountsExact,
  eventsOf,
  readTopicBack,
  topicMessageCount,
} from "../testing/fault_topic.ts";
import { explained, faultConsumerFlags, sleep } from "../testing/fault_processes.ts";
import { printFigures } from "../testing/fault_figures.ts";

const KILLS = 10;
const EVENTS = 200_000;
const SEED = 20_240_801;

Deno.test("the consumer SIGKILLed at 10 random moments while 200 000 events stream in, restarted each time, loses nothing and counts nothing twice", async () => {
  const started = performance.now();
  const { brokers } = await testServices();
  await using db = await createTestDatabase("fault_kill");
  const topic = uniqueName("fault_kill");
  const group = uniqueName("fault_kill_group");
  const kafka = createKafka({ brokers, clientId: "fault-kill-test" });
  // Two hours ago at 60× speed: a minute of publishing spans an hour of event time.
  const producer = watchProducer([
    "--brokers",
    brokers.join(","),
    "--topic",
    topic,
    "--partitions",
    "6",
    "--rate",
    "4000",
    "--seed",
    String(SEED),
    "--start",
    new Date(Date.now() - 2 * 3_600_000).toISOString(),
    "--speed",
    "60",
    "--metrics-port",
    "0",
    "--progress-interval",
    "2s",
  ]);
  const flags = faultConsumerFlags({
    brokers: brokers.join(","),
    topic,
    group,
    "database-url": db.url,
    "dlq-topic": `${topic}.dlq`,
    // Many small flushes: a kill lands before, inside or after a commit.
    "flush-events": 1_500,
    "flush-interval-ms": 50,
    "max-buffer-events": 3_000,
  });
  const committed = () => committedMessages(db.sql, group, topic);
  const published = () => topicMessageCount(kafka, topic).catch(() => 0);
  const random = seededRandom(SEED);
  const kills: { afterMs: number; committed: number; published: number }[] = [];
  let producerRun;
  try {
    await producer.waitFor((line) => line.msg === "publishing");
    while (kills.length < KILLS || await published() < EVENTS) {
      await using consumer = spawnConsumerProcess(flags);
      const spawnedAt = performance.now();
      const before = await committed();
      // Every other kill waits for fresh progress first (mid-flush); the others land anywhere
      // from start-up through the group join, the offset read and the first fetches.
      if (kills.length % 2 === 0) {
        await waitUntil("the restarted consumer commits", async () => await committed() > before);
      }
      await sleep(200 + random() * 2_500);
      consumer.kill("SIGKILL");
      const { signal, code, stderr } = await consumer.finished;
      assert.equal(signal, "SIGKILL", `the consumer exited by itself (code ${code}):\n${stderr}`);
      kills.push({
        afterMs: Math.round(performance.now() - spawnedAt),
        committed: await committed(),
        published: await published(),
      });
    }
    producerRun = await producer.stop("SIGTERM");
  } catch (error) {
    await producer.stop("SIGKILL");
    throw error;
  }
  assert.equal(producerRun.code, 0, producerRun.stderr.slice(-2_000));
  const produced = summaryOf(producerRun);
  const total = await published();
  assert.equal(produced.sent, total, "the producer's count and the topic agree");
  assert.ok(total >= EVENTS, `only ${total} events were published`);

  await using last = spawnConsumerProcess(flags);
  await explained(
    last,
    waitUntil("every event is committed", async () => await committed() >= total, {
      timeoutMs: 120_000,
    }),
  );
  last.kill("SIGTERM");
  const stopped = await last.finished;
  assert.equal(stopped.code, 0, stopped.stderr.slice(-2_000));

  const messages = await readTopicBack(brokers, topic);
  assert.equal(messages.length, total);
  const compared = await assertCountsExact(db.sql, eventsOf(messages));
  assert.equal(await committed(), total, "stored offsets cover the topic exactly");
  printFigures("fault_consumer_kill", {
    kills: kills.length,
    kills_while_publishing: kills.filter((kill) => kill.published < total).length,
    kill_after_ms: kills.map((kill) => kill.afterMs).join("/"),
    events: total,
    events_compared: compared.events,
    rows_compared: compared.rows,
    lost: 0,
    doubled: 0,
    seconds: (performance.now() - started) / 1000,
  });
});
