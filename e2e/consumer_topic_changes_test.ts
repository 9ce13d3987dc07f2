/**
 * What operators do to a topic under a consumer group: delete and create it
 * again (while the consumer is stopped, and while it runs), let retention
 * remove messages the group never read, truncate the log under stored
 * offsets, and fence a flush whose partition then stays quiet. Never a silent
 * skip: every case is counted exactly, recorded as lost, or stops with a
 * message that says how to proceed. Real broker, PostgreSQL and consumer CLI.
 */
import assert from "node:assert/strict";
import type { Kafka } from "kafkajs";
import { ensureTopics } from "@activity/shared/kafka";
import type { ConsumerScene } from "../testing/consumer_run.ts";
import {
  acceptedEvents,
  assertCountsExact,
  createConsumerScene,
  eventMessages,
  exitWithin,
  explained,
  freePort,
  logLines,
  metricSum,
  printFigures,
  publishRaw,
  scrapeMetrics,
  seededEvents,
  waitUntil,
} from "../testing/mod.ts";

/** The consumer CLI on `s`, logging at info level (the lines these tests look for). */
function spawnInfo(s: ConsumerScene, extra: Record<string, string | number> = {}) {
  return s.spawn({ "log-level": "info", ...extra });
}

async function deleteTopic(kafka: Kafka, topic: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: [topic] });
    await waitUntil("the topic is gone", async () => !(await admin.listTopics()).includes(topic));
  } finally {
    await admin.disconnect();
  }
}

/** Creates `topic` again after `deleteTopic`, as the producer would (`ensureTopics`). */
async function recreateTopic(kafka: Kafka, topic: string, partitions: number): Promise<void> {
  const [outcome] = await ensureTopics(kafka, [{ topic, partitions }]);
  assert.ok(outcome.created, `${topic} was not created again`);
}

/** Runs the consumer CLI until `total` events are counted in all, then stops it with SIGTERM. */
async function consumeUntil(s: ConsumerScene, total: number) {
  const consumer = spawnInfo(s);
  await explained(
    consumer,
    waitUntil(`${total} events counted`, async () => await acceptedEvents(s.db.sql) >= total),
  );
  consumer.kill("SIGTERM");
  const finished = await consumer.finished;
  assert.equal(finished.code, 0, finished.stderr.slice(-2_000));
  return logLines(finished.stderr);
}

Deno.test("a topic deleted and created again is read from its start as a new topic, saying so", async () => {
  await using s = await createConsumerScene({ name: "recreated", partitions: 2 });
  const old = seededEvents({ count: 400, seed: 51 });
  await publishRaw(s.kafka, s.topic, eventMessages(old));
  await consumeUntil(s, 400);
  await deleteTopic(s.kafka, s.topic);
  await recreateTopic(s.kafka, s.topic, 2);
  // Fewer messages than before: every offset of the new topic is below the stored ones.
  const fresh = seededEvents({ count: 150, seed: 52 });
  await publishRaw(s.kafka, s.topic, eventMessages(fresh));
  const lines = await consumeUntil(s, 550);
  await assertCountsExact(s.db.sql, [...old, ...fresh]);
  const recreated = lines.filter((line) => String(line.msg).startsWith("the topic was deleted"));
  assert.equal(recreated.length, 2, "one line per partition");
  assert.notEqual(recreated[0].old_topic_id, recreated[0].topic_id);
  const ids = await s.db.sql`SELECT DISTINCT topic_id::text AS id FROM consumer_offsets`;
  assert.deepEqual(ids.map((row) => row.id), [recreated[0].topic_id]);
  printFigures("topic_recreated", {
    old_events: old.length,
    new_events: fresh.length,
    counted: await acceptedEvents(s.db.sql),
  });
});

Deno.test("a topic deleted and created again while the consumer runs: the new topic is counted from its start", async () => {
  await using s = await createConsumerScene({ name: "recreated_live", partitions: 1 });
  const consumer = spawnInfo(s);
  let finished;
  try {
    const old = seededEvents({ count: 300, seed: 53 });
    await publishRaw(s.kafka, s.topic, eventMessages(old));
    await explained(
      consumer,
      s.reach(300),
    );
    await deleteTopic(s.kafka, s.topic);
    await recreateTopic(s.kafka, s.topic, 1);
    const fresh = seededEvents({ count: 120, seed: 54 });
    await publishRaw(s.kafka, s.topic, eventMessages(fresh));
    await explained(
      consumer,
      waitUntil(
        "the new topic's 120 are counted",
        async () => await acceptedEvents(s.db.sql) >= 420,
        { timeoutMs: 90_000 },
      ),
    );
    await assertCountsExact(s.db.sql, [...old, ...fresh]);
  } finally {
    consumer.kill("SIGTERM");
    finished = await consumer.finished;
  }
  assert.equal(finished.code, 0, finished.stderr.slice(-2_000));
});

Deno.test("messages retention removed before they were read are a recorded gap; a log truncated under the stored offset stops the consumer", async () => {
  await using s = await createConsumerScene({ name: "gap", partitions: 1 });
  const read = seededEvents({ count: 100, seed: 55 });
  await publishRaw(s.kafka, s.topic, eventMessages(read));
  await consumeUntil(s, 100);
  const unread = seededEvents({ count: 50, seed: 56 });
  await publishRaw(s.kafka, s.topic, eventMessages(unread));
  // What retention does to old segments: offsets 100..129 are gone before the group read them.
  const admin = s.kafka.admin();
  await admin.connect();
  await admin.fetchTopicMetadata({ topics: [s.topic] });
  await admin.deleteTopicRecords({ topic: s.topic, partitions: [{ partition: 0, offset: "130" }] });
  await admin.disconnect();
  const metricsPort = freePort();
  const consumer = spawnInfo(s, { "metrics-port": metricsPort });
  let lost = 0;
  await explained(
    consumer,
    // The counter moves just after the commit that records the gap: read it once the commit is
    // seen, until it has moved, or a scrape from just before the commit reads 0.
    waitUntil("the gap is committed and counted", async () => {
      if (await s.committed() < 150) return false;
      lost = metricSum(
        await scrapeMetrics(metricsPort) ?? "",
        "activity_consumer_lost_messages_total",
      );
      return lost > 0;
    }),
  );
  consumer.kill("SIGTERM");
  const { stderr } = await consumer.finished;
  await assertCountsExact(s.db.sql, [...read, ...unread.slice(30)]);
  const gaps = await s.db.sql`SELECT partition, from_offset, to_offset, lost_messages
    FROM consumer_offset_gaps`;
  assert.deepEqual(gaps.map((row) => ({ ...row })), [
    { partition: 0, from_offset: "100", to_offset: "130", lost_messages: "30" },
  ]);
  assert.equal(lost, 30);
  assert.ok(logLines(stderr).some((line) => String(line.msg).startsWith("messages were removed")));

  // Truncation: the stored offset is past the end of the same topic's log.
  await s.db.sql`UPDATE consumer_offsets SET next_offset = 10000 WHERE topic = ${s.topic}`;
  const finished = await exitWithin(spawnInfo(s), 60_000);
  assert.equal(finished.code, 1);
  const message = logLines(finished.stderr).map((line) => JSON.stringify(line)).join("\n");
  assert.match(message, /partition 0 of topic \\"[^"]+\\" ends at offset 150/);
  assert.match(message, /has read it up to offset 10000/);
  assert.match(message, /DELETE FROM consumer_offsets/);
  assert.equal(await s.committed(), 10_000, "nothing moved");
  printFigures("retention_gap", {
    gap_from: Number(gaps[0].from_offset),
    gap_to: Number(gaps[0].to_offset),
    lost,
    counted_after_gap: await acceptedEvents(s.db.sql) - read.length,
  });
});

Deno.test("after a refused flush, a partition that gets no new message is read again from the stored offset at once", async () => {
  await using s = await createConsumerScene({ name: "refused_quiet", partitions: 2 });
  const metricsPort = freePort();
  const consumer = spawnInfo(s, {
    "metrics-port": metricsPort,
    "flush-interval-ms": 4_000,
    "flush-events": 100_000,
  });
  let finished;
  try {
    const events = seededEvents({ count: 100, seed: 57, users: 1 }); // one user: one partition
    await publishRaw(s.kafka, s.topic, eventMessages(events));
    await explained(
      consumer,
      waitUntil("the 100 events are buffered", async () => {
        const text = await scrapeMetrics(metricsPort) ?? "";
        return metricSum(text, "activity_consumer_events_consumed_total") >= 100;
      }),
    );
    // Another member committed the first 40 meanwhile: our flush is refused.
    const admin = s.kafka.admin();
    await admin.connect();
    const ends = await admin.fetchTopicOffsets(s.topic);
    await admin.disconnect();
    const busy = ends.find((end) => end.high !== "0")!.partition;
    await s.db.sql`INSERT INTO consumer_offsets (consumer_group, topic, partition, next_offset,
      high_watermark) VALUES (${s.group}, ${s.topic}, ${busy}, 40, 100)`;
    // No new message is published: the refused partition must be read again by itself.
    await explained(
      consumer,
      waitUntil("offsets 40..99 are committed", async () => await s.committed() >= 100, {
        timeoutMs: 30_000,
      }),
    );
    await assertCountsExact(s.db.sql, events.slice(40));
    const text = await scrapeMetrics(metricsPort) ?? "";
    assert.equal(metricSum(text, "activity_consumer_flushes_total", { outcome: "fenced" }), 1);
    assert.equal(metricSum(text, "activity_consumer_events_discarded_total"), 100);
    assert.equal(metricSum(text, "activity_consumer_lag_messages"), 0);
  } finally {
    consumer.kill("SIGTERM");
    finished = await consumer.finished;
  }
  assert.equal(finished.code, 0, finished.stderr.slice(-2_000));
});
