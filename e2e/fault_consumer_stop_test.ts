/**
 * The consumer CLI stopped mid-stream. Killed (SIGKILL) at random moments, at
 * least ten times, while the producer CLI publishes at least 200 000 events,
 * and restarted each time: nothing lost, nothing counted twice. Terminated
 * (SIGTERM) three times while it holds thousands of counted but uncommitted
 * events: each time it flushes and commits everything it took, leaves the
 * group and exits 0 within 20 s, and what it committed is exactly the topic
 * below the stored offsets. Counts are compared with the topic read back.
 */
import assert from "node:assert/strict";
import {
  assertCountsExact,
  createConsumerScene,
  eventMessages,
  eventsOf,
  freePort,
  logLines,
  metricSum,
  printFigures,
  readTopicBack,
  scrapeMetrics,
  seededEvents,
  seededRandom,
  sleep,
  summaryOf,
  topicMessageCount,
  waitUntil,
} from "../testing/mod.ts";
import {
  assertSameCounts,
  committedPrefix,
  storedOffsets,
  streamInBackground,
} from "../testing/fault_topic.ts";
import { type ExpectedCounts, storedCounts } from "../testing/pipeline_events.ts";

/** SIGKILLs at the least, while at least `EVENTS` events are published. */
const KILLS = 10;
const EVENTS = 200_000;
const SEED = 20_240_801;
/** SIGTERMs under load. */
const STOPS = 3;
/** The longest a SIGTERM may take to flush, commit, leave the group and exit. */
const STOP_BUDGET_MS = 20_000;

Deno.test("the consumer SIGKILLed at 10 random moments while 200 000 events stream in, restarted each time, loses nothing and counts nothing twice", async () => {
  const started = performance.now();
  await using scene = await createConsumerScene({ name: "fault_kill", partitions: 6 });
  // Two hours ago at 60× speed: a minute of publishing spans an hour of event time.
  const producer = scene.startProducer({
    rate: 4000,
    seed: SEED,
    start: new Date(Date.now() - 2 * 3_600_000).toISOString(),
    speed: 60,
    "progress-interval": "2s",
  });
  // Many small flushes: a kill lands before, inside or after a commit.
  const flags = { "flush-events": 1_500, "flush-interval-ms": 50, "max-buffer-events": 3_000 };
  const published = () => topicMessageCount(scene.kafka, scene.topic).catch(() => 0);
  const random = seededRandom(SEED);
  const kills: { afterMs: number; committed: number; published: number }[] = [];
  let producerRun;
  try {
    await producer.waitFor((line) => line.msg === "publishing");
    while (kills.length < KILLS || await published() < EVENTS) {
      await using consumer = scene.spawn(flags);
      const spawnedAt = performance.now();
      const before = await scene.committed();
      // Every other kill waits for fresh progress first (mid-flush); the others land anywhere
      // from start-up through the group join, the offset read and the first fetches.
      if (kills.length % 2 === 0) await scene.reach(before + 1);
      await sleep(200 + random() * 2_500);
      consumer.kill("SIGKILL");
      const { signal, code, stderr } = await consumer.finished;
      assert.equal(signal, "SIGKILL", `the consumer exited by itself (code ${code}):\n${stderr}`);
      kills.push({
        afterMs: Math.round(performance.now() - spawnedAt),
        committed: await scene.committed(),
        published: await published(),
      });
    }
    producerRun = await producer.stop("SIGTERM");
  } catch (error) {
    await producer.stop("SIGKILL");
    throw error;
  }
  assert.equal(producerRun.code, 0, producerRun.stderr.slice(-2_000));
  const total = await published();
  assert.equal(summaryOf(producerRun).sent, total, "the producer's count and the topic agree");
  assert.ok(total >= EVENTS, `only ${total} events were published`);

  await using last = scene.spawn(flags);
  await scene.reach(total, { timeoutMs: 120_000, explain: last });
  const signalledAt = performance.now();
  last.kill("SIGTERM");
  const stopped = await last.finished;
  const exitMs = performance.now() - signalledAt;
  assert.equal(stopped.code, 0, stopped.stderr.slice(-2_000));
  assert.ok(exitMs < STOP_BUDGET_MS, `exited ${exitMs} ms after SIGTERM`);

  const messages = await readTopicBack(scene.brokers, scene.topic);
  assert.equal(messages.length, total);
  const compared = await assertCountsExact(scene.db.sql, eventsOf(messages));
  assert.equal(await scene.committed(), total, "stored offsets cover the topic exactly");
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

/** What one SIGTERM left behind. */
interface Stop {
  readonly buffered: number;
  readonly committed: number;
  readonly exitMs: number;
  readonly offsets: Map<number, number>;
  readonly counts: ExpectedCounts;
}

Deno.test("SIGTERM under load: the consumer flushes and commits everything it took, then exits 0 within 20 s, three times in a row", async () => {
  const started = performance.now();
  await using scene = await createConsumerScene({ name: "fault_sigterm", partitions: 6 });
  // More than the stops need: the stream is stopped after the third SIGTERM.
  const events = seededEvents({ count: 250_000, seed: 4242 });
  const stream = streamInBackground(scene.kafka, scene.topic, eventMessages(events), {
    ratePerSecond: 5_000,
  });
  const stops: Stop[] = [];
  try {
    for (let stop = 0; stop < STOPS; stop++) {
      const metricsPort = freePort();
      await using consumer = scene.spawn({
        "metrics-port": metricsPort,
        "log-level": "info",
        // Flushes only every 3 s, so thousands of events wait in the buffer at any moment.
        "flush-events": 1_000_000,
        "flush-interval-ms": 3_000,
        "max-buffer-events": 200_000,
      });
      const before = await scene.committed();
      await scene.reach(before + 1, { explain: consumer });
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
      assert.ok(exitMs < STOP_BUDGET_MS, `exited ${exitMs} ms after SIGTERM`);
      const summary = logLines(stderr).find((line) => line.msg === "stopped consuming");
      assert.ok(summary, `no "stopped consuming" line:\n${stderr.slice(-2_000)}`);
      assert.equal(summary.abandonedEvents, 0);
      const consumed = metricSum(metrics, "activity_consumer_events_consumed_total");
      const now = await scene.committed();
      // Everything taken before the signal (and whatever arrived until it paused) is committed.
      assert.ok(now - before >= consumed, `consumed ${consumed}, committed ${now - before}`);
      assert.equal(summary.committedEvents, now - before);
      stops.push({
        buffered: metricSum(metrics, "activity_consumer_buffered_events"),
        committed: now - before,
        exitMs,
        offsets: await storedOffsets(scene.db.sql, scene.group, scene.topic),
        counts: await storedCounts(scene.db.sql),
      });
    }
  } finally {
    await stream.stop().catch(() => {});
  }
  const published = events.slice(0, await stream.done);

  // What each stop left committed is exactly the topic below the stored offsets.
  const messages = await readTopicBack(scene.brokers, scene.topic);
  let compared = 0;
  for (const [i, stop] of stops.entries()) {
    const prefix = eventsOf(committedPrefix(messages, stop.offsets));
    assertSameCounts(stop.counts, prefix, `stop ${i + 1}`);
    compared += prefix.length;
  }
  // And a last run drains the rest: every event once.
  await using last = scene.spawn();
  await scene.reach(published.length, { explain: last });
  last.kill("SIGTERM");
  assert.equal((await last.finished).code, 0);
  const all = await assertCountsExact(scene.db.sql, published);
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
