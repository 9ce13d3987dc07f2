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
import { spawnConsumerProcess } from "../testing/consumer_fixture.ts";

Deno.test("the consumer CLI killed with SIGKILL at three points mid-stream and restarted counts every event once, then SIGTERM stops it with exit 0", async () => {
  const { brokers } = await testServices();
  await using db = await createTestDatabase("consumer_crash");
  const topic = uniqueName("crash");
  const group = uniqueName("crash_group");
  const kafka = createKafka({ brokers, clientId: "consumer-crash-test" });
  await ensureTopics(kafka, [{ topic, partitions: 6 }]);
  const events = seededEvents({ count: 100_000, seed: 1234 });
  const firstHalf = events.slice(0, 60_000);
  await publishRaw(kafka, topic, eventMessages(firstHalf));
  const flags = {
    brokers: brokers.join(","),
    topic,
    group,
    "database-url": db.url,
    "dlq-topic": `${topic}.dlq`,
    "metrics-port": 0,
    "session-timeout-ms": 6_000,
    // Small flushes and a small buffer: many commits, so a kill lands between or inside them.
    "flush-events": 1_500,
    "flush-interval-ms": 50,
    "max-buffer-events": 3_000,
    "log-level": "warn",
  };
  const committed = () => committedMessages(db.sql, group, topic);
  const killedAt: number[] = [];
  for (const [index, fraction] of [0.1, 0.45, 0.8].entries()) {
    await using consumer = spawnConsumerProcess(flags);
    const target = Math.floor(events.length * fraction);
    await waitUntil(`${target} messages are committed`, async () => await committed() >= target);
    consumer.kill("SIGKILL");
    const { signal } = await consumer.finished;
    assert.equal(signal, "SIGKILL");
    killedAt.push(await committed());
    // The second half arrives while the consumer is down.
    if (index === 0) await publishRaw(kafka, topic, eventMessages(events.slice(60_000)));
  }
  assert.ok(killedAt.every((n) => n < events.length), `killed at ${killedAt}`);

  await using last = spawnConsumerProcess(flags);
  await waitUntil("every message is committed", async () => await committed() >= events.length, {
    timeoutMs: 90_000,
  });
  const stopping = Date.now();
  last.kill("SIGTERM");
  const { code, stderr } = await last.finished;
  assert.equal(code, 0, stderr.slice(-2000));
  assert.ok(Date.now() - stopping < 20_000, "stopped within 20 s");

  const expected = expectedCounts(events);
  const stored = await storedCounts(db.sql);
  for (const table of ["summary", "hourly", "daily", "typeMinute", "activeUsers"] as const) {
    assert.deepEqual(countDifferences(expected[table], stored[table]), [], table);
    assert.equal(stored[table].size, expected[table].size, table);
  }
  assert.equal(await committed(), events.length);
});

Deno.test("SIGTERM makes the consumer CLI commit everything it has read before it exits 0", async () => {
  const { brokers } = await testServices();
  await using db = await createTestDatabase("consumer_sigterm");
  const topic = uniqueName("sigterm");
  const group = uniqueName("sigterm_group");
  const kafka = createKafka({ brokers, clientId: "consumer-sigterm-test" });
  await ensureTopics(kafka, [{ topic, partitions: 3 }]);
  const events = seededEvents({ count: 20_000, seed: 4321 });
  await publishRaw(kafka, topic, eventMessages(events));
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  await using consumer = spawnConsumerProcess({
    brokers: brokers.join(","),
    topic,
    group,
    "database-url": db.url,
    "dlq-topic": `${topic}.dlq`,
    "metrics-port": port,
    // Nothing would be flushed for a minute: only the stop can commit these events.
    "flush-events": 1_000_000,
    "flush-interval-ms": 60_000,
  });
  await waitUntil("every message is read into the buffer", async () => {
    const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text(), () => "");
    return new RegExp(`^activity_consumer_events_consumed_total ${events.length}$`, "m").test(text);
  });
  assert.equal(await committedMessages(db.sql, group, topic), 0);
  const stopping = Date.now();
  consumer.kill("SIGTERM");
  const { code, stderr } = await consumer.finished;
  assert.equal(code, 0, stderr.slice(-2000));
  assert.ok(Date.now() - stopping < 20_000, "stopped within 20 s");
  assert.equal(await committedMessages(db.sql, group, topic), events.length);
  const stored = await storedCounts(db.sql);
  assert.deepEqual(countDifferences(expectedCounts(events).summary, stored.summary), []);
  assert.match(stderr, /"msg":"stopped consuming"/);
});
