/**
 * The producer CLI SIGKILLed mid-stream (a batch always in flight at
 * 20 000 events/s). Whatever it reported as sent before dying — on its
 * progress lines or its /metrics — must be in the topic. Its simulation is
 * deterministic, so the test regenerates the run's event ids and looks each
 * one up in the topic read back.
 */
import assert from "node:assert/strict";
import { readConfig } from "@activity/shared";
import { createKafka, ensureTopics } from "@activity/shared/kafka";
import { createSimulation, producerProgram } from "../producer/mod.ts";
import {
  cliArgs,
  freePort,
  metricSum,
  printFigures,
  readTopicBack,
  scrapeMetrics,
  seededRandom,
  sleep,
  testServices,
  uniqueName,
  watchProducer,
} from "../testing/mod.ts";

const RUNS = 3;

/** The first `count` event ids the producer generates with `args` (as `runProducer` sets it up). */
function simulatedEventIds(args: string[], count: number): string[] {
  const outcome = readConfig(producerProgram, { args, env: {} });
  if (outcome.kind !== "config") throw new Error(`bad producer flags: ${JSON.stringify(outcome)}`);
  const config = outcome.config;
  if (config.seed === "random" || config.start === "now" || config.rate === "max") {
    throw new Error("the run must be reproducible: fixed seed, fixed start, a paced rate");
  }
  const simulation = createSimulation({
    seed: config.seed,
    users: config.users,
    userSkew: config.userSkew,
    mix: config.eventMix,
    ratePerSecond: config.rate,
    burst: config.burst,
    startMs: config.start,
    speed: config.speed,
    invalidRatio: config.invalidRatio,
  });
  return Array.from({ length: count }, () => simulation.next().eventId);
}

Deno.test("the producer SIGKILLed mid-batch: every event it reported as sent is in the topic", async () => {
  const started = performance.now();
  const { brokers } = await testServices();
  const topic = uniqueName("fault_producer");
  const kafka = createKafka({ brokers, clientId: "fault-producer-test" });
  await ensureTopics(kafka, [{ topic, partitions: 3 }]);
  const start = new Date(Date.now() - 10 * 60_000).toISOString();
  const random = seededRandom(11);
  const runs: { args: string[]; reportedByLog: number; reportedByMetrics: number }[] = [];
  for (let run = 0; run < RUNS; run++) {
    const metricsPort = freePort();
    const args = cliArgs({
      brokers: brokers.join(","),
      topic,
      rate: 20000,
      seed: 7_000 + run,
      start,
      "progress-interval": "100ms",
      "metrics-port": metricsPort,
    });
    const producer = watchProducer(args);
    let reportedByMetrics = 0;
    let killed;
    try {
      await producer.waitFor((line) => line.msg === "progress" && Number(line.sent) > 0);
      const killAt = performance.now() + 300 + random() * 1_500;
      while (performance.now() < killAt) {
        const metrics = await scrapeMetrics(metricsPort);
        if (metrics) {
          reportedByMetrics = Math.max(
            reportedByMetrics,
            metricSum(metrics, "activity_producer_events_sent_total"),
          );
        }
        await sleep(20);
      }
    } finally {
      killed = await producer.stop("SIGKILL");
    }
    const progress = killed.logs.filter((line) => line.msg === "progress");
    assert.ok(!killed.logs.some((line) => line.msg === "summary"), "it ended before the kill");
    runs.push({
      args,
      reportedByLog: Math.max(0, ...progress.map((line) => Number(line.sent))),
      reportedByMetrics,
    });
  }

  const messages = await readTopicBack(brokers, topic);
  const decoder = new TextDecoder();
  const inTopic = new Set(
    messages.map((message) => JSON.parse(decoder.decode(message.value!)).event_id as string),
  );
  assert.equal(inTopic.size, messages.length, "an event is in the topic twice");
  const known = new Set<string>();
  let reportedTotal = 0;
  let missingTotal = 0;
  for (const [i, run] of runs.entries()) {
    const reported = Math.max(run.reportedByLog, run.reportedByMetrics);
    assert.ok(reported > 0, `run ${i + 1} reported nothing`);
    const ids = simulatedEventIds(run.args, messages.length);
    const missing = ids.slice(0, reported).filter((id) => !inTopic.has(id));
    assert.deepEqual(missing.slice(0, 5), [], `run ${i + 1}: ${missing.length} reported missing`);
    missingTotal += missing.length;
    ids.forEach((id) => known.add(id));
    reportedTotal += reported;
  }
  const foreign = [...inTopic].filter((id) => !known.has(id));
  assert.deepEqual(foreign.slice(0, 5), [], "the topic holds events no run generated");
  printFigures("fault_producer_kill", {
    kills: runs.length,
    reported_sent: runs.map((run) => Math.max(run.reportedByLog, run.reportedByMetrics)).join("/"),
    reported_missing: missingTotal,
    in_topic: messages.length,
    written_after_last_report: messages.length - reportedTotal,
    duplicates: messages.length - inTopic.size,
    seconds: (performance.now() - started) / 1000,
  });
});
