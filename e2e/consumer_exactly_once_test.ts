import assert from "node:assert/strict";
import {
  assertCountsExact,
  createConsumerScene,
  eventMessages,
  freePort,
  httpGet,
  publishRaw,
  scrapeMetrics,
  seededEvents,
} from "../testing/mod.ts";

Deno.test("a seeded stream of 120 000 events is counted exactly in every table", async () => {
  await using scene = await createConsumerScene({ name: "consumer_exact", partitions: 6 });
  const events = seededEvents({ count: 120_000, seed: 42 });
  await publishRaw(scene.kafka, scene.topic, eventMessages(events));

  const port = freePort();
  const started = performance.now();
  const consumer = scene.start({ "metrics-port": port });
  await scene.reach(events.length);
  const seconds = (performance.now() - started) / 1000;
  assert.deepEqual(await httpGet(port, "/healthz"), { status: 200, body: "ok\n" });
  assert.deepEqual(await httpGet(port, "/readyz"), { status: 200, body: "ready\n" });
  const metrics = await scrapeMetrics(port) ?? "";
  assert.match(
    metrics,
    new RegExp(`^activity_consumer_events_accepted_total ${events.length}$`, "m"),
  );
  assert.match(metrics, /^activity_consumer_lag_messages\{partition="5"\} 0$/m);
  assert.match(metrics, /^activity_consumer_flush_duration_seconds_count [1-9]/m);
  assert.match(metrics, /^activity_consumer_event_commit_latency_seconds_count 120000$/m);
  const summary = await consumer.stop();
  console.log(`drained ${events.length} events in ${seconds.toFixed(1)} s`, summary);

  await assertCountsExact(scene.db.sql, events);
  const [hours] = await scene.db.sql`SELECT
    bool_and(event_hour = date_trunc('hour', event_minute, 'UTC')) AS ok FROM user_event_summary`;
  assert.equal(hours.ok, true);
  const [ingest] = await scene.db.sql`SELECT sum(events_rejected)::int AS rejected
    FROM ingest_minute`;
  assert.equal(ingest.rejected, 0);
  assert.equal(await scene.committed(), events.length);
});
