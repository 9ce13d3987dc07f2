import assert from "node:assert/strict";
import { canonicalEvent, decode, REJECT_REASONS } from "@activity/shared";
import { createSimulation, parseEventMix } from "../producer/mod.ts";
import { readTopic, runProducerCli, startProducerCli } from "../testing/producer_topic.ts";
import {
  cliArgs,
  exitWithin,
  freePort,
  httpGet,
  summaryOf,
  testServices,
  uniqueName,
  watchProducer,
} from "../testing/mod.ts";

const TYPES = new Set(["view", "scroll", "click"]);

function valueOf(value: Uint8Array | null): Uint8Array {
  return value ?? new Uint8Array(0);
}

/** Runs the producer CLI to its end at full speed into `topic`, without a metrics endpoint. */
async function produceAll(topic: string, flags: Record<string, string | number>) {
  const { brokers } = await testServices();
  const args = { brokers: brokers.join(","), topic, rate: "max", "metrics-port": 0, ...flags };
  const run = await runProducerCli(cliArgs(args));
  assert.equal(run.code, 0, run.stderr);
  return run;
}

Deno.test("--count N --seed S publishes exactly N valid events keyed by their user, as the simulation says", async () => {
  const { brokers } = await testServices();
  const topic = uniqueName("producer_count");
  const run = await produceAll(topic, { partitions: 3, count: 5000, seed: 42 });
  const summary = summaryOf(run);
  assert.equal(summary.sent, 5000);
  assert.equal(summary.failed, 0);
  assert.equal(summary.seed, 42);
  assert.equal(summary.stoppedBy, "count");
  // With the task's (narrow) permissions, every KafkaJS speedup is in place.
  const publishing = run.logs.find((line) => line.msg === "publishing");
  assert.equal(publishing?.kafkajs_speedups, "all");

  const messages = await readTopic(brokers, topic);
  assert.equal(messages.length, 5000);
  const partitionOfUser = new Map<string, number>();
  const byType: Record<string, number> = {};
  const ids: string[] = [];
  for (const message of messages) {
    const result = decode(valueOf(message.value), { nowMs: Date.now(), eventTypes: TYPES });
    assert.equal(result.kind, "accepted", JSON.stringify(result));
    if (result.kind !== "accepted") continue;
    assert.equal(message.key, result.event.user_id, "keyed by user");
    const partition = partitionOfUser.get(message.key!) ?? message.partition;
    assert.equal(message.partition, partition, "a user's events share one partition");
    partitionOfUser.set(message.key!, partition);
    byType[result.event.event_type] = (byType[result.event.event_type] ?? 0) + 1;
    ids.push(canonicalEvent(result).event_id);
  }
  assert.deepEqual(byType, summary.sentByType);
  assert.equal(new Set(messages.map((m) => m.partition)).size, 3);
  // The same seed gives the same events: the ids on the topic are the simulation's first 5000.
  const mix = parseEventMix("view=5,scroll=3,click=2");
  assert.ok(mix.ok);
  const simulation = createSimulation({
    seed: 42,
    users: 1000,
    userSkew: 1,
    mix: mix.mix,
    ratePerSecond: 1,
    startMs: Date.now(),
    speed: 1,
    invalidRatio: 0,
  });
  const expected = Array.from({ length: 5000 }, () => simulation.nextAt(Date.now()).eventId);
  assert.deepEqual(ids.sort(), expected.sort());
});

Deno.test("with --invalid-ratio the malformed messages are on the topic too, each rejected as announced", async () => {
  const { brokers } = await testServices();
  const topic = uniqueName("producer_invalid");
  const run = await produceAll(topic, { count: 3000, seed: 7, "invalid-ratio": 0.1 });
  const summary = summaryOf(run);
  const invalidByReason = summary.invalidByReason as Record<string, number>;
  assert.equal(summary.sent, 3000);
  assert.ok(
    Math.abs((summary.invalidSent as number) / 3000 - 0.1) < 0.03,
    String(summary.invalidSent),
  );
  assert.deepEqual(Object.keys(invalidByReason).sort(), [...REJECT_REASONS].sort());

  const messages = await readTopic(brokers, topic);
  assert.equal(messages.length, 3000);
  const rejected: Record<string, number> = {};
  let accepted = 0;
  for (const message of messages) {
    assert.match(message.key ?? "", /^user_\d+$/, "malformed messages are keyed by user too");
    const result = decode(valueOf(message.value), { nowMs: Date.now(), eventTypes: TYPES });
    if (result.kind === "accepted") accepted++;
    else rejected[result.reason] = (rejected[result.reason] ?? 0) + 1;
  }
  assert.deepEqual(rejected, invalidByReason);
  assert.equal(accepted, 3000 - (summary.invalidSent as number));
});

Deno.test("SIGTERM mid-run stops generating, flushes, exits 0, and every event reported sent is on the topic", async () => {
  const { brokers } = await testServices();
  const topic = uniqueName("producer_sigterm");
  const port = freePort();
  const producer = watchProducer(cliArgs({
    brokers: brokers.join(","),
    topic,
    rate: "max",
    "progress-interval": "200ms",
    "metrics-port": port,
  }));
  // At --rate max a batch is always in flight and the next one being built when the signal comes.
  await producer.waitFor((line) => line.msg === "progress" && (line.sent as number) > 20_000);
  const metrics = (await httpGet(port, "/metrics"))?.body ?? "";
  assert.match(metrics, /^activity_producer_events_sent_total\{event_type="view"\} \d+$/m);
  assert.match(metrics, /^activity_producer_send_latency_seconds_count \d+$/m);
  assert.equal((await httpGet(port, "/healthz"))?.body, "ok\n");
  const run = await producer.stop("SIGTERM");
  assert.equal(run.code, 0, run.stderr);
  const summary = summaryOf(run);
  assert.equal(summary.stoppedBy, "signal");
  assert.equal(summary.failed, 0);
  assert.ok((summary.sent as number) > 20_000);
  const messages = await readTopic(brokers, topic);
  assert.equal(messages.length, summary.sent, "nothing reported sent is missing, nothing extra");
});

Deno.test("a wrong setting exits 2 with the standard message, before connecting to anything", async () => {
  const run = await exitWithin(
    startProducerCli(["--rate", "fast", "--brokers", "127.0.0.1:1"]),
    30_000,
  );
  assert.equal(run.code, 2);
  assert.equal(
    run.stderr.trim(),
    'Cannot read config: "--rate" must be a positive number up to 10000000 or "max": current value is "fast"',
  );
});
