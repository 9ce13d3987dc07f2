import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { type ActivityEvent, decode, encode, eventKey, minuteOf } from "@activity/shared";
import { createKafka, ensureTopics } from "@activity/shared/kafka";
import { createTestDatabase, testServices, uniqueName } from "../testing/services.ts";

Deno.test("an encoded event crosses the real broker to a consumer group and into PostgreSQL", async () => {
  const { brokers } = await testServices();
  const topic = uniqueName("smoke");
  const kafka = createKafka({ brokers, clientId: "smoke-test" });
  await ensureTopics(kafka, [{ topic, partitions: 1 }]);
  const event: ActivityEvent = {
    version: 1,
    event_id: crypto.randomUUID(),
    user_id: "user_smoke",
    session_id: "s1",
    event_type: "view",
    occurred_at: new Date().toISOString(),
    page: "/home",
  };
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  await producer.send({
    topic,
    acks: -1,
    messages: [{ key: eventKey(event), value: Buffer.from(encode(event)) }],
  });
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId: uniqueName("smoke_group") });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const received = Promise.withResolvers<Uint8Array>();
  await consumer.run({
    eachMessage: ({ message }) => Promise.resolve(received.resolve(message.value!)),
  });
  const timeout = setTimeout(() => received.reject(new Error("no message within 30 s")), 30_000);
  const value = await received.promise.finally(() => clearTimeout(timeout));
  await consumer.disconnect();

  const decoded = decode(value, { nowMs: Date.now() });
  assert.equal(decoded.kind, "accepted");
  if (decoded.kind !== "accepted") return;
  assert.deepEqual(decoded.event, event);

  await using db = await createTestDatabase("smoke");
  await db.sql`CREATE TABLE seen (user_id text, event_minute timestamptz, event_type text)`;
  await db.sql`INSERT INTO seen VALUES (${decoded.event.user_id}, ${new Date(
    minuteOf(decoded.occurredAtMs),
  )}, ${decoded.event.event_type})`;
  const rows = await db.sql`SELECT user_id, event_minute, event_type FROM seen`;
  assert.deepEqual(rows.map((row) => ({ ...row })), [{
    user_id: "user_smoke",
    event_minute: new Date(minuteOf(decoded.occurredAtMs)),
    event_type: "view",
  }]);
});
