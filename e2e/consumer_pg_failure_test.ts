import assert from "node:assert/strict";
import postgres from "postgres";
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

Deno.test("terminating the consumer's PostgreSQL connections again and again mid-run loses and doubles nothing", async () => {
  const { brokers, databaseUrl } = await testServices();
  await using db = await createTestDatabase("consumer_pgkill");
  const topic = uniqueName("pgkill");
  const group = uniqueName("pgkill_group");
  const kafka = createKafka({ brokers, clientId: "consumer-pgkill-test" });
  await ensureTopics(kafka, [{ topic, partitions: 4 }]);
  const events = seededEvents({ count: 100_000, seed: 31 });
  await publishRaw(kafka, topic, eventMessages(events));
  const database = new URL(db.url).pathname.slice(1);

  const consumer = startTestConsumer(testConsumerConfig({
    brokers: brokers.join(","),
    topic,
    group,
    "database-url": db.url,
    "dlq-topic": `${topic}.dlq`,
    // Small flushes keep a statement in flight most of the time, where the kills land.
    "flush-events": 500,
    "flush-interval-ms": 20,
    "max-buffer-events": 1_000,
  }));
  // A separate admin connection does the killing (terminating our own would end the test).
  const admin = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  let terminated = 0;
  let midTransaction = 0;
  try {
    await waitUntil(
      "the consumer has committed something",
      async () => await committedMessages(db.sql, group, topic) > 0,
    );
    // Every 300 ms, up to 15 times: each flush or offset read caught in flight fails, is retried
    // with backoff and resumes from the stored offsets.
    for (let round = 0; round < 15; round++) {
      if (await committedMessages(db.sql, group, topic) >= events.length) break;
      const killed = await admin<{ state: string }[]>`
        SELECT state, pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE datname = ${database} AND application_name = 'activity-consumer'`;
      terminated += killed.length;
      midTransaction += killed.filter((row) => row.state === "active").length;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    await waitUntil(
      "every message is committed",
      async () => await committedMessages(db.sql, group, topic) >= events.length,
    );
  } finally {
    await admin.end();
    await consumer.stop();
  }
  console.log(`terminated ${terminated} connections, ${midTransaction} of them busy`);
  assert.ok(terminated >= 4, `only ${terminated} connections were terminated`);
  assert.ok(midTransaction >= 1, "no connection was terminated while busy");

  const expected = expectedCounts(events);
  const stored = await storedCounts(db.sql);
  for (const table of ["summary", "hourly", "daily", "typeMinute", "activeUsers"] as const) {
    assert.deepEqual(countDifferences(expected[table], stored[table]), [], table);
    assert.equal(stored[table].size, expected[table].size, table);
  }
  assert.equal(await committedMessages(db.sql, group, topic), events.length);
});
