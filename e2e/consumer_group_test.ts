import assert from "node:assert/strict";
import { createKafka, ensureTopics } from "@activity/shared/kafka";
import { createTestDatabase, testServices, uniqueName } from "../testing/services.ts";
import {
  committedMessages,
  countDifferences,
  eventMessages,
  expectedCounts,
  publishRaw,
  seededEvents,
  storedCounts,
  waitUntil,
} from "../testing/pipeline_events.ts";
import { startTestConsumer, testConsumerConfig } from "../testing/consumer_fixture.ts";

Deno.test("three consumers joining and leaving one group mid-stream count every event exactly once", async () => {
  const { brokers } = await testServices();
  await using db = await createTestDatabase("consumer_group");
  const topic = uniqueName("group");
  const group = uniqueName("group_group");
  const kafka = createKafka({ brokers, clientId: "consumer-group-test" });
  await ensureTopics(kafka, [{ topic, partitions: 6 }]);
  const events = seededEvents({ count: 120_000, seed: 77 });
  const parts = [0, 30_000, 60_000, 90_000, 120_000];
  const publish = (i: number) =>
    publishRaw(kafka, topic, eventMessages(events.slice(parts[i], parts[i + 1])));
  const config = testConsumerConfig({
    brokers: brokers.join(","),
    topic,
    group,
    "database-url": db.url,
    "dlq-topic": `${topic}.dlq`,
    "flush-events": 2_000,
    "flush-interval-ms": 50,
    "max-buffer-events": 4_000,
  });
  const committed = () => committedMessages(db.sql, group, topic);
  const progress = (n: number) =>
    waitUntil(`${n} messages are committed`, async () => await committed() >= n);

  await publish(0);
  const a = startTestConsumer(config, "consumer-a");
  await progress(10_000);
  const b = startTestConsumer(config, "consumer-b");
  await publish(1);
  await progress(35_000);
  const c = startTestConsumer(config, "consumer-c");
  await publish(2);
  await progress(65_000);
  const summaryA = await a.stop();
  await publish(3);
  await progress(95_000);
  const summaryB = await b.stop();
  await progress(events.length);
  const summaryC = await c.stop();

  const summaries = [summaryA, summaryB, summaryC];
  console.log("committed by each member", summaries.map((s) => s.committedEvents));
  assert.ok(summaries.every((s) => s.committedEvents > 0), "every member did some of the work");
  const expected = expectedCounts(events);
  const stored = await storedCounts(db.sql);
  for (const table of ["summary", "hourly", "daily", "typeMinute", "activeUsers"] as const) {
    assert.deepEqual(countDifferences(expected[table], stored[table]), [], table);
    assert.equal(stored[table].size, expected[table].size, table);
  }
  assert.equal(await committed(), events.length);
  const [ingest] = await db.sql`SELECT sum(events_accepted)::int AS n FROM ingest_minute`;
  assert.equal(ingest.n, events.length);
});
