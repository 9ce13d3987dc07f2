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

Deno.test("a seeded stream of 120 000 events is counted exactly in every table", async () => {
  const { brokers } = await testServices();
  await using db = await createTestDatabase("consumer_exact");
  const topic = uniqueName("exact");
  const group = uniqueName("exact_group");
  const kafka = createKafka({ brokers, clientId: "consumer-exact-test" });
  await ensureTopics(kafka, [{ topic, partitions: 6 }]);
  const events = seededEvents({ count: 120_000, seed: 42 });
  await publishRaw(kafka, topic, eventMessages(events));

  const port = freePort();
  const started = performance.now();
  const consumer = startTestConsumer(testConsumerConfig({
    brokers: brokers.join(","),
    topic,
    group,
    "database-url": db.url,
    "dlq-topic": `${topic}.dlq`,
    "metrics-port": port,
  }));
  await waitUntil(
    "every message is committed",
    async () => await committedMessages(db.sql, group, topic) >= events.length,
  );
  const seconds = (performance.now() - started) / 1000;
  const get = async (path: string) => {
    const response = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: response.status, text: await response.text() };
  };
  assert.deepEqual(await get("/healthz"), { status: 200, text: "ok\n" });
  assert.deepEqual(await get("/readyz"), { status: 200, text: "ready\n" });
  const metrics = (await get("/metrics")).text;
  assert.match(
    metrics,
    new RegExp(`^activity_consumer_events_accepted_total ${events.length}$`, "m"),
  );
  assert.match(metrics, /^activity_consumer_lag_messages\{partition="5"\} 0$/m);
  assert.match(metrics, /^activity_consumer_flush_duration_seconds_count [1-9]/m);
  assert.match(metrics, /^activity_consumer_event_commit_latency_seconds_count 120000$/m);
  const summary = await consumer.stop();
  console.log(`drained ${events.length} events in ${seconds.toFixed(1)} s`, summary);

  const expected = expectedCounts(events);
  const stored = await storedCounts(db.sql);
  for (const table of ["summary", "hourly", "daily", "typeMinute", "activeUsers"] as const) {
    assert.deepEqual(countDifferences(expected[table], stored[table]), [], table);
    assert.equal(stored[table].size, expected[table].size, table);
  }
  const [hours] = await db.sql`SELECT bool_and(event_hour = date_trunc('hour', event_minute, 'UTC'))
    AS ok FROM user_event_summary`;
  assert.equal(hours.ok, true);
  const [ingest] = await db.sql`SELECT sum(events_accepted)::int AS accepted,
    sum(events_rejected)::int AS rejected FROM ingest_minute`;
  assert.deepEqual({ ...ingest }, { accepted: events.length, rejected: 0 });
  assert.equal(await committedMessages(db.sql, group, topic), events.length);
});

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}
