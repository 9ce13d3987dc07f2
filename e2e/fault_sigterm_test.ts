/**
 * Issue 8: SIGTERM under load. The consumer CLI, holding thousands of counted
 * but uncommitted events while a stream keeps coming, is stopped three times:
 * each time it must flush and commit everything it took, leave the group and
 * exit 0 within 20 s. What it committed is compared, each time, with the
 * topic read back below the stored offsets.
 */
import assert from "node:assert/strict";
import { createKafka, ensureTopics } from "@activity/shared/kafka";
import { createTestDatabase, testServices, uniqueName } from "../testing/services.ts";
import {
  committedMessages,
  countDifferences,
  eventMessages,
  type ExpectedCounts,
  expectedCounts,
  seededEvents,
  storedCounts,
  waitUntil,
} from "../testing/pipeline_events.ts";
import { spawnConsumerProcess } from "../testing/consumer_fixture.ts";
import {
  assertCountsExact,
  committedPrefix,
  eventsOf,
  readTopicBack,
  storedOffsets,
  streamInBackground,
} from "../testing/fault_topic.ts";
import {
  faultConsumerFlags,
  freePort,
  logLines,
  metricSum,
  scrapeMetrics,
} from "../testing/fault_processes.ts";
import { printFigures } from "../testing/fault_figures.ts";
import type { ActivityEvent } from "@activity/shared";

const STOPS = 3;

Deno.test("SIGTERM under load: the consumer flushes and commits everything it took, then exits 0 within 20 s, three times in a row", async () => {
  const started = performance.now();
  const { brokers } = await testServices();
  await using db = await createTestDatabase("fault_sigterm");
  const topic = uniqueName("fault_sigterm");
  const group = uniqueName("fault_sigterm_group");
  const kafka = createKafka({ brokers, clientId: "fault-sigterm-test" });
  await ensureTopics(kafka, [{ topic, partitions: 6 }]);
  // More than the stops need: the stream is stopped after the third SIGTERM.
  const events = seededEvents({ count: 250_000, seed: 4242 });
  const stream = streamInBackground(kafka, topic, eventMessages(events), { ratePerSecond: 5_000 });
  const committed = () => committedMessages(db.sql, group, topic);
  const stops: {
    buffered: number;
    consumed: number;
    committed: number;
    exitMs: number;
    offsets: Map<number, number>;
    counts: ExpectedCounts;
  }[] = [];
  try {
    for (let stop = 0; stop < STOPS; stop++) {
      const metricsPort = freePort();
      await using consumer = spawnConsumerProcess(faultConsumerFlags({
        brokers: brokers.join(","),
        topic,
        group,
        "database-url": db.url,
        "dlq-topic": `${topic}.dlq`,
        "metrics-port": metricsPort,
        "log-level": "info",
        // Flushes only every 3 s, so thousands of events wait in the buffer at any moment.
        "flush-events": 1_000_000,
        "flush-interval-ms": 3_000,
        "max-buffer-events": 200_000,
      }));
      const before = await committed();
      await waitUntil("it commits once", async () => await committed() > before);
      let metrics = "";
      await waitUntil("it holds at least 8 000 uncommitted events", async () => {
        metrics = (await scrapeMetrics(metricsPort)) ?? "";
        return metricSum(metrics, "activity_consumer_buffered_events") >= 8_000;
      });
      const signalledAt = performance.now();
      consumer.kill("SIGTERM");
      const { code, stderr } = await consumer.finished;
      const exitMs = Math.round(performance.now() - signalledAt);
      assert.equal(code, 0, stderr.slice(-2_000));
      assert.ok(exitMs < 20_000, `exited ${exitMs} ms after SIGTERM`);
      const summary = logLines(stderr).find((line) => line.msg === "stopped consuming");
      assert.ok(summary, `no "stopped consuming" line:\n${stderr.slice(-2_000)}`);
      assert.equal(summary.abandonedEvents, 0);
      const consumed = metricSum(metrics, "activity_consumer_events_consumed_total");
      const now = await committed();
      // Everything taken before the signal (and whatever arrived until it paused) is committed.
      assert.ok(now - before >= consumed, `consumed ${consumed}, committed ${now - before}`);
      assert.equal(summary.committedEvents, now - before);
      stops.push({
        buffered: metricSum(metrics, "activity_consumer_buffered_events"),
        consumed,
        committed: now - before,
        exitMs,
        offsets: await storedOffsets(db.sql, group, topic),
        counts: await storedCounts(db.sql),
      });
    }
  } finally {
    await stream.stop().catch(() => {});
  }
  const published = events.slice(0, await stream.done);

  // What each stop left committed is exactly the topic below the stored offsets.
  const messages = await readTopicBack(brokers, topic);
  let compared = 0;
  for (const [i, stop] of stops.entries()) {
    const prefix = eventsOf(committedPrefix(messages, stop.offsets)) as ActivityEvent[];
    const expected = expectedCounts(prefix);
    for (const table of ["summary", "hourly", "daily", "typeMinute", "activeUsers"] as const) {
      assert.deepEqual(
        countDifferences(expected[table], stop.counts[table]),
        [],
        `stop ${i + 1}: ${table}`,
      );
      assert.equal(stop.counts[table].size, expected[table].size, `stop ${i + 1}: ${table}`);
    }
    compared += prefix.length;
  }
  // And a last run drains the rest: every event once.
  await using last = spawnConsumerProcess(faultConsumerFlags({
    brokers: brokers.join(","),
    topic,
    group,
    "database-url": db.url,
    "dlq-topic": `${topic}.dlq`,
  }));
  await waitUntil("every event is committed", async () => await committed() >= published.length);
  last.kill("SIGTERM");
  assert.equal((await last.finished).code, 0);
  const all = await assertCountsExact(db.sql, published);
  printFigures("fault_sigterm", {
    sigterms: stops.length,
    buffered_at_signal: stops.map((stop) => stop.buffered).join("/"),
    committed_per_run: stops.map((stop) => stop.committed).join("/"),
    exit_ms: stops.map((stop) => stop.exitMs).join("/"),
    abandoned: 0,
    prefix_events_compared: compared,
    events_compared: all.events,
    seconds: (performance.now() - started) / 1000,
  });
});
